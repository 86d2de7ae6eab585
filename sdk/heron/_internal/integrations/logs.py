"""Python logging: records at or above the threshold become OTLP logs carrying the active trace and span ids."""

from __future__ import annotations

import logging

from heron._internal import proxies
from heron._internal.config import HeronConfig
from heron._internal.errors import already_reported

# The exporters' own chatter must never be exported (it would feed back into itself).
_MUTED_PREFIXES = ("opentelemetry", "urllib3", "heron.internal", "grpc")


def _make_handler(level: int) -> logging.Handler:
    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    class HeronLogHandler(LoggingHandler):
        """Skips muted loggers and exceptions Heron already exported; flushing is Heron's bounded job."""

        def filter(self, record: logging.LogRecord) -> bool:
            if record.name.startswith(_MUTED_PREFIXES):
                return False
            if record.exc_info and already_reported(record.exc_info[1]):
                return False
            return super().filter(record)

        def flush(self) -> None:
            # logging.shutdown() calls this at exit; an unbounded flush there could hang on a dead collector.
            return

    return HeronLogHandler(level=level, logger_provider=proxies.LOGGER_PROVIDER)


class LoggingIntegration:
    name = "logging"
    library = "opentelemetry.instrumentation.logging"

    def __init__(self) -> None:
        self.handler: logging.Handler | None = None
        self._root_level: int | None = None

    def install(self, config: HeronConfig) -> None:
        self.handler = _make_handler(config.log_level)
        root = logging.getLogger()
        if not root.handlers and root.level > config.log_level:
            # An unconfigured root (WARNING) would drop INFO records before any handler saw them.
            self._root_level = root.level
            root.setLevel(config.log_level)
        self.attach()

    def attach(self) -> None:
        """(Re)attach to the root logger; frameworks such as Celery replace root handlers at startup."""
        root = logging.getLogger()
        if self.handler is not None and self.handler not in root.handlers:
            root.addHandler(self.handler)

    def uninstall(self) -> None:
        root = logging.getLogger()
        if self.handler is not None:
            root.removeHandler(self.handler)
            self.handler = None
        if self._root_level is not None:
            root.setLevel(self._root_level)
            self._root_level = None
