import multiprocessing
import threading

import pytest

import heron
from heron._internal import runtime
from heron._internal.exceptions import HeronInitWarning
from heron.testing import capture


def test_init_twice_warns_and_keeps_the_first_configuration(http_server):
    endpoint = f"http://127.0.0.1:{http_server.server_port}"
    assert heron.init(service_name="first", endpoint=endpoint, capture_uncaught=False) is True
    with pytest.warns(HeronInitWarning, match="'first'"):
        assert heron.init(service_name="second", endpoint=endpoint) is False
    assert runtime.current().config.service_name == "first"


def test_otel_sdk_disabled_starts_nothing(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert heron.init(service_name="off") is False
    assert runtime.current() is None


def test_init_after_shutdown_starts_again(http_server):
    endpoint = f"http://127.0.0.1:{http_server.server_port}"
    heron.init(service_name="one", endpoint=endpoint)
    heron.shutdown(timeout=2.0)
    assert heron.init(service_name="two", endpoint=endpoint) is True


def test_spans_reach_the_otlp_endpoint_and_shutdown_reports_them(http_server):
    heron.init(service_name="exporting", endpoint=f"http://127.0.0.1:{http_server.server_port}")
    with heron.span("work"):
        pass
    report = heron.shutdown(timeout=5.0)
    assert report.completed
    assert (report.spans_exported, report.spans_dropped) == (1, 0)
    traces = [seen for seen in http_server.seen if seen["path"] == "/v1/traces"]
    assert traces
    assert traces[0]["content-type"] == "application/x-protobuf"


def test_shutdown_gives_up_at_its_timeout_when_the_collector_hangs(http_server):
    http_server.hang = threading.Event()  # accepts the connection, never answers
    heron.init(service_name="stuck", endpoint=f"http://127.0.0.1:{http_server.server_port}")
    for index in range(5):
        with heron.span(f"work {index}"):
            pass
    result = {}
    caller = threading.Thread(target=lambda: result.setdefault("report", heron.shutdown(timeout=0.5)))
    caller.start()
    caller.join(timeout=20)  # generous: only a hang fails this
    assert not caller.is_alive(), "shutdown blocked past its timeout"
    report = result["report"]
    assert report.completed is False
    assert report.spans_dropped == 5
    assert "gave up after 0.5s" in report.summary()


def test_shutdown_without_init_is_harmless():
    report = heron.shutdown()
    assert report.completed
    assert report.dropped == 0


def _child_instance_id(queue):
    with heron.span("in child") as span:
        pass
    queue.put(span.resource.attributes["service.instance.id"])


def test_forked_child_gets_its_own_service_instance_id():
    capture()
    with heron.span("in parent") as span:
        pass
    parent_id = span.resource.attributes["service.instance.id"]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_instance_id, args=(queue,))
    child.start()
    child_id = queue.get(timeout=30)
    child.join(timeout=30)
    assert child.exitcode == 0
    assert child_id != parent_id
