"""Channel-agnostic notification pipeline: routing, grouping, dedup, silences, inhibition."""

from alert_worker.notify.matchers import Matcher, parse_matcher
from alert_worker.notify.pipeline import Candidate, PipelineState, run_pipeline
from alert_worker.notify.routing import RoutingConfig, load_routing, parse_routing, policies_for
from alert_worker.notify.silences import Silence

__all__ = [
    "Candidate",
    "Matcher",
    "PipelineState",
    "RoutingConfig",
    "Silence",
    "load_routing",
    "parse_matcher",
    "parse_routing",
    "policies_for",
    "run_pipeline",
]
