"""Subcommands of the `alert-worker` console script."""
