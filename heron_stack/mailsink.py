"""The local stack's mail sink: a real SMTP server (aiosmtpd) that keeps every message in a Maildir.

`heron up` starts it so email alerts work on a fresh machine without an SMTP account:

    python -m heron_stack.mailsink --host 127.0.0.1 --port 1025 --maildir .heron/mail

Each accepted message is also logged as one line (recipients and subject), so
`tail -f .heron/logs/mailsink.log` shows alerts arriving. Read the messages with any Maildir reader
(`mutt -f .heron/mail`) or `heron mail`.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import mailbox
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


class _LoggingMailbox(Mailbox):
    def handle_message(self, message: Any) -> None:
        super().handle_message(message)
        print(f"mail to {message.get('To', '?')}: {message.get('Subject', '(no subject)')}", flush=True)


@dataclass(frozen=True)
class Mail:
    """One message as `heron mail` lists it."""

    to: str
    subject: str
    date: str
    text: str


def read_maildir(path: Path) -> list[Mail]:
    """Messages in the Maildir at `path`, oldest first (empty when nothing arrived yet)."""
    if not path.exists():
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    mails = []
    for key in sorted(box.keys(), key=lambda k: box.get_message(k).get_date()):
        msg = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        body = msg.get_body(preferencelist=("plain", "html"))
        mails.append(
            Mail(
                to=str(msg.get("To", "")),
                subject=str(msg.get("Subject", "")),
                date=str(msg.get("Date", "")),
                text=body.get_content() if body is not None else "",
            )
        )
    return mails


def _positive_port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be an integer 1-65535, got {raw!r}")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m heron_stack.mailsink", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_positive_port, default=1025, help="SMTP port (default 1025)")
    parser.add_argument("--maildir", type=Path, required=True, help="Maildir that keeps every message")
    args = parser.parse_args(argv)
    args.maildir.parent.mkdir(parents=True, exist_ok=True)  # Maildir creates its tmp/new/cur only for a new path
    controller = Controller(_LoggingMailbox(args.maildir), hostname=args.host, port=args.port)
    try:
        controller.start()
    except OSError as exc:
        print(f"mailsink: cannot listen on {args.host}:{args.port}: {exc}; set HERON_MAIL_PORT", file=sys.stderr)
        return 1
    print(f"mail sink listening on smtp://{args.host}:{args.port}, keeping messages in {args.maildir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
