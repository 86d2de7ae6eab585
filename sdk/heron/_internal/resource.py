"""The OpenTelemetry resource of this process: Heron's detected defaults < OTEL_RESOURCE_ATTRIBUTES < arguments."""

from __future__ import annotations

import os
import platform
import socket
import sys
import uuid

from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.version import __version__ as otel_sdk_version

from heron._internal.config import HeronConfig
from heron._internal.version import VERSION

AttrValue = str | int | float | bool


def detected_attributes() -> dict[str, AttrValue]:
    """Host, process and SDK facts, each overridable by OTEL_RESOURCE_ATTRIBUTES or arguments."""
    return {
        "host.name": socket.gethostname(),
        "host.arch": platform.machine().lower(),
        "os.type": sys.platform,
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": platform.python_version(),
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": otel_sdk_version,
        "telemetry.distro.name": "heron",
        "telemetry.distro.version": VERSION,
    }


class HeronResource(Resource):
    """An immutable resource whose hash is computed once.

    The OTLP encoders group every span and log record by resource, and the SDK hashes a resource by
    serialising all its attributes to JSON each time: that alone cost a fifth of span export.
    """

    def __init__(self, attributes: dict[str, AttrValue], schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or super().__eq__(other)


def build_resource(config: HeronConfig, instance_id: str | None = None) -> Resource:
    """A fresh resource; every call (one per process, incl. forked children) gets its own instance id."""
    attributes: dict[str, AttrValue] = detected_attributes()
    for key, value in OTELResourceDetector().detect().attributes.items():
        if isinstance(value, (str, int, float, bool)):
            attributes[key] = value
    attributes["service.name"] = config.service_name
    if config.service_version:
        attributes["service.version"] = config.service_version
    if config.environment:
        # Both the stable key and the older one that many dashboards still group by.
        attributes["deployment.environment.name"] = config.environment
        attributes["deployment.environment"] = config.environment
    attributes.update(config.resource_attributes)
    attributes["service.instance.id"] = instance_id or str(uuid.uuid4())
    attributes["process.pid"] = os.getpid()
    return HeronResource(attributes)
