"""Schemathesis against the alert API's own /api/openapi.json: no 5xx, every answer as documented."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from alert_worker.api import ApiContext, create_app
from alert_worker.config import resolve_config
from alert_worker.rules.loader import parse_rules
from alert_worker.state.memory import MemoryStore

FILE_RULES = parse_rules(
    "groups:\n  - name: hosts\n    rules:\n      - alert: HostHighCpu\n        expr: cpu > 0.9\n", "hosts.rules.yml"
)
APP = create_app(resolve_config(env={}), ApiContext(store=MemoryStore(), file_groups=lambda: FILE_RULES))
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)


@schema.parametrize()
# Derandomized: the same examples every run, so CI is reproducible; raise max_examples to explore.
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
def test_alert_api_conforms_to_its_openapi(case: Any) -> None:
    # Every check but positive-data acceptance: the `condition` shorthand's grammar (metric aliases,
    # units per metric) cannot be written as a JSON Schema, so a schema-valid condition may still be
    # refused with a 400 naming `condition`.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


def test_the_token_is_declared_only_where_the_server_requires_one() -> None:
    open_spec = APP.test_client().get("/api/openapi.json").get_json()
    assert "security" not in open_spec
    assert all("401" not in op["responses"] for ops in open_spec["paths"].values() for op in ops.values())
    locked = create_app(
        resolve_config(env={"HERON_ALERTS_API_TOKEN": "s3cret-t0ken"}),
        ApiContext(store=MemoryStore(), file_groups=lambda: FILE_RULES),
    )
    spec = locked.test_client().get("/api/openapi.json").get_json()
    assert spec["security"] == [{"bearer": []}]
    assert all("401" in op["responses"] for ops in spec["paths"].values() for op in ops.values())


# Stateful: create a silence or rule, then follow the document's links to read, change and delete it.
class AlertApiStates(schema.as_state_machine()):
    def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
        case.validate_response(response, excluded_checks=[positive_data_acceptance], transport_kwargs=kwargs)


class TestStatefulAlertApi(AlertApiStates.TestCase):
    settings = settings(
        max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True
    )
