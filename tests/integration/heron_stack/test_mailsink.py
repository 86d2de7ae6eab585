"""The local stack's mail sink: a real SMTP server that Heron's email channel delivers to, and `heron mail`."""

from __future__ import annotations

from pathlib import Path

import pytest

from alert_worker.channels import EmailChannel, SendContext
from heron_stack import cli
from heron_stack.config import resolve
from heron_stack.runner import Runner
from heron_stack.services import mailsink_spec
from tests.fixtures.stack import free_port
from tests.fixtures.standins.jobs import make_alert, make_job

pytestmark = pytest.mark.integration


def test_email_alerts_land_in_the_mail_sink_and_heron_mail_lists_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = resolve({}, state_dir=tmp_path, ports={"mail": free_port()})
    runner = Runner(tmp_path)
    runner.start(mailsink_spec(cfg), timeout=30)
    try:
        channel = EmailChannel(
            host=cfg.host,
            port=cfg.port("mail"),
            sender="heron@localhost",
            recipients=["oncall@localhost"],
            security="none",
        )
        alert = make_alert(summary="CPU above 97% on db-1")
        channel.send(make_job("local-mail", alerts=(alert,)), SendContext())
        channel.send(make_job("local-mail", key="k2", status="resolved", alerts=(alert,)), SendContext())
    finally:
        runner.stop("mailsink")
    assert "mail to oncall@localhost: [FIRING:1] HighCpu" in runner.log_path("mailsink").read_text()

    monkeypatch.setenv("HERON_STATE_DIR", str(tmp_path))
    assert cli.main(["mail", "--full"]) == 0
    lines = capsys.readouterr().out.splitlines()
    subjects = [line for line in lines if "to oncall@localhost" in line]
    assert len(subjects) == 2
    assert "[FIRING:1] HighCpu" in subjects[0]
    assert "[RESOLVED:1] HighCpu" in subjects[1]
    assert any("CPU above 97% on db-1" in line for line in lines)


def test_heron_mail_says_where_it_looked_when_nothing_arrived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HERON_STATE_DIR", str(tmp_path))
    assert cli.main(["mail"]) == 0
    assert f"no mail in {tmp_path / 'mail'} yet" in capsys.readouterr().out
