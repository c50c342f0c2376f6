"""Cron schedules: robfig/cron's syntax, error messages and next-run search, on the virtual clock."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8slab.api.cron import (
    CronSyntaxError,
    EverySchedule,
    load_location,
    next_after,
    parse_standard,
    schedule_errors,
    time_zone_errors,
    to_datetime,
    to_virtual,
)
from k8slab.sim.loop import EPOCH

HOUR, DAY = 3600, 86400


def at(text: str) -> float:
    """Virtual seconds of a UTC wall time written like ``2025-01-06 09:00``."""
    return to_virtual(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc))


def test_virtual_time_zero_is_the_simulation_epoch():
    assert to_datetime(0) == EPOCH
    assert to_virtual(EPOCH + timedelta(hours=2)) == 2 * HOUR
    assert EPOCH.weekday() == 2  # Wednesday: the day-of-week tests below rely on it


@pytest.mark.parametrize(("schedule", "t", "expected"), [
    ("*/15 * * * *", 0, "2025-01-01 00:15"),
    ("*/15 * * * *", 900, "2025-01-01 00:30"),        # strictly after: a due time is not "next"
    ("*/15 * * * *", 899.9, "2025-01-01 00:15"),
    ("5 * * * *", 0, "2025-01-01 00:05"),
    ("0 9 * * 1-5", 0, "2025-01-01 09:00"),
    ("0 9 * * mon-fri", at("2025-01-03 10:00"), "2025-01-06 09:00"),   # Friday after 9 -> Monday
    ("0 0 * * SUN", 0, "2025-01-05 00:00"),
    ("0 12 1 * *", 0, "2025-01-01 12:00"),
    ("0 12 1 * *", 13 * HOUR, "2025-02-01 12:00"),
    ("0 0 1 jan,jul *", 1, "2025-07-01 00:00"),
    ("30 2 29 feb *", 0, "2028-02-29 02:30"),          # the next leap day
    ("0 0 13 * 5", 0, "2025-01-03 00:00"),             # both day fields set: the 13th OR a Friday
    ("0 0 */10 * *", 0, "2025-01-11 00:00"),           # 1, 11, 21, 31
    ("10-20/5 3 * * *", 0, "2025-01-01 03:10"),
    ("0 22 * * 1-5/2", 0, "2025-01-01 22:00"),         # Monday, Wednesday, Friday
    ("0 0 ? * 0", 0, "2025-01-05 00:00"),
])
def test_next_run_of_five_field_schedules(schedule, t, expected):
    assert next_after(schedule, t) == at(expected)


@pytest.mark.parametrize(("macro", "same_as"), [
    ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"), ("@hourly", "0 * * * *"),
])
def test_macros_run_when_their_five_field_spelling_does(macro, same_as):
    for t in (0, 1234.5, 40 * DAY + 17, 400 * DAY):
        assert next_after(macro, t) == next_after(same_as, t)


def test_every_runs_a_fixed_delay_after_the_time_asked_about():
    assert next_after("@every 1h30m", 10) == 10 + 5400
    assert parse_standard("@every 90s") == EverySchedule(90.0, "@every 90s")
    assert parse_standard("@every 500ms").delay == 1.0  # at least one second


@pytest.mark.parametrize(("schedule", "message"), [
    ("", "empty spec string"),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("0 * * * * *", "expected exactly 5 fields, found 6: [0 * * * * *]"),
    (" @hourly", "expected exactly 5 fields, found 1: [@hourly]"),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("0 24 * * *", "end of range (24) above maximum (23): 24"),
    ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("0 0 * 13 *", "end of range (13) above maximum (12): 13"),
    ("0 0 * * 7", "end of range (7) above maximum (6): 7"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("*/5/2 * * * *", "too many slashes: */5/2"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("-1 * * * *", 'failed to parse int from : strconv.Atoi: parsing "": invalid syntax'),
    ("0 0 * * monday", 'failed to parse int from monday: strconv.Atoi: parsing "monday": invalid syntax'),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ("@hourly ", "unrecognized descriptor: @hourly "),
    ("@every 5d", 'failed to parse duration @every 5d: time: unknown unit "d" in duration "5d"'),
    ("@every 5", 'failed to parse duration @every 5: time: missing unit in duration "5"'),
    ("TZ=Mars/Base * * * * *", "provided bad location Mars/Base: unknown time zone Mars/Base"),
])
def test_invalid_schedules_give_robfig_cron_messages(schedule, message):
    with pytest.raises(CronSyntaxError) as e:
        parse_standard(schedule)
    assert str(e.value) == message
    if "TZ" not in schedule:  # (a TZ= prefix also breaks the API server's own rule)
        assert schedule_errors(schedule) == [message]


def test_names_are_case_insensitive_and_usable_in_ranges():
    assert parse_standard("0 0 * JAN-mar Mon-FRI").month == parse_standard("0 0 * 1-3 1-5").month
    assert parse_standard("0 0 * * Sat,sun").dow == parse_standard("0 0 * * 6,0").dow


def test_an_impossible_date_never_runs():
    assert next_after("0 0 31 2 *", 0) is None
    assert next_after("0 0 30 feb *", 5 * DAY) is None


def test_time_zone_reads_the_fields_in_that_zone():
    # midnight in Tokyo (UTC+9) is 15:00 UTC the day before
    assert next_after("0 0 * * *", 0, time_zone="Asia/Tokyo") == 15 * HOUR
    assert next_after("0 0 * * *", 0, time_zone="Etc/UTC") == DAY
    assert next_after("0 0 * * *", 0, time_zone="UTC") == DAY
    # minute 30 in Kolkata (UTC+5:30) is minute 0 in UTC
    assert next_after("30 * * * *", 0, time_zone="Asia/Kolkata") == HOUR
    assert next_after("TZ=Asia/Tokyo 0 0 * * *", 0) == 15 * HOUR


def test_daylight_saving_time_moves_the_utc_time_of_a_local_schedule():
    winter = next_after("0 9 * * *", at("2025-03-10 00:00"), time_zone="Europe/Paris")
    summer = next_after("0 9 * * *", at("2025-04-10 00:00"), time_zone="Europe/Paris")
    assert winter == at("2025-03-10 08:00")  # CET, UTC+1
    assert summer == at("2025-04-10 07:00")  # CEST, UTC+2


def test_validation_messages_of_the_api_server():
    assert schedule_errors("*/5 * * * *") == []
    assert schedule_errors("TZ=UTC 0 * * * *") == [
        "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"]
    assert schedule_errors("TZ=UTC 0 * * * *", "UTC", allow_tz_in_schedule=True) == [
        "cannot use both timeZone field and TZ or CRON_TZ in schedule"]
    assert schedule_errors("0 0 * *") == ["expected exactly 5 fields, found 4: [0 0 * *]"]
    assert time_zone_errors(None) == []
    assert time_zone_errors("Etc/UTC") == []
    assert time_zone_errors("America/New_York") == []
    assert time_zone_errors("") == ["timeZone must be nil or non-empty string"]
    assert time_zone_errors("Europe/Nowhere") == ["unknown time zone Europe/Nowhere"]
    assert time_zone_errors("../etc/passwd") == ["unknown time zone ../etc/passwd"]
    assert time_zone_errors("Local") == [
        "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"]


def test_load_location_treats_empty_and_utc_as_utc():
    assert load_location("") is timezone.utc
    assert load_location("UTC") is timezone.utc


# ---------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------
def _value(low, high, names=()):
    named = st.sampled_from(names) if names else st.nothing()
    return st.one_of(st.integers(low, high).map(str), named)


def _expr(low, high, names=()):
    single = _value(low, high, names)
    rng = st.tuples(st.integers(low, high), st.integers(low, high)).map(
        lambda ab: f"{min(ab)}-{max(ab)}")
    base = st.one_of(st.just("*"), single, rng)
    step = st.one_of(st.just(""), st.integers(1, max(1, high - low)).map(lambda n: f"/{n}"))
    return st.tuples(base, step).map("".join)


def _field(low, high, names=()):
    return st.lists(_expr(low, high, names), min_size=1, max_size=3).map(",".join)


schedules = st.tuples(
    _field(0, 59), _field(0, 23), _field(1, 28), _field(1, 12, ("jan", "Jun", "DEC")),
    _field(0, 6, ("sun", "Mon", "FRI")),
).map(" ".join)
times = st.floats(min_value=0, max_value=3 * 365 * DAY, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(schedule=schedules, t=times)
def test_next_run_is_strictly_later_and_matches_every_field(schedule, t):
    sched = parse_standard(schedule)
    nxt = next_after(schedule, t)
    assert nxt is not None  # day of month <= 28 exists in every month
    assert nxt > t
    assert nxt % 60 == 0
    assert sched.matches(to_datetime(nxt))


@settings(max_examples=60, deadline=None)
@given(minute=_field(0, 59), hour=_field(0, 23), dow=_field(0, 6, ("sun", "Mon")), t=times)
def test_no_run_is_skipped_between_t_and_the_next_run(minute, hour, dow, t):
    schedule = f"{minute} {hour} * * {dow}"
    sched = parse_standard(schedule)
    nxt = next_after(schedule, t)
    # every whole minute in between (at most a week: some weekday is always allowed)
    m = (int(t) // 60 + 1) * 60
    while m < nxt:
        assert not sched.matches(to_datetime(m)), to_datetime(m)
        m += 60


@settings(max_examples=60, deadline=None)
@given(schedule=schedules, t=times)
def test_next_runs_form_an_increasing_sequence(schedule, t):
    a = next_after(schedule, t)
    b = next_after(schedule, a)
    assert b > a
    assert next_after(schedule, a + 0.5) == b
    assert next_after(schedule, b - 0.5) == b
