import os

from heron._internal.config import HeronConfig
from heron._internal.resource import build_resource


def test_resource_has_service_environment_host_process_and_sdk(monkeypatch):
    config = HeronConfig(service_name="shop", environment="staging", service_version="1.2.3")
    attributes = build_resource(config).attributes
    assert attributes["service.name"] == "shop"
    assert attributes["service.version"] == "1.2.3"
    assert attributes["deployment.environment.name"] == "staging"
    assert attributes["deployment.environment"] == "staging"
    assert attributes["process.pid"] == os.getpid()
    assert attributes["host.name"]
    assert attributes["telemetry.sdk.name"] == "opentelemetry"
    assert attributes["telemetry.distro.name"] == "heron"


def test_env_resource_attributes_override_detection_and_arguments_override_env(monkeypatch):
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "host.name=from-env,team=payments,region=eu")
    config = HeronConfig(service_name="shop", resource_attributes={"region": "us"})
    attributes = build_resource(config).attributes
    assert (attributes["host.name"], attributes["team"], attributes["region"]) == ("from-env", "payments", "us")


def test_every_resource_gets_a_new_instance_id():
    config = HeronConfig(service_name="shop")
    assert (
        build_resource(config).attributes["service.instance.id"]
        != build_resource(config).attributes["service.instance.id"]
    )
