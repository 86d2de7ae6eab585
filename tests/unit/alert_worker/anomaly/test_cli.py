"""`alert-worker anomaly compile`: writes both files, `--check` sees stale ones, bad specs exit 2 naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from alert_worker.cli import main

SPEC = """\
anomalies:
  - name: cpu
    alert: CpuAnomaly
    expr: host_cpu
    subject: CPU
"""


def test_compile_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec, rec, rules = tmp_path / "a.yml", tmp_path / "a.recording.yml", tmp_path / "a.rules.yml"
    spec.write_text(SPEC)
    args = ["anomaly", "compile", str(spec), "--recording", str(rec), "--rules", str(rules)]
    assert main([*args, "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(args) == 0
    assert "record: anomaly:cpu:value" in rec.read_text()
    assert "alert: CpuAnomaly" in rules.read_text()
    assert main([*args, "--check"]) == 0


def test_bad_spec_exits_2_with_file_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "a.yml"
    spec.write_text(SPEC + "    min_abs: -3\n")
    assert main(["anomaly", "compile", str(spec), "--recording", "r", "--rules", "a"]) == 2
    assert f"{spec}:6: anomalies[0].min_abs: invalid value -3; min_abs must be >= 0" in capsys.readouterr().err


def test_default_pack_is_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[4])
    assert main(["anomaly", "compile", "--check"]) == 0


def test_compile_warns_when_history_exceeds_retention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec, rec, rules = tmp_path / "a.yml", tmp_path / "a.recording.yml", tmp_path / "a.rules.yml"
    spec.write_text(SPEC)
    args = ["anomaly", "compile", str(spec), "--recording", str(rec), "--rules", str(rules)]
    assert main(args) == 0
    assert "warning" not in capsys.readouterr().err  # 3 weeks fit the shipped 35d
    assert main([*args, "--retention", "15d"]) == 0
    err = capsys.readouterr().err
    assert f"{spec}:2: seasonal_weeks: warning: anomaly 'cpu' seasonal_weeks 3 (window 1h) reads back 21d30m" in err
    assert "longer than Prometheus' retention 15d" in err
