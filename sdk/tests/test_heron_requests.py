import requests
from opentelemetry.trace import SpanKind

import heron


def test_outgoing_call_is_a_child_span_and_carries_trace_context(heron_telemetry, http_server):
    url = f"http://user:pa55@127.0.0.1:{http_server.server_port}/orders?page=2"
    with heron.span("sync orders") as parent:
        assert requests.get(url, timeout=5).status_code == 200
    client = next(span for span in heron_telemetry.spans() if span.kind is SpanKind.CLIENT)
    assert client.parent.span_id == parent.get_span_context().span_id
    assert client.attributes["http.request.method"] == "GET"
    assert client.attributes["http.response.status_code"] == 200
    assert "pa55" not in client.attributes["url.full"]
    trace_id = f"{parent.get_span_context().trace_id:032x}"
    assert http_server.seen[0]["traceparent"].split("-")[1] == trace_id
    assert heron_telemetry.metrics("http.client.request.duration")


def test_init_inside_a_captured_test_changes_nothing_and_does_not_warn(heron_telemetry):
    assert heron.init(service_name="app-under-test") is False
    with heron.span("still captured"):
        pass
    assert heron_telemetry.span("still captured").resource.attributes["service.name"] == "heron-test"
