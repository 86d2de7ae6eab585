"""Email channel over SMTP: plain, STARTTLS or implicit TLS; multipart text + HTML."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from alert_worker.channels.base import SendContext, SendResult
from alert_worker.channels.exceptions import PermanentError, TransientError
from alert_worker.channels.redact import redact
from alert_worker.channels.render import NO_LINKS, Links, render
from alert_worker.models import NotificationJob

Security = Literal["none", "starttls", "tls"]


def build_message(
    job: NotificationJob, sender: str, recipients: Sequence[str], links: Links, template_dir: str = ""
) -> EmailMessage:
    """A multipart/alternative message; Message-ID derives from the idempotency key so clients drop repeats."""
    rendered = render(job, "email", links, template_dir=template_dir)
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    safe_key = "".join(c if c.isalnum() or c in "-._" else "-" for c in job.idempotency_key)
    msg["Message-ID"] = f"<{safe_key}@heron.alerts>"
    msg["X-Heron-Group-Key"] = job.group_key
    msg.set_content(rendered.text + "\n")
    msg.add_alternative(rendered.html + "\n", subtype="html")
    return msg


def _reply_error(what: str, code: int, message: bytes | str) -> Exception:
    text = message.decode(errors="replace") if isinstance(message, bytes) else message
    detail = f"smtp {what}: {code} {redact(text)}"
    # SMTP replies: 4xx means try again later, 5xx means this will never work.
    if 400 <= code < 500:
        return TransientError(detail)
    return PermanentError(detail, destination_broken=code in (530, 534, 535, 538))


class EmailChannel:
    """Sends one email per notification to several recipients through one SMTP server."""

    kind = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        security: Security = "starttls",
        username: str = "",
        password: str = "",
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 15.0,
        links: Links = NO_LINKS,
        template_dir: str = "",
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.recipients = list(recipients)
        self.security = security
        self._username, self._password = username, password
        self._ssl = ssl_context or ssl.create_default_context()
        self._timeout = timeout
        self._links, self._template_dir = links, template_dir

    def __repr__(self) -> str:
        return f"EmailChannel(host={self.host!r}, port={self.port}, security={self.security!r}, password=***)"

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self._timeout, context=self._ssl)
        client = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
        if self.security == "starttls":
            client.ehlo()
            if not client.has_extn("starttls"):
                client.close()
                raise PermanentError(
                    f"smtp {self.host}:{self.port} does not offer STARTTLS; set security: tls for port 465 "
                    "or security: none for a trusted local relay"
                )
            client.starttls(context=self._ssl)
            client.ehlo()
        return client

    def send(self, job: NotificationJob, ctx: SendContext) -> SendResult:
        msg = build_message(job, self.sender, self.recipients, self._links, self._template_dir)
        try:
            with self._connect() as client:
                if self._username:
                    client.login(self._username, self._password)
                refused = client.send_message(msg, from_addr=self.sender, to_addrs=self.recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            first = next(iter(exc.recipients.values()))
            error = _reply_error("recipients refused", min(codes), first[1])
            raise error from None
        except smtplib.SMTPResponseException as exc:
            raise _reply_error("reply", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(f"smtp {self.host}:{self.port}: {exc}") from None
        except ssl.SSLError as exc:
            raise PermanentError(f"smtp {self.host}:{self.port}: TLS failed: {exc.reason}") from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, TimeoutError, OSError) as exc:
            raise TransientError(f"smtp {self.host}:{self.port}: {type(exc).__name__}: {redact(str(exc))}") from None
        detail = f"accepted for {len(self.recipients) - len(refused)} recipient(s)"
        if refused:
            detail += f"; refused: {', '.join(sorted(refused))}"
        return SendResult(remote_id=str(msg["Message-ID"]), detail=detail)
