import asyncio
import re

import pytest
from opentelemetry.trace import StatusCode

import heron
from heron._internal.exceptions import HeronConfigWarning


def test_public_api_is_exactly_the_documented_names():
    assert heron.__all__ == sorted(heron.__all__)
    assert set(heron.__all__) == {"init", "span", "capture_exception", "counter", "histogram", "gauge", "shutdown"}


def test_span_as_context_manager_nests_and_keeps_attributes(heron_telemetry):
    with heron.span("checkout", cart_items=3, coupon=None) as outer, heron.span("charge"):
        outer.set_attribute("paid", True)
    charge, checkout = heron_telemetry.spans()
    assert charge.parent.span_id == checkout.context.span_id
    assert checkout.attributes["cart_items"] == 3
    assert checkout.attributes["coupon"] == "None"  # unsupported values become text, never an error
    assert checkout.attributes["paid"] is True


def test_span_as_decorator_opens_one_span_per_call(heron_telemetry):
    @heron.span("load user", source="db")
    def load(user_id: int) -> int:
        return user_id * 2

    assert [load(1), load(2)] == [2, 4]
    assert [span.name for span in heron_telemetry.spans()] == ["load user", "load user"]


def test_span_decorates_coroutines(heron_telemetry):
    @heron.span("fetch")
    async def fetch() -> str:
        return "done"

    assert asyncio.run(fetch()) == "done"
    assert heron_telemetry.span("fetch").attributes == {}


def test_exception_escaping_a_span_marks_it_failed(heron_telemetry):
    with pytest.raises(KeyError), heron.span("lookup"):
        raise KeyError("sku")
    span = heron_telemetry.span("lookup")
    assert span.status.status_code is StatusCode.ERROR
    assert span.events[0].name == "exception"


def test_capture_exception_records_event_log_and_counter(heron_telemetry):
    with heron.span("job"):
        try:
            raise TimeoutError("upstream slow")
        except TimeoutError:
            fingerprint = heron.capture_exception()
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)
    event = heron_telemetry.span("job").events[0]
    assert event.attributes["exception.type"] == "TimeoutError"
    assert event.attributes["heron.error.fingerprint"] == fingerprint
    (log,) = heron_telemetry.logs()
    assert log.log_record.severity_text == "ERROR"
    assert "Traceback" in log.log_record.attributes["exception.stacktrace"]
    assert log.log_record.trace_id == heron_telemetry.span("job").context.trace_id
    (point,) = heron_telemetry.metrics("heron.errors")
    assert point.attributes == {
        "error.type": "TimeoutError",
        "heron.error.fingerprint": fingerprint,
        "heron.error.source": "manual",
    }
    assert point.value == 1


def test_capture_exception_without_exception_is_a_no_op(heron_telemetry):
    assert heron.capture_exception() is None
    assert heron_telemetry.logs() == []


def test_metric_instruments(heron_telemetry):
    orders = heron.counter("shop.orders", unit="{order}")
    latency = heron.histogram("shop.charge.duration", unit="s", buckets=[0.1, 1.0])
    queue = heron.gauge("shop.queue.depth")
    orders.add(2, {"region": "eu"})
    orders.add(1, {"region": "eu"})
    latency.record(0.5)
    queue.set(7)
    queue.set(4)
    assert heron_telemetry.metrics("shop.orders")[0].value == 3
    (histogram,) = heron_telemetry.metrics("shop.charge.duration")
    assert list(histogram.data.bucket_counts) == [0, 1, 0]
    assert heron_telemetry.metrics("shop.queue.depth")[0].value == 4


def test_instruments_created_before_init_record_after_it():
    from heron.testing import capture

    early = heron.counter("early.counter")
    captured = capture()
    early.add(5)
    assert captured.metrics("early.counter")[0].value == 5


def test_invalid_instrument_name_warns_and_records_nothing(heron_telemetry):
    with pytest.warns(HeronConfigWarning, match="not a valid OpenTelemetry instrument name"):
        bad = heron.counter("9 lives")
    bad.add(1)
    # Instruments other code in this process registered globally may report too; none is the bad one.
    names = {point.name for point in heron_telemetry.metrics()}
    assert "heron.sdk.info" in names
    assert not any("lives" in name for name in names)
