"""Heron SDK internals: nothing here is public API."""
