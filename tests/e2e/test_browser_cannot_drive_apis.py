"""A web page from another origin, in real headless Chromium, cannot drive the load lab or the alert API.

Both serve on loopback without a token, as `make up` runs them. The attacker's page is served from
another loopback port and tries what a browser lets any page send: a form POST, `text/plain` and
bodiless `no-cors` fetches, a JSON fetch (which needs a CORS preflight), and reading the alert history.
A DNS-rebinding page's requests carry its own name as Host; those are replayed from Python. Every attempt
is refused and nothing starts: no action runs, no silence exists.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from heron_stack.config import PROJECT_DIR
from tests.e2e.loadgen.test_control_page import CHROMIUM, CHROMIUM_ARGS
from tests.fixtures.stack import StackHandle, clean_env, free_port
from tests.helpers import wait_for
from tests.integration.loadgen.conftest import Server, start_server, stop_server

pytestmark = pytest.mark.e2e

ATTACK_JS = """
async ({lab, alerts}) => {
  const results = {};
  const attempt = async (name, url, init) => {
    try {
      const res = await fetch(url, init);
      results[name] = init.mode === "no-cors" ? "sent (opaque)" : "read " + res.status + " " + (await res.text());
    } catch (e) {
      results[name] = "blocked: " + e.name;
    }
  };
  const cpu = JSON.stringify({target_percent: 50, duration_seconds: 30, cores: 1});
  const silence = JSON.stringify({matchers: ['alertname=~".+"'], duration: "2h", comment: "shh"});
  await attempt("lab text/plain", lab + "/api/actions/cpu-stress",
                {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: cpu});
  await attempt("lab bodiless", lab + "/api/actions/cpu-stress", {method: "POST", mode: "no-cors"});
  await attempt("lab json", lab + "/api/actions/cpu-stress",
                {method: "POST", headers: {"Content-Type": "application/json"}, body: cpu});
  await attempt("lab stop-all", lab + "/api/actions/stop-all", {method: "DELETE"});
  await attempt("alerts text/plain", alerts + "/api/silences",
                {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: silence});
  await attempt("alerts json", alerts + "/api/silences",
                {method: "POST", headers: {"Content-Type": "application/json"}, body: silence});
  await attempt("alerts read history", alerts + "/api/alerts/history", {});
  for (const [name, target, body] of [["lab form", lab + "/api/actions/cpu-stress", cpu],
                                      ["alerts form", alerts + "/api/silences", silence]]) {
    const frame = document.createElement("iframe");
    frame.name = name.replace(" ", "-");
    document.body.appendChild(frame);
    const form = document.createElement("form");
    form.method = "POST"; form.action = target; form.enctype = "text/plain"; form.target = frame.name;
    const field = document.createElement("input");
    field.name = body.slice(0, -1) + ', "x": "'; field.value = '"}';
    form.appendChild(field);
    document.body.appendChild(form);
    const loaded = new Promise((resolve) => { frame.onload = resolve; });
    form.submit();
    await loaded;
    results[name] = "submitted";
  }
  return results;
}
"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>cute cats</title><body>nothing to see</body>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path)
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture
def alert_api(stack: StackHandle, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = clean_env(
        {
            "HERON_ALERTS_REDIS_URL": f"redis://{stack.config.addr('redis')}/7",
            "HERON_ALERTS_PROMETHEUS_URL": stack.prometheus_url,
            "HERON_ALERTS_API_PORT": str(port),
            "OTEL_SDK_DISABLED": "true",
        }
    )
    with (tmp_path / "alert-api.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "alert_worker", "api"], cwd=PROJECT_DIR, env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url), timeout=30, what="the alert API to answer")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _silences(url: str) -> list[Any]:
    body = httpx.get(f"{url}/api/silences", timeout=5).json()
    return list(body["silences"] if isinstance(body, dict) else body)


def test_a_foreign_page_cannot_start_load_or_silence_alerts(lab: Server, alert_api: str, attacker: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(attacker + "/")
            results = page.evaluate(ATTACK_JS, {"lab": lab.url, "alerts": alert_api})
        finally:
            browser.close()

    # The page sent everything it could; what it could read back was nothing.
    assert set(results) >= {"lab text/plain", "lab bodiless", "lab json", "lab form", "alerts json", "alerts form"}
    for name in ("lab json", "lab stop-all", "alerts json", "alerts read history"):
        assert results[name].startswith("blocked"), (name, results[name])  # no CORS grant, so no read or preflight

    assert httpx.get(f"{lab.url}/api/actions/active", timeout=5).json()["actions"] == []
    events = httpx.get(f"{lab.url}/api/events", timeout=5).json()["events"]
    assert not [e for e in events if e["type"] == "action_started"]
    assert _silences(alert_api) == []


@pytest.mark.parametrize("host", ["rebind.example.test", "0.0.0.0"])
def test_a_rebinding_page_is_refused_by_host(lab: Server, alert_api: str, host: str) -> None:
    """After DNS rebinding, the page's requests reach loopback but name the attacker's host."""
    silence = {"matchers": ['alertname=~".+"'], "duration": "2h", "comment": "shh"}
    with httpx.Client(timeout=5) as client:
        for url, method, path, body in (
            (alert_api, "GET", "/api/alerts/history", None),
            (alert_api, "POST", "/api/silences", silence),
            (lab.url, "POST", "/api/actions/cpu-stress", {"target_percent": 50, "duration_seconds": 30, "cores": 1}),
            (lab.url, "GET", "/api/events", None),
        ):
            resp = client.request(method, url + path, json=body, headers={"Host": f"{host}:{url.rsplit(':', 1)[1]}"})
            assert resp.status_code == 421, (path, resp.status_code, resp.text)
            assert "is not a name of this" in resp.text
    assert httpx.get(f"{lab.url}/api/actions/active", timeout=5).json()["actions"] == []
    assert _silences(alert_api) == []


def test_same_origin_json_and_curl_style_requests_still_work(lab: Server) -> None:
    """The control page and the docs' curl examples: JSON from the same origin, or no Origin at all."""
    body = {"target_percent": 10, "duration_seconds": 2, "cores": 1}
    with httpx.Client(base_url=lab.url, timeout=5) as client:
        same_origin = client.post("/api/actions/cpu-stress", json=body, headers={"Origin": lab.url})
        assert same_origin.status_code == 201, same_origin.text
        curl = client.post("/api/actions/cpu-stress", json=body)
        assert curl.status_code == 201, curl.text
        assert client.delete("/api/actions/stop-all").status_code == 200
