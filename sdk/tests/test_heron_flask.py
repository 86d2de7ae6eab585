import logging

import flask
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from heron.testing import capture

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def create_app() -> flask.Flask:
    app = flask.Flask("shop")
    logging.getLogger("shop").setLevel(logging.INFO)

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> str:
        logging.getLogger("shop").info("loaded user %s", user_id)
        return "ok"

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("database on fire")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app


def test_app_created_before_init_is_traced_with_route_and_status():
    app = create_app()  # before Heron starts, like an app imported at module level
    captured = capture()
    assert app.test_client().get("/users/7").status_code == 200
    span = captured.span("GET /users/<int:user_id>")
    assert span.kind is SpanKind.SERVER
    assert span.attributes["http.route"] == "/users/<int:user_id>"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["url.path"] == "/users/7"
    (point,) = captured.metrics("http.server.request.duration")
    assert point.unit == "s"
    assert point.attributes == {
        "http.request.method": "GET",
        "url.scheme": "http",
        "http.route": "/users/<int:user_id>",
        "http.response.status_code": 200,
    }


def test_incoming_trace_context_is_continued():
    captured = capture()
    create_app().test_client().get("/users/1", headers={"traceparent": TRACEPARENT})
    span = captured.span("GET /users/<int:user_id>")
    assert f"{span.context.trace_id:032x}" == TRACEPARENT.split("-")[1]
    assert f"{span.parent.span_id:016x}" == TRACEPARENT.split("-")[2]


def test_logs_inside_a_request_carry_its_trace_and_span_ids():
    captured = capture()
    create_app().test_client().get("/users/3")
    span = captured.span("GET /users/<int:user_id>")
    (log,) = [log for log in captured.logs() if log.log_record.body == "loaded user 3"]
    assert (log.log_record.trace_id, log.log_record.span_id) == (span.context.trace_id, span.context.span_id)


def test_health_checks_stay_out_of_spans_and_metrics():
    captured = capture()
    client = create_app().test_client()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert captured.spans() == []
    assert captured.metrics("http.server.request.duration") == []


def test_custom_health_routes():
    captured = capture(health_check_routes=["/users/9"])
    client = create_app().test_client()
    client.get("/users/9")
    client.get("/healthz")
    assert [span.attributes["url.path"] for span in captured.spans()] == ["/healthz"]


def test_request_error_becomes_exception_event_error_log_and_counter():
    captured = capture()
    app = create_app()
    assert app.test_client().get("/boom").status_code == 500
    span = captured.span("GET /boom")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RuntimeError"
    assert [event.attributes["exception.type"] for event in span.events] == ["RuntimeError"]
    errors = [log for log in captured.logs() if log.log_record.severity_text == "ERROR"]
    assert len(errors) == 1  # Flask's own "Exception on /boom" log is not exported twice
    assert "database on fire" in errors[0].log_record.attributes["exception.stacktrace"]
    assert errors[0].log_record.trace_id == span.context.trace_id
    (point,) = captured.metrics("heron.errors")
    assert (point.attributes["error.type"], point.attributes["heron.error.source"]) == ("RuntimeError", "flask")


def test_propagated_exception_in_testing_mode_is_still_recorded():
    captured = capture()
    app = create_app()
    app.testing = True
    with pytest.raises(RuntimeError):
        app.test_client().get("/boom")
    assert captured.span("GET /boom").attributes["error.type"] == "RuntimeError"
    assert captured.metrics("heron.errors")[0].value == 1


def test_not_found_is_not_an_error():
    captured = capture()
    create_app().test_client().get("/nope")
    (span,) = captured.spans()
    assert span.attributes["http.response.status_code"] == 404
    assert span.status.status_code is not StatusCode.ERROR
    assert captured.metrics("heron.errors") == []


def test_switched_off_by_environment(monkeypatch):
    monkeypatch.setenv("HERON_INSTRUMENT_FLASK", "false")
    captured = capture()
    create_app().test_client().get("/users/1")
    assert captured.spans() == []


def test_shutdown_restores_flask():
    from heron._internal import runtime

    original = flask.Flask.__call__
    capture()
    assert flask.Flask.__call__ is not original
    runtime.stop(1.0)
    assert flask.Flask.__call__ is original
