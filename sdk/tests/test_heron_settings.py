"""The SDK's settings registry and its warning about misspelt HERON_* names it owns."""

from __future__ import annotations

import warnings

import pytest

from heron._internal import config, env
from heron._internal.config import InitArgs, resolve_config
from heron._internal.exceptions import HeronConfigWarning

ARGS = InitArgs(service_name="svc")


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_reported_unknown", set())


def test_every_heron_constant_is_registered() -> None:
    constants = {value for key, value in vars(env).items() if key.startswith("HERON_") and key == value}
    assert constants == env.SETTINGS.names()


def test_a_misspelt_integration_switch_is_named_with_the_right_one() -> None:
    with pytest.warns(
        HeronConfigWarning, match="HERON_INSTRUMENT_FLASKK is not a Heron setting; did you mean HERON_INSTRUMENT_FLASK?"
    ):
        resolved = resolve_config(ARGS, {"HERON_INSTRUMENT_FLASKK": "false"})
    assert "flask" in resolved.integrations


def test_a_near_miss_outside_the_owned_prefixes_is_named_too() -> None:
    with pytest.warns(HeronConfigWarning, match="did you mean HERON_ENVIRONMENT"):
        resolve_config(ARGS, {"HERON_ENVIROMENT": "prod"})


def test_names_of_heron_components_the_sdk_does_not_read_are_left_alone() -> None:
    environ = {"HERON_ALERTS_PROMETEUS_URL": "x", "HERON_AGENT_INTERVAL": "5", "HERON_LOADGEN_TOKEN": "t" * 8}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_config(ARGS, {**environ, "HERON_SCRUB": "true", "HERON_LOG_LEVEL": "debug"})


def test_each_name_is_reported_once() -> None:
    with pytest.warns(HeronConfigWarning):
        resolve_config(ARGS, {"HERON_SDK_RAISE_INTERNALS": "1"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_config(ARGS, {"HERON_SDK_RAISE_INTERNALS": "1"})
