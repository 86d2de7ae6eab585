"""Heron alert_worker."""
