"""AGE formatting: k8s.io/apimachinery duration.HumanDuration at each threshold."""

from datetime import datetime, timezone

import pytest

from k8slab.kubectl.duration import age, human_duration, parse_time, rfc1123z, short_human_duration

MINUTE, HOUR, DAY, YEAR = 60, 3600, 86400, 365 * 86400


@pytest.mark.parametrize(
    "seconds, expected",
    [
        (-3, "<invalid>"),
        (-1.5, "0s"),  # a clock a little ahead still reads as now
        (0, "0s"),
        (0.9, "0s"),
        (35, "35s"),
        (119, "119s"),  # seconds up to 2 minutes
        (120, "2m"),
        (250, "4m10s"),  # minutes and seconds up to 10 minutes
        (599, "9m59s"),
        (600, "10m"),
        (5400, "90m"),  # minutes up to 3 hours
        (3 * HOUR - 1, "179m"),
        (3 * HOUR, "3h"),
        (3 * HOUR + 25 * MINUTE, "3h25m"),  # hours and minutes up to 8 hours
        (8 * HOUR - 1, "7h59m"),
        (8 * HOUR, "8h"),
        (47 * HOUR + 59 * MINUTE, "47h"),  # hours up to 2 days
        (48 * HOUR, "2d"),
        (2 * DAY + 3 * HOUR, "2d3h"),  # days and hours up to 8 days
        (8 * DAY - 1, "7d23h"),
        (8 * DAY, "8d"),
        (2 * YEAR - 1, "729d"),  # days up to 2 years
        (2 * YEAR, "2y"),
        (2 * YEAR + 45 * DAY, "2y45d"),  # years and days up to 8 years
        (8 * YEAR, "8y"),
        (9 * YEAR + 100 * DAY, "9y"),
    ],
)
def test_human_duration_thresholds(seconds, expected):
    assert human_duration(seconds) == expected


@pytest.mark.parametrize(
    "seconds, expected",
    [(-5, "<invalid>"), (-1, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h"), (86399, "23h"),
     (86400, "1d"), (YEAR - 1, "364d"), (YEAR, "1y")],
)
def test_short_human_duration(seconds, expected):
    assert short_human_duration(seconds) == expected


def test_parse_time_reads_api_timestamps():
    assert parse_time("2025-01-01T00:00:35Z") == datetime(2025, 1, 1, 0, 0, 35, tzinfo=timezone.utc)
    assert parse_time("2025-01-01T00:00:35.123456Z").microsecond == 123456
    assert parse_time("2025-01-01T01:00:35+01:00") == datetime(2025, 1, 1, 0, 0, 35, tzinfo=timezone.utc)
    assert parse_time(None) is None


def test_age_of_missing_timestamp_is_unknown():
    now = datetime(2025, 1, 1, 0, 1, tzinfo=timezone.utc)
    assert age(None, now) == "<unknown>"
    assert age("2025-01-01T00:00:00Z", now) == "60s"


def test_describe_times_use_rfc1123z():
    assert rfc1123z(parse_time("2025-01-01T00:00:35Z")) == "Wed, 01 Jan 2025 00:00:35 +0000"
