"""The actions API through the Flask test client (fake actions; real engine, budget and validation)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from loadgen.lab import lab
from tests.helpers import wait_for
from tests.unit.loadgen.conftest import error_fields, make_app

CPU = {"target_percent": 50, "duration_seconds": 5, "cores": 1}


def test_start_list_and_stop_an_action(client: FlaskClient) -> None:
    started = client.post("/api/actions/cpu-stress", json=CPU)
    assert started.status_code == 201
    body = started.get_json()
    assert body["status"] == "started"
    action_id = body["action_id"]
    active = client.get("/api/actions/active").get_json()["actions"]
    assert [a["id"] for a in active] == [action_id]
    assert active[0]["type"] == "cpu-stress"
    assert active[0]["estimated_completion"] is not None
    wait_for(lambda: client.get(f"/api/actions/{action_id}").get_json()["progress"] > 0, timeout=5, what="progress")
    stopped = client.delete(f"/api/actions/{action_id}/stop")
    assert stopped.status_code == 200
    final = wait_for(
        lambda: (b := client.get(f"/api/actions/{action_id}").get_json())["status"] == "stopped" and b,
        timeout=5,
        what="stopped status",
    )
    assert final["finished_at"] is not None
    assert client.get("/api/actions/active").get_json()["actions"] == []


def test_stop_all(client: FlaskClient) -> None:
    client.post("/api/actions/cpu-stress", json=CPU)
    client.post("/api/actions/disk-io", json={"operations": 10})
    assert client.delete("/api/actions/stop-all").get_json() == {"stopped": 2}
    wait_for(lambda: not client.get("/api/actions/active").get_json()["actions"], timeout=5, what="all stopped")


def test_events_record_start_and_finish(client: FlaskClient) -> None:
    action_id = client.post("/api/actions/disk-io", json={"operations": 1}).get_json()["action_id"]
    client.delete(f"/api/actions/{action_id}/stop")

    def finished() -> list[str]:
        events = client.get("/api/events").get_json()["events"]
        types = [e["type"] for e in events if e["attributes"].get("action_id") == action_id]
        return types if "action_stopped" in types else []

    assert wait_for(finished, timeout=5, what="stop event")[0] == "action_started"
    last = client.get("/api/events").get_json()["last_id"]
    assert client.get(f"/api/events?after={last}").get_json()["events"] == []


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("/api/actions/cpu-stress", {"target_percent": 150, "duration_seconds": 5}, {"target_percent"}),
        ("/api/actions/cpu-stress", {"target_percent": "90", "duration_seconds": 5}, {"target_percent"}),
        ("/api/actions/cpu-stress", {"target_percent": 90}, {"duration_seconds"}),
        ("/api/actions/cpu-stress", {"target_percent": 90, "duration_seconds": 5, "turbo": True}, {"turbo"}),
        ("/api/actions/cpu-stress", {"target_percent": True, "duration_seconds": 5}, {"target_percent"}),
        ("/api/actions/memory-leak", {"size_mb": 0, "duration_seconds": 5}, {"size_mb"}),
        ("/api/actions/memory-leak", {"size_mb": 10, "duration_seconds": 5, "steps": 1.5}, {"steps"}),
        ("/api/actions/disk-io", {"operations": 10, "pattern": "zigzag"}, {"pattern"}),
        ("/api/actions/traffic", {"requests_per_sec": 10, "duration_seconds": 5, "endpoints": []}, {"endpoints"}),
        ("/api/actions/traffic", {"requests_per_sec": 10, "duration_seconds": 5, "endpoints": [1]}, {"endpoints.0"}),
        ("/api/actions/cpu-stress", [1, 2], {"body"}),
    ],
)
def test_invalid_bodies_get_field_level_422(client: FlaskClient, path: str, body: Any, fields: set[str]) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["error"] == "validation_failed"
    assert error_fields(payload) == fields
    assert client.get("/api/actions/active").get_json()["actions"] == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/actions/cpu-stress", {"target_percent": 50, "duration_seconds": 61}, "duration_seconds"),
        ("/api/actions/cpu-stress", {"target_percent": 50, "duration_seconds": 5, "cores": 64}, "cores"),
        ("/api/actions/traffic", {"requests_per_sec": 5000, "duration_seconds": 5}, "requests_per_sec"),
        ("/api/actions/traffic", {"requests_per_sec": 5, "duration_seconds": 5, "concurrency": 999}, "concurrency"),
        ("/api/actions/disk-io", {"operations": 5, "file_size_kb": 1_000_000}, "file_size_kb"),
        (
            "/api/actions/traffic",
            {"requests_per_sec": 5, "duration_seconds": 5, "endpoints": ["http://169.254.169.254/latest/meta-data"]},
            "endpoints.0",
        ),
        (
            "/api/actions/traffic",
            {"requests_per_sec": 5, "duration_seconds": 5, "endpoints": ["https://example.com/"]},
            "endpoints.0",
        ),
    ],
)
def test_hard_caps_and_targets_are_422(client: FlaskClient, path: str, body: dict[str, Any], field: str) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422, response.get_json()
    assert error_fields(response.get_json()) == {field}


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post("/api/actions/cpu-stress", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_json"
    # A body that is not typed JSON is refused before validation, so a browser form can never start an action.
    form = client.post("/api/actions/cpu-stress", data="target_percent=50", content_type="text/plain")
    assert form.status_code == 415
    assert "Content-Type: application/json" in form.get_json()["message"]
    # No body at all passes the type check, then the action's schema asks for one.
    bodiless = client.post("/api/actions/cpu-stress")
    assert bodiless.status_code == 422
    assert error_fields(bodiless.get_json()) == {"body"}


TRAFFIC = {"requests_per_sec": 5, "duration_seconds": 5}


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ("x" * (1024 * 1024 - 10), 400),  # not JSON at all
        ('{"requests_per_sec": 5, "duration_seconds": 5, "endpoints": ["/' + "x" * (1024 * 1024 - 100) + '"]}', 422),
        ('{"target_percent": "' + "x" * (1024 * 1024 - 100) + '", "duration_seconds": 5}', 422),
    ],
)
def test_a_huge_bad_value_gives_a_short_answer(client: FlaskClient, data: str, status: int) -> None:
    path = "/api/actions/cpu-stress" if "target_percent" in data else "/api/actions/traffic"
    response = client.post(path, data=data, content_type="application/json")
    assert response.status_code == status, response.get_data()[:300]
    assert len(response.get_data()) < 2048
    body = response.get_json()
    assert body["details"]
    assert all("..." in d["message"] or "xxx" not in d["message"] for d in body["details"])


def test_a_body_over_the_limit_is_413_json(client: FlaskClient) -> None:
    response = client.post("/api/actions/traffic", data=b" " * (1024 * 1024 + 1), content_type="application/json")
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "body_too_large"
    assert error_fields(body) == {"body"}
    assert str(1024 * 1024) in body["message"]


def test_a_repeated_json_key_is_400_naming_it(client: FlaskClient) -> None:
    data = '{"target_percent": 500, "target_percent": 5, "duration_seconds": 5, "cores": 1}'
    response = client.post("/api/actions/cpu-stress", data=data, content_type="application/json")
    assert response.status_code == 400
    body = response.get_json()
    assert error_fields(body) == {"target_percent"}
    assert "appears twice" in body["details"][0]["message"]
    nested = '{"requests_per_sec": 5, "duration_seconds": 5, "endpoints": ["/a"], "x": {"k": 1, "k": 2}}'
    assert client.post("/api/actions/traffic", data=nested, content_type="application/json").status_code == 400
    assert client.get("/api/actions/active").get_json()["actions"] == []


def test_admission_refuses_memory_beyond_the_budget(client: FlaskClient) -> None:
    # the fake host has 1024 MiB available and the share is 0.5
    first = client.post("/api/actions/memory-leak", json={"size_mb": 400, "duration_seconds": 5})
    assert first.status_code == 201
    second = client.post("/api/actions/memory-leak", json={"size_mb": 200, "duration_seconds": 5})
    assert second.status_code == 409
    assert second.get_json()["error"] == "admission_refused"
    assert error_fields(second.get_json()) == {"size_mb"}


def test_admission_refuses_cpu_beyond_the_cores(client: FlaskClient) -> None:
    cores = lab(client.application).engine.cpu_count
    assert (
        client.post("/api/actions/cpu-stress", json={"target_percent": 100, "duration_seconds": 5}).status_code == 201
    )
    refused = client.post("/api/actions/cpu-stress", json={"target_percent": 10, "duration_seconds": 5, "cores": cores})
    assert refused.status_code == 409


def test_concurrent_action_cap(tmp_path: Any) -> None:
    app = make_app(tmp_path, max_concurrent_actions=2)
    client = app.test_client()
    try:
        for _ in range(2):
            assert client.post("/api/actions/disk-io", json={"operations": 1}).status_code == 201
        assert client.post("/api/actions/disk-io", json={"operations": 1}).status_code == 409
    finally:
        lab(app).shutdown()


def test_lease_stops_an_action_that_is_not_renewed(client: FlaskClient) -> None:
    body = {"target_percent": 10, "duration_seconds": 30, "cores": 1, "lease_seconds": 0.5}
    action_id = client.post("/api/actions/cpu-stress", json=body).get_json()["action_id"]
    status = wait_for(
        lambda: (b := client.get(f"/api/actions/{action_id}").get_json())["status"] != "running" and b,
        timeout=10,
        what="lease expiry",
    )
    assert status["status"] == "stopped"
    events = client.get("/api/events").get_json()["events"]
    assert any("lease expired" in e["message"] for e in events)


def test_renewed_lease_moves_the_deadline(client: FlaskClient) -> None:
    body = {"target_percent": 10, "duration_seconds": 30, "cores": 1, "lease_seconds": 5}
    action_id = client.post("/api/actions/cpu-stress", json=body).get_json()["action_id"]
    before = client.get(f"/api/actions/{action_id}").get_json()["lease_expires_at"]
    renewed = client.post(f"/api/actions/{action_id}/renew", json={"lease_seconds": 600})
    assert renewed.status_code == 200
    assert renewed.get_json()["lease_expires_at"] > before
    assert client.post("/api/actions/nope/renew", json={"lease_seconds": 5}).status_code == 404


def test_unknown_ids_and_methods_answer_json(client: FlaskClient) -> None:
    missing = client.delete("/api/actions/cpu-stress-00000000/stop")
    assert missing.status_code == 404
    assert missing.get_json()["error"] == "not_found"
    wrong = client.put("/api/actions/cpu-stress", json={})
    assert wrong.status_code == 405
    assert wrong.get_json()["error"] == "method_not_allowed"
    assert client.get("/nowhere").get_json()["error"] == "not_found"


def test_token_is_required_on_api_but_not_on_health(tmp_path: Any) -> None:
    app = make_app(tmp_path, host="0.0.0.0", token="correct-horse-battery")
    client = app.test_client()
    try:
        assert client.get("/api/health").status_code == 200
        assert client.get("/").status_code == 200
        refused = client.get("/api/actions/active")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = client.get("/api/actions/active", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.get("/api/actions/active", headers={"Authorization": "Bearer correct-horse-battery"})
        assert ok.status_code == 200
    finally:
        lab(app).shutdown()


def test_health_metrics_and_page(client: FlaskClient) -> None:
    health = client.get("/api/health").get_json()
    assert health["status"] == "healthy"
    metrics = client.get("/api/metrics/current").get_json()
    assert 0 <= metrics["cpu_percent"] <= 100
    assert metrics["memory_total_bytes"] > 0
    page = client.get("/").get_data(as_text=True)
    assert "CPU Spike" in page
    with client.get("/static/app.js") as script:
        assert script.status_code == 200


@pytest.mark.parametrize("query", ["after=-1", "limit=0", "limit=abc", "color=blue"])
def test_bad_event_queries_are_422(client: FlaskClient, query: str) -> None:
    assert client.get(f"/api/events?{query}").status_code == 422


def test_a_finished_action_reports_progress_milestones_and_completion(client: FlaskClient) -> None:
    action_id = client.post("/api/actions/cpu-stress", json={"target_percent": 10, "duration_seconds": 1.5}).get_json()[
        "action_id"
    ]

    def types() -> list[str]:
        events = client.get("/api/events").get_json()["events"]
        found = [e["type"] for e in events if e["attributes"].get("action_id") == action_id]
        return found if "action_completed" in found else []

    found = wait_for(types, timeout=10, what="completion event")
    assert found[0] == "action_started"
    assert "action_progress" in found
    assert found[-1] == "action_completed"
    final = client.get(f"/api/actions/{action_id}").get_json()
    assert final["status"] == "completed"
    assert final["progress"] == 1.0
