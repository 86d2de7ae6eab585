import sys
import threading

from opentelemetry.trace import StatusCode

import heron
from heron.testing import capture


def _raise_in_thread():
    def work():
        raise ConnectionError("broker gone")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def test_uncaught_thread_exception_is_recorded_and_previous_hook_still_runs(monkeypatch):
    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    captured = capture()
    _raise_in_thread()
    span = captured.span("uncaught ConnectionError")
    assert span.status.status_code is StatusCode.ERROR
    (log,) = captured.logs()
    assert log.log_record.attributes["heron.error.source"] == "thread"
    assert log.log_record.trace_id == span.context.trace_id
    assert captured.metrics("heron.errors")[0].attributes["error.type"] == "ConnectionError"
    assert [str(exc) for exc in seen] == ["broker gone"]  # the app's previous hook still ran


def test_uncaught_main_thread_exception_goes_through_sys_excepthook(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: seen.append(info[1]))
    captured = capture()
    try:
        raise LookupError("no such order")
    except LookupError:
        sys.excepthook(*sys.exc_info())
    assert captured.span("uncaught LookupError").events[0].attributes["exception.escaped"] == "True"
    assert [str(exc) for exc in seen] == ["no such order"]


def test_hooks_are_restored_at_shutdown():
    before = (sys.excepthook, threading.excepthook)
    capture()
    assert sys.excepthook is not before[0]
    heron.shutdown(timeout=1.0)
    assert (sys.excepthook, threading.excepthook) == before


def test_capture_uncaught_can_be_switched_off():
    before = sys.excepthook
    capture(capture_uncaught=False)
    assert sys.excepthook is before


def test_the_same_exception_is_counted_once():
    captured = capture()
    error = ValueError("x")
    heron.capture_exception(error)
    heron.capture_exception(error)
    assert captured.metrics("heron.errors")[0].value == 1
