"""Errors raised by notification channels, split by whether a retry can succeed."""

from __future__ import annotations


class ChannelError(Exception):
    """Base class: a channel could not deliver a message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(ChannelError):
    """The same message may succeed later (5xx, 429, SMTP 4xx, network trouble).

    `retry_after` is the wait the remote asked for, in seconds, when it named one. `progress` records
    what was delivered before the failure (e.g. the first parts of a split message); the next attempt
    gets it back in `SendContext.progress` and continues from there instead of repeating it.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None, progress: str | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.progress = progress


class PermanentError(ChannelError):
    """Retrying the same message cannot succeed (bad token, unknown chat, SMTP 5xx).

    `destination_broken` is true when every message to this destination would fail the
    same way (auth, unknown chat, archived channel), so the destination is marked unhealthy.
    """

    def __init__(self, reason: str, *, destination_broken: bool = True) -> None:
        super().__init__(reason)
        self.destination_broken = destination_broken


class DestinationConfigError(ValueError):
    """The destinations configuration is invalid; the message names the field, the value and the fix."""
