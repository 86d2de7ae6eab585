"""The Prometheus adapter against a fake HTTP transport (no network)."""

import math

import httpx
import pytest

from alert_worker.exceptions import SourceError
from alert_worker.sources.prometheus import PrometheusSource, redact_url, selector_for


def source(handler):
    return PrometheusSource("http://user:secret@prom:9090/", transport=httpx.MockTransport(handler))


def test_instant_vector_becomes_samples():
    def handler(request):
        assert request.url.path == "/api/v1/query"
        assert request.url.params["time"] == "1000.000"
        result = [{"metric": {"host_name": "a"}, "value": [1000, "0.95"]}, {"metric": {}, "value": [1000, "NaN"]}]
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": result}})

    samples = source(handler).query("cpu > 0.9", 1000.0)
    assert samples[0].labels == {"host_name": "a"}
    assert samples[0].value == 0.95
    assert math.isnan(samples[1].value)


@pytest.mark.parametrize(
    ("response", "transient", "message"),
    [
        (httpx.Response(503, text="overloaded"), True, "answered HTTP 503"),
        (httpx.Response(400, json={"status": "error", "error": "parse error"}), False, "parse error"),
        (httpx.Response(422, json={"status": "error", "error": "bad range"}), False, "bad range"),
    ],
)
def test_errors_are_split_into_transient_and_permanent(response, transient, message):
    with pytest.raises(SourceError, match=message) as info:
        source(lambda request: response).query("up", 1.0)
    assert info.value.transient is transient


def test_connection_failure_is_transient_and_redacted():
    def handler(request):
        raise httpx.ConnectError("refused")

    with pytest.raises(SourceError) as info:
        source(handler).query("up", 1.0)
    assert info.value.transient
    assert "secret" not in str(info.value)
    assert "prom:9090" in str(info.value)


def test_presence_check_uses_the_identity_labels():
    seen = []

    def handler(request):
        seen.append(request.url.params["query"])
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": []}})

    assert source(handler).series_present({"host_name": "web-1", "empty": ""}, 5.0) is False
    assert seen == ['count({host_name="web-1"})']
    assert source(handler).series_present({}, 5.0) is True, "nothing to check: behave like Prometheus"


def test_selector_escapes_values_and_redact_strips_credentials():
    assert selector_for({"a": 'x"y', "b": "1"}) == '{a="x\\"y", b="1"}'
    assert redact_url("https://u:p@host:9090/path?token=1") == "https://host:9090/path"
