"""The alert API on an in-memory store: rules, silences, history, auth, 4xx JSON errors."""

import pytest

from alert_worker.api import ApiContext, create_app
from alert_worker.config import resolve_config
from alert_worker.exceptions import ConfigError
from alert_worker.rules.loader import parse_rules
from alert_worker.state.memory import MemoryStore

FILE_RULES = parse_rules(
    "groups:\n  - name: hosts\n    rules:\n      - alert: HostHighCpu\n        expr: cpu > 0.9\n", "hosts.yml"
)


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture
def client(store):
    ctx = ApiContext(store=store, file_groups=lambda: FILE_RULES, clock=lambda: 1000.0)
    app = create_app(resolve_config(env={}), ctx)
    return app.test_client()


def test_rule_crud_through_the_api(client, store):
    created = client.post(
        "/api/alerts/rules",
        json={"alert": "QueueDeep", "condition": "IF queue_depth > 100 FOR 2 minutes"},
        headers={"X-Heron-Actor": "alice"},
    )
    assert created.status_code == 201, created.json
    assert created.json["expr"] == "queue_depth > 100"
    assert created.json["for"] == "2m"
    listed = client.get("/api/alerts/rules").json["rules"]
    assert [(r["alert"], r["read_only"]) for r in listed] == [("HostHighCpu", True), ("QueueDeep", False)]
    updated = client.put(
        "/api/alerts/rules/QueueDeep", json={"expr": "queue_depth > 500"}, headers={"X-Heron-Actor": "bob"}
    )
    assert updated.status_code == 200
    assert (updated.json["created_by"], updated.json["updated_by"]) == ("alice", "bob")
    assert client.delete("/api/alerts/rules/QueueDeep").status_code == 204
    assert store.api_rules() == {}
    changes = client.get("/api/alerts/history?kind=change").json["entries"]
    assert [(c["action"], c["actor"]) for c in changes] == [
        ("deleted", "api"),
        ("updated", "bob"),
        ("created", "alice"),
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "field"),
    [
        ("post", "/api/alerts/rules", {"alert": "X", "expr": "up == 0", "for": "5 minutes"}, 400, "for"),
        ("post", "/api/alerts/rules", {"alert": "X", "expr": "up", "colour": "red"}, 400, "colour"),
        ("post", "/api/alerts/rules", {"expr": "up == 0"}, 400, "alert"),
        ("post", "/api/alerts/rules", {"alert": "X", "condition": "CPU high"}, 400, "condition"),
        ("post", "/api/alerts/rules", {"alert": "HostHighCpu", "expr": "cpu > 0.5"}, 409, "alert"),
        ("put", "/api/alerts/rules/HostHighCpu", {"expr": "cpu > 0.5"}, 409, "alert"),
        ("delete", "/api/alerts/rules/HostHighCpu", None, 409, "name"),
        ("put", "/api/alerts/rules/Nope", {"expr": "up"}, 404, "name"),
        ("post", "/api/silences", {"matchers": ["not a matcher"], "duration": "1h", "comment": "x"}, 400, "matchers"),
        ("post", "/api/silences", {"matchers": ['host_name="web"'], "duration": "1h"}, 400, "comment"),
        ("post", "/api/silences", {"matchers": ['host_name=~".*"'], "duration": "1h", "comment": "x"}, 400, "matchers"),
        ("post", "/api/silences", {"matchers": ['a="b"'], "ends_at": 10, "comment": "x"}, 400, "ends_at"),
        ("get", "/api/alerts/history?limit=0", None, 400, "limit"),
        ("get", "/api/alerts/history?start=yesterday", None, 400, "start"),
        ("get", "/api/silences/nope", None, 404, "id"),
        ("post", "/api/alerts/rules", {"alert": "X", "expr": "rate(x[5m] >"}, 400, "expr"),
        ("post", "/api/alerts/rules", {"alert": "X", "expr": "sum(rate(x[5m]) by"}, 400, "expr"),
        ("post", "/api/alerts/rules", {"alert": "X", "expr": 'up{job=~"("} == 0'}, 400, "expr"),
        ("post", "/api/alerts/rules", {"alert": "X", "expr": "no_such_function(up)"}, 400, "expr"),
        ("put", "/api/alerts/rules/Nope", {"expr": "up["}, 400, "expr"),
        (
            "post",
            "/api/alerts/rules",
            {"alert": "X", "condition": "IF queue_depth >> 100 FOR 2 minutes"},
            400,
            "condition",
        ),
    ],
)
def test_errors_are_4xx_json_naming_the_field(client, method, path, body, code, field):
    resp = getattr(client, method)(path, json=body) if body is not None else getattr(client, method)(path)
    assert resp.status_code == code, resp.json
    assert resp.json["field"] == field, resp.json


def test_silence_lifecycle(client):
    created = client.post(
        "/api/silences",
        json={"matchers": ['host_name="web-1"'], "duration": "2h", "comment": "disk swap"},
        headers={"X-Heron-Actor": "ops"},
    )
    assert created.status_code == 201
    sid = created.json["id"]
    assert created.json["state"] == "active"
    assert created.json["created_by"] == "ops"
    assert created.json["ends_at"] == 1000.0 + 7200
    assert client.delete(f"/api/silences/{sid}").status_code == 204
    assert client.get(f"/api/silences/{sid}").json["state"] == "expired"


def test_history_pagination_and_filters(client, store):
    store.add_history(
        [{"kind": "transition", "rule": "R", "labels": {"host_name": f"h{i % 2}"}, "at": float(i)} for i in range(10)]
    )
    page1 = client.get("/api/alerts/history?rule=R&host=h0&limit=3").json
    page2 = client.get(f"/api/alerts/history?rule=R&host=h0&limit=3&offset={page1['next_offset']}").json
    assert [e["at"] for e in page1["entries"]] == [8.0, 6.0, 4.0]
    assert [e["at"] for e in page2["entries"]] == [2.0, 0.0]
    window = client.get("/api/alerts/history?start=3&end=5").json["entries"]
    assert [e["at"] for e in window] == [5.0, 4.0, 3.0]


def test_off_loopback_requires_a_token(store):
    ctx = ApiContext(store=store, file_groups=lambda: FILE_RULES)
    with pytest.raises(ConfigError, match="HERON_ALERTS_API_TOKEN"):
        create_app(resolve_config({"api_host": "0.0.0.0"}, env={}), ctx)
    app = create_app(resolve_config({"api_host": "0.0.0.0", "api_token": "s3cret"}, env={}), ctx)
    client = app.test_client()
    assert client.get("/api/silences").status_code == 401
    assert client.get("/api/silences", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/silences", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_openapi_lists_every_route(client):
    spec = client.get("/api/openapi.json").json
    assert set(spec["paths"]) == {
        "/api/health",
        "/api/alerts/rules",
        "/api/alerts/rules/{name}",
        "/api/alerts/active",
        "/api/alerts/history",
        "/api/silences",
        "/api/silences/{silence_id}",
    }


def test_unknown_route_is_json_404(client):
    resp = client.get("/api/nothing")
    assert resp.status_code == 404
    assert "error" in resp.json


def test_health_answers_for_process_supervisors(client):
    resp = client.get("/api/health")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok"}


def test_an_unparsable_expression_is_refused_with_the_parsers_message(client, store):
    resp = client.post("/api/alerts/rules", json={"alert": "X", "expr": "rate(x[5m] >"})
    assert resp.status_code == 400
    assert "invalid PromQL 'rate(x[5m] >': unclosed left parenthesis" in resp.json["error"]
    assert store.api_rules() == {}


def test_an_unreachable_redis_is_a_503_json_without_the_password():
    from tests.fixtures.stack import free_port

    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(resolve_config({"redis_url": url}, env={}))
    response = app.test_client().get("/api/alerts/active")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert "cannot reach Redis at redis://:***@127.0.0.1" in error
    assert "hunter2" not in error


SILENCE = {"matchers": ['host_name="web-1"'], "duration": "1h", "comment": "deploy"}


@pytest.mark.parametrize("path", ["/api/silences", "/api/alerts/rules"])
def test_json_nested_past_the_parser_s_depth_is_a_400_naming_the_body(client, path):
    deep = "[" * 100_000 + "]" * 100_000
    resp = client.post(path, data=deep, content_type="application/json")
    assert resp.status_code == 400
    assert resp.json["field"] == "body"
    assert "invalid JSON" in resp.json["error"]


def test_a_repeated_json_key_is_a_400_naming_it(client):
    body = '{"matchers": ["host_name=\\"web-1\\""], "duration": "1h", "duration": "2h", "comment": "x"}'
    resp = client.post("/api/silences", data=body, content_type="application/json")
    assert resp.status_code == 400
    assert resp.json["field"] == "duration"
    assert "appears twice" in resp.json["error"]


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_huge_or_non_finite_timestamps_are_400_with_the_range(client, field):
    for value in (int("9" * 400), -1):
        body = {k: v for k, v in SILENCE.items() if not (field == "ends_at" and k == "duration")}
        resp = client.post("/api/silences", json={**body, field: value})
        assert resp.status_code == 400, (value, resp.json)
        assert resp.json["field"] == field
        assert "from 0 to 1e+11" in resp.json["error"]
        assert len(resp.json["error"]) < 300


def test_huge_durations_are_400_not_500(client):
    resp = client.post("/api/silences", json={**SILENCE, "duration": "9" * 400 + "h"})
    assert resp.status_code == 400
    assert resp.json["field"] == "duration"
    assert "too long; at most" in resp.json["error"]
    rule = {"alert": "Huge", "expr": "up == 0", "for": "9" * 400 + "h"}
    resp = client.post("/api/alerts/rules", json=rule)
    assert resp.status_code == 400
    assert resp.json["field"] == "for"


def test_a_body_over_the_limit_is_a_413_json_naming_the_body(client):
    resp = client.post("/api/silences", data=b"{" + b" " * (1024 * 1024) + b"}", content_type="application/json")
    assert resp.status_code == 413
    assert resp.json["field"] == "body"
    assert "limited to 1048576 bytes" in resp.json["error"]


@pytest.mark.parametrize("field", ["comment", "created_by"])
def test_silence_text_fields_are_capped(client, field):
    resp = client.post("/api/silences", json={**SILENCE, field: "x" * 1001})
    assert resp.status_code == 400
    assert resp.json["field"] == field
    assert "at most 1000 characters" in resp.json["error"]
    assert client.post("/api/silences", json={**SILENCE, field: "x" * 1000}).status_code == 201


def test_history_paging_takes_ascii_digits_only(client):
    resp = client.get("/api/alerts/history?limit=%D9%A3")
    assert resp.status_code == 400
    assert resp.json["field"] == "limit"
