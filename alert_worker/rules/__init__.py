"""Pure rule layer: parse rule files, compile shorthand, render templates, evaluate alert state."""

from alert_worker.rules.evaluator import EvalSettings, Sample, evaluate, match_results
from alert_worker.rules.loader import load_rule_files, parse_rules
from alert_worker.rules.model import AlertRule, RuleGroup
from alert_worker.rules.shorthand import compile_shorthand
from alert_worker.rules.state import AlertInstance, RuleState, Transition
from alert_worker.rules.templating import TemplateData, render

__all__ = [
    "AlertInstance",
    "AlertRule",
    "EvalSettings",
    "RuleGroup",
    "RuleState",
    "Sample",
    "TemplateData",
    "Transition",
    "compile_shorthand",
    "evaluate",
    "load_rule_files",
    "match_results",
    "parse_rules",
    "render",
]
