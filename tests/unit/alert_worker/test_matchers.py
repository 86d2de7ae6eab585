"""A matcher list compiled to one test agrees with matching one matcher at a time."""

import pytest

from alert_worker.notify.matchers import matcher_test, matches_all, parse_matcher

LABELS = [{}, {"alertname": "HostDown"}, {"alertname": "HostDown", "severity": "critical"}, {"severity": ""}]


@pytest.mark.parametrize(
    "texts",
    [
        [],
        ['alertname="HostDown"'],
        ['alertname="HostDown"', 'severity="critical"'],
        ['severity=""'],
        ['alertname!="HostDown"'],
        ['alertname!="HostDown"', 'severity="critical"'],
        ['alertname=~"Host.*"', 'severity="critical"'],
    ],
)
def test_compiled_matchers_agree(texts):
    matchers = [parse_matcher(t) for t in texts]
    test = matcher_test(matchers)
    assert [test(labels) for labels in LABELS] == [matches_all(matchers, labels) for labels in LABELS]
