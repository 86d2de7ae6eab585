"""`heron logs` and the LogsQL client, against a fake VictoriaLogs (httpx mock transport)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from heron_stack import logs_command, logsql
from heron_stack.config import resolve

ENTRIES = [
    {
        "_time": "2026-12-04T10:00:02Z",
        "_msg": "checkout failed",
        "_stream_id": "0001",
        "service.name": "shop",
        "host.name": "web-1",
        "severity_text": "ERROR",
        "trace_id": "abc",
        "telemetry.sdk.name": "opentelemetry",
    },
    {"_time": "2026-12-04T10:00:01Z", "_msg": "cart saved", "service.name": "shop", "severity_text": "INFO"},
]


def fake_store(seen: list[dict[str, str]], status: int = 200, body: str | None = None) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append({k: v[0] for k, v in parse_qs(request.content.decode()).items()} | {"path": request.url.path})
        if body is not None:
            return httpx.Response(status, text=body)
        return httpx.Response(status, text="\n".join(json.dumps(e) for e in ENTRIES))

    return httpx.Client(transport=httpx.MockTransport(handle))


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    logs_command.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_entries_print_oldest_first_with_service_host_severity_and_useful_fields(tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []
    out = io.StringIO()
    code = logs_command.run(
        parse("service.name:shop", "--since", "2h", "--limit", "5"),
        resolve({}, state_dir=tmp_path),
        client=fake_store(seen),
        out=out,
        now=lambda: 10_000.0,
    )
    assert code == 0
    assert seen == [
        {"query": "service.name:shop", "start": str(10_000 - 7200), "limit": "5", "path": logsql.QUERY_PATH}
    ]
    assert out.getvalue().splitlines() == [
        "2026-12-04T10:00:01Z  shop  INFO  cart saved",
        "2026-12-04T10:00:02Z  shop@web-1  ERROR  checkout failed  trace_id=abc",
    ]


def test_json_output_keeps_every_field_but_the_internal_stream_id(tmp_path: Path) -> None:
    out = io.StringIO()
    logs_command.run(parse("*", "--json"), resolve({}, state_dir=tmp_path), client=fake_store([]), out=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["_msg"] for row in rows] == ["cart saved", "checkout failed"]
    assert rows[1]["telemetry.sdk.name"] == "opentelemetry"
    assert all("_stream_id" not in row for row in rows)


def test_a_query_the_store_refuses_exits_2_with_its_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = fake_store([], status=400, body="cannot parse `query` arg: unexpected pipe name")
    assert logs_command.run(parse("a | b("), resolve({}, state_dir=tmp_path), client=client) == 2
    assert "refused the query (400): cannot parse `query` arg: unexpected pipe name" in capsys.readouterr().err


def test_a_store_that_is_down_exits_1_and_says_how_to_start_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    assert logs_command.run(parse("x"), resolve({}, state_dir=tmp_path), client=client) == 1
    assert "`heron up` starts VictoriaLogs" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "needle"), [(["--since", "15"], "not a duration"), (["--limit", "0"], "1 to 10000")])
def test_bad_arguments_name_the_value_and_what_is_allowed(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse(*argv)
    assert needle in capsys.readouterr().err


def test_stats_queries_return_one_sample_per_group_and_5xx_is_transient() -> None:
    body = {
        "status": "success",
        "data": {"result": [{"metric": {"__name__": "n", "service.name": "a"}, "value": [1, "3"]}]},
    }
    client = fake_store([], body=json.dumps(body))
    assert logsql.stats(client, "http://vl", "* | stats by (service.name) count() n") == [
        logsql.Sample({"__name__": "n", "service.name": "a"}, 3.0)
    ]
    with pytest.raises(logsql.LogsQLUnavailable):
        logsql.stats(fake_store([], status=503, body="busy"), "http://vl", "*")
    with pytest.raises(logsql.LogsQLRejected):
        logsql.stats(fake_store([], body="not json"), "http://vl", "*")
