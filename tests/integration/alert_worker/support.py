"""Helpers for the alert engine's integration tests: a scrape target, a private Prometheus, queue readers."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import redis
import yaml

from heron_stack import components
from heron_stack import config as stack_config
from tests.fixtures.stack import free_port
from tests.helpers import wait_for


class MetricsTarget:
    """An HTTP endpoint exposing gauges in Prometheus text format; `set()` changes them."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    body = "".join(f"{k} {v}\n" for k, v in target.values.items()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set(self, series: str, value: float) -> None:
        self.values[series] = value

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def prometheus_binary(flavour: str = "v3") -> str:
    """The Prometheus compose ships (`v3`, built from its module) or the one `make up` runs (`debian`)."""
    name = "prometheus3" if flavour == "v3" else "prometheus"
    return str(components.registry(stack_config.resolve({}))[name].ensure())


class PrivatePrometheus:
    """A Prometheus of its own (v3 unless told otherwise) with its rule files, scraping one target every second."""

    def __init__(
        self, workdir: Path, rule_file: Path, target_port: int, eval_interval: str, flavour: str = "v3"
    ) -> None:
        binary = prometheus_binary(flavour)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": eval_interval},
            "rule_files": [str(rule_file)],
            "scrape_configs": [{"job_name": "diff", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200, timeout=60, what="prometheus")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def queued_jobs(client: redis.Redis, queue: str) -> list[dict]:
    """Notification jobs waiting in a Celery queue on the Redis broker, oldest first."""
    jobs = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        message = json.loads(raw)
        body = (
            base64.b64decode(message["body"])
            if message["properties"].get("body_encoding") == "base64"
            else message["body"]
        )
        args, _kwargs, _embed = json.loads(body)
        assert message["headers"]["task"] == "heron.deliver"
        jobs.append(args[0])
    return jobs
