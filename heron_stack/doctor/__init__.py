"""`heron doctor`: what is wrong with the local Heron stack, and what to do about it."""

from heron_stack.doctor.adapters import Probes
from heron_stack.doctor.core import diagnose, doctor_command, timeout_seconds
from heron_stack.doctor.models import Check, Status
from heron_stack.doctor.report import exit_code, render_json, render_text

__all__ = [
    "Check",
    "Probes",
    "Status",
    "diagnose",
    "doctor_command",
    "exit_code",
    "render_json",
    "render_text",
    "timeout_seconds",
]
