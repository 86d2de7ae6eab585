import logging

import pytest

from heron._internal.config import DEFAULT_HEALTH_ROUTES, InitArgs, resolve_config
from heron._internal.exceptions import HeronConfigWarning


def test_defaults_without_arguments_or_environment():
    config = resolve_config(InitArgs(service_name="shop"), {})
    assert config.service_name == "shop"
    assert config.protocol == "http/protobuf"
    assert config.endpoint is None  # the exporters then use their own standard default
    assert config.metric_export_interval_s == 10.0
    assert config.integrations == {"flask", "requests", "celery", "logging"}
    assert config.health_check_routes == DEFAULT_HEALTH_ROUTES
    assert config.scrub is True
    assert config.log_level == logging.INFO


def test_arguments_win_over_environment():
    environ = {"OTEL_SERVICE_NAME": "from-env", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "HERON_ENVIRONMENT": "staging"}
    config = resolve_config(InitArgs(service_name="from-arg", protocol="http/protobuf", environment="prod"), environ)
    assert (config.service_name, config.protocol, config.environment) == ("from-arg", "http/protobuf", "prod")


def test_environment_wins_over_defaults():
    environ = {
        "OTEL_SERVICE_NAME": "from-env",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_METRIC_EXPORT_INTERVAL": "2500",
        "OTEL_BSP_MAX_QUEUE_SIZE": "100",
        "HERON_LOG_LEVEL": "warning",
        "HERON_HEALTH_ROUTES": "/ping, /up",
    }
    config = resolve_config(InitArgs(), environ)
    assert config.service_name == "from-env"
    assert config.protocol == "grpc"
    assert config.metric_export_interval_s == 2.5
    assert config.batch.max_queue_size == 100
    assert config.log_level == logging.WARNING
    assert config.health_check_routes == {"/ping", "/up"}


def test_service_name_from_resource_attributes():
    config = resolve_config(InitArgs(), {"OTEL_RESOURCE_ATTRIBUTES": "team=a,service.name=billing"})
    assert config.service_name == "billing"


def test_integrations_switched_off_by_argument_env_or_otel_list():
    environ = {"HERON_INSTRUMENT_CELERY": "false", "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "requests"}
    args = InitArgs(service_name="s", instrument={"logging": False, "flask": None})
    assert resolve_config(args, environ).integrations == {"flask"}


@pytest.mark.parametrize(
    ("environ", "field", "fallback"),
    [
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "protocol", "http/protobuf"),
        ({"OTEL_METRIC_EXPORT_INTERVAL": "soon"}, "metric_export_interval_s", 10.0),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "-5"}, "batch", None),
        ({"HERON_LOG_LEVEL": "LOUD"}, "log_level", logging.INFO),
        ({"HERON_SCRUB": "maybe"}, "scrub", True),
        ({"HERON_SCRUB_PATTERNS": "(unclosed"}, "scrub_patterns", ()),
    ],
)
def test_bad_values_warn_and_fall_back(environ, field, fallback):
    with pytest.warns(HeronConfigWarning) as caught:
        config = resolve_config(InitArgs(service_name="s"), environ)
    message = str(caught[0].message)
    bad_value = next(iter(environ.values()))
    assert bad_value in message  # names the rejected value
    if fallback is not None:
        assert getattr(config, field) == fallback
    else:
        assert config.batch.max_queue_size == 8192


def test_missing_service_name_warns_and_uses_unknown_service():
    with pytest.warns(HeronConfigWarning, match="OTEL_SERVICE_NAME"):
        config = resolve_config(InitArgs(), {})
    assert config.service_name.startswith("unknown_service:")


def test_health_route_without_slash_is_fixed_with_a_warning():
    with pytest.warns(HeronConfigWarning, match="health_check_routes"):
        config = resolve_config(InitArgs(service_name="s", health_check_routes=["ping"]), {})
    assert config.health_check_routes == {"/ping"}
