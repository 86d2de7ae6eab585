"""Request and response bodies of the HTTP API (pydantic; unknown fields are refused)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

ActionKind = Literal["cpu-stress", "memory-leak", "disk-io", "traffic"]
ActionState = Literal["running", "completed", "stopped", "failed"]
DEFAULT_ENDPOINTS = ("/api/demo/ok",)

MAX_ENDPOINT_LENGTH = 1900  # a path or URL; with the load lab's own origin in front it stays under 2048


def _integral(value: object) -> object:
    # JSON has one number type: 5.0 is the integer 5 (as in JSON Schema); strings and booleans stay refused.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_integral)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _ActionBody(_Body):
    lease_seconds: float | None = Field(
        None, gt=0, le=3600, description="Stop the action unless renewed within this many seconds."
    )


class CpuStressRequest(_ActionBody):
    """Hold CPU at a target utilisation on some or all cores."""

    target_percent: float = Field(..., ge=1, le=100, description="Target utilisation of each stressed core.")
    duration_seconds: float = Field(..., gt=0, le=86400)
    cores: JsonInt = Field(0, ge=0, le=1024, description="Cores to stress; 0 means all.")


class MemoryLeakRequest(_ActionBody):
    """Grow resident memory in steps, hold it, release it."""

    size_mb: JsonInt = Field(..., ge=1, le=1_048_576)
    duration_seconds: float = Field(..., gt=0, le=86400)
    steps: JsonInt = Field(10, ge=1, le=1000, description="Allocation steps over the first half of the duration.")


class DiskIoRequest(_ActionBody):
    """Write, sync, read back and delete temp files."""

    operations: JsonInt = Field(..., ge=1, le=1_000_000)
    file_size_kb: JsonInt = Field(64, ge=1, le=1_048_576)
    pattern: Literal["sequential", "random"] = "sequential"


class TrafficRequest(_ActionBody):
    """Send HTTP GETs at a fixed arrival rate (open model)."""

    requests_per_sec: float = Field(..., gt=0, le=100_000)
    duration_seconds: float = Field(..., gt=0, le=86400)
    endpoints: list[Annotated[str, Field(max_length=MAX_ENDPOINT_LENGTH)]] = Field(
        default_factory=lambda: list(DEFAULT_ENDPOINTS),
        min_length=1,
        max_length=20,
        description="Paths on loadgen itself (e.g. /api/demo/ok) or URLs of allow-listed origins.",
    )
    concurrency: JsonInt = Field(32, ge=1, le=1024, description="Most requests in flight at once.")


class ScenarioStartRequest(_Body):
    """Options for a scenario run."""

    speed: float = Field(1.0, ge=1, le=100, description="Time compression: 10 runs a 5 min timeline in 30 s.")


class LeaseRenewRequest(_Body):
    """Extend an action's lease."""

    lease_seconds: float = Field(..., gt=0, le=3600)


ACTION_REQUESTS: dict[str, type[_ActionBody]] = {
    "cpu-stress": CpuStressRequest,
    "memory-leak": MemoryLeakRequest,
    "disk-io": DiskIoRequest,
    "traffic": TrafficRequest,
}


# --- responses -----------------------------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    message: str
    details: list[FieldError] = Field(default_factory=list)


class ActionStatus(BaseModel):
    id: str
    type: ActionKind
    status: ActionState
    progress: float = Field(..., ge=0, le=1)
    started_at: str
    estimated_completion: str | None
    finished_at: str | None
    params: dict[str, object]
    achieved: dict[str, float]
    scenario_id: str | None
    lease_expires_at: str | None
    error: str | None


class ActionStarted(BaseModel):
    action_id: str
    status: Literal["started"]
    started_at: str
    action: ActionStatus


class ActionList(BaseModel):
    actions: list[ActionStatus]


class StopAllResult(BaseModel):
    stopped: int


class Event(BaseModel):
    id: int
    timestamp: str
    type: str
    severity: Literal["info", "success", "warning", "critical"]
    message: str
    attributes: dict[str, object]


class EventList(BaseModel):
    events: list[Event]
    last_id: int


class Health(BaseModel):
    status: Literal["healthy"]
    version: str
    timestamp: str
    uptime_seconds: float
    active_actions: int
    grafana_url: str
    token_required: bool


class HostMetrics(BaseModel):
    timestamp: str
    cpu_percent: float
    cpu_per_core: list[float]
    load_average: list[float]
    memory_total_bytes: int
    memory_used_bytes: int
    memory_available_bytes: int
    memory_percent: float
    disk_read_bytes: int
    disk_write_bytes: int
    net_sent_bytes: int
    net_recv_bytes: int
    loadgen: dict[str, float]


class ScenarioPhase(BaseModel):
    at_seconds: float
    name: str
    description: str
    actions: list[dict[str, object]]


class ScenarioSummary(BaseModel):
    id: str
    name: str
    description: str
    duration_seconds: float
    expected_alerts: list[str]


class ScenarioDetail(ScenarioSummary):
    phases: list[ScenarioPhase]
    last_run: ScenarioRun | None


class ScenarioList(BaseModel):
    scenarios: list[ScenarioSummary]


class AlertCheck(BaseModel):
    name: str
    fired: bool | None
    first_seen_at: str | None


class ScenarioRun(BaseModel):
    scenario_id: str
    name: str
    status: Literal["running", "paused", "completed", "stopped"]
    progress: float = Field(..., ge=0, le=1)
    elapsed_seconds: float
    duration_seconds: float
    speed: float
    started_at: str
    current_phase: str | None
    action_ids: list[str]
    alerts: list[AlertCheck]
    alerts_source: str | None
    skipped_steps: list[str]


class ScenarioRunList(BaseModel):
    scenarios: list[ScenarioRun]


ScenarioDetail.model_rebuild()
