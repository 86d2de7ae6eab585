"""Traffic targets: own endpoints, allow-listed origins, never link-local or metadata addresses."""

from __future__ import annotations

import pytest

from loadgen.exceptions import TargetNotAllowed
from loadgen.targets import forbidden_address, resolve_targets

OWN = "http://127.0.0.1:8080"


def resolver(host: str) -> list[str]:
    table = {
        "127.0.0.1": ["127.0.0.1"],
        "api.test": ["10.0.0.5"],
        "sneaky.test": ["169.254.169.254"],
        "v6ll.test": ["fe80::1%eth0"],
    }
    return table[host]


def test_paths_go_to_loadgen_itself() -> None:
    assert resolve_targets(["/api/demo/ok"], OWN, (), resolver) == ("http://127.0.0.1:8080/api/demo/ok",)


def test_allow_listed_origin_is_accepted() -> None:
    urls = resolve_targets(["http://api.test:8000/x"], OWN, ("http://api.test:8000",), resolver)
    assert urls == ("http://api.test:8000/x",)


@pytest.mark.parametrize(
    ("endpoint", "allow", "reason"),
    [
        ("http://api.test:8000/x", (), "not allow-listed"),
        ("http://api.test:9000/x", ("http://api.test:8000",), "not allow-listed"),
        ("http://sneaky.test/x", ("http://sneaky.test",), "metadata"),
        ("http://v6ll.test/x", ("http://v6ll.test",), "link-local"),
        ("http://metadata.google.internal/computeMetadata/v1/", ("http://metadata.google.internal",), "metadata"),
        ("//api.test/x", (), "neither a path"),
        ("ftp://api.test/x", (), "neither a path"),
        ("api/demo", (), "neither a path"),
    ],
)
def test_refused_targets(endpoint: str, allow: tuple[str, ...], reason: str) -> None:
    with pytest.raises(TargetNotAllowed, match=reason) as info:
        resolve_targets(["/api/demo/ok", endpoint], OWN, allow, resolver)
    assert info.value.field == "endpoints.1"


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("169.254.169.254", True),
        ("169.254.1.1", True),
        ("fe80::1", True),
        ("fd00:ec2::254", True),
        ("100.100.100.200", True),
        ("224.0.0.1", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("2001:db8::1", False),
    ],
)
def test_forbidden_addresses(address: str, forbidden: bool) -> None:
    assert (forbidden_address(address) is not None) is forbidden
