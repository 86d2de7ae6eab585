"""The cluster topology's specs, generated configs and its compose overlay agree with the facts written once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from alert_worker.redis_url import parse_redis_url
from heron_stack import cluster, components, endpoints, services
from heron_stack.config import PROJECT_DIR, StackConfig, resolve
from heron_stack.exceptions import ConfigError
from heron_stack.stack_table import (
    CLUSTER_COLLECTOR_OVERLAY,
    CLUSTER_PORT_NAMES,
    COLLECTORS,
    LOG_STORAGE,
    RECEIVERS,
    REDIS_PERSISTENCE,
    SENTINEL_MASTER_NAME,
    SENTINEL_TIMINGS,
    SENTINELS,
    THANOS_QUERY_REPLICA_LABELS,
    THANOS_RECEIVE_FLAGS,
    VICTORIALOGS_STORAGE_FLAGS,
)

BINARIES = {
    name: Path(f"/opt/{name}") for name in ("redis", "redis-sentinel", "thanos", "victorialogs", "collector", "haproxy")
}
COMPOSE = yaml.safe_load((PROJECT_DIR / "deploy" / "compose.cluster.yml").read_text(encoding="utf-8"))


@pytest.fixture
def config(tmp_path: Path) -> StackConfig:
    return resolve({"HERON_TOPOLOGY": "cluster"}, state_dir=tmp_path)


def test_every_cluster_service_gets_a_spec_in_start_order(config: StackConfig) -> None:
    specs = cluster.build_specs(config, BINARIES, {})
    assert list(specs)[: len(cluster.CLUSTER_INFRASTRUCTURE)] == list(cluster.CLUSTER_INFRASTRUCTURE)


def test_the_alert_services_reach_redis_through_the_sentinels(config: StackConfig) -> None:
    specs = cluster.build_specs(config, BINARIES, {})
    sentinels = [config.cluster_ports[name] for name in ("sentinel-1", "sentinel-2", "sentinel-3")]
    assert [p.port for name in ("sentinel-1", "sentinel-2", "sentinel-3") for p in specs[name].ports] == sentinels
    assert f"{config.cluster_ports['redis_replica']}" in specs["redis-replica"].argv
    url = specs["alert-worker"].env["HERON_ALERTS_REDIS_URL"]
    assert url == "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in sentinels) + "/heron/0"
    assert parse_redis_url(url).is_sentinel


def test_the_single_topology_keeps_plain_redis(tmp_path: Path) -> None:
    single = resolve({}, state_dir=tmp_path)
    assert services.alerts_env(single, {})["HERON_ALERTS_REDIS_URL"] == f"redis://{single.addr('redis')}/0"


def test_no_two_services_listen_on_the_same_port(config: StackConfig) -> None:
    ports = [p.port for spec in cluster.build_specs(config, BINARIES, {}).values() for p in spec.ports]
    assert len(ports) == len(set(ports))


def test_query_and_select_tier_answer_where_prometheus_and_victorialogs_were(config: StackConfig) -> None:
    specs = cluster.build_specs(config, BINARIES, {})
    assert f"--http-address={config.addr('prometheus')}" in specs["thanos-query"].argv
    assert f"-httpListenAddr={config.addr('victorialogs')}" in specs["vlselect"].argv
    assert specs["alert-worker"].env["HERON_ALERTS_PROMETHEUS_URL"] == config.url("prometheus")


def test_receivers_form_one_hashring_with_replication_factor_three(config: StackConfig) -> None:
    cluster.write_thanos_files(config)
    ring = json.loads(cluster.hashring_file(config).read_text())
    assert ring[0]["endpoints"] == [
        {
            "address": f"127.0.0.1:{config.cluster_ports[f'{r}_grpc']}",
            "capnproto_address": f"127.0.0.1:{config.cluster_ports[f'{r}_capnp']}",
        }
        for r in RECEIVERS
    ]
    argv = cluster.build_specs(config, BINARIES, {})["receive-2"].argv
    assert "--receive.replication-factor=3" in argv
    assert '--label=receive_replica="receive-2"' in argv


def test_haproxy_balances_both_collectors_and_all_receivers(config: StackConfig) -> None:
    text = cluster.haproxy_config(config)
    for name in (*COLLECTORS, *RECEIVERS):
        assert f"server {name} " in text
    assert f"bind {config.addr('otlp_http')}" in text


def test_compose_collectors_run_the_same_pass_through_overlay() -> None:
    command = COMPOSE["x-collector"]["command"]
    # `$$` is compose's escape of a literal `$` (the collector's own ${env:...} references).
    unescaped = [c.replace("$$", "$") for c in command[1:]]
    assert unescaped == [f"--config={overlay}" for overlay in CLUSTER_COLLECTOR_OVERLAY]


def test_compose_receivers_query_and_log_nodes_use_the_shared_flags() -> None:
    services = COMPOSE["services"]
    for name in RECEIVERS:
        assert set(THANOS_RECEIVE_FLAGS) <= set(services[name]["command"])
    assert {f"--query.replica-label={label}" for label in THANOS_QUERY_REPLICA_LABELS} <= set(
        services["prometheus"]["command"]
    )
    for name in LOG_STORAGE:
        assert set(VICTORIALOGS_STORAGE_FLAGS) <= set(services[name]["command"])


def test_compose_alert_services_reach_redis_through_three_sentinels() -> None:
    single = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    alert_services = [name for name, svc in single.items() if "HERON_ALERTS_REDIS_URL" in svc.get("environment", {})]
    assert alert_services, "docker-compose.yml has alert services"
    for name in alert_services:
        target = parse_redis_url(COMPOSE["services"][name]["environment"]["HERON_ALERTS_REDIS_URL"])
        assert target.is_sentinel, f"{name} must reach Redis through the sentinels in the cluster overlay"
        assert target.master_name == SENTINEL_MASTER_NAME
        assert [host for host, _ in target.sentinels] == list(SENTINELS)
        assert all(COMPOSE["services"][host]["hostname"] == host for host in SENTINELS)


def test_compose_sentinels_use_the_shared_timings_and_the_replica_the_primary_persistence() -> None:
    script = COMPOSE["x-sentinel"]["command"][0]
    name = SENTINEL_MASTER_NAME
    assert f"sentinel monitor {name} redis 6379 2" in script
    for key, value in SENTINEL_TIMINGS.items():
        assert f"sentinel {key} {name} {value}" in script
    replica = COMPOSE["services"]["redis-replica"]["command"]
    assert " ".join(REDIS_PERSISTENCE) in " ".join(replica)
    assert replica[replica.index("--replicaof") + 1 :][:2] == ["redis", "6379"]
    assert " ".join(REDIS_PERSISTENCE) in " ".join(COMPOSE["services"]["redis"]["command"])


def test_compose_thanos_image_is_the_pinned_release() -> None:
    pin = components.PinnedModule.read(PROJECT_DIR / "build" / "versions.yaml", "thanos")
    assert COMPOSE["x-thanos"]["image"] == pin.image_ref
    assert COMPOSE["services"]["prometheus"]["image"] == pin.image_ref


def test_thanos_wrapper_module_requires_the_pin_and_repeats_the_replace_lines(tmp_path: Path) -> None:
    comp = components.ThanosComponent(PROJECT_DIR, tmp_path)
    go_mod = comp.wrapper_go_mod()
    assert "require github.com/thanos-io/thanos v0.42.2" in go_mod
    assert "gopkg.in/alecthomas/kingpin.v2 => github.com/alecthomas/kingpin" in go_mod
    assert comp.name in components.ON_DEMAND


def test_an_unknown_topology_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"HERON_TOPOLOGY.*single or cluster"):
        resolve({"HERON_TOPOLOGY": "mesh"}, state_dir=tmp_path)


def test_a_base_port_that_leaves_no_room_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HERON_CLUSTER_BASE_PORT"):
        resolve({"HERON_CLUSTER_BASE_PORT": "65530"}, state_dir=tmp_path)
    ports = resolve({"HERON_CLUSTER_BASE_PORT": "20000"}, state_dir=tmp_path).cluster_ports
    assert sorted(ports.values()) == list(range(20000, 20000 + len(CLUSTER_PORT_NAMES)))


def test_up_topology_is_remembered_for_status_and_down(tmp_path: Path) -> None:
    from heron_stack.cli import _with_topology

    base = resolve({}, state_dir=tmp_path)
    assert _with_topology(base, None, {}).topology == "single"
    assert _with_topology(base, "cluster", {}).topology == "cluster"
    assert _with_topology(base, None, {}).topology == "cluster", "status and down act on what `up` last ran"
    single = resolve({"HERON_TOPOLOGY": "single"}, state_dir=tmp_path)
    assert _with_topology(single, None, {"HERON_TOPOLOGY": "single"}).topology == "single", "the setting wins"


def test_doctor_knows_thanos_query_on_the_prometheus_port_only_in_the_cluster() -> None:
    from heron_stack.doctor import identity

    stores = json.dumps({"status": "success", "data": {"receive": [{"name": "r1"}], "store": [{"name": "s"}]}})
    probe = identity.endpoint("prometheus", "cluster")
    assert probe is not None
    assert probe.classify(200, stores)[0] is identity.Seen.READY
    assert probe.classify(200, json.dumps({"status": "success", "data": {}}))[0] is identity.Seen.STARTING
    assert probe.classify(200, "Prometheus Server is Ready.")[0] is identity.Seen.FOREIGN
    assert identity.endpoint("prometheus", "single") is identity.ENDPOINTS["prometheus"]


def test_the_doctor_probes_where_each_topologys_collectors_write_and_report(
    config: StackConfig, tmp_path: Path
) -> None:
    specs = cluster.build_specs(config, BINARIES, {})
    telemetry = endpoints.collector_telemetry_urls(config)
    assert telemetry.keys() == set(COLLECTORS)
    for name in COLLECTORS:
        env = specs[name].env
        assert env["HERON_PROMETHEUS_REMOTE_WRITE_URL"] == endpoints.remote_write_url(config)
        assert telemetry[name] == f"http://{config.host}:{env['HERON_COLLECTOR_TELEMETRY_PORT']}"
    lb = f"{config.host}:{config.cluster_ports['receive_lb']}"
    assert endpoints.remote_write_url(config) == f"http://{lb}/api/v1/receive"
    assert f"bind {lb}\n  default_backend receivers" in cluster.haproxy_config(config)

    single = resolve({"HERON_TOPOLOGY": "single"}, state_dir=tmp_path)
    env = services.collector_env(single, {})
    assert env["HERON_PROMETHEUS_REMOTE_WRITE_URL"] == endpoints.remote_write_url(single)
    assert endpoints.remote_write_url(single) == f"{single.url('prometheus')}/api/v1/write"
    assert endpoints.collector_telemetry_urls(single) == {
        "collector": f"http://{single.host}:{env['HERON_COLLECTOR_TELEMETRY_PORT']}"
    }
