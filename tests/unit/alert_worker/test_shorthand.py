import pytest

from alert_worker.exceptions import ShorthandError
from alert_worker.rules.shorthand import compile_shorthand


@pytest.mark.parametrize(
    ("text", "expr", "for_text"),
    [
        (
            "IF CPU > 90% FOR 5 minutes",
            '(1 - avg by (host_name) (system_cpu_utilization_ratio{cpu_mode="idle"})) > 0.9',
            "5m",
        ),
        (
            "if memory >= 95% for 10 min by host_name",
            'sum by (host_name) (system_memory_utilization_ratio{system_memory_state="used"}) >= 0.95',
            "10m",
        ),
        (
            'IF LATENCY_P95 > 500ms FOR 5m WHERE service_name="api"',
            "histogram_quantile(0.95, sum by (le, service_name) "
            '(rate(http_server_request_duration_seconds_bucket{service_name="api"}[5m]))) > 0.5',
            "5m",
        ),
        ("IF node_load1 > 4 BY instance", "max by (instance) (node_load1) > 4", "0s"),
        ("IF queue_depth < 1 FOR 1 hour", "queue_depth < 1", "1h"),
    ],
)
def test_shorthand_compiles_to_promql(text, expr, for_text):
    compiled = compile_shorthand(text)
    assert compiled.expr == expr
    assert compiled.for_text == for_text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CPU > 90%", "not a shorthand condition"),
        ("IF CPU > 90% FOR 5 fortnights", "unknown FOR unit 'fortnights'"),
        ("IF LOAD > 200%", "percent threshold needs a ratio metric"),
        ("IF CPU > 90% WHERE host_name=web", "WHERE expects label"),
    ],
)
def test_shorthand_errors_name_the_problem(text, message):
    with pytest.raises(ShorthandError, match=message):
        compile_shorthand(text)
