"""The Heron SDK version, reported as telemetry.distro.version."""

VERSION = "0.1.0"
