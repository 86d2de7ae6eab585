"""The Host/Origin/Content-Type policy every Heron HTTP surface applies (loopback is not a trust boundary)."""

from __future__ import annotations

import pytest

from heron_stack.webguard import Guard, normalise_host, parse_allowed_hosts, split_host_header

GUARD = Guard("load lab", "127.0.0.1", frozenset({"lab.example.com"}), "HERON_LOADGEN_ALLOWED_HOSTS")
JSON = {"Content-Type": "application/json"}


def status(method: str, **headers: str) -> int | None:
    refusal = GUARD.check(method, {k.replace("_", "-"): v for k, v in headers.items()})
    return refusal.status if refusal else None


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8080",
        "localhost:8080",
        "LOCALHOST:8080",
        "localhost.:8080",
        "[::1]:8080",
        "127.0.0.2",
        "lab.example.com",
        "Lab.Example.COM.:443",
    ],
)
def test_loopback_and_configured_names_are_served(host: str) -> None:
    assert status("GET", Host=host) is None


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:8080",  # a DNS-rebinding page's own name
        "0.0.0.0:8080",  # reaches loopback from browsers on Linux
        "2130706433:8080",  # 127.0.0.1 as one number: no browser sends it
        "127.1:8080",
        "0x7f.0.0.1",
        "user@127.0.0.1",
        "127.0.0.1:8080@evil.example",
        "[::1",
        "127.0.0.1:99999",
        "lab.example.com.evil.example",
        "",
        "localhost\\@evil",
    ],
)
def test_any_other_host_is_misdirected(host: str) -> None:
    refusal = GUARD.check("GET", {"Host": host})
    assert refusal is not None
    assert refusal.status == 421
    assert "HERON_LOADGEN_ALLOWED_HOSTS" in refusal.message


def test_changes_need_json_bodies() -> None:
    assert status("POST", Host="localhost:8080", Content_Type="application/json; charset=utf-8") is None
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        assert status("POST", Host="localhost:8080", Content_Type=content_type) == 415, content_type
    # A body must be typed JSON, whatever the method.
    assert status("POST", Host="localhost:8080", Content_Length="5") == 415
    assert status("PUT", Host="localhost:8080", Transfer_Encoding="chunked") == 415
    assert status("DELETE", Host="localhost:8080", Content_Type="text/plain", Content_Length="5") == 415
    # A change without a body has nothing to type (POST .../pause, DELETE .../stop).
    for method in ("POST", "PUT", "DELETE"):
        assert status(method, Host="localhost:8080") is None, method
        assert status(method, Host="localhost:8080", Content_Length="0") is None, method


def test_bodiless_changes_still_meet_the_origin_checks() -> None:
    assert status("POST", Host="localhost:8080", Origin="http://evil.example") == 403
    assert status("POST", Host="localhost:8080", Content_Length="0", Sec_Fetch_Site="cross-site") == 403
    assert status("POST", Host="evil.example", Content_Length="0") == 421


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("http://localhost:8080", None),
        ("http://localhost:9999", 403),  # another port on loopback is another origin
        ("http://evil.example", 403),
        ("null", 403),  # sandboxed iframes, file:// pages
        ("file://", 403),
        ("http://localhost:8080.evil.example", 403),
    ],
)
def test_changes_from_another_origin_are_forbidden(origin: str, expected: int | None) -> None:
    assert status("POST", Host="localhost:8080", Origin=origin, **{"Content-Type": "application/json"}) == expected


@pytest.mark.parametrize(
    ("site", "expected"), [("same-origin", None), ("none", None), ("same-site", 403), ("cross-site", 403)]
)
def test_fetch_metadata_of_changes_is_checked(site: str, expected: int | None) -> None:
    assert (
        status("POST", Host="localhost:8080", Sec_Fetch_Site=site, **{"Content-Type": "application/json"}) == expected
    )


def test_reads_need_only_a_right_host() -> None:
    assert status("GET", Host="localhost:8080", Origin="http://evil.example", Sec_Fetch_Site="cross-site") is None


def test_the_bind_address_is_a_name_of_the_service() -> None:
    lan = Guard("alert API", "10.0.0.5")
    assert lan.check("GET", {"Host": "10.0.0.5:9097"}) is None
    assert lan.check("GET", {"Host": "10.0.0.6:9097"}) is not None


def test_allowed_hosts_setting_is_validated_naming_the_entry() -> None:
    assert parse_allowed_hosts(" alert-api, Heron.Example.com. ,", "X") == frozenset({"alert-api", "heron.example.com"})
    for bad in ("http://x", "a b", "0.0.0.0", "host:80", "x@y"):
        with pytest.raises(ValueError, match="X=") as info:
            parse_allowed_hosts(f"ok,{bad}", "X")
        assert repr(bad) in str(info.value)


def test_host_forms_are_canonical() -> None:
    assert normalise_host("[0:0:0:0:0:0:0:1]") == "::1"
    assert normalise_host("EXAMPLE.com.") == "example.com"
    assert split_host_header("[::1]:80") == ("::1", 80)
    assert split_host_header("a:b:c") is None


def test_a_wildcard_bind_address_is_no_name_of_the_service() -> None:
    container = Guard("load lab", "0.0.0.0")
    assert container.check("GET", {"Host": "0.0.0.0:8080"}) is not None
    assert container.check("GET", {"Host": "localhost:8080"}) is None
