"""Email channel against aiosmtpd: STARTTLS on a generated certificate, implicit TLS, auth, SMTP errors."""

from __future__ import annotations

import email
import email.policy
import ssl
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from alert_worker.channels import EmailChannel, PermanentError, SendContext, TransientError
from tests.fixtures.stack import free_port
from tests.fixtures.standins.jobs import make_alert, make_job

pytestmark = pytest.mark.integration
USER, PASSWORD = "heron", "smtp-secret-password"


@dataclass
class Mailbox:
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    rcpt_reply: str = ""  # e.g. "451 4.3.0 try later": answer RCPT with it

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


def _serve(mailbox: Mailbox, **kwargs: Any) -> Controller:
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


def _channel(controller: Controller, client_ctx: ssl.SSLContext, **kwargs: Any) -> EmailChannel:
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": controller.port,
        "sender": "heron@example.org",
        "recipients": ["oncall@example.org", "lead@example.org"],
        "ssl_context": client_ctx,
        "timeout": 10.0,
    }
    options.update(kwargs)
    return EmailChannel(**options)


def test_starttls_with_auth_delivers_multipart_to_every_recipient(tls) -> None:
    server_ctx, client_ctx = tls
    mailbox = Mailbox()
    controller = _serve(
        mailbox, tls_context=server_ctx, require_starttls=True, authenticator=_auth, auth_require_tls=True
    )
    try:
        channel = _channel(controller, client_ctx, security="starttls", username=USER, password=PASSWORD)
        job = make_job("mail", key="mail-1", alerts=(make_alert(summary="Disk <almost> full"),))
        channel.send(job, SendContext())
    finally:
        controller.stop()
    ((mail_from, rcpt_tos, raw),) = mailbox.messages
    assert mail_from == "heron@example.org"
    assert rcpt_tos == ["oncall@example.org", "lead@example.org"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "[FIRING:1] HighCpu (critical)"
    assert msg["From"] == "heron@example.org"
    assert msg["To"] == "oncall@example.org, lead@example.org"
    assert msg["Message-ID"] == "<mail-1@heron.alerts>"
    plain_part, html_part = msg.get_body(preferencelist=("plain",)), msg.get_body(preferencelist=("html",))
    assert plain_part is not None
    assert html_part is not None
    text, html = plain_part.get_content(), html_part.get_content()
    assert "Disk <almost> full" in text
    assert "Disk &lt;almost&gt; full" in html
    assert "http://grafana.local/d/host" in html


def test_implicit_tls(tls) -> None:
    server_ctx, client_ctx = tls
    mailbox = Mailbox()
    controller = _serve(mailbox, ssl_context=server_ctx)
    try:
        _channel(controller, client_ctx, security="tls").send(make_job("mail"), SendContext())
    finally:
        controller.stop()
    assert len(mailbox.messages) == 1


def test_plain_relay(tls) -> None:
    mailbox = Mailbox()
    controller = _serve(mailbox)
    try:
        _channel(controller, tls[1], security="none", recipients=["a@example.org"]).send(make_job("m"), SendContext())
    finally:
        controller.stop()
    assert mailbox.messages[0][1] == ["a@example.org"]


def test_starttls_required_but_not_offered_is_permanent(tls) -> None:
    controller = _serve(Mailbox())
    try:
        with pytest.raises(PermanentError, match="does not offer STARTTLS"):
            _channel(controller, tls[1], security="starttls").send(make_job("m"), SendContext())
    finally:
        controller.stop()


def test_untrusted_certificate_is_permanent(tls) -> None:
    controller = _serve(Mailbox(), tls_context=tls[0])
    try:
        with pytest.raises(PermanentError, match="TLS failed"):
            _channel(controller, ssl.create_default_context(), security="starttls").send(make_job("m"), SendContext())
    finally:
        controller.stop()


@pytest.mark.parametrize(
    ("reply", "error"),
    [("451 4.3.0 mailbox busy, try later", TransientError), ("550 5.1.1 no such user", PermanentError)],
)
def test_smtp_4xx_transient_5xx_permanent(tls, reply: str, error: type[Exception]) -> None:
    mailbox = Mailbox(rcpt_reply=reply)
    controller = _serve(mailbox)
    try:
        with pytest.raises(error, match=reply.split(maxsplit=1)[0]):
            _channel(controller, tls[1], security="none").send(make_job("m"), SendContext())
    finally:
        controller.stop()
    assert mailbox.messages == []


def test_wrong_password_is_permanent_and_redacted(tls) -> None:
    server_ctx, client_ctx = tls
    controller = _serve(Mailbox(), tls_context=server_ctx, authenticator=_auth, auth_require_tls=True)
    try:
        channel = _channel(controller, client_ctx, security="starttls", username=USER, password="wrong-password-1")
        with pytest.raises(PermanentError) as info:
            channel.send(make_job("m"), SendContext())
    finally:
        controller.stop()
    assert "535" in str(info.value)
    assert info.value.destination_broken is True
    assert "wrong-password-1" not in str(info.value)


def test_unreachable_server_is_transient(tls) -> None:
    channel = EmailChannel(host="127.0.0.1", port=free_port(), sender="a@b.c", recipients=["x@y.z"], security="none")
    with pytest.raises(TransientError):
        channel.send(make_job("m"), SendContext())
