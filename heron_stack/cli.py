"""`heron`: run the local Heron stack and inspect its parts.

heron up            build/install what is missing, start every service, print URLs
                    (--topology cluster: several processes per tier; docs/scaling.md)
heron down          stop exactly what `heron up` started
heron status        one line per service
heron components    one line per component: name, version, path, status
heron simulate      OTLP metrics of N synthetic hosts (--hosts N), to load the pipeline at fleet scale
heron doctor        check every service and the data path end to end; say what is wrong and the fix
heron mail          the messages the local mail sink received
heron logs QUERY    search (and --follow) the stack's logs in VictoriaLogs with LogsQL
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from heron_stack import cluster, components, config, logs_command, services, simulate
from heron_stack.doctor import doctor_command, timeout_seconds
from heron_stack.environment_variables import HERON_TOPOLOGY
from heron_stack.exceptions import ConfigError, HeronStackError
from heron_stack.stack import Stack

SERVICE_NAMES = list(dict.fromkeys([*services.START_ORDER, *cluster.START_ORDER]))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="heron", description="Run and inspect the local Heron stack.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = sub.add_parser("up", help="start the stack (builds the collector and VictoriaLogs on first run)")
    up.add_argument(
        "--only",
        nargs="+",
        choices=SERVICE_NAMES,
        metavar="SERVICE",
        help=f"start only these services ({', '.join(SERVICE_NAMES)})",
    )
    up.add_argument(
        "--topology",
        choices=config.TOPOLOGIES,
        help="single: one process per part (default, HERON_TOPOLOGY); cluster: 2 collectors behind HAProxy, "
        "3 Thanos receivers with Query, store gateway and compactor, VictoriaLogs insert/select/2 storage nodes",
    )
    sub.add_parser("down", help="stop every service `heron up` started")
    sub.add_parser("status", help="show which services run")
    dash = sub.add_parser("dashboards", help="generate or check the Grafana dashboards")
    dash.add_argument(
        "action",
        choices=["build", "check", "preview"],
        help="build: write grafana/dashboards/*.json; check: fail if they differ from the generator; "
        "preview: draw every dashboard from the running Prometheus into docs/img/dashboard-*.png",
    )
    dash.add_argument("--host", help="preview: the host to show (default: the first one reporting)")
    dash.add_argument("--minutes", type=float, default=15, help="preview: how far back to draw (default 15)")
    mail = sub.add_parser("mail", help="list the messages the local mail sink received (alerts by email)")
    mail.add_argument("--last", type=int, default=20, metavar="N", help="show the newest N (default 20)")
    mail.add_argument("--full", action="store_true", help="print each message's text, not only its subject")
    logs_command.add_arguments(sub.add_parser("logs", help="search and follow the stack's logs (LogsQL)"))
    comp = sub.add_parser("components", help="list the real components and where they come from")
    comp.add_argument("--ensure", action="store_true", help="install or build whatever is missing")
    simulate.add_arguments(sub.add_parser("simulate", help="send the metrics of N synthetic hosts (fleet simulator)"))
    doctor = sub.add_parser("doctor", help="check every service and the data path; exit 1 when something is wrong")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    doctor.add_argument(
        "--timeout", type=timeout_seconds, default=30.0, metavar="S", help="bound on the run in seconds (default 30)"
    )
    return parser


def _cmd_up(stack: Stack, only: Sequence[str] | None) -> int:
    results = stack.up(only)
    for result in results:
        state = "started" if result.started else "already running"
        urls = "  ".join(f"{k}={v}" for k, v in result.urls.items())
        print(f"{result.name:<12} {state:<16} {urls}")
    cfg = stack.config
    print()
    thanos = (
        "  (Thanos Query: the Prometheus API over the receivers and the bucket)" if cfg.topology == "cluster" else ""
    )
    print(f"Prometheus:  {cfg.url('prometheus')}{thanos}")
    print(f"OTLP:        gRPC {cfg.url('otlp_grpc')}   HTTP {cfg.url('otlp_http')}")
    if any(r.name in {"victorialogs", "vlselect"} for r in results):
        print(f"Log search:  {cfg.url('victorialogs')}/select/vmui/  (VictoriaLogs UI; or `heron logs QUERY`)")
    started = {r.name for r in results}
    if "grafana" in started:
        print(f"Grafana:     {cfg.url('grafana')}  (dashboards in the folder Heron)")
    else:
        print("Grafana:     not started (no `grafana` binary on PATH); `docker compose up -d grafana` runs it")
    if "loadgen" in started:
        print(f"Load lab:    {cfg.url('loadgen')}")
    if "alert-api" in started:
        print(f"Alerts API:  {cfg.url('alert_api')}/api/alerts/active")
    if "mailsink" in started:
        print(f"Mail:        smtp://{cfg.addr('mail')} keeps email alerts in {cfg.state_dir / 'mail'} (`heron mail`)")
    print(f"Own logs:    {cfg.state_dir / 'logs'}")
    print("Stop with:   make down")
    return 0


def _cmd_down(stack: Stack) -> int:
    stopped = stack.down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def _cmd_status(stack: Stack) -> int:
    any_running = False
    for state in stack.status():
        any_running |= state.running
        label = f"running (pid {state.pid})" if state.running else "stopped"
        restarts = f"{state.restarts} restart(s)" if state.running else ""
        print(f"{state.name:<12} {label:<22} {restarts:<13} log: {state.log}")
    return 0 if any_running else 3


def _cmd_mail(cfg: config.StackConfig, last: int, full: bool) -> int:
    from heron_stack.mailsink import read_maildir

    maildir = cfg.state_dir / "mail"
    mails = read_maildir(maildir)
    if not mails:
        print(f"no mail in {maildir} yet (the mail sink runs with `heron up`; alerts wait for their rule's `for`)")
        return 0
    for mail in mails[-last:] if last > 0 else mails:
        print(f"{mail.date}  to {mail.to}  {mail.subject}")
        if full:
            print(mail.text.rstrip() + "\n")
    return 0


def _cmd_components(cfg: config.StackConfig, ensure: bool) -> int:
    if ensure:
        components.ensure_all(cfg)
    missing = 0
    for name, comp in components.registry(cfg).items():
        status = comp.locate()
        missing += status.path is None and name not in components.ON_DEMAND
        print(f"{status.name:<11} {status.version:<10} {status.path or '-'!s:<60} {status.status}")
    return 1 if ensure and missing else 0


def _preview(host: str | None, minutes: float) -> int:
    import httpx

    from heron_stack import dashboards
    from heron_stack.dashboards.preview import render_png

    prometheus = config.resolve().url("prometheus")
    if host is None:
        resp = httpx.get(f"{prometheus}/api/v1/label/host_name/values", timeout=10)
        hosts = resp.json().get("data", [])
        if not hosts:
            print(f"heron: no host reports to {prometheus} yet; start the stack and an agent first", file=sys.stderr)
            return 1
        host = str(hosts[0])
    for name, data in dashboards.render_all().items():
        out = render_png(
            data, prometheus, config.PROJECT_DIR / "docs" / "img" / f"dashboard-{name}.png", {"host": host}, minutes
        )
        print(f"wrote {out}")
    return 0


def _cmd_dashboards(action: str, host: str | None = None, minutes: float = 15) -> int:
    from heron_stack import dashboards  # needs the dashboards extra; keep `heron up` light

    if action == "build":
        for path in dashboards.build_all():
            print(f"wrote {path}")
        return 0
    if action == "preview":
        return _preview(host, minutes)
    stale = dashboards.stale_files()
    for name in stale:
        print(f"grafana/dashboards/{name} differs from the generator: run `heron dashboards build`", file=sys.stderr)
    return 1 if stale else 0


def _topology_file(cfg: config.StackConfig) -> Path:
    return cfg.state_dir / "run" / "topology"


def _with_topology(
    cfg: config.StackConfig, chosen: str | None, environ: Mapping[str, str] | None = None
) -> config.StackConfig:
    """`up --topology` wins, then HERON_TOPOLOGY; otherwise what `up` last ran in this state directory."""
    environ = os.environ if environ is None else environ
    if chosen is None and environ.get(HERON_TOPOLOGY):
        chosen = cfg.topology  # config.resolve checked it
    if chosen is not None:
        _topology_file(cfg).parent.mkdir(parents=True, exist_ok=True)
        _topology_file(cfg).write_text(chosen, encoding="utf-8")
        return dataclasses.replace(cfg, topology=chosen)
    try:
        recorded = _topology_file(cfg).read_text(encoding="utf-8").strip()
    except OSError:
        return cfg
    return dataclasses.replace(cfg, topology=recorded) if recorded in config.TOPOLOGIES else cfg


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cfg = _with_topology(config.resolve(), getattr(args, "topology", None))
        stack = Stack(cfg)
        commands: dict[str, Callable[[], int]] = {
            "up": lambda: _cmd_up(stack, args.only),
            "down": lambda: _cmd_down(stack),
            "status": lambda: _cmd_status(stack),
            "dashboards": lambda: _cmd_dashboards(args.action, args.host, args.minutes),
            "components": lambda: _cmd_components(cfg, args.ensure),
            "mail": lambda: _cmd_mail(cfg, args.last, args.full),
            "simulate": lambda: simulate.run_command(args),
            "doctor": lambda: doctor_command(cfg, args.json, args.timeout),
            "logs": lambda: logs_command.run(args, cfg),
        }
        return commands[args.command]()
    except ConfigError as exc:
        print(f"heron: configuration error: {exc}", file=sys.stderr)
        return 2
    except HeronStackError as exc:
        print(f"heron: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
