import pytest

from heron._internal.scrub import REDACTED, Scrubber


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("http.request.header.authorization", True),
        ("http.request.header.cookie", True),
        ("http.response.header.set-cookie", True),
        ("db.password", True),
        ("user_token", True),
        ("client_secret", True),
        ("x-api-key", True),
        ("http.route", False),
        ("url.path", False),
        ("http.request.method", False),
    ],
)
def test_secret_keys(key, secret):
    assert Scrubber().secret_key(key) is secret


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://bob:hunter2@db.example/x", f"https://bob:{REDACTED}@db.example/x"),
        ("redis://:s3cret@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
        ("login ok password=hunter2 user=bob", f"login ok password={REDACTED} user=bob"),
        ("GET /cb?access_token=abc123&page=2", f"GET /cb?access_token={REDACTED}&page=2"),
        ("Authorization: Bearer abc.def", f"Authorization: {REDACTED}"),
        ('{"api_key": "k-123"}', f'{{"api_key": "{REDACTED}"}}'),
        ("nothing to hide here", "nothing to hide here"),
    ],
)
def test_text_scrubbing(text, expected):
    assert Scrubber().text(text) == expected


def test_attributes_scrubbed_by_key_and_value():
    scrubbed = Scrubber().attributes(
        {"http.request.header.authorization": "Basic Ym9i", "url.full": "http://u:p@h/", "n": 3}
    )
    assert scrubbed == {"http.request.header.authorization": REDACTED, "url.full": f"http://u:{REDACTED}@h/", "n": 3}


def test_clean_attributes_return_none_so_spans_are_not_copied():
    assert Scrubber().attributes({"http.route": "/users/<id>", "n": 1}) is None


def test_extra_patterns():
    scrubber = Scrubber(extra_patterns=[r"^ssn$"])
    assert scrubber.attributes({"ssn": "123-45-6789"}) == {"ssn": REDACTED}
