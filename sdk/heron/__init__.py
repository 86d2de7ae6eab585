"""Heron SDK: traces, metrics and logs of a Python service over OpenTelemetry, in two lines.

import heron
heron.init(service_name="checkout")
"""

from heron._internal.api import capture_exception, counter, gauge, histogram, init, shutdown, span
from heron._internal.version import VERSION

__version__ = VERSION

__all__ = [
    "capture_exception",
    "counter",
    "gauge",
    "histogram",
    "init",
    "shutdown",
    "span",
]
