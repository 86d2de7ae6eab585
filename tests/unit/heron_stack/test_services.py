from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from heron_stack.config import PROJECT_DIR, resolve
from heron_stack.exceptions import ConfigError
from heron_stack.services import (
    AUTH_OVERLAY,
    build_specs,
    collector_argv,
    render_prometheus_config,
    victorialogs_retention,
)


def test_prometheus_config_is_rendered_with_local_targets_and_absolute_rule_paths(tmp_path: Path) -> None:
    cfg = resolve({}, state_dir=tmp_path, ports={"collector_telemetry": 18888, "prometheus": 19090})
    dest = tmp_path / "prometheus.yml"
    render_prometheus_config(cfg, dest)
    data = yaml.safe_load(dest.read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in data["scrape_configs"]}
    assert targets["otel-collector"] == ["127.0.0.1:18888"]
    assert targets["prometheus"] == ["127.0.0.1:19090"]
    assert data["rule_files"] == [str(PROJECT_DIR / "prometheus" / "recording" / "*.yml")]
    assert data["storage"]["tsdb"]["out_of_order_time_window"] == "30m"


def test_auth_overlay_is_added_only_when_a_token_is_set(tmp_path: Path) -> None:
    plain = resolve({}, state_dir=tmp_path)
    secured = resolve({"HERON_OTLP_TOKEN": "t"}, state_dir=tmp_path)
    assert not any(arg.startswith("--config=yaml:") for arg in collector_argv(Path("/c"), plain))
    assert [a.removeprefix("--config=") for a in collector_argv(Path("/c"), secured)[2:]] == list(AUTH_OVERLAY)


def test_services_start_destinations_before_the_collector_and_listen_on_loopback(tmp_path: Path) -> None:
    cfg = resolve({}, state_dir=tmp_path)
    binaries = {name: Path(f"/bin/{name}") for name in ("collector", "victorialogs", "prometheus", "redis")}
    specs = build_specs(cfg, binaries)
    assert list(specs)[:4] == ["redis", "prometheus", "victorialogs", "collector"]
    assert specs["agent"].argv[-2:] == ["--endpoint", "http://127.0.0.1:4318"]
    assert all(port.host == "127.0.0.1" for spec in specs.values() for port in spec.ports)
    assert specs["collector"].env["HERON_PROMETHEUS_REMOTE_WRITE_URL"] == "http://127.0.0.1:9090/api/v1/write"
    assert (
        specs["collector"].env["HERON_VICTORIALOGS_OTLP_ENDPOINT"]
        == "http://127.0.0.1:9428/insert/opentelemetry/v1/logs"
    )
    store = specs["victorialogs"].argv
    assert "-httpListenAddr=127.0.0.1:9428" in store
    assert f"-storageDataPath={tmp_path / 'victorialogs'}" in store
    assert "-retentionPeriod=7d" in store
    assert "--web.enable-remote-write-receiver" in specs["prometheus"].argv


def test_the_agent_presents_the_otlp_token_when_one_is_set(tmp_path: Path) -> None:
    specs = build_specs(resolve({"HERON_OTLP_TOKEN": "t0k"}, state_dir=tmp_path), {})
    assert specs["agent"].env["OTEL_EXPORTER_OTLP_HEADERS"] == "authorization=Bearer%20t0k"
    assert "t0k" not in " ".join(specs["agent"].argv)


def test_grafana_runs_with_heron_provisioning_when_a_binary_exists(tmp_path: Path) -> None:
    from heron_stack.services import grafana_spec

    spec = grafana_spec(resolve({}, state_dir=tmp_path), "/usr/sbin/grafana")
    assert spec.env["GF_PATHS_PROVISIONING"] == str(PROJECT_DIR / "grafana" / "provisioning")
    assert spec.env["HERON_GRAFANA_DASHBOARDS_DIR"] == str(PROJECT_DIR / "grafana" / "dashboards")
    assert spec.env["HERON_PROMETHEUS_URL"] == "http://127.0.0.1:9090"
    assert spec.env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    remote = grafana_spec(resolve({"HERON_BIND_HOST": "0.0.0.0"}, state_dir=tmp_path), "/usr/sbin/grafana")
    assert remote.env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_local_stack_mails_alerts_to_its_mail_sink_besides_the_console(tmp_path: Path) -> None:
    from alert_worker.channels.config import resolve_destinations
    from alert_worker.notify.routing import expand_receivers, load_routing, policies_for

    cfg = resolve({}, state_dir=tmp_path, ports={"mail": 12525})
    specs = build_specs(cfg, {})
    assert list(specs)[list(specs).index("mailsink") + 1 :][:1] == ["agent"]
    api = specs["alert-api"]
    assert api.prepare is not None
    api.prepare()
    path = api.env["HERON_ALERTS_DESTINATIONS_FILE"]
    assert path == str(tmp_path / "alerts" / "destinations.yaml")
    destinations = resolve_destinations(path, environ={})
    mail = destinations.get("local-mail")
    assert (mail.type, getattr(mail, "host", None), getattr(mail, "port", None)) == ("email", "127.0.0.1", 12525)
    shipped = load_routing(Path(api.env["HERON_ALERTS_ROUTING_FILE"]))
    routing = expand_receivers(shipped, list(destinations.destinations))
    [policy] = policies_for(routing, {"alertname": "HostHighCpu", "severity": "warning"})
    assert policy.receivers == ("console", "local-mail")
    assert specs["mailsink"].argv[-2:] == ["--maildir", str(tmp_path / "mail")]


@pytest.mark.parametrize("grafana", [True, False])
def test_local_alerts_link_to_the_dashboards_only_when_grafana_runs(tmp_path: Path, grafana: bool) -> None:
    from alert_worker.channels.config import resolve_destinations
    from heron_stack.services import alert_specs

    cfg = resolve({}, state_dir=tmp_path, ports={"grafana": 13000, "alert_api": 19097})
    api = alert_specs(cfg, {}, {}, grafana=grafana)["alert-api"]
    assert api.prepare is not None
    api.prepare()
    links = resolve_destinations(api.env["HERON_ALERTS_DESTINATIONS_FILE"], environ={}).links
    assert links.grafana_url == ("http://127.0.0.1:13000" if grafana else "")
    assert links.external_url == "http://127.0.0.1:19097"


def test_an_operators_destinations_file_replaces_the_local_mail_sink(tmp_path: Path) -> None:
    from heron_stack.services import heron_specs

    specs = heron_specs(resolve({}, state_dir=tmp_path), {"HERON_ALERTS_DESTINATIONS_FILE": "/etc/heron/d.yaml"})
    for name in ("alert-api", "alert-worker", "alert-beat"):
        assert specs[name].env["HERON_ALERTS_DESTINATIONS_FILE"] == "/etc/heron/d.yaml"
    prepare = specs["alert-api"].prepare
    assert prepare is not None
    prepare()
    assert not (tmp_path / "alerts" / "destinations.yaml").exists()


def test_collector_gc_runs_before_the_memory_limiter_refuses_data(tmp_path: Path) -> None:
    import pytest

    from heron_stack.exceptions import ConfigError
    from heron_stack.services import collector_env

    cfg = resolve({}, state_dir=tmp_path)
    assert collector_env(cfg, {})["GOMEMLIMIT"] == "240MiB"  # 80 % of 400 - 100
    raised = {"HERON_COLLECTOR_MEMORY_LIMIT_MIB": "2000", "HERON_COLLECTOR_MEMORY_SPIKE_MIB": "400"}
    assert collector_env(cfg, raised)["GOMEMLIMIT"] == "1280MiB"
    assert collector_env(cfg, {"GOMEMLIMIT": "1GiB"})["GOMEMLIMIT"] == "1GiB"
    with pytest.raises(ConfigError, match=r"HERON_COLLECTOR_MEMORY_LIMIT_MIB='lots' is not valid: a whole number"):
        collector_env(cfg, {"HERON_COLLECTOR_MEMORY_LIMIT_MIB": "lots"})
    with pytest.raises(ConfigError, match="HERON_COLLECTOR_MEMORY_SPIKE_MIB=500 is not valid: below"):
        collector_env(cfg, {"HERON_COLLECTOR_MEMORY_SPIKE_MIB": "500"})


@pytest.mark.parametrize("value", ["30d", "24h", "12w", "1y"])
def test_log_retention_takes_a_number_and_a_unit(value: str) -> None:
    assert victorialogs_retention({"HERON_VICTORIALOGS_RETENTION": value}) == value


@pytest.mark.parametrize("value", ["7", "7days", "-1d", "12h", "0d", "1.5d"])
def test_log_retention_names_the_variable_the_value_and_what_is_allowed(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        victorialogs_retention({"HERON_VICTORIALOGS_RETENTION": value})
    message = str(info.value)
    assert "HERON_VICTORIALOGS_RETENTION" in message
    assert repr(value) in message or value in message
    assert "at least one day" in message
