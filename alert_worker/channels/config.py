"""Resolve notification destinations: argument > environment > YAML file > built-in console default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError

from alert_worker.channels import env
from alert_worker.channels.exceptions import DestinationConfigError
from alert_worker.channels.redact import redactor
from alert_worker.channels.render import Links

SECRET_FIELDS = ("token", "webhook_url", "url", "password", "bearer_token")
CONSOLE = "console"


class _Dest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    #: Sustained sends per second allowed to this destination, shared by all workers.
    rate_per_second: float = Field(default=1.0, gt=0, le=1000)
    burst: int = Field(default=1, ge=1, le=1000)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class TelegramDestination(_Dest):
    type: Literal["telegram"]
    token: SecretStr
    chat_id: str = Field(min_length=1)
    api_url: str = "https://api.telegram.org"
    edit_on_resolve: bool = False
    disable_notification: bool = False
    max_parts: int = Field(default=3, ge=1, le=20)


class SlackDestination(_Dest):
    type: Literal["slack"]
    webhook_url: SecretStr


class DiscordDestination(_Dest):
    type: Literal["discord"]
    webhook_url: SecretStr
    rate_per_second: float = Field(default=0.5, gt=0, le=1000)


class WebhookDestination(_Dest):
    type: Literal["webhook"]
    url: SecretStr
    bearer_token: SecretStr | None = None
    rate_per_second: float = Field(default=10.0, gt=0, le=1000)
    burst: int = Field(default=10, ge=1, le=1000)


class EmailDestination(_Dest):
    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str = ""
    password: SecretStr | None = None
    sender: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)
    ca_file: str = ""
    rate_per_second: float = Field(default=5.0, gt=0, le=1000)
    burst: int = Field(default=5, ge=1, le=1000)


class ConsoleDestination(_Dest):
    type: Literal["console"]
    rate_per_second: float = Field(default=1000.0, gt=0, le=1000)
    burst: int = Field(default=1000, ge=1, le=1000)


Destination = Annotated[
    TelegramDestination
    | SlackDestination
    | DiscordDestination
    | WebhookDestination
    | EmailDestination
    | ConsoleDestination,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Destination] = TypeAdapter(Destination)


@dataclass(frozen=True)
class Destinations:
    """All configured destinations by name, the fallback for meta-notifications, and link settings."""

    destinations: Mapping[str, Destination]
    fallback: str = ""
    links: Links = field(default_factory=Links)
    template_dir: str = ""
    sources: tuple[str, ...] = field(default=())

    def get(self, name: str) -> Destination:
        try:
            return self.destinations[name]
        except KeyError:
            known = ", ".join(sorted(self.destinations)) or "none"
            raise DestinationConfigError(
                f"destination {name!r} is not configured; configured destinations: {known}"
            ) from None


def _read_secret_file(where: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise DestinationConfigError(f"{where}: cannot read secret file {path!r}: {exc.strerror}") from None


def _resolve_secrets(where: str, raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``X_env: NAME`` and ``X_file: PATH`` into ``X`` for every secret field."""
    out = dict(raw)
    for name in SECRET_FIELDS:
        env_name, file_name = out.pop(f"{name}_env", None), out.pop(f"{name}_file", None)
        if file_name is not None:
            out[name] = _read_secret_file(f"{where}.{name}_file", str(file_name))
        elif env_name is not None:
            if str(env_name) not in environ:
                raise DestinationConfigError(
                    f"{where}.{name}_env: environment variable {env_name!r} is not set; export it or use {name}_file"
                )
            out[name] = environ[str(env_name)]
    return out


def _describe(where: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"])
        shown = "***" if any(s in loc for s in SECRET_FIELDS) else repr(error.get("input"))
        problems.append(f"{where}.{loc}: {error['msg']} (got {shown})")
    return "; ".join(problems)


def parse_destination(name: str, raw: object, environ: Mapping[str, str] | None = None) -> Destination:
    """Validate one destination entry, resolving its secrets."""
    where = f"destinations.{name}"
    if not isinstance(raw, dict):
        raise DestinationConfigError(f"{where}: expected a mapping with a 'type' key, got {type(raw).__name__}")
    resolved = _resolve_secrets(where, raw, os.environ if environ is None else environ)
    try:
        dest = _ADAPTER.validate_python(resolved)
    except ValidationError as exc:
        raise DestinationConfigError(_describe(where, exc)) from None
    for secret in SECRET_FIELDS:
        value = getattr(dest, secret, None)
        if isinstance(value, SecretStr):
            redactor.add(value.get_secret_value())
    return dest


def _env_secret(environ: Mapping[str, str], name: str, file_var: str) -> str | None:
    if environ.get(file_var):
        return _read_secret_file(file_var, environ[file_var])
    return environ.get(name) or None


def _env_destinations(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    token = _env_secret(environ, env.HERON_ALERTS_TELEGRAM_BOT_TOKEN, env.HERON_ALERTS_TELEGRAM_BOT_TOKEN_FILE)
    chat = environ.get(env.HERON_ALERTS_TELEGRAM_CHAT_ID)
    if token or chat:
        if not (token and chat):
            raise DestinationConfigError(
                f"{env.HERON_ALERTS_TELEGRAM_BOT_TOKEN} and {env.HERON_ALERTS_TELEGRAM_CHAT_ID} must be set together"
            )
        found["telegram"] = {"type": "telegram", "token": token, "chat_id": chat}
    slack = _env_secret(environ, env.HERON_ALERTS_SLACK_WEBHOOK_URL, env.HERON_ALERTS_SLACK_WEBHOOK_URL_FILE)
    if slack:
        found["slack"] = {"type": "slack", "webhook_url": slack}
    discord = _env_secret(environ, env.HERON_ALERTS_DISCORD_WEBHOOK_URL, env.HERON_ALERTS_DISCORD_WEBHOOK_URL_FILE)
    if discord:
        found["discord"] = {"type": "discord", "webhook_url": discord}
    email = _env_email(environ)
    if email:
        found["email"] = email
    return found


def _env_email(environ: Mapping[str, str]) -> dict[str, Any] | None:
    host, sender = environ.get(env.HERON_ALERTS_SMTP_HOST), environ.get(env.HERON_ALERTS_SMTP_FROM)
    to = [a.strip() for a in environ.get(env.HERON_ALERTS_SMTP_TO, "").split(",") if a.strip()]
    if not (host or sender or to):
        return None
    if not (host and sender and to):
        raise DestinationConfigError(
            f"{env.HERON_ALERTS_SMTP_HOST}, {env.HERON_ALERTS_SMTP_FROM} and {env.HERON_ALERTS_SMTP_TO} must be set "
            f"together (got host={host!r}, from={sender!r}, to={to!r})"
        )
    dest: dict[str, Any] = {"type": "email", "host": host, "from": sender, "to": to}
    optional = {"port": env.HERON_ALERTS_SMTP_PORT, "security": env.HERON_ALERTS_SMTP_SECURITY}
    optional["username"] = env.HERON_ALERTS_SMTP_USERNAME
    dest.update({key: environ[var] for key, var in optional.items() if environ.get(var)})
    password = _env_secret(environ, env.HERON_ALERTS_SMTP_PASSWORD, env.HERON_ALERTS_SMTP_PASSWORD_FILE)
    if password:
        dest["password"] = password
    return dest


def _load_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DestinationConfigError(f"destinations file {str(path)!r}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DestinationConfigError(f"destinations file {str(path)!r} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DestinationConfigError(f"destinations file {str(path)!r}: top level must be a mapping")
    unknown = set(data) - {"destinations", "fallback", "links", "template_dir"}
    if unknown:
        raise DestinationConfigError(
            f"destinations file {str(path)!r}: unknown keys {sorted(unknown)}; "
            "allowed: destinations, fallback, links, template_dir"
        )
    return data


def resolve_destinations(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Destinations:
    """Load destinations from `path` (or $HERON_ALERTS_DESTINATIONS_FILE) and the quick-setup env vars.

    A ``console`` destination always exists unless the file redefines it.
    """
    environ = os.environ if environ is None else environ
    file_path = path or environ.get(env.HERON_ALERTS_DESTINATIONS_FILE) or None
    data = _load_file(Path(file_path)) if file_path else {}
    raw_dests = data.get("destinations") or {}
    if not isinstance(raw_dests, dict):
        raise DestinationConfigError("destinations: expected a mapping of name -> destination")
    raw: dict[str, Any] = {CONSOLE: {"type": "console"}, **raw_dests, **_env_destinations(environ)}
    parsed = {str(name): parse_destination(str(name), entry, environ) for name, entry in raw.items()}
    links_raw = data.get("links") or {}
    if not isinstance(links_raw, dict) or set(links_raw) - {"grafana_url", "silence_url", "external_url"}:
        raise DestinationConfigError("links: allowed keys are grafana_url, silence_url, external_url")
    links = Links(
        grafana_url=environ.get(env.HERON_ALERTS_GRAFANA_URL) or str(links_raw.get("grafana_url", "")),
        silence_url=environ.get(env.HERON_ALERTS_SILENCE_URL) or str(links_raw.get("silence_url", "")),
        external_url=environ.get(env.HERON_ALERTS_EXTERNAL_URL) or str(links_raw.get("external_url", "")),
    )
    fallback = environ.get(env.HERON_ALERTS_FALLBACK_DESTINATION) or str(data.get("fallback") or "")
    if fallback and fallback not in parsed:
        raise DestinationConfigError(f"fallback: {fallback!r} is not a configured destination; known: {sorted(parsed)}")
    template_dir = environ.get(env.HERON_ALERTS_TEMPLATE_DIR) or str(data.get("template_dir") or "")
    sources = tuple(s for s in (str(file_path) if file_path else "", "env") if s)
    return Destinations(parsed, fallback=fallback, links=links, template_dir=template_dir, sources=sources)
