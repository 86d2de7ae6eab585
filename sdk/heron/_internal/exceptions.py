"""Warnings and errors of the Heron SDK."""


class HeronConfigWarning(UserWarning):
    """A configuration value was rejected; the SDK fell back to a default."""


class HeronInitWarning(UserWarning):
    """`heron.init` was called while the SDK was already running; nothing changed."""


class HeronInternalError(RuntimeError):
    """An internal SDK failure, raised only when HERON_SDK_RAISE_INTERNAL is set."""
