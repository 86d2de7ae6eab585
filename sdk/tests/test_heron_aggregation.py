from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics
from opentelemetry.sdk.resources import Resource

from heron._internal import aggregation
from heron._internal.aggregation import FastHistogram, with_fast_histograms

KEY = (("http.request.method", "GET"), ("http.route", "/a"))


def _histogram():
    return FastHistogram("test.duration", unit="s", description="d", bounds=[0.1, 1.0], scope="test")


def test_points_count_bucket_sum_min_max_per_series():
    histogram = _histogram()
    for value in (0.05, 0.5, 0.7, 3.0):
        histogram.record(value, KEY)
    histogram.record(0.2, (("http.request.method", "POST"),))
    get, post = histogram.metric().data.data_points
    assert get.attributes == {"http.request.method": "GET", "http.route": "/a"}
    assert (get.count, list(get.bucket_counts), get.min, get.max) == (4, [1, 2, 1], 0.05, 3.0)
    assert round(get.sum, 6) == 4.25
    assert post.count == 1


def test_cumulative_until_reset():
    histogram = _histogram()
    histogram.record(0.5, KEY)
    histogram.record(0.5, KEY)
    assert histogram.metric().data.data_points[0].count == 2
    histogram.reset()
    assert histogram.metric() is None


def test_points_join_the_exported_data(monkeypatch):
    histogram = _histogram()
    monkeypatch.setattr(aggregation, "FAST_HISTOGRAMS", [histogram])
    histogram.record(0.5, KEY)
    resource = Resource({"service.name": "s"})
    empty = MetricsData(resource_metrics=[ResourceMetrics(resource=resource, scope_metrics=[], schema_url="")])
    (merged,) = with_fast_histograms(empty, resource).resource_metrics
    assert merged.resource is resource
    assert [scope.metrics[0].name for scope in merged.scope_metrics] == ["test.duration"]
    assert with_fast_histograms(None, resource).resource_metrics[0].resource is resource


def test_nothing_recorded_leaves_the_data_alone(monkeypatch):
    monkeypatch.setattr(aggregation, "FAST_HISTOGRAMS", [_histogram()])
    assert with_fast_histograms(None, Resource({})) is None
