"""Where the alert worker's Redis is: one URL, parsed once, for a single server or a Sentinel-managed primary.

Two forms are accepted:

- ``redis://[[user]:password@]host:port/db`` (and ``rediss://`` for TLS, ``unix://``): one server, as
  redis-py reads it.
- ``redis+sentinel://[[user]:password@]host:port[,host:port...]/master_name[/db]``: the sentinels to ask
  and the name they monitor the primary under (the form flask-redis-sentinel and Harbor use). The
  password is the Redis servers' (``requirepass``); the sentinels are asked without one.

The parsed `RedisTarget` turns into what each client wants: kombu's ``sentinel://...;sentinel://...``
broker URL with ``master_name`` (Celery's documented Sentinel set-up) and redis-py's
`Sentinel.master_for` (see `alert_worker.redis_client`), which RedBeat is handed too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from redis.connection import parse_url as redis_py_parse_url

SENTINEL_SCHEME = "redis+sentinel"
PLAIN_SCHEMES = ("redis", "rediss", "unix")
DEFAULT_SENTINEL_PORT = 26379
FORMS = (
    "redis://host:6379/0, rediss://host:6379/0, unix:///path/redis.sock, "
    "or redis+sentinel://host:26379,host:26379/master_name/0"
)
_MASTER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_USERINFO_FORBIDDEN = "/?#@"


@dataclass(frozen=True)
class RedisTarget:
    """A parsed Redis location: `url` for one server, or `sentinels` + `master_name` under Sentinel."""

    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)

    def kombu_broker(self) -> tuple[str, dict[str, Any]]:
        """Celery's broker URL and the transport options it needs beyond Heron's own."""
        if not self.is_sentinel:
            return self.url, {}
        auth = ""
        if self.password is not None:
            auth = f"{quote(self.username or '', safe='')}:{quote(self.password, safe='')}@"
        url = ";".join(f"sentinel://{auth}{_hostport(host, port)}/{self.db}" for host, port in self.sentinels)
        return url, {"master_name": self.master_name}

    def redbeat_url(self) -> str:
        """The URL RedBeat shows (Heron hands RedBeat its client, see alert_worker.celery_app)."""
        if not self.is_sentinel:
            return self.url
        return f"redis-sentinel://{_hostport(*self.sentinels[0])}/{self.db}"


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split_userinfo(url: str) -> tuple[str, str, str] | None:
    """(``scheme://``, userinfo, the rest after its ``@``), or None when `url` has no userinfo.

    The userinfo ends at the LAST ``@`` (the host part never holds one), so a password holding an
    unencoded ``/``, ``?``, ``#`` or ``@`` is still all inside it and can be masked whole.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return None
    userinfo, _, after = rest.rpartition("@")
    return scheme + sep, userinfo, after


def redact(url: str) -> str:
    """`url` with any password replaced by ``***`` (for error messages and logs)."""
    parts = _split_userinfo(url)
    if parts is None or ":" not in parts[1]:
        return url
    scheme, userinfo, after = parts
    return f"{scheme}{userinfo.split(':', 1)[0]}:***@{after}"


def parse_redis_url(value: str) -> RedisTarget:
    """Parse `value`; ValueError says what is wrong and which forms are allowed (never the password)."""
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in (*PLAIN_SCHEMES, SENTINEL_SCHEME):
        raise ValueError(f"must be a Redis URL: {FORMS}")
    parts = _split_userinfo(value)
    if parts is not None and any(c in parts[1] for c in _USERINFO_FORBIDDEN):
        raise ValueError(
            "the user or password holds a '/', '?', '#' or '@': percent-encode / and @ in the password "
            "(%2F, %40; also ? as %3F and # as %23)"
        )
    if scheme in PLAIN_SCHEMES:
        return _parse_plain(value, scheme)
    return _parse_sentinel(value)


def _parse_plain(value: str, scheme: str) -> RedisTarget:
    """Check a one-server URL with redis-py's own parser (the one its client uses on it later)."""
    try:
        kwargs: dict[str, Any] = redis_py_parse_url(value)  # type: ignore[no-untyped-call]  # unannotated
    except ValueError as exc:
        # redis-py's messages name a port or an option, never the password; the URL is redacted
        raise ValueError(f"{redact(value)} is not a Redis URL redis-py accepts ({exc}); use {FORMS}") from None
    if scheme == "unix" and not kwargs.get("path"):
        raise ValueError(f"{redact(value)} names no socket path; use {FORMS}")
    if scheme != "unix" and not kwargs.get("host"):
        raise ValueError(f"{redact(value)} names no host; use {FORMS}")
    return RedisTarget(url=value)


def _parse_sentinel(value: str) -> RedisTarget:
    rest = value.split("://", 1)[1]
    netloc, _, path = rest.partition("/")  # the userinfo holds no '/' (parse_redis_url checked)
    path, _, query = path.partition("?")
    if query or "#" in path:
        raise ValueError(f"takes no query or fragment; use {FORMS}")
    username: str | None = None
    password: str | None = None
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    sentinels = tuple(_sentinel_address(part) for part in netloc.split(","))
    parts = [p for p in path.split("/")]
    if not parts or not parts[0]:
        raise ValueError(
            "names no master after the sentinels; use redis+sentinel://host:26379,host:26379/master_name/0"
        )
    if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ValueError("the path is /master_name or /master_name/db, with db a number such as 0")
    if not _MASTER_NAME.match(parts[0]):
        raise ValueError(f"master name {parts[0]!r} must be 1-64 letters, digits, '.', '_' or '-'")
    db = int(parts[1]) if len(parts) == 2 else 0
    return RedisTarget(sentinels=sentinels, master_name=parts[0], db=db, username=username, password=password)


def _sentinel_address(part: str) -> tuple[str, int]:
    if not part.strip():
        raise ValueError("lists an empty sentinel address; separate host:port pairs by single commas")
    try:
        parsed = urlsplit(f"//{part.strip()}")
        host, port = parsed.hostname, parsed.port
    except ValueError as exc:
        raise ValueError(f"sentinel address {part!r} is not host:port with a port from 1 to 65535") from exc
    if not host:
        raise ValueError(f"sentinel address {part!r} has no host")
    return host, port or DEFAULT_SENTINEL_PORT
