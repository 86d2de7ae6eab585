"""Heron heron_stack."""
