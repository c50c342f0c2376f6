"""Ages and timestamps as kubectl prints them.

``human_duration`` is k8s.io/apimachinery's ``duration.HumanDuration``: the AGE
column of every table and the Age column of ``describe`` events. It keeps two or
three significant figures, so a pod is ``35s``, then ``4m10s``, then ``90m``, then
``2d3h`` old. ``short_human_duration`` is its older one-unit sibling.

Example
-------
>>> human_duration(35), human_duration(250), human_duration(5400), human_duration(183600)
('35s', '4m10s', '90m', '2d3h')
>>> parse_time("2025-01-01T00:00:35Z").isoformat()
'2025-01-01T00:00:35+00:00'
>>> rfc1123z(parse_time("2025-01-01T00:00:35Z"))
'Wed, 01 Jan 2025 00:00:35 +0000'
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_YEAR = 365 * _DAY


def human_duration(seconds: float) -> str:
    """A succinct age with about 2-3 significant figures (``HumanDuration``).

    Up to 2 minutes in seconds, up to 10 minutes in minutes and seconds, up to 3
    hours in minutes, up to 8 hours in hours and minutes, up to 2 days in hours,
    up to 8 days in days and hours, up to 2 years in days, up to 8 years in years
    and days, then years. A clock up to 2 seconds ahead reads as ``0s``.
    """
    # Go truncates towards zero when it turns a duration into whole units.
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 2 * _MINUTE:
        return f"{s}s"
    minutes = s // _MINUTE
    if minutes < 10:
        rest = s % _MINUTE
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = s // _HOUR
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(seconds: float) -> str:
    """One unit only (``ShortHumanDuration``): ``59s``, ``59m``, ``23h``, ``364d``, ``1y``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < _MINUTE:
        return f"{s}s"
    if s < _HOUR:
        return f"{s // _MINUTE}m"
    hours = s // _HOUR
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 timestamp (``metav1.Time`` or ``MicroTime``) as an aware UTC datetime."""
    if not text:
        return None
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=timezone.utc)
    m = _TIME.match(str(text).strip())
    if not m:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = m.group(7) or ""
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    dt = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone.utc)
    zone = m.group(8)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * _HOUR + int(digits[2:]) * _MINUTE)
        dt = datetime.fromtimestamp(dt.timestamp() - offset, tz=timezone.utc)
    return dt


def format_time(dt: datetime) -> str:
    """``2025-01-01T00:00:35Z``: how the API writes a ``metav1.Time``."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc1123z(dt: datetime | None) -> str:
    """Go's ``time.RFC1123Z`` layout, as ``describe`` prints times (always in UTC here).

    A zero time prints as Go's zero time does.
    """
    if dt is None:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    dt = dt.astimezone(timezone.utc)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return (
        f"{days[dt.weekday()]}, {dt.day:02d} {months[dt.month - 1]} {dt.year:04d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} +0000"
    )


def age(timestamp: str | None, now: datetime) -> str:
    """``translateTimestampSince``: the AGE of a timestamp, ``<unknown>`` when unset."""
    t = parse_time(timestamp)
    if t is None:
        return "<unknown>"
    return human_duration((now - t).total_seconds())
