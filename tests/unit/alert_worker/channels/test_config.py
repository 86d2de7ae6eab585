from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from alert_worker.channels import DestinationConfigError, build_channels, redact, resolve_destinations
from alert_worker.channels.config import EmailDestination, SlackDestination, TelegramDestination
from alert_worker.channels.redact import RedactingFilter

TOKEN = "987654:ABCdefGHIjklMNOpqrSTUvwx"


def write(tmp_path, text: str):
    path = tmp_path / "destinations.yaml"
    path.write_text(text)
    return path


def test_console_is_the_default() -> None:
    config = resolve_destinations(environ={})
    assert list(config.destinations) == ["console"]
    assert build_channels(config)["console"].kind == "console"


def test_file_with_secrets_from_env_and_file(tmp_path) -> None:
    (tmp_path / "hook").write_text("https://hooks.slack.com/services/T1/B1/abcdefabcdef\n")
    path = write(
        tmp_path,
        f"""
destinations:
  ops-tg:
    type: telegram
    token_env: TG_TOKEN
    chat_id: "-1001"
    edit_on_resolve: true
  ops-slack:
    type: slack
    webhook_url_file: {tmp_path / "hook"}
  mail:
    type: email
    host: smtp.example.org
    from: heron@example.org
    to: [a@example.org, b@example.org]
    password_env: SMTP_PASS
fallback: ops-slack
links:
  grafana_url: http://grafana.local
""",
    )
    config = resolve_destinations(path, environ={"TG_TOKEN": TOKEN, "SMTP_PASS": "hunter2-long"})
    tg = config.get("ops-tg")
    assert isinstance(tg, TelegramDestination)
    assert tg.token.get_secret_value() == TOKEN
    assert tg.edit_on_resolve is True
    slack = config.get("ops-slack")
    assert isinstance(slack, SlackDestination)
    assert slack.webhook_url.get_secret_value().endswith("abcdefabcdef")
    mail = config.get("mail")
    assert isinstance(mail, EmailDestination)
    assert (mail.port, mail.security, mail.to) == (587, "starttls", ["a@example.org", "b@example.org"])
    assert config.fallback == "ops-slack"
    assert config.links.grafana_url == "http://grafana.local"
    assert TOKEN not in repr(config)
    assert "hunter2-long" not in repr(config)


def test_quick_setup_from_env(tmp_path) -> None:
    (tmp_path / "tok").write_text(TOKEN)
    env = {
        "HERON_ALERTS_TELEGRAM_BOT_TOKEN_FILE": str(tmp_path / "tok"),
        "HERON_ALERTS_TELEGRAM_CHAT_ID": "-42",
        "HERON_ALERTS_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/quicksetupsecret",
        "HERON_ALERTS_FALLBACK_DESTINATION": "slack",
    }
    config = resolve_destinations(environ=env)
    assert sorted(config.destinations) == ["console", "slack", "telegram"]
    tg = config.get("telegram")
    assert isinstance(tg, TelegramDestination)
    assert tg.token == SecretStr(TOKEN)
    assert config.fallback == "slack"


def test_email_quick_setup_from_env(tmp_path) -> None:
    (tmp_path / "pw").write_text("smtp-pass-from-file\n")
    env = {
        "HERON_ALERTS_SMTP_HOST": "smtp.example.org",
        "HERON_ALERTS_SMTP_PORT": "465",
        "HERON_ALERTS_SMTP_SECURITY": "tls",
        "HERON_ALERTS_SMTP_USERNAME": "heron",
        "HERON_ALERTS_SMTP_PASSWORD_FILE": str(tmp_path / "pw"),
        "HERON_ALERTS_SMTP_FROM": "heron@example.org",
        "HERON_ALERTS_SMTP_TO": "oncall@example.org, lead@example.org",
    }
    mail = resolve_destinations(environ=env).get("email")
    assert isinstance(mail, EmailDestination)
    assert (mail.host, mail.port, mail.security, mail.username) == ("smtp.example.org", 465, "tls", "heron")
    assert mail.password == SecretStr("smtp-pass-from-file")
    assert mail.to == ["oncall@example.org", "lead@example.org"]


@pytest.mark.parametrize(
    ("yaml_text", "environ", "message"),
    [
        ("destinations:\n  x: {type: pager}\n", {}, "destinations.x"),
        ("destinations:\n  x: {type: telegram, chat_id: '1'}\n", {}, "destinations.x.telegram.token: Field required"),
        ("destinations:\n  x: {type: slack, webhook_url_env: NOPE}\n", {}, "NOPE' is not set"),
        (
            "destinations:\n  m: {type: email, host: h, from: a@b.c, to: [x@y.z], security: ssl}\n",
            {},
            "destinations.m.email.security: Input should be 'none', 'starttls' or 'tls' (got 'ssl')",
        ),
        ("destinations:\n  x: {type: console, rate_per_second: 0}\n", {}, "rate_per_second"),
        ("", {"HERON_ALERTS_SMTP_HOST": "smtp.example.org"}, "must be set together (got host='smtp.example.org'"),
        (
            "",
            {"HERON_ALERTS_SMTP_HOST": "h", "HERON_ALERTS_SMTP_FROM": "a@b.c", "HERON_ALERTS_SMTP_TO": "x@y.z"}
            | {"HERON_ALERTS_SMTP_PORT": "smtp"},
            "destinations.email.email.port: Input should be a valid integer",
        ),
        ("fallback: nowhere\n", {}, "fallback: 'nowhere' is not a configured destination"),
        ("colour: blue\n", {}, "unknown keys ['colour']"),
        ("destinations: [1, 2]\n", {}, "expected a mapping"),
        (
            "destinations:\n  x: {type: slack, webhook_url: 'https://hooks.slack.com/services/a/b/c', extra: 1}\n",
            {},
            "extra",
        ),
    ],
)
def test_bad_config_names_field_and_value(tmp_path, yaml_text, environ, message) -> None:
    with pytest.raises(DestinationConfigError) as info:
        resolve_destinations(write(tmp_path, yaml_text), environ=environ)
    assert message in str(info.value)


def test_secret_values_never_appear_in_errors(tmp_path) -> None:
    path = write(
        tmp_path, "destinations:\n  x: {type: telegram, chat_id: '', token: '555555:SHOULD-NOT-LEAK-xxxxxxxx'}\n"
    )
    with pytest.raises(DestinationConfigError) as info:
        resolve_destinations(path, environ={})
    assert "SHOULD-NOT-LEAK" not in str(info.value)
    assert "chat_id" in str(info.value)


def test_missing_file_is_named(tmp_path) -> None:
    with pytest.raises(DestinationConfigError, match=r"nope\.yaml"):
        resolve_destinations(tmp_path / "nope.yaml", environ={})


def test_configured_secrets_are_redacted_in_logs(tmp_path, caplog) -> None:
    path = write(
        tmp_path, "destinations:\n  x: {type: slack, webhook_url: 'https://chat.example.org/hook/very-secret-part'}\n"
    )
    resolve_destinations(path, environ={})
    assert redact("posting to https://chat.example.org/hook/very-secret-part failed") == "posting to *** failed"
    logger = logging.getLogger("heron.test.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="heron.test.redaction"):
        logger.info("url=%s", "https://chat.example.org/hook/very-secret-part")
    assert "very-secret-part" not in caplog.text
    assert "url=***" in caplog.text
