"""docker-compose.yml and its overlays, parsed and validated as compose would: schema, files, health, images."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from heron_stack.composecheck.dockerfile import final_stage
from heron_stack.composecheck.images import IMAGE_TOOLS, PYTHON_SLIM, repository
from heron_stack.composecheck.interpolate import InterpolationError, Interpolator, interpolate
from heron_stack.composecheck.merge import merge
from heron_stack.composecheck.rules import healthcheck_programs
from heron_stack.composecheck.schema import SCHEMA, validator
from heron_stack.composecheck.validate import required_variables, validate_files
from heron_stack.config import PROJECT_DIR
from tests.fixtures.compose import COMBINATIONS, COMPOSE, raw_compose


def test_the_vendored_schema_is_the_documented_copy_and_a_valid_2020_12_schema() -> None:
    readme = (PROJECT_DIR / "build" / "compose-spec.README.md").read_text()
    documented = re.search(r"sha256: ([0-9a-f]{64})", readme)
    assert documented is not None
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == documented.group(1)
    assert "raw.githubusercontent.com/compose-spec/compose-spec/master/schema/compose-spec.json" in readme
    assert validator().schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("files", COMBINATIONS.values(), ids=COMBINATIONS.keys())
def test_compose_files_pass_the_compose_schema_and_heron_rules(files: tuple[Path, ...]) -> None:
    problems = validate_files(files)
    assert not problems, "\n".join(map(str, problems))


def test_set_variables_are_validated_too() -> None:
    env = {"HERON_OTLP_GRPC_PORT": "14317", "HERON_ALERTS_API_TOKEN": "t", "HERON_GRAFANA_ADMIN_PASSWORD": "p"}
    assert validate_files(COMBINATIONS["auth"], {**env, "HERON_OTLP_TOKEN": "o"}) == []


def test_every_required_variable_is_in_env_example() -> None:
    example = (PROJECT_DIR / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))
    required: set[str] = set()
    for files in COMBINATIONS.values():
        required |= required_variables(raw_compose(files))
    assert required, "compose requires its secrets"
    assert required <= listed, f"not in .env.example: {sorted(required - listed)}"


# Interpolation, as compose does it before validating.
@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A:-x}", {}, "x"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A-x}", {"A": ""}, ""),
        ("${A:-x}", {"A": "1"}, "1"),
        ("${A:+y}", {"A": "1"}, "y"),
        ("${A:+y}", {"A": ""}, ""),
        ("${A+y}", {"A": ""}, "y"),
        ("$A/${B}", {"A": "a", "B": "b"}, "a/b"),
        ("$${HOSTNAME} $$!", {}, "${HOSTNAME} $!"),
        ("${A:-${B:-deep}}", {}, "deep"),
        ("-retentionPeriod=${R:-7d}", {"R": "12w"}, "-retentionPeriod=12w"),
        ("${A:?need A}", {"A": "set"}, "set"),
    ],
)
def test_interpolation(text: str, env: dict[str, str], expected: str) -> None:
    assert Interpolator(env).text(text) == expected


def test_a_missing_required_variable_fails_or_takes_the_placeholder() -> None:
    with pytest.raises(InterpolationError, match=r"A is missing a value: set A in \.env"):
        Interpolator({}).text("${A:?set A in .env}")
    with pytest.raises(InterpolationError):
        Interpolator({"A": ""}).text("${A:?empty is missing too}")
    interpolator = Interpolator({}, "dummy")
    assert interpolator.document({"k": ["${A:?msg}", "${B?msg}"]}) == {"k": ["dummy", "dummy"]}
    assert interpolator.required == {"A", "B"}


@pytest.mark.parametrize("text", ["cost $5", "${A", "${1A}", "${A!x}"])
def test_invalid_interpolation_is_an_error(text: str) -> None:
    with pytest.raises(InterpolationError):
        Interpolator({}).text(text)


def test_interpolation_leaves_keys_and_non_strings_alone() -> None:
    assert interpolate({"${K}": 5, "v": [True, "${K:-d}"]}, {}) == {"${K}": 5, "v": [True, "d"]}


# Merging overlays, as `docker compose -f a -f b` does.
def test_overlays_replace_commands_merge_environment_and_volumes_by_target() -> None:
    base = {
        "services": {
            "s": {
                "command": ["--a", "--b"],
                "environment": ["A=1", "B=2"],
                "volumes": ["./x:/etc/x:ro", "data:/data"],
                "ports": ["1:1"],
                "healthcheck": {"test": ["CMD", "a"], "interval": "5s"},
            }
        }
    }
    overlay = {
        "services": {
            "s": {
                "command": ["--c"],
                "environment": {"B": "3", "C": "4"},
                "volumes": ["./y:/etc/x:ro", "./z:/etc/z"],
                "ports": ["1:1", "2:2"],
                "healthcheck": {"test": ["CMD", "b"]},
            },
            "t": {"image": "i"},
        }
    }
    merged = merge(base, overlay)["services"]
    assert merged["s"]["command"] == ["--c"]
    assert merged["s"]["environment"] == {"A": "1", "B": "3", "C": "4"}
    assert merged["s"]["volumes"] == ["./y:/etc/x:ro", "data:/data", "./z:/etc/z"]
    assert merged["s"]["ports"] == ["1:1", "2:2"]
    assert merged["s"]["healthcheck"] == {"test": ["CMD", "b"], "interval": "5s"}
    assert merged["t"] == {"image": "i"}


def test_the_loki_overlay_adds_its_config_beside_heron_s() -> None:
    services = raw_compose(COMBINATIONS["loki"])["services"]
    assert services["otel-collector"]["command"][-1] == "--config=/etc/heron/otel-collector.loki.yaml"
    assert "./otel-collector.yaml:/etc/heron/otel-collector.yaml:ro" in services["otel-collector"]["volumes"]
    assert len(services["grafana"]["volumes"]) == 4


# The image tool table and what it rests on.
@pytest.mark.parametrize(
    ("test", "programs"),
    [
        (["CMD", "wget", "-qO-", "http://x"], ["wget"]),
        (["CMD-SHELL", "celery -A app inspect ping"], ["sh", "celery"]),
        (["CMD-SHELL", "LANG=C curl -f http://x || exit 1"], ["sh", "curl"]),
        ("redis-cli ping", ["sh", "redis-cli"]),
        (["NONE"], []),
    ],
)
def test_healthcheck_programs(test: object, programs: list[str]) -> None:
    assert healthcheck_programs(test) == programs


def test_every_image_compose_runs_is_in_the_tool_table() -> None:
    for files in COMBINATIONS.values():
        for name, service in raw_compose(files)["services"].items():
            assert repository(service["image"]) in IMAGE_TOOLS, f"{name}: describe {service['image']} in images.py"


def test_heron_images_are_python_slim_with_their_console_scripts() -> None:
    scripts = (PROJECT_DIR / "pyproject.toml").read_text()
    for image, dockerfile in {
        "heron/alert-worker": "deploy/alert-worker/Dockerfile",
        "heron/loadgen": "deploy/loadgen/Dockerfile",
        "heron/otel-agent": "deploy/agent/Dockerfile",
    }.items():
        stage = final_stage(PROJECT_DIR / dockerfile)
        assert re.fullmatch(r"python:3\.11-slim(-bookworm)?", stage.base), f"{dockerfile}: {stage.base}"
        assert IMAGE_TOOLS[image].base == stage.base
        tools = IMAGE_TOOLS[image].tools
        assert tools >= PYTHON_SLIM
        assert not {"curl", "wget"} & tools, "Debian slim images have neither curl nor wget"
        own = image.removeprefix("heron/")
        assert f'{own} = "' in scripts, f"{own} is a console script of pyproject.toml"


def test_repository_drops_the_tag_and_digest_only() -> None:
    assert repository("prom/prometheus:v3.16.0") == "prom/prometheus"
    assert repository("redis:7.4-alpine") == "redis"
    assert repository("registry:5000/a/b:1@sha256:00") == "registry:5000/a/b"
    assert repository("grafana/loki") == "grafana/loki"


def test_the_compose_file_is_read_with_yaml_anchors_resolved() -> None:
    services = raw_compose((COMPOSE,))["services"]
    assert services["alert-worker"]["environment"]["HERON_ALERTS_REDIS_URL"] == "redis://redis:6379/0"
    assert services["redis"]["restart"] == "unless-stopped"
