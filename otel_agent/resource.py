"""Resource attributes that identify this host and this agent."""

from __future__ import annotations

import os
import platform
import socket
import sys
import uuid
from importlib import metadata

from otel_agent.config import AgentConfig

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "x86", "i686": "x86"}
_OS = {"linux": "linux", "darwin": "darwin", "win32": "windows", "freebsd": "freebsd"}


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _os_release(root: str) -> str | None:
    for rel in ("etc/os-release", "usr/lib/os-release"):
        text = _read(os.path.join(root, rel))
        if text:
            for line in text.splitlines():
                if line.startswith("PRETTY_NAME="):
                    return line.partition("=")[2].strip().strip('"')
    return None


def _version() -> str:
    try:
        return metadata.version("heron-stack")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def detect_resource(config: AgentConfig) -> dict[str, str]:
    """Host and service attributes: detected facts, overridden by what the operator set.

    As in every OpenTelemetry SDK, OTEL_RESOURCE_ATTRIBUTES (and the config file's attributes) win
    over detection, so a container or a simulated fleet can name its host explicitly.
    """
    root = config.root
    in_container = os.path.normpath(root) != "/"
    host_name = (_read(os.path.join(root, "etc/hostname")) if in_container else None) or socket.gethostname()
    host_id = _read(os.path.join(root, "etc/machine-id")) or _read(os.path.join(root, "var/lib/dbus/machine-id"))
    os_type = _OS.get(sys.platform, sys.platform)
    release = _os_release(root) if os_type == "linux" else None
    description = " ".join(filter(None, [release or platform.system(), platform.release()]))
    attrs = {
        "host.name": host_name,
        "host.arch": _ARCH.get(platform.machine().lower(), platform.machine().lower()),
        "os.type": os_type,
        "os.description": description,
        "service.version": _version(),
    }
    if host_id:
        attrs["host.id"] = host_id
    attrs.update(config.resource.attributes)
    attrs["service.name"] = config.resource.service_name
    # Stable across restarts, so a host's series continue instead of starting anew after each restart.
    attrs.setdefault(
        "service.instance.id",
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"heron:{host_id or host_name}:{attrs['service.name']}")),
    )
    return attrs
