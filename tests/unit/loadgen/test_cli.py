"""`loadgen serve` refuses bad configuration with exit code 2 and a message naming the setting."""

from __future__ import annotations

import pytest

from loadgen.cli import main


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HERON_LOADGEN_TOKEN", "HERON_LOADGEN_TOKEN_FILE", "HERON_LOADGEN_HOST", "HERON_LOADGEN_PORT"):
        monkeypatch.delenv(key, raising=False)


def test_public_bind_without_token_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "--host" in err
    assert "requires a token" in err


def test_bad_cap_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--max-memory-share", "2"]) == 2
    assert "--max-memory-share" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as info:
        main(["explode"])
    assert info.value.code == 2


def test_waitress_refuses_bodies_over_the_app_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from heron_stack.jsonbody import MAX_BODY_BYTES
    from loadgen import cli

    seen: dict[str, object] = {}

    class Stop(Exception):
        pass

    def fake_create_server(app: object, **kwargs: object) -> None:
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(cli, "create_server", fake_create_server)
    for key in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(Stop):
        main(["serve", "--port", "0"])
    assert seen["max_request_body_size"] == MAX_BODY_BYTES
