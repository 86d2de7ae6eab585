"""Scenarios: YAML timelines, a pure timeline model and a runner."""
