"""Alerts: what fires, what the worker sends, and how fast it evaluates."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from heron_stack.dashboards._panels import Q, base, log_panel, single, thresholds, ts

RATE = "$__rate_interval"
RED_ABOVE_ZERO = thresholds((None, "green"), (1, "red"))


def build() -> dashboard.Dashboard:
    active = "heron_alerts_rule_active"
    notes = "heron_alerts_notifications_total"
    return (
        base(
            "Alerts",
            "heron-alerts",
            "Heron's alert worker: alerts by rule and severity, notifications per channel, evaluation speed.",
            ["alerts"],
        )
        .with_panel(
            single(
                "Firing",
                "Alerts firing now, all rules.",
                "short",
                Q(f'sum({active}{{heron_alert_state="firing"}}) or vector(0)'),
                steps=RED_ABOVE_ZERO,
                width=6,
            )
        )
        .with_panel(
            single(
                "Pending",
                "Alerts whose condition holds but not yet for its 'for' duration.",
                "short",
                Q(f'sum({active}{{heron_alert_state="pending"}}) or vector(0)'),
                steps=thresholds((None, "green"), (1, "yellow")),
                width=6,
            )
        )
        .with_panel(
            single(
                "Notifications sent (1h)",
                "Messages channels accepted in the last hour.",
                "short",
                Q(f'sum(increase({notes}{{outcome="sent"}}[1h])) or vector(0)'),
                width=6,
            )
        )
        .with_panel(
            single(
                "Unhealthy destinations",
                "Destinations that failed permanently (revoked token, archived channel): fix their settings.",
                "short",
                Q("count(heron_alerts_destination_health_ratio == 0) or vector(0)"),
                steps=RED_ABOVE_ZERO,
                width=6,
            )
        )
        .with_panel(
            ts(
                "Firing and pending by rule",
                "Alerts per rule, severity and state.",
                "short",
                [
                    Q(
                        f"sum by (alertname, severity, heron_alert_state) ({active})",
                        "{{alertname}} {{severity}} {{heron_alert_state}}",
                    )
                ],
            )
        )
        .with_panel(
            ts(
                "Notifications by channel and outcome",
                "Delivery attempts per second: sent; retry and "
                "dead are failures; busy means throttled by the destination's rate limit.",
                "ops",
                [Q(f"sum by (channel, outcome) (rate({notes}[{RATE}]))", "{{channel}} {{outcome}}")],
            )
        )
        .with_panel(
            ts(
                "Evaluation latency",
                "Time to evaluate each rule group (p50 and p95).",
                "s",
                [
                    Q(
                        f"histogram_quantile({p}, sum by (le, heron_group) "
                        f"(rate(heron_alerts_evaluation_duration_seconds_bucket[{RATE}])))",
                        f"p{pct} {{{{heron_group}}}}",
                    )
                    for p, pct in ((0.5, 50), (0.95, 95))
                ],
            )
        )
        .with_panel(
            ts(
                "Evaluations",
                "Rule group evaluations per second by result (evaluated, skipped: another worker had that slot, busy).",
                "ops",
                [
                    Q(
                        f"sum by (heron_evaluation_status) (rate(heron_alerts_evaluations_total[{RATE}]))",
                        "{{heron_evaluation_status}}",
                    )
                ],
            )
        )
        .with_panel(
            ts(
                "Jobs queued by destination",
                "Notification jobs the engine enqueued per second.",
                "ops",
                [
                    Q(
                        f"sum by (heron_destination) (rate(heron_alerts_jobs_queued_total[{RATE}]))",
                        "{{heron_destination}}",
                    )
                ],
            )
        )
        .with_panel(
            ts(
                "Destination health",
                "1 when the destination works, 0 after a permanent failure.",
                "short",
                [
                    Q(
                        "max by (destination, channel) (heron_alerts_destination_health_ratio)",
                        "{{destination}} ({{channel}})",
                    )
                ],
                max_val=1,
                steps=thresholds((None, "red"), (1, "green")),
            )
        )
        .with_panel(
            log_panel(
                "Recent transitions and notifications",
                "The alert engine's logs (evaluation and delivery pools, beat): transitions, notifications, "
                "delivery failures.",
                '{service.name=~"heron-alert-(worker|sender|beat)"} '
                '_msg:~"(?i)firing|resolved|pending|notif|deliver|sent"',
            )
        )
    )
