"""Cron schedules, as a CronJob's ``spec.schedule`` is read: parse, validate, find the next run.

kube-controller-manager and kube-apiserver both read schedules with
``github.com/robfig/cron/v3``'s ``ParseStandard``: five fields (minute, hour,
day of month, month, day of week), each a comma-separated list of ``*``, ``?``,
numbers, three-letter names (``jan``, ``mon``), ranges ``a-b`` and steps ``/n``,
or one of the macros ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``,
``@daily`` (``@midnight``), ``@hourly`` and ``@every <duration>``. This module
follows that parser: the same accepted syntax, the same error messages (what
``kubectl apply`` shows after ``spec.schedule: Invalid value``), and the same
search for the next run, including the rule that when both day fields are
restricted a day matches if *either* does.

Times are the simulation's virtual seconds: ``t = 0`` is
:data:`k8slab.sim.loop.EPOCH`, 2025-01-01T00:00:00Z (a Wednesday).

Simplified: time zones come from Python's IANA database (``zoneinfo``), not Go's
embedded copy, and wall-clock times that fall into a daylight-saving gap are
resolved the Python way; the controller's own ``Local`` zone is UTC.

Example
-------
>>> next_after("*/15 * * * *", 0)
900.0
>>> next_after("@hourly", 3600)
7200.0
>>> next_after("0 9 * * mon-fri", 0) / 3600      # Wednesday 1 January 2025, 09:00
9.0
>>> parse_standard("*/5 * * *")
Traceback (most recent call last):
...
k8slab.api.cron.CronSyntaxError: expected exactly 5 fields, found 4: [*/5 * * *]
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

__all__ = [
    "CronSyntaxError",
    "UnknownTimeZone",
    "Schedule",
    "EverySchedule",
    "parse_standard",
    "next_after",
    "load_location",
    "schedule_errors",
    "time_zone_errors",
    "to_datetime",
    "to_virtual",
]

#: Virtual time 0 (the same instant as ``k8slab.sim.loop.EPOCH``; ``api`` imports nothing of k8slab).
EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)

_UTC = timezone.utc
_SECOND = timedelta(seconds=1)


class CronSyntaxError(ValueError):
    """The schedule does not parse; the message is robfig/cron's."""


class UnknownTimeZone(ValueError):
    """The time zone is not in the IANA database (Go's ``time.LoadLocation`` error)."""


# ---------------------------------------------------------------------------------------
# Time zones
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def load_location(name: str) -> tzinfo:
    """The time zone called ``name``, as Go's ``time.LoadLocation`` finds it.

    ``""`` and ``"UTC"`` are UTC; ``"Local"`` is the controller's own zone (UTC here).

    >>> load_location("Etc/UTC").key, load_location("") is timezone.utc
    ('Etc/UTC', True)
    >>> load_location("Mars/Olympus_Mons")
    Traceback (most recent call last):
    ...
    k8slab.api.cron.UnknownTimeZone: unknown time zone Mars/Olympus_Mons
    """
    if name in ("", "UTC", "Local"):
        return _UTC
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # not found, or not a valid key (ZoneInfo raises several kinds)
        raise UnknownTimeZone(f"unknown time zone {name}") from None


def to_datetime(t: float, tz: tzinfo = _UTC) -> datetime:
    """The instant of virtual time ``t``, in zone ``tz``.

    >>> to_datetime(90).isoformat()
    '2025-01-01T00:01:30+00:00'
    """
    dt = EPOCH + timedelta(seconds=t)
    return dt if tz is _UTC else dt.astimezone(tz)


def to_virtual(dt: datetime) -> float:
    """Virtual seconds of the instant ``dt`` (an aware datetime)."""
    return (dt - EPOCH).total_seconds()


# ---------------------------------------------------------------------------------------
# Fields
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


_MONTH_NAMES = {n: i + 1 for i, n in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DOW_NAMES = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}

_MINUTES = _Bounds(0, 59)
_HOURS = _Bounds(0, 23)
_DOM = _Bounds(1, 31)
_MONTHS = _Bounds(1, 12, _MONTH_NAMES)
_DOW = _Bounds(0, 6, _DOW_NAMES)

#: robfig/cron marks a field written with ``*`` or ``?`` (it changes how the two day fields combine).
_STAR = 1 << 63


def _all(b: _Bounds) -> int:
    return _bits(b.low, b.high, 1) | _STAR


def _bits(low: int, high: int, step: int) -> int:
    out = 0
    for i in range(low, high + 1, step):
        out |= 1 << i
    return out


def _go_quote(s: str) -> str:
    # Go's %q for the strings a schedule can hold
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_ATOI = re.compile(r"[+-]?[0-9]+")


def _atoi(expr: str) -> int:
    """Go's ``strconv.Atoi`` with robfig's wording around its errors."""
    if not _ATOI.fullmatch(expr):
        raise CronSyntaxError(
            f"failed to parse int from {expr}: strconv.Atoi: parsing {_go_quote(expr)}: invalid syntax")
    num = int(expr)
    if not -(1 << 63) <= num < (1 << 63):
        raise CronSyntaxError(
            f"failed to parse int from {expr}: strconv.Atoi: parsing {_go_quote(expr)}: value out of range")
    if num < 0:
        raise CronSyntaxError(f"negative number ({num}) not allowed: {expr}")
    return num


def _int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names is not None:
        named = names.get(expr.lower())
        if named is not None:
            return named
    return _atoi(expr)


def _range(expr: str, b: _Bounds) -> int:
    """The bits of one ``number | number "-" number ["/" number]`` (or ``*``) expression."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = b.low, b.high, _STAR
    else:
        start = _int_or_name(low_and_high[0], b.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], b.names)
        else:
            raise CronSyntaxError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _atoi(range_and_step[1])
        if single:  # "N/step" means "N-max/step"
            end = b.high
        if step > 1:
            extra = 0
    else:
        raise CronSyntaxError(f"too many slashes: {expr}")
    if start < b.low:
        raise CronSyntaxError(f"beginning of range ({start}) below minimum ({b.low}): {expr}")
    if end > b.high:
        raise CronSyntaxError(f"end of range ({end}) above maximum ({b.high}): {expr}")
    if start > end:
        raise CronSyntaxError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronSyntaxError(f"step of range should be a positive number: {expr}")
    return _bits(start, end, step) | extra


def _field(text: str, b: _Bounds) -> int:
    bits = 0
    for expr in (p for p in text.split(",") if p):  # Go's FieldsFunc drops empty pieces
        bits |= _range(expr, b)
    return bits


# ---------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """A parsed five-field schedule (robfig's ``SpecSchedule``): one bit set per allowed value.

    ``location`` is the zone the fields are read in (``None``: the zone of the time asked about,
    which for the simulation is UTC).
    """

    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    location: tzinfo | None = None
    spec: str = ""

    def __repr__(self) -> str:
        return f"Schedule({self.spec!r})"

    def matches(self, dt: datetime) -> bool:
        """Whether a run is due at ``dt`` (read in the schedule's zone), to the second."""
        if self.location is not None:
            dt = dt.astimezone(self.location)
        return (dt.second == 0 and dt.microsecond == 0 and bool(1 << dt.minute & self.minute)
                and bool(1 << dt.hour & self.hour) and bool(1 << dt.month & self.month)
                and self._day_matches(dt))

    def _day_matches(self, dt: datetime) -> bool:
        dom = bool(1 << dt.day & self.dom)
        dow = bool(1 << ((dt.weekday() + 1) % 7) & self.dow)  # Sunday is 0
        if self.dom & _STAR or self.dow & _STAR:
            return dom and dow
        return dom or dow

    def next(self, t: datetime) -> datetime | None:
        """The first run strictly after ``t`` (robfig's ``SpecSchedule.Next``); ``None`` if none
        within five years (an impossible date such as 31 February)."""
        loc = self.location if self.location is not None else (t.tzinfo or _UTC)
        orig = t.tzinfo
        t = t.astimezone(loc)
        # start at the upcoming whole second
        t = _add(t.replace(microsecond=0), _SECOND)
        added = False
        year_limit = t.year + 5
        while True:  # robfig's WRAP label
            if t.year > year_limit:
                return None
            wrapped = False
            while not 1 << t.month & self.month:
                if not added:
                    added = True
                    t = datetime(t.year, t.month, 1, tzinfo=loc)
                t = _add_months(t, 1)
                if t.month == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self._day_matches(t):
                if not added:
                    added = True
                    t = datetime(t.year, t.month, t.day, tzinfo=loc)
                t = _add_days(t, 1)
                # a daylight-saving change can leave the day starting at 23:00 or 01:00
                if t.hour != 0:
                    t = _add(t, timedelta(hours=(24 - t.hour) if t.hour > 12 else -t.hour))
                if t.day == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not 1 << t.hour & self.hour:
                if not added:
                    added = True
                    t = datetime(t.year, t.month, t.day, t.hour, tzinfo=loc)
                t = _add(t, timedelta(hours=1))
                if t.hour == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not 1 << t.minute & self.minute:
                if not added:
                    added = True
                    t = t.replace(second=0)
                t = _add(t, timedelta(minutes=1))
                if t.minute == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while t.second != 0:  # the seconds field of a standard schedule is always 0
                if not added:
                    added = True
                t = _add(t, _SECOND)
                if t.second == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            return t.astimezone(orig) if orig is not None else t

    def next_after(self, t: float) -> float | None:
        """:meth:`next` on virtual seconds."""
        nxt = self.next(to_datetime(t))
        return None if nxt is None else to_virtual(nxt)


@dataclass(frozen=True)
class EverySchedule:
    """``@every <duration>``: runs a fixed delay apart (robfig's ``ConstantDelaySchedule``)."""

    delay: float
    spec: str = ""

    def __repr__(self) -> str:
        return f"EverySchedule({self.spec!r})"

    def next(self, t: datetime) -> datetime:
        return t + timedelta(seconds=self.delay) - timedelta(microseconds=t.microsecond)

    def next_after(self, t: float) -> float:
        return to_virtual(self.next(to_datetime(t)))


def _add(t: datetime, delta: timedelta) -> datetime:
    """Absolute time arithmetic (Go's ``Time.Add``), whatever the zone's daylight saving does."""
    if t.tzinfo is _UTC:
        return t + delta
    return (t.astimezone(_UTC) + delta).astimezone(t.tzinfo)


def _normalized(year: int, month: int, day: int, t: datetime) -> datetime:
    # Go's time.Date normalises overflowing months and days (31 April is 1 May)
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    first = datetime(year, month, 1, t.hour, t.minute, t.second, tzinfo=t.tzinfo)
    return first + timedelta(days=day - 1) if day != 1 else first


def _add_months(t: datetime, n: int) -> datetime:
    return _normalized(t.year, t.month + n, t.day, t)


def _add_days(t: datetime, n: int) -> datetime:
    # wall-clock arithmetic, as Go's AddDate
    return t + timedelta(days=n) if t.tzinfo is _UTC else _wall_plus_days(t, n)


def _wall_plus_days(t: datetime, n: int) -> datetime:
    naive = t.replace(tzinfo=None) + timedelta(days=n)
    return naive.replace(tzinfo=t.tzinfo)


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")


def _go_duration(text: str) -> float:
    """Go's ``time.ParseDuration`` (``"1h30m"``, ``"90s"``, ``"1.5h"``), in seconds."""
    orig = text
    quoted = _go_quote(orig)
    sign = 1.0
    if text[:1] in ("+", "-"):
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0.0
    while text:
        m = _GO_DURATION_PART.match(text)
        number, unit = m.group(1), m.group(2)
        if number in ("", "."):
            raise ValueError(f"time: invalid duration {quoted}")
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in _GO_UNITS:
            raise ValueError(f"time: unknown unit {_go_quote(unit)} in duration {quoted}")
        total += float(number) * _GO_UNITS[unit]
        text = text[m.end():]
    return sign * total


def _descriptor(spec: str, loc: tzinfo | None) -> Schedule | EverySchedule:
    def fixed(month: int, dom: int, dow: int, hour: int) -> Schedule:
        return Schedule(1 << 0, hour, dom, month, dow, loc, spec)

    if spec in ("@yearly", "@annually"):
        return fixed(1 << 1, 1 << 1, _all(_DOW), 1 << 0)
    if spec == "@monthly":
        return fixed(_all(_MONTHS), 1 << 1, _all(_DOW), 1 << 0)
    if spec == "@weekly":
        return fixed(_all(_MONTHS), _all(_DOM), 1 << 0, 1 << 0)
    if spec in ("@daily", "@midnight"):
        return fixed(_all(_MONTHS), _all(_DOM), _all(_DOW), 1 << 0)
    if spec == "@hourly":
        return fixed(_all(_MONTHS), _all(_DOM), _all(_DOW), _all(_HOURS))
    every = "@every "
    if spec.startswith(every):
        try:
            seconds = _go_duration(spec[len(every):])
        except ValueError as e:
            raise CronSyntaxError(f"failed to parse duration {spec}: {e}") from None
        seconds = max(seconds, 1.0)
        return EverySchedule(float(int(seconds)), spec)  # whole seconds, as robfig's Every
    raise CronSyntaxError(f"unrecognized descriptor: {spec}")


@functools.lru_cache(maxsize=1024)
def parse_standard(spec: str) -> Schedule | EverySchedule:
    """Parse a schedule as ``cron.ParseStandard`` does; raise :class:`CronSyntaxError` if invalid.

    A ``TZ=<zone> `` (or ``CRON_TZ=``) prefix sets the zone the fields are read in.

    >>> parse_standard("0 9 * * mon-fri")
    Schedule('0 9 * * mon-fri')
    >>> parse_standard("61 * * * *")
    Traceback (most recent call last):
    ...
    k8slab.api.cron.CronSyntaxError: end of range (61) above maximum (59): 61
    """
    if not spec:
        raise CronSyntaxError("empty spec string")
    loc: tzinfo | None = None
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        eq = spec.index("=")
        space = spec.find(" ")
        name = spec[eq + 1:space] if space >= 0 else spec[eq + 1:]
        try:
            loc = load_location(name)
        except UnknownTimeZone as e:
            raise CronSyntaxError(f"provided bad location {name}: {e}") from None
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        return _descriptor(spec, loc)
    fields = spec.split()
    if len(fields) != 5:
        raise CronSyntaxError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    minute = _field(fields[0], _MINUTES)
    hour = _field(fields[1], _HOURS)
    dom = _field(fields[2], _DOM)
    month = _field(fields[3], _MONTHS)
    dow = _field(fields[4], _DOW)
    return Schedule(minute, hour, dom, month, dow, loc, spec)


def next_after(schedule: str | Schedule | EverySchedule, t: float, time_zone: str | None = None) -> float | None:
    """The first run of ``schedule`` strictly after virtual time ``t`` (``None``: never).

    ``time_zone`` is the CronJob's ``spec.timeZone``: the zone the fields are read in.

    >>> next_after("30 2 * * *", 0) / 3600
    2.5
    >>> (next_after("0 0 * * *", 0, time_zone="Asia/Tokyo") - 0) / 3600   # midnight in Tokyo
    15.0
    >>> next_after("0 0 31 2 *", 0) is None
    True
    """
    if isinstance(schedule, str):
        if time_zone is not None:
            schedule = f"TZ={time_zone} {schedule}"
        schedule = parse_standard(schedule)
    return schedule.next_after(t)


# ---------------------------------------------------------------------------------------
# Validation (the CronJob rules of kube-apiserver's batch validation)
# ---------------------------------------------------------------------------------------
_TZ_PART = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")


def schedule_errors(schedule: str, time_zone: str | None = None, *, allow_tz_in_schedule: bool = False) -> list[str]:
    """The messages of ``spec.schedule: Invalid value`` for this schedule (empty: valid).

    ``allow_tz_in_schedule`` is true only on an update of a CronJob whose stored schedule
    already used ``TZ=`` (new ones must use ``spec.timeZone``).

    >>> schedule_errors("*/5 * * * *")
    []
    >>> schedule_errors("TZ=UTC 0 * * * *")
    ['cannot use TZ or CRON_TZ in schedule, use timeZone field instead']
    >>> schedule_errors("0 25 * * *")
    ['end of range (25) above maximum (23): 25']
    """
    out = []
    try:
        parse_standard(schedule)
    except CronSyntaxError as e:
        out.append(str(e))
    if allow_tz_in_schedule and "TZ" in schedule and time_zone is not None:
        out.append("cannot use both timeZone field and TZ or CRON_TZ in schedule")
    elif not allow_tz_in_schedule and "TZ" in schedule:
        out.append("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
    return out


def time_zone_errors(time_zone: str | None) -> list[str]:
    """The messages of ``spec.timeZone: Invalid value`` (empty: valid, or not set).

    >>> time_zone_errors("Etc/UTC"), time_zone_errors(None)
    ([], [])
    >>> time_zone_errors("Local")
    ['timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones']
    >>> time_zone_errors("Europe/Atlantis")
    ['unknown time zone Europe/Atlantis']
    """
    if time_zone is None:
        return []
    if time_zone == "":
        return ["timeZone must be nil or non-empty string"]
    for part in time_zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_PART.match(part):
            return [f"unknown time zone {time_zone}"]
    out = []
    if time_zone.lower() == "local":
        out.append("timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")
    try:
        load_location(time_zone)
    except UnknownTimeZone as e:
        out.append(str(e))
    return out
