"""The kernel families beyond the semantic conventions' host set, read from the checked-in /proc and /sys tree."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from otel_agent.collectors import Pipeline
from otel_agent.collectors.filters import Filters, one_mount_per_device
from otel_agent.models import LinkReading, MountReading, Point, PressureReading
from otel_agent.sources import kernparse
from otel_agent.sources.procfs import ProcfsSource
from otel_agent.sources.timex import STA_NANO, TIME_ERROR, ClockReader, Timex, clock_reading

from .conftest import FIXTURE_CLOCK, FIXTURE_ROOT, FakeStat


def _values(points: list[Point], name: str) -> dict[tuple[tuple[str, str | int], ...], float | int]:
    return {p.attrs: p.value for p in points if p.name == name}


def test_context_switches_interrupts_and_file_descriptors(source: ProcfsSource) -> None:
    r = source.read()
    assert (r.context_switches, r.interrupts) == (1234567, 788502)  # `intr`'s first number is the total
    assert r.file_descriptors == (1856, 9223372036854775807)


def test_pressure_stall_totals_are_seconds_per_resource_and_scope(source: ProcfsSource) -> None:
    r = source.read()
    assert r.pressure is not None
    assert {(p.resource, p.scope): p.stalled_seconds for p in r.pressure} == {
        ("cpu", "some"): 12.5,
        ("cpu", "full"): 0.0,
        ("memory", "some"): 0.002,
        ("memory", "full"): 0.001,
        ("io", "some"): 88.999113,
        ("io", "full"): 57.564871,
    }


def test_links_report_state_carrier_mtu_and_only_real_speeds(source: ProcfsSource) -> None:
    r = source.read()
    assert r.links == [
        LinkReading("eth0", up=True, carrier=True, mtu=1500, speed_bytes=1_250_000_000),  # 10 Gbit/s
        LinkReading("lo", up=False, carrier=True, mtu=65536, speed_bytes=None),  # operstate "unknown" is not up
        LinkReading("veth1", up=False, carrier=None, mtu=1500, speed_bytes=None),  # speed -1: unknown, left out
    ]
    points = Pipeline(Filters(include_loopback=False)).build(r)[0]
    assert _values(points, "system.network.interface.up") == {
        (("network.interface.name", "eth0"),): 1,
        (("network.interface.name", "veth1"),): 0,
    }
    assert _values(points, "system.network.interface.speed") == {(("network.interface.name", "eth0"),): 1.25e9}


def test_tcp_and_udp_counters_come_from_snmp_netstat_and_snmp6(source: ProcfsSource) -> None:
    points = Pipeline().build(source.read())[0]
    assert _values(points, "system.network.tcp.retransmits") == {(): 321}
    assert _values(points, "system.network.tcp.resets") == {(): 45}
    assert _values(points, "system.network.tcp.listen.overflows") == {(): 7}
    assert _values(points, "system.network.tcp.listen.drops") == {(): 8}
    udp = {tuple(v for _, v in attrs): value for attrs, value in _values(points, "system.network.udp.errors").items()}
    assert udp == {
        ("receive", "ipv4"): 6,
        ("receive_buffer", "ipv4"): 4,
        ("send_buffer", "ipv4"): 1,
        ("no_port", "ipv4"): 9,
        ("receive", "ipv6"): 3,
        ("receive_buffer", "ipv6"): 0,
        ("send_buffer", "ipv6"): 0,
        ("no_port", "ipv6"): 2,
    }


def test_conntrack_and_clock(source: ProcfsSource) -> None:
    r = source.read()
    assert r.conntrack == (12, 262144)
    points = Pipeline().build(r)[0]
    assert _values(points, "system.network.conntrack.count") == {(): 12}
    assert _values(points, "system.network.conntrack.max") == {(): 262144}
    assert _values(points, "system.clock.offset") == {(): FIXTURE_CLOCK.offset_seconds}
    assert _values(points, "system.clock.synchronized") == {(): 1}


def test_a_host_without_these_files_reports_none_of_their_families(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "stat").write_text("cpu0 1 0 1 1 0 0 0 0\nbtime 1\n")
    r = ProcfsSource(str(tmp_path), clock_reader=lambda: None).read()
    assert r.context_switches is None
    assert (r.file_descriptors, r.pressure, r.links, r.netstat, r.conntrack, r.clock) == (None,) * 6
    names = {p.name for p in Pipeline().build(r)[0]}
    assert not {n for n in names if n.startswith(("system.linux.", "system.network.", "system.clock."))}


def test_conntrack_is_absent_without_the_netfilter_module(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE_ROOT, root)
    shutil.rmtree(root / "proc" / "sys" / "net")
    r = ProcfsSource(str(root), stat=FakeStat(root), clock_reader=lambda: None).read()
    assert r.conntrack is None
    assert r.netstat is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\n", [PressureReading("cpu", "some", 1.5)]),
        (  # kernels before 5.13 have no `full` line for cpu
            "some avg10=1.00 avg60=0.00 avg300=0.00 total=7\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=3\n",
            [PressureReading("cpu", "some", 7e-6), PressureReading("cpu", "full", 3e-6)],
        ),
    ],
)
def test_parse_pressure(text: str, expected: list[PressureReading]) -> None:
    assert kernparse.parse_pressure("cpu", text) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (("up\n", "1\n", "9000\n", "25000\n"), LinkReading("x", True, True, 9000, 3_125_000_000)),
        (("down\n", None, "1500\n", None), LinkReading("x", False, None, 1500, None)),  # EINVAL while down
        (("dormant\n", "0\n", "1500\n", "-1\n"), LinkReading("x", False, False, 1500, None)),
        (("up\n", "1\n", "1500\n", "garbage"), LinkReading("x", True, True, 1500, None)),
    ],
)
def test_link_reading(files: tuple[str | None, str | None, str | None, str | None], expected: LinkReading) -> None:
    assert kernparse.link_reading("x", *files) == expected


def test_bind_mounts_and_pseudo_filesystems_are_left_out_by_default(fake_stat: FakeStat) -> None:
    r = ProcfsSource(str(FIXTURE_ROOT), Filters(), stat=fake_stat, clock_reader=lambda: None).read()
    assert r.filesystems is not None
    # /run/netns repeats /dev/sda1 (a bind mount of a directory of /), /srv/data-again repeats /dev/sdb1,
    # /run/netns/cni-1 is nsfs: none is a disk of its own.
    assert sorted(f.mountpoint for f in r.filesystems) == ["/", "/data", "/mnt/my disk", "/mnt/nfs"]


def test_bind_mounts_can_be_reported(fake_stat: FakeStat) -> None:
    filters = Filters(bind_mounts=True)
    r = ProcfsSource(str(FIXTURE_ROOT), filters, stat=fake_stat, clock_reader=lambda: None).read()
    assert r.filesystems is not None
    assert sorted(f.mountpoint for f in r.filesystems) == [
        "/", "/data", "/mnt/my disk", "/mnt/nfs", "/run/netns", "/srv/data-again",
    ]  # fmt: skip


def test_mountinfo_fields() -> None:
    line = "44 28 8:1 /run/netns /run/net\\040ns rw,relatime shared:1 master:2 - ext4 /dev/sda1 rw,errors=remount-ro\n"
    assert kernparse.parse_mountinfo(line + "garbage line\n") == [
        MountReading("/dev/sda1", "/run/net ns", "ext4", "rw,relatime", dev_id="8:1", root="/run/netns")
    ]


def test_one_mount_per_device_prefers_the_filesystem_root_then_the_shortest_path() -> None:
    bind = MountReading("/dev/sda1", "/a", "ext4", "rw", dev_id="8:1", root="/var/lib/x")
    real = MountReading("/dev/sda1", "/srv/long/path", "ext4", "rw", dev_id="8:1", root="/")
    again = MountReading("/dev/sda1", "/srv", "ext4", "rw", dev_id="8:1", root="/")
    other = MountReading("/dev/sdb1", "/b", "xfs", "rw", dev_id="8:17", root="/")
    assert one_mount_per_device([bind, real, other, again]) == [other, again]


def test_the_mount_table_falls_back_to_proc_mounts(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURE_ROOT, root)
    (root / "proc" / "1" / "mountinfo").unlink()
    r = ProcfsSource(str(root), stat=FakeStat(root), clock_reader=lambda: None).read()
    assert r.filesystems is not None
    assert sorted(f.mountpoint for f in r.filesystems) == ["/", "/data", "/mnt/my disk", "/mnt/nfs"]


@pytest.mark.parametrize(
    ("state", "status", "offset", "expected_offset", "synchronized"),
    [
        (0, 0, -250, -0.000250, True),  # microseconds
        (0, STA_NANO, 1_500_000, 0.0015, True),  # nanoseconds
        (TIME_ERROR, 0x40, 0, 0.0, False),  # STA_UNSYNC: no time source
    ],
)
def test_clock_reading_units_and_sync_state(
    state: int, status: int, offset: int, expected_offset: float, synchronized: bool
) -> None:
    tx = Timex(offset=offset, status_=status, maxerror=16_000_000)
    reading = clock_reading(state, tx)
    assert reading.offset_seconds == pytest.approx(expected_offset)
    assert reading.max_error_seconds == 16.0
    assert reading.synchronized is synchronized


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="adjtimex is Linux's")
def test_adjtimex_reads_this_hosts_clock_without_privileges() -> None:
    reading = ClockReader().read()
    assert reading is not None
    assert reading.max_error_seconds >= 0


def test_read_text_returns_whole_large_files_and_none_for_missing_ones(tmp_path: Path) -> None:
    from otel_agent.sources.kernel import read_text

    big = tmp_path / "mountinfo"
    big.write_text("x" * 200_000 + "\n")  # a host with thousands of mounts or sockets
    assert read_text(str(big)) == "x" * 200_000 + "\n"
    assert read_text(str(tmp_path / "absent")) is None
