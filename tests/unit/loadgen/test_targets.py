"""Traffic targets: own endpoints, allow-listed origins, never link-local or metadata addresses.

One parser (urllib3's, the traffic client's) for check and use; the address connected to is the one checked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from loadgen.exceptions import TargetNotAllowed
from loadgen.targets import Target, forbidden_address, resolve_targets

OWN = "http://127.0.0.1:8080"


TABLE = {
    "127.0.0.1": ["127.0.0.1"],
    "api.test": ["10.0.0.5"],
    "evil.test": ["203.0.113.9"],
    "sneaky.test": ["169.254.169.254"],
    "v6ll.test": ["fe80::1%eth0"],
    "::1": ["::1"],
}


def resolver(host: str) -> list[str]:
    return TABLE.get(host, ["198.51.100.1"])


def test_paths_go_to_loadgen_itself() -> None:
    (target,) = resolve_targets(["/api/demo/ok"], OWN, (), resolver)
    assert target == Target(
        url="http://127.0.0.1:8080/api/demo/ok",
        host_header="127.0.0.1:8080",
        server_name="127.0.0.1",
        shown="http://127.0.0.1:8080/api/demo/ok",
    )


def test_an_allow_listed_origin_is_reached_at_the_address_that_was_checked() -> None:
    (target,) = resolve_targets(["http://api.test:8000/x?y=1"], OWN, ("http://api.test:8000",), resolver)
    assert target.url == "http://10.0.0.5:8000/x?y=1"  # pinned: DNS cannot change between check and connect
    assert target.host_header == "api.test:8000"
    assert target.server_name == "api.test"


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
        # Parser differentials: urllib.parse and urllib3 disagree on where the host is.
        ("http://evil.test\\@api.test:8000/x", ("http://api.test:8000",), "backslash"),
        ("http://api.test:8000\\@evil.test/x", ("http://api.test:8000",), "backslash"),
        ("http://evil.test@api.test:8000/x", ("http://api.test:8000",), "userinfo"),
        ("http://api.test:8000@evil.test/x", ("http://api.test:8000",), "userinfo"),
        ("http://api.test:8000/#@evil.test/x", ("http://evil.test",), "not allow-listed"),
        ("http://017.0.0.1:8080/", (), "non-canonical"),
        ("http://api.test:8000/x y", ("http://api.test:8000",), "space"),
        ("http://api.test:8000/x\r\nHost: evil", ("http://api.test:8000",), "control character"),
        ("http://2130706433:8080/", (), "non-canonical"),
        ("http://0x7f.0.0.1:8080/", (), "non-canonical"),
        ("http://127.1:8080/", (), "non-canonical"),
        ("http://api%2etest:8000/", ("http://api.test:8000",), "non-canonical"),
        ("http://api.test.:8000/", ("http://api.test:8000",), "non-canonical"),
        ("http://api.test:99999/", ("http://api.test:8000",), "not a URL"),
        ("http://api.test:80a/", ("http://api.test:8000",), "not a URL"),
        ("http://api.test:0/", ("http://api.test:8000",), "outside 1-65535"),
        ("http://127.0.0.1:8080/" + "a" * 3000, (), "longer than 2048"),
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
        ("::1", False),  # loopback, though it sits in a reserved IPv6 block
        # IPv4-mapped IPv6 is judged as the IPv4 address it carries.
        ("::ffff:169.254.169.254", True),
        ("::ffff:100.100.100.200", True),
        ("::ffff:127.0.0.1", False),
    ],
)
def test_forbidden_addresses(address: str, forbidden: bool) -> None:
    assert (forbidden_address(address) is not None) is forbidden


def test_a_name_with_several_addresses_is_pinned_to_one_that_answers() -> None:
    """`localhost` resolves to ::1 and 127.0.0.1; a server listening on IPv4 only is still reached."""
    probed: list[tuple[str, int]] = []

    def reachable(address: str, port: int) -> bool:
        probed.append((address, port))
        return address == "127.0.0.1"

    both = {"localhost": ["::1", "127.0.0.1"]}
    (target,) = resolve_targets(
        ["http://localhost:9000/x"], OWN, ("http://localhost:9000",), both.__getitem__, reachable
    )
    assert target.url == "http://127.0.0.1:9000/x"
    assert target.host_header == "localhost:9000"
    assert probed == [("::1", 9000), ("127.0.0.1", 9000)]


def test_every_address_of_a_name_is_checked_even_the_ones_not_connected_to() -> None:
    mixed = {"api.test": ["10.0.0.5", "::ffff:169.254.169.254"]}
    with pytest.raises(TargetNotAllowed, match="metadata"):
        resolve_targets(["http://api.test:8000/"], OWN, ("http://api.test:8000",), mixed.__getitem__, lambda a, p: True)


URLISH = st.text(alphabet=st.sampled_from(list("htps:/\\@#?.%[]0123456789abcdefgilnorstvx:-_ \t\r\n")), max_size=60)
PREFIXES = st.sampled_from(["http://", "https://", "http://api.test:8000", "http://evil.test", "/", ""])
ALLOW = ("http://api.test:8000", "https://api.test")


@given(prefix=PREFIXES, rest=URLISH)
@example(prefix="http://evil.test", rest="\\@api.test:8000/")
@example(prefix="http://api.test:8000", rest="\\@evil.test/")
@example(prefix="http://api.test:8000", rest="@evil.test/")
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
def test_a_target_is_refused_or_reached_at_the_checked_host(prefix: str, rest: str) -> None:
    raw = prefix + rest
    try:
        (target,) = resolve_targets([raw], OWN, ALLOW, resolver)
    except TargetNotAllowed:
        return
    full = OWN + raw if raw.startswith("/") and not raw.startswith("//") else raw
    client = parse_url(full)  # how the traffic client reads the string the user sent
    checked = (client.scheme, client.host, client.port or {"http": 80, "https": 443}[str(client.scheme)])
    assert f"{checked[0]}://{checked[1]}:{checked[2]}" in {
        "http://127.0.0.1:8080",
        "http://api.test:8000",
        "https://api.test:443",
    }
    # The worker connects to an address the checked host resolved to, and no other parser sees another host.
    assert parse_url(target.url).host in resolver(str(client.host))
    assert urlsplit(full).hostname == client.host
