"""Fleet simulator: seeded profiles, realistic and consistent readings, batching, the send loop and its flags."""

from __future__ import annotations

import threading

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics.export import MetricExportResult

from heron_stack import cli
from heron_stack.exceptions import ConfigError
from heron_stack.simulate import Fleet, Simulator, SyntheticHost, make_profile, make_profiles, plan_batches, resolve
from otel_agent.collectors.catalog import HOST_METRIC_NAMES

NS = 1_000_000_000
T0 = 1_700_000_000.0


def _value(dp) -> float:
    return dp.as_double if dp.HasField("as_double") else dp.as_int


def _series(request: ExportMetricsServiceRequest) -> dict[str, dict[tuple, float]]:
    """host.name -> {(metric, attrs): value} of one request."""
    out: dict[str, dict[tuple, float]] = {}
    for rm in request.resource_metrics:
        host = next(kv.value.string_value for kv in rm.resource.attributes if kv.key == "host.name")
        series = out.setdefault(host, {})
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                points = m.gauge.data_points if m.HasField("gauge") else m.sum.data_points
                for dp in points:
                    attrs = tuple((kv.key, kv.value.string_value or kv.value.int_value) for kv in dp.attributes)
                    series[(m.name, attrs)] = _value(dp)
    return out


def test_profiles_are_deterministic_for_a_seed_and_vary_across_hosts_and_seeds() -> None:
    assert make_profiles(50, seed=7) == make_profiles(50, seed=7)
    assert make_profiles(50, seed=7) != make_profiles(50, seed=8)
    fleet = make_profiles(200, prefix="p-", seed=1)
    assert len({p.cores for p in fleet}) >= 4
    assert len({p.memory for p in fleet}) >= 4
    assert len({len(p.disks) for p in fleet}) >= 2
    assert len({p.interfaces for p in fleet}) == 2
    assert all(0 < p.baseline <= 0.85 for p in fleet)
    assert [p.name for p in fleet[:3]] == ["p-0", "p-1", "p-2"]
    assert make_profile(3, "p-", 1) == fleet[3]


def test_same_profile_and_read_times_give_the_same_readings() -> None:
    profile = make_profile(4, seed=3)
    a, b = SyntheticHost(profile, T0), SyntheticHost(profile, T0)
    for k in range(1, 4):
        assert a.read_at(int((T0 + 10 * k) * NS)) == b.read_at(int((T0 + 10 * k) * NS))


@pytest.mark.parametrize("index", range(12))
def test_readings_stay_in_range_and_counters_only_grow(index: int) -> None:
    profile = make_profile(index, seed=11)
    host = SyntheticHost(profile, T0)
    previous = None
    for k in range(1, 200):
        r = host.read_at(int((T0 + 10 * k) * NS))
        assert r.cpu_times is not None
        assert len(r.cpu_times) == profile.cores
        assert r.memory is not None
        assert r.memory.total == profile.memory
        m = r.memory
        assert min(m.free, m.buffers, m.cached) >= 0
        assert m.free + m.buffers + m.cached <= m.total
        for fs in r.filesystems or ():
            assert 0 <= fs.avail <= fs.free <= fs.total
            assert 0 <= fs.inodes_free <= fs.inodes_total
        assert r.load_average is not None
        assert all(x >= 0 for x in r.load_average)
        if previous is not None:
            for now_cpu, before_cpu in zip(r.cpu_times, previous.cpu_times or (), strict=True):
                assert all(now_cpu[mode] >= before_cpu[mode] for mode in now_cpu)
            for now_d, before_d in zip(r.disks or (), previous.disks or (), strict=True):
                assert all(x >= y for x, y in zip(now_d[1:], before_d[1:], strict=True))
            for now_n, before_n in zip(r.network or (), previous.network or (), strict=True):
                assert all(x >= y for x, y in zip(now_n[1:], before_n[1:], strict=True))
            assert all(x >= y for x, y in zip(r.paging or (), previous.paging or (), strict=True))
            assert r.uptime is not None
            assert previous.uptime is not None
            assert r.uptime > previous.uptime
        previous = r


def test_fleet_speaks_the_agents_metric_families_with_utilization_in_range() -> None:
    fleet = Fleet(make_profiles(30, seed=5), start_s=T0)
    fleet.batch(range(30), int((T0 + 10) * NS))
    series = _series(fleet.batch(range(30), int((T0 + 20) * NS)).request)
    assert len(series) == 30
    names = {name for host in series.values() for name, _ in host}
    missing = set(HOST_METRIC_NAMES) - names
    assert not missing, f"agent families the simulator does not produce: {sorted(missing)}"
    assert "otel_agent.points.exported" in names
    for host in series.values():
        utilization = [v for (name, _), v in host.items() if name.endswith(".utilization")]
        assert utilization
        assert all(0.0 <= v <= 1.0 for v in utilization)
        idle = [
            v for (name, attrs), v in host.items() if name == "system.cpu.utilization" and ("cpu.mode", "idle") in attrs
        ]
        assert idle
        assert all(0.0 <= v <= 1.0 for v in idle)
        assert sum(idle) / len(idle) < 1.0


def test_every_host_has_its_own_resource_like_the_agents() -> None:
    fleet = Fleet(make_profiles(20, prefix="r-", seed=2), service_name="otel-agent", version="9.9", attributes={
        "deployment.environment.name": "lab", "host.name": "ignored"})  # fmt: skip
    resources = [fleet.resource(i) for i in range(20)]
    assert [r["host.name"] for r in resources] == [f"r-{i}" for i in range(20)]
    for key in ("host.id", "service.instance.id"):
        assert len({r[key] for r in resources}) == 20
    for r in resources:
        assert r["service.name"] == "otel-agent"
        assert r["os.type"] == "linux"
        assert r["service.version"] == "9.9"
        assert r["deployment.environment.name"] == "lab"
        assert r["heron.simulated"] == "true"


def test_batches_cover_every_host_once_and_one_request_holds_each_batch() -> None:
    batches = plan_batches(103, 25)
    assert [len(b) for b in batches] == [25, 25, 25, 25, 3]
    assert sorted(i for b in batches for i in b) == list(range(103))
    fleet = Fleet(make_profiles(103, seed=1), start_s=T0)
    batch = fleet.batch(batches[-1], int((T0 + 10) * NS))
    assert len(batch.request.resource_metrics) == 3
    assert batch.points == sum(batch.counts) == sum(len(pts) for pts in _series(batch.request).values())


class FakeExporter:
    def __init__(self, sent: list[ExportMetricsServiceRequest], fail: threading.Event) -> None:
        self.sent, self.fail = sent, fail

    def export(self, body: bytes, timeout_millis: float = 10_000) -> MetricExportResult:
        self.sent.append(ExportMetricsServiceRequest.FromString(body))
        return MetricExportResult.FAILURE if self.fail.is_set() else MetricExportResult.SUCCESS

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def test_simulator_spreads_batches_over_the_interval_and_reports_each_interval() -> None:
    sent: list[ExportMetricsServiceRequest] = []
    clock = FakeClock()
    fleet = Fleet(make_profiles(40, seed=4))
    sim = Simulator(
        fleet, plan_batches(40, 10), 10.0, lambda: FakeExporter(sent, threading.Event()),
        senders=2, clock=clock, wait=clock.wait,
    )  # fmt: skip
    reports = sim.run(cycles=3)
    assert [r.index for r in reports] == [0, 1, 2]
    assert all(r.hosts == 40 and r.requests == 4 and r.failures == 0 and r.lag == 0 for r in reports)
    assert sum(r.points for r in reports) == sum(_count(req) for req in sent)
    assert len(sent) == 12
    assert clock.waits == [2.5] * 11 + [2.5]  # four slots per interval, then the end of the last interval
    # The agent self-metric counts what was delivered before.
    exported = [_series(req) for req in sent if "sim-0" in _series(req)]
    assert next(s["sim-0"][("otel_agent.points.exported", ())] for s in exported) == 0
    assert [s["sim-0"][("otel_agent.points.exported", ())] for s in exported][-1] > 0


def test_failed_sends_are_counted_per_interval() -> None:
    sent: list[ExportMetricsServiceRequest] = []
    fail = threading.Event()
    fail.set()
    clock = FakeClock()
    sim = Simulator(Fleet(make_profiles(6, seed=4)), plan_batches(6, 4), 5.0, lambda: FakeExporter(sent, fail),
                    senders=1, clock=clock, wait=clock.wait)  # fmt: skip
    (report,) = sim.run(cycles=1)
    assert (report.requests, report.failures, report.points) == (2, 2, 0)
    assert report.failed_points == sum(_count(r) for r in sent)


def _times(request: ExportMetricsServiceRequest) -> set[int]:
    return {
        dp.time_unix_nano
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        for dp in getattr(m, m.WhichOneof("data")).data_points
    }


def test_pre_encoded_requests_are_built_before_the_first_send_and_stamped_with_their_due_time() -> None:
    sent: list[ExportMetricsServiceRequest] = []
    clock = FakeClock()
    wall = 1_800_000_000.0
    sim = Simulator(
        Fleet(make_profiles(40, seed=4)), plan_batches(40, 10), 10.0, lambda: FakeExporter(sent, threading.Event()),
        senders=1, clock=clock, wait=clock.wait, pre_encode=True, wall_clock=lambda: wall + clock.now - 100.0,
        on_start=lambda: started.append((clock.now, len(sent))),
    )  # fmt: skip
    started: list[tuple[float, int]] = []
    reports = sim.run(cycles=2)
    # Nothing was sent before every request existed: the first wait is the lead that building them took.
    lead = clock.waits[0]
    assert lead >= 1.0
    assert clock.waits[1:] == [2.5] * 7 + [2.5]
    assert started == [(100.0 + lead, 0)]  # the first interval began after the lead, before any send
    expected = [int((wall + lead + k * 10.0 + j * 2.5) * NS) for k in range(2) for j in range(4)]
    assert sorted(t for req in sent for t in _times(req)) == expected
    assert all(len(_times(req)) == 1 for req in sent)
    assert [(r.hosts, r.requests, r.failures, r.lag) for r in reports] == [(40, 4, 0, 0.0)] * 2
    assert sum(r.points for r in reports) == sum(_count(req) for req in sent)
    # Each host's counters still only grow from one interval to the next.
    first, second = (_series(req)["sim-0"] for req in sent if "sim-0" in _series(req))
    key = next(k for k in first if k[0] == "system.network.io")
    assert second[key] >= first[key]


def test_a_fleet_can_send_only_some_families_and_counts_only_what_it_sends() -> None:
    fleet = Fleet(make_profiles(5, seed=2), start_s=T0, keep=lambda name: name.startswith("system.cpu."))
    batch = fleet.batch(range(5), int((T0 + 10) * NS))
    names = {name for host in _series(batch.request).values() for name, _ in host}
    assert all(name.startswith("system.cpu.") for name in names)
    assert "system.cpu.utilization" in names
    assert batch.points == _count(batch.request)
    assert {
        n for host in _series(fleet.head(2).batch(range(2), int((T0 + 10) * NS)).request).values() for n, _ in host
    } <= names


def test_pre_encoding_needs_a_known_number_of_intervals() -> None:
    exporter = FakeExporter([], threading.Event())
    sim = Simulator(Fleet(make_profiles(2, seed=4)), plan_batches(2, 2), 10.0, lambda: exporter, pre_encode=True)
    with pytest.raises(ValueError, match="pre_encode needs a number of cycles"):
        sim.run()


@pytest.mark.parametrize(
    ("options", "value", "allowed"),
    [
        ({"hosts": "5"}, "True", "give --cycles or --duration too"),
        ({"hosts": "20000", "cycles": "3"}, "'20000 hosts x 3 intervals'", "at most 50000 host readings"),
    ],
)
def test_bad_pre_encode_runs_are_refused_with_the_reason(options: dict, value: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as err:
        resolve({**options, "pre_encode": True}, env={})
    assert err.value.field == "--pre-encode"
    assert f"--pre-encode={value} is not valid" in str(err.value)
    assert allowed in str(err.value)


def test_pre_encode_flag_reaches_the_simulator() -> None:
    cfg = resolve({"hosts": "5", "cycles": "2", "pre_encode": True}, env={})
    assert cfg.pre_encode is True
    assert resolve({"hosts": "5"}, env={}).pre_encode is False


def _count(request: ExportMetricsServiceRequest) -> int:
    return sum(
        len(getattr(m, m.WhichOneof("data")).data_points)
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    )


def test_config_defaults_to_the_local_stack_and_honours_otel_variables() -> None:
    cfg = resolve({"hosts": "3"}, env={"HERON_OTLP_HTTP_PORT": "14318"})
    assert cfg.endpoint == "http://127.0.0.1:14318/v1/metrics"
    assert cfg.protocol == "http/protobuf"
    assert cfg.interval == 10
    assert cfg.cycles is None
    assert cfg.prefix == "sim-"
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_HEADERS": "x-key=abc"}
    cfg = resolve({"hosts": "3", "duration": "60", "interval": "20"}, env=env)
    assert cfg.endpoint == "http://collector:4318/v1/metrics"
    assert cfg.headers == {"x-key": "abc"}
    assert cfg.cycles == 3
    cfg = resolve({"hosts": "3", "protocol": "grpc"}, env={"HERON_OTLP_GRPC_PORT": "14317", "HERON_OTLP_TOKEN": "t0k"})
    assert cfg.endpoint == "http://127.0.0.1:14317"
    assert cfg.headers == {"authorization": "Bearer t0k"}
    cfg = resolve({"hosts": "3", "endpoint": "http://other:4318"}, env=env)
    assert cfg.endpoint == "http://other:4318/v1/metrics"


@pytest.mark.parametrize(
    ("options", "flag", "allowed"),
    [
        ({"hosts": "0"}, "--hosts", "whole number from 1 to 100000"),
        ({"hosts": "many"}, "--hosts", "whole number from 1 to 100000"),
        ({"hosts": "5", "interval": "0.5"}, "--interval", "number from 1 to 3600"),
        ({"hosts": "5", "interval": "nan"}, "--interval", "number from 1 to 3600"),
        ({"hosts": "5", "cycles": "-1"}, "--cycles", "whole number"),
        ({"hosts": "5", "duration": "x"}, "--duration", "number from 1"),
        ({"hosts": "5", "cycles": "2", "duration": "9"}, "--duration", "use one of the two"),
        ({"hosts": "5", "protocol": "udp"}, "--protocol", "one of http, grpc"),
        ({"hosts": "5", "endpoint": "localhost:4318"}, "--endpoint", "http:// or https:// URL"),
        ({"hosts": "5", "prefix": "bad prefix!"}, "--prefix", "letters, digits"),
        ({"hosts": "5", "seed": "-3"}, "--seed", "whole number"),
        ({"hosts": "5", "batch_hosts": "5000"}, "--batch-hosts", "from 1 to 1000"),
    ],
)
def test_bad_flags_name_the_flag_the_value_and_what_is_allowed(options: dict, flag: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as err:
        resolve(options, env={})
    assert err.value.field == flag
    assert allowed in str(err.value)
    assert repr(next(v for k, v in options.items() if f"--{k.replace('_', '-')}" == flag)) in str(err.value)


def test_heron_simulate_exits_2_on_a_bad_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["simulate", "--hosts", "lots"]) == 2
    assert "--hosts='lots' is not valid: a whole number from 1 to 100000" in capsys.readouterr().err


def test_a_synthetic_host_is_an_agent_source_the_agent_itself_can_run_on() -> None:
    from otel_agent.agent import Agent
    from otel_agent.config import resolve_config

    host = SyntheticHost(make_profile(1, seed=9), T0)
    clock = iter(int((T0 + 10 * k) * NS) for k in range(1, 10))
    agent = Agent(resolve_config({}, environ={}), source=_Clocked(host, clock), resource={"host.name": "sim-1"})
    agent.collect()
    cycle = agent.collect()
    names = {p.name for p in cycle.points}
    assert {
        "system.cpu.utilization",
        "system.memory.usage",
        "system.filesystem.usage",
        "otel_agent.cycle.duration",
    } <= names


class _Clocked:
    def __init__(self, host: SyntheticHost, clock) -> None:
        self.host, self.clock = host, clock

    def read(self):
        return self.host.read(lambda: next(self.clock))

    def close(self) -> None:
        self.host.close()
