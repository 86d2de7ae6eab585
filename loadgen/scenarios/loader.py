"""Load scenario YAML files (package data) into validated `Scenario` timelines."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loadgen.exceptions import ConfigError
from loadgen.scenarios.model import Phase, Scenario, Step
from loadgen.validation import ACTION_REQUESTS


class _StepFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    offset: float = Field(0.0, ge=0)
    params: dict[str, Any]


class _PhaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: float = Field(..., ge=0)
    name: str
    description: str = ""
    actions: list[_StepFile] = Field(default_factory=list)


class _ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str
    description: str
    duration_seconds: float = Field(..., gt=0, le=86400)
    expected_alerts: list[str] = Field(default_factory=list)
    phases: list[_PhaseFile] = Field(..., min_length=1)


def parse_scenario(text: str, source: str) -> Scenario:
    """Parse one YAML document; raise `ConfigError` naming the file, the field and the problem."""
    try:
        data = _ScenarioFile.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise ConfigError(source, "<yaml>", f"not valid YAML: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{source}: {loc}", err.get("input"), err["msg"]) from exc
    phases = []
    for p_index, phase in enumerate(data.phases):
        steps = []
        for s_index, step in enumerate(phase.actions):
            where = f"{source}: phases.{p_index}.actions.{s_index}"
            model = ACTION_REQUESTS.get(step.type)
            if model is None:
                raise ConfigError(f"{where}.type", step.type, f"use one of {sorted(ACTION_REQUESTS)}")
            try:
                model.model_validate(step.params)
            except ValidationError as exc:
                err = exc.errors()[0]
                raise ConfigError(
                    f"{where}.params.{err['loc'][0] if err['loc'] else ''}", err.get("input"), err["msg"]
                ) from exc
            steps.append(Step(phase.at + step.offset, step.type, dict(step.params)))
        phases.append(Phase(phase.at, phase.name, phase.description, tuple(steps)))
    return Scenario(
        data.id, data.name, data.description, data.duration_seconds, tuple(phases), tuple(data.expected_alerts)
    )


def builtin_scenarios() -> dict[str, Scenario]:
    """The scenarios shipped with loadgen, by id, in file-name order."""
    found: dict[str, Scenario] = {}
    for entry in sorted(resources.files("loadgen.scenarios").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            scenario = parse_scenario(entry.read_text(encoding="utf-8"), entry.name)
            found[scenario.id] = scenario
    return found


def load_directory(directory: Path) -> dict[str, Scenario]:
    """Scenarios from every *.yaml file of `directory`."""
    return {
        s.id: s
        for s in (parse_scenario(p.read_text(encoding="utf-8"), str(p)) for p in sorted(directory.glob("*.yaml")))
    }
