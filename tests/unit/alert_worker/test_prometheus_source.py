"""The Prometheus adapter against a fake HTTP transport, and one loopback server for connection reuse."""

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from alert_worker.exceptions import SourceError
from alert_worker.rules.evaluator import Sample
from alert_worker.sources.prometheus import PrometheusSource, redact_url, selector_for
from alert_worker.stages import StageClock, collecting


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


def test_prometheus_own_time_and_decode_time_are_recorded_for_the_run():
    seen = []

    def handler(request):
        seen.append(dict(request.url.params))
        data = {
            "resultType": "vector",
            "result": [{"metric": {"host_name": "a"}, "value": [1.0, "2"]}],
            "stats": {"timings": {"evalTotalTime": 0.25, "execTotalTime": 0.3}},
        }
        return httpx.Response(200, json={"status": "success", "data": data})

    clock = StageClock()
    with collecting(clock):
        samples = source(handler).query("up", 10.0)
    assert samples == [Sample({"host_name": "a"}, 2.0)]
    assert seen[0]["stats"] == "all", "the query API is asked for its stats"
    assert clock.seconds()["prometheus"] == 0.25
    assert clock.seconds()["decode"] >= 0
    source(handler).query("up", 10.0)  # outside a run nothing is recorded and nothing fails
    assert clock.seconds()["prometheus"] == 0.25


def test_an_answer_of_the_wrong_shape_is_a_clear_permanent_error():
    def handler(request):
        data = {"resultType": "vector", "result": [{"metric": {"a": "b"}, "value": "oops"}]}
        return httpx.Response(200, json={"status": "success", "data": data})

    with pytest.raises(SourceError) as err:
        source(handler).query("up", 10.0)
    assert not err.value.transient
    assert "vector" in str(err.value)


class _Answering(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Prometheus answers
    peers: ClassVar[set[int]] = set()

    def do_GET(self) -> None:
        type(self).peers.add(self.client_address[1])
        body = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_connections_are_kept_alive():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    prom = PrometheusSource(f"http://127.0.0.1:{server.server_address[1]}", connections=3)
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda i: prom.query(f"q{i}", 1.0), range(60)))
    finally:
        prom.close()
        server.shutdown()
        server.server_close()
    assert prom.queries == 60
    assert 1 <= len(_Answering.peers) <= 3, "60 queries from 3 threads over at most 3 kept-alive connections"


def test_presence_of_many_label_sets_is_asked_in_batches():
    seen = []

    def handler(request):
        query = request.url.params["query"]
        seen.append(query)
        # Every even-numbered host still reports.
        hosts = [h for h in query.split('"')[1].split("|") if int(h.rsplit("-", 1)[1]) % 2 == 0]
        result = [{"metric": {"host_name": h}, "value": [5, "3"]} for h in hosts]
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": result}})

    sets = [{"host_name": f"web-{i}"} for i in range(450)]
    found = source(handler).series_present_many([*sets, {}, {"host_name": ""}], 5.0)
    assert found == [i % 2 == 0 for i in range(450)] + [True, True], "nothing to check: behave like Prometheus"
    assert len(seen) == 3, "450 hosts in batches of 200"
    assert all(q.startswith('count by (host_name) ({host_name=~"') for q in seen)


def test_presence_batches_escape_regex_and_quotes():
    seen = []

    def handler(request):
        seen.append(request.url.params["query"])
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": []}})

    source(handler).series_present_many([{"job": 'a.b|c"d', "instance": "x"}, {"instance": "y", "job": "e"}], 5.0)
    assert seen == ['count by (instance, job) ({instance=~"x|y", job=~"a\\\\.b\\\\|c\\"d|e"})']
