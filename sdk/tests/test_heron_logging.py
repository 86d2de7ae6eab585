import logging

import heron
from heron._internal import runtime
from heron.testing import capture

log = logging.getLogger("heron.tests.app")


def _bodies(captured):
    return [record.log_record.body for record in captured.logs()]


def test_records_at_or_above_threshold_are_exported(monkeypatch):
    log.setLevel(logging.DEBUG)
    captured = capture(log_level="WARNING")
    log.info("routine")
    log.warning("disk at %d%%", 91)
    assert _bodies(captured) == ["disk at 91%"]
    assert captured.logs()[0].log_record.severity_text == "WARN"


def test_record_inside_span_has_its_ids_outside_has_none():
    log.setLevel(logging.INFO)
    captured = capture()
    with heron.span("job") as span:
        log.info("inside")
    log.info("outside")
    inside, outside = captured.logs()
    assert inside.log_record.span_id == span.get_span_context().span_id
    assert outside.log_record.trace_id in (0, None)


def test_secrets_scrubbed_from_log_bodies_and_attributes():
    log.setLevel(logging.INFO)
    captured = capture()
    log.info("connecting to redis://:s3cret@cache:6379 password=hunter2", extra={"api_token": "abc"})
    (record,) = captured.logs()
    assert "s3cret" not in record.log_record.body
    assert "hunter2" not in record.log_record.body
    assert record.log_record.attributes["api_token"] == "[REDACTED]"


def test_scrubbing_can_be_switched_off():
    log.setLevel(logging.INFO)
    captured = capture(scrub=False)
    log.info("password=hunter2")
    assert _bodies(captured) == ["password=hunter2"]


def test_exporter_chatter_is_not_exported():
    captured = capture()
    logging.getLogger("opentelemetry.exporter.otlp").error("export failed")
    logging.getLogger("urllib3.connectionpool").error("retrying")
    assert captured.logs() == []


def test_handler_comes_back_after_a_framework_replaces_root_handlers():
    log.setLevel(logging.INFO)
    captured = capture()
    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers = []  # what Celery's worker does when it hijacks the root logger
    try:
        runtime.reattach_logging()
        log.info("still here")
    finally:
        root.handlers = saved
    assert _bodies(captured) == ["still here"]


def test_switched_off_leaves_root_logger_alone():
    before = list(logging.getLogger().handlers)
    capture(instrument_logging=False)
    assert logging.getLogger().handlers == before
