"""ProcfsSource on the checked-in /proc tree: every reading parsed, filters applied, hung mounts skipped."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from otel_agent.collectors import Pipeline
from otel_agent.collectors.filters import Filters
from otel_agent.models import DiskReading
from otel_agent.sources.procfs import ProcfsSource

from .conftest import FIXTURE_ROOT, FakeStat


def test_cpu_readings_are_seconds_per_mode_per_core(source: ProcfsSource) -> None:
    r = source.read()
    assert r.cpu_times is not None
    assert len(r.cpu_times) == 2
    assert r.cpu_times[0]["user"] == 200.0
    assert r.cpu_times[0]["interrupt"] == 2.0  # irq 50 + softirq 150 ticks
    assert r.cpu_times[1]["steal"] == 27.73
    assert r.cpu_physical_count == 1
    assert r.cpu_freq_hz == [2.8e9, 1.2e9]  # scaling_cur_freq wins over /proc/cpuinfo
    assert r.load_average == (0.5, 0.25, 0.1)
    assert r.boot_time == 1_700_000_000
    assert r.uptime == 556.91


def test_memory_paging_and_process_readings(source: ProcfsSource) -> None:
    r = source.read()
    assert r.memory is not None
    assert r.memory.total == 16_000_000 * 1024
    assert r.memory.cached == 5_500_000 * 1024  # Cached + SReclaimable, as free(1) counts it
    assert r.memory.available == 10_000_000 * 1024
    assert r.swaps is not None
    assert [(s.device, s.size, s.used) for s in r.swaps] == [("/dev/sda2", 2097148 * 1024, 1048574 * 1024)]
    assert r.paging is not None
    assert r.paging.faults_major == 2233
    assert r.paging.faults_minor == 21291753 - 2233
    assert r.processes is not None
    assert tuple(r.processes)[:3] == (3, 1, 24007)


def _proc_tree(tmp_path: Path, states: dict[str, str]) -> Path:
    """The checked-in tree plus one /proc/<pid>/stat per entry, with command names that contain ') '."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURE_ROOT, root)
    for pid, letter in states.items():
        (root / "proc" / pid).mkdir(exist_ok=True)
        (root / "proc" / pid / "stat").write_text(f"{pid} (odd) {letter} name) {letter} 1 {pid} {pid} 0 -1 4194560 0\n")
    return root


def test_process_states_come_from_every_process_and_running_blocked_from_proc_stat(tmp_path: Path) -> None:
    states = {"1": "S", "2": "I", "10": "R", "11": "D", "12": "T", "13": "t", "14": "Z", "15": "Z", "16": "X"}
    source = ProcfsSource(str(_proc_tree(tmp_path, states)), Filters(), stat=FakeStat(FIXTURE_ROOT))
    r = source.read()
    assert r.processes is not None
    assert r.processes.running == 3  # procs_running, not the scan's single R
    assert r.processes.blocked == 1
    assert r.processes.states == (("sleeping", 2), ("stopped", 2), ("defunct", 2))
    points = Pipeline().build(r)[0]
    counts = {dict(p.attrs)["process.state"]: p.value for p in points if p.name == "system.process.count"}
    assert counts == {"running": 3, "blocked": 1, "sleeping": 2, "stopped": 2, "defunct": 2}
    hostmetrics = Pipeline(naming="hostmetrics").build(r)[0]
    assert {dict(p.attrs)["status"] for p in hostmetrics if p.name == "system.processes.count"} == {
        "running", "blocked", "sleeping", "stopped", "zombies",
    }  # fmt: skip


def test_process_state_scan_can_be_switched_off(tmp_path: Path) -> None:
    root = _proc_tree(tmp_path, {"1": "S"})
    source = ProcfsSource(str(root), Filters(), stat=FakeStat(FIXTURE_ROOT), process_states=False)
    r = source.read()
    assert r.processes is not None
    assert r.processes.states is None
    states = {dict(p.attrs)["process.state"] for p in Pipeline().build(r)[0] if p.name == "system.process.count"}
    assert states == {"running", "blocked"}


def test_disk_readings_convert_sectors_and_milliseconds(source: ProcfsSource) -> None:
    r = source.read()
    assert r.disks is not None
    sda = next(d for d in r.disks if d.device == "sda")
    assert sda == DiskReading("sda", 71599, 42938, 3533178 * 512, 12536864 * 512, 68.417, 73.402, 30.104, 9621, 207113)


def test_network_and_connection_readings(source: ProcfsSource) -> None:
    r = source.read()
    assert r.network is not None
    eth0 = next(n for n in r.network if n.interface == "eth0")
    assert (eth0.rx_bytes, eth0.tx_bytes, eth0.rx_errors, eth0.tx_dropped) == (1103644858, 6190733, 2, 3)
    assert r.connections == {
        ("tcp", "listen"): 2,
        ("tcp", "established"): 2,
        ("tcp", "time_wait"): 1,
        ("udp", ""): 1,
    }


def test_filesystems_skip_virtual_and_container_mounts(source: ProcfsSource) -> None:
    r = source.read()
    assert r.filesystems is not None
    by_mount = {f.mountpoint: f for f in r.filesystems}
    assert set(by_mount) == {"/", "/data", "/mnt/my disk", "/mnt/nfs"}
    assert by_mount["/data"].mode == "ro"
    assert by_mount["/data"].fstype == "xfs"
    assert by_mount["/"].total == 262144 * 4096
    assert by_mount["/"].inodes_free == 400


def test_hung_mount_is_skipped_and_the_rest_still_reported() -> None:
    stat = FakeStat(FIXTURE_ROOT, hang=("/mnt/nfs",))
    src = ProcfsSource(str(FIXTURE_ROOT), Filters(), statvfs_timeout=0.2, stat=stat)
    try:
        first = src.read()
        second = src.read()  # the stuck call is still running: not queued again, not waited for
        for r in (first, second):
            assert r.filesystems is not None
            assert {f.mountpoint for f in r.filesystems} == {"/", "/data", "/mnt/my disk"}
        assert src._statvfs.stuck == {str(FIXTURE_ROOT / "mnt/nfs")}
    finally:
        stat.release.set()


def test_mount_filters_are_configurable(fake_stat: FakeStat) -> None:
    filters = Filters(mount_include=r"^/data$")
    r = ProcfsSource(str(FIXTURE_ROOT), filters, stat=fake_stat).read()
    assert r.filesystems is not None
    assert [f.mountpoint for f in r.filesystems] == ["/data"]


def test_missing_proc_files_leave_readings_out(tmp_path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "loadavg").write_text("1.0 2.0 3.0 1/1 1\n")
    r = ProcfsSource(str(tmp_path)).read()
    assert r.load_average == (1.0, 2.0, 3.0)
    assert r.cpu_times is None
    assert r.memory is None
    assert r.disks is None
    assert r.filesystems is None
    assert r.connections is None


def test_netlink_counts_a_listening_socket_on_this_host() -> None:
    from otel_agent.sources.sockdiag import count_connections

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        counts = count_connections()
    assert counts.get(("tcp", "listen"), 0) >= 1
    assert {transport for transport, _ in counts} <= {"tcp", "udp"}


def test_one_tcp_dump_covers_ipv4_and_ipv6_like_one_dump_per_family() -> None:
    from otel_agent.sources import sockdiag

    with socket.socket(socket.AF_INET6) as six, socket.socket() as four:
        six.bind(("::1", 0))
        six.listen()
        four.bind(("127.0.0.1", 0))
        four.listen()
        # Other programs on the host may open or close a listener between two dumps: compare a few
        # times. A dump that missed a family would differ every time, by this test's listener at least.
        for _ in range(5):
            both: dict[tuple[str, str], int] = {}
            per_family: dict[tuple[str, str], int] = {}
            with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, sockdiag.NETLINK_SOCK_DIAG) as sock:
                sockdiag._dump_tcp_both_families(sock, both)
                for family in (socket.AF_INET, socket.AF_INET6):
                    sockdiag._dump(sock, family, socket.IPPROTO_TCP, "tcp", per_family)
            if both[("tcp", "listen")] == per_family[("tcp", "listen")]:
                break
    assert both[("tcp", "listen")] == per_family[("tcp", "listen")] >= 2


def test_host_root_uses_netlink_and_fixture_root_uses_proc_net(source: ProcfsSource) -> None:
    assert ProcfsSource("/")._netlink is True
    assert source._netlink is False


def test_udp_counts_come_from_sockstat_when_present() -> None:
    from otel_agent.sources.procparse import sockstat_udp

    assert sockstat_udp("sockets: used 1\nTCP: inuse 3 orphan 0 tw 5 alloc 4 mem 1\nUDP: inuse 7 mem 2\n") == 7
    assert sockstat_udp("TCP6: inuse 1\nUDP6: inuse 2\nUDPLITE6: inuse 0\n") == 2
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    with udp:
        counts = ProcfsSource("/")._connections()
    assert counts is not None
    assert counts.get(("udp", ""), 0) >= 1
