"""Resource quantities: ``500m`` CPU, ``512Mi`` memory, parsed and printed as Kubernetes does.

A quantity is a number with an optional suffix:

* binary suffixes ``Ki Mi Gi Ti Pi Ei`` (powers of 1024),
* decimal suffixes ``n u m k M G T P E`` (powers of 1000; ``m`` is *milli*),
* or an exponent, ``1e3`` / ``1E-3``.

Parsing follows ``resource.ParseQuantity`` of the Kubernetes API machinery,
including its corners: values are rounded *up* to the nanounit (so asking for a
tiny amount still gets you something), and the suffix family decides how the
value is printed back (``canonical_quantity``), which is why ``1.5Gi`` comes back
from the API server as ``1536Mi`` and ``1000m`` as ``1``.

Example
-------
>>> parse_quantity("1.5Gi") == 1610612736
True
>>> cpu_millis("0.25"), to_bytes("128Mi")
(250, 134217728)
>>> canonical_quantity("1000m"), format_cpu(1500), format_bytes(2 * 1024**3)
('1', '1500m', '2Gi')
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = [
    "QUANTITY_REGEX",
    "canonical_quantity",
    "cpu_millis",
    "format_bytes",
    "format_cpu",
    "parse_quantity",
    "quantity_format",
    "to_bytes",
]

# The text Kubernetes puts in its error message. The real parser is a small
# hand-written scanner (reproduced in ``_split``), not this regular expression.
QUANTITY_REGEX = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_ERR_FORMAT = f"quantities must match the regular expression '{QUANTITY_REGEX}'"
_ERR_SUFFIX = "unable to parse quantity's suffix"
_ERR_NUMERIC = "unable to parse numeric part of quantity"

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

_DECIMAL_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {e: s for s, e in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_EXPONENT = {e: s for s, e in _BINARY_SUFFIXES.items()}
_SUFFIX_CHARS = set("eEinumkKMGTP")
_DIGITS = set("0123456789")
_NANO = Fraction(1, 10**9)
# Binary quantities are capped at the largest int64, as in Kubernetes.
_MAX_BINARY = Fraction(2**63 - 1)
# Kubernetes accepts any int32 exponent; k8slab stops at 1e±300 so a typo like
# "1e999999999" cannot make Python build an enormous integer.
_MAX_EXPONENT = 300


def _split(text: str) -> tuple[bool, str, str, str]:
    """Split ``text`` into (positive, numerator digits, denominator digits, suffix).

    Mirrors ``parseQuantityString``: an optional sign, digits, an optional
    fractional part, then suffix characters optionally followed by a signed
    integer (for the exponent form).
    """
    positive = True
    pos, end = 0, len(text)
    if text[0] in "+-":
        positive = text[0] == "+"
        pos = 1
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos].lstrip("0") or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos != end:
        raise ValueError(_ERR_FORMAT)
    return positive, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix, or ValueError like ``ErrSuffix``."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[0] in "+-" else digits
        if body and body.isdigit():
            exponent = int(digits)
            if abs(exponent) > _MAX_EXPONENT:
                raise ValueError(_ERR_NUMERIC)
            return 10, exponent, DECIMAL_EXPONENT
    raise ValueError(_ERR_SUFFIX)


def _round_up_to_nano(amount: Fraction) -> Fraction:
    # inf.RoundUp rounds away from zero: 0.1n becomes 1n, -0.1n becomes -1n.
    scaled = amount / _NANO
    if scaled.denominator == 1:
        return amount
    magnitude = math.ceil(abs(scaled))
    return Fraction(magnitude if scaled > 0 else -magnitude) * _NANO


#: Parsed quantity strings (a few distinct ones, parsed on every pod): text -> (amount, format).
_PARSED: dict[str, tuple[Fraction, str]] = {}
_PARSED_MAX = 4096


def _parse(value: str | int | float) -> tuple[Fraction, str]:
    # Parsing is a pure function of the text and its results are immutable, so strings are
    # parsed once; errors are not remembered (they raise again the next time).
    if type(value) is str:
        parsed = _PARSED.get(value)
        if parsed is None:
            parsed = _parse_uncached(value)
            if len(_PARSED) < _PARSED_MAX:
                _PARSED[value] = parsed
        return parsed
    return _parse_uncached(value)


def _parse_uncached(value: str | int | float) -> tuple[Fraction, str]:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(_ERR_FORMAT)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(_ERR_FORMAT)
        text = repr(value)
    else:
        text = str(value)
    if not text:
        raise ValueError(_ERR_FORMAT)
    positive, num, denom, suffix = _split(text)
    base, exponent, fmt = _interpret(suffix)
    try:
        amount = Fraction(int(num + denom), 10 ** len(denom))
    except ValueError as exc:  # more digits than Python converts at once
        raise ValueError(_ERR_NUMERIC) from exc
    amount *= Fraction(base) ** exponent
    amount = _round_up_to_nano(amount)
    if fmt == BINARY_SI:
        amount = min(amount, _MAX_BINARY)
        if 0 < amount < 1:
            # Fractions of a byte print as 500m rather than a rounded binary value.
            fmt = DECIMAL_SI
    return (amount if positive else -amount), fmt


def parse_quantity(value: str | int | float) -> Fraction:
    """Parse a Kubernetes quantity into an exact :class:`fractions.Fraction`.

    Parameters
    ----------
    value : str, int or float
        ``"500m"``, ``"1"``, ``"0.5"``, ``"1Gi"``, ``"1e3"``, ``2``...

    Returns
    -------
    Fraction
        The value in base units (cores, bytes), rounded up to the nanounit.

    Raises
    ------
    ValueError
        With the API server's own wording, e.g. ``quantities must match the
        regular expression '...'`` or ``unable to parse quantity's suffix``.

    Example
    -------
    >>> parse_quantity("500m")
    Fraction(1, 2)
    >>> parse_quantity("1Ki")
    Fraction(1024, 1)
    >>> parse_quantity("abc")
    Traceback (most recent call last):
    ...
    ValueError: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'
    """
    return _parse(value)[0]


def quantity_format(value: str | int | float) -> str:
    """The suffix family of a quantity: ``DecimalSI``, ``BinarySI`` or ``DecimalExponent``.

    It decides how the value is printed back by :func:`canonical_quantity`.

    Example
    -------
    >>> quantity_format("1Gi"), quantity_format("100m"), quantity_format("1e3")
    ('BinarySI', 'DecimalSI', 'DecimalExponent')
    """
    return _parse(value)[1]


def _ceil(amount: Fraction) -> int:
    return math.ceil(amount)


def cpu_millis(value: str | int | float) -> int:
    """A CPU quantity in millicores, rounded up (``Quantity.MilliValue``).

    Example
    -------
    >>> cpu_millis("250m"), cpu_millis("1.5"), cpu_millis("0.0001")
    (250, 1500, 1)
    """
    if type(value) is str:
        millis = _MILLIS.get(value)
        if millis is None:
            millis = _ceil(parse_quantity(value) * 1000)
            if len(_MILLIS) < _PARSED_MAX:
                _MILLIS[value] = millis
        return millis
    return _ceil(parse_quantity(value) * 1000)


_MILLIS: dict[str, int] = {}
_UNITS: dict[str, int] = {}


def to_bytes(value: str | int | float) -> int:
    """A quantity as a whole number of base units, rounded up (``Quantity.Value``).

    Example
    -------
    >>> to_bytes("1Mi"), to_bytes("1M"), to_bytes("0.5")
    (1048576, 1000000, 1)
    """
    if type(value) is str:
        units = _UNITS.get(value)
        if units is None:
            units = _ceil(parse_quantity(value))
            if len(_UNITS) < _PARSED_MAX:
                _UNITS[value] = units
        return units
    return _ceil(parse_quantity(value))


def _decimal_canonical(amount: Fraction, exponent_form: bool) -> str:
    # amount is a whole number of nanounits (parsing guarantees it).
    mantissa = int(amount / _NANO)
    exponent = -9
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    extra = exponent % 3  # bring the exponent down to a multiple of 3
    mantissa *= 10**extra
    exponent -= extra
    if exponent_form:
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    if exponent in _DECIMAL_BY_EXPONENT:
        return f"{mantissa}{_DECIMAL_BY_EXPONENT[exponent]}"
    return f"{mantissa}e{exponent}"


def _binary_canonical(amount: int) -> str:
    exponent = 0
    while amount % 1024 == 0 and exponent < 60:
        amount //= 1024
        exponent += 10
    return f"{amount}{_BINARY_BY_EXPONENT.get(exponent, '')}"


def _canonical(amount: Fraction, fmt: str) -> str:
    if amount == 0:
        return "0"
    if fmt == BINARY_SI and (abs(amount) < 1024 or amount.denominator != 1):
        # Small or fractional binary values would lose meaning as Ki; Kubernetes
        # prints them in decimal form instead (so 1000 bytes shows as "1k").
        fmt = DECIMAL_SI
    if fmt == BINARY_SI:
        text = _binary_canonical(abs(int(amount)))
        return text if amount > 0 else "-" + text
    text = _decimal_canonical(abs(amount), fmt == DECIMAL_EXPONENT)
    return text if amount > 0 else "-" + text


def canonical_quantity(value: str | int | float) -> str:
    """The quantity as the API server stores and prints it (``Quantity.String()``).

    Example
    -------
    >>> canonical_quantity("0.5"), canonical_quantity("1.5Gi"), canonical_quantity("2000")
    ('500m', '1536Mi', '2k')
    """
    return _canonical(*_parse(value))


def format_cpu(millis: int) -> str:
    """Millicores as kubectl prints CPU: ``500m``, ``2``, ``1500m``.

    Example
    -------
    >>> format_cpu(500), format_cpu(2000), format_cpu(0)
    ('500m', '2', '0')
    """
    return _canonical(Fraction(int(millis), 1000), DECIMAL_SI)


def format_bytes(n: int) -> str:
    """Bytes in canonical binary form: the largest ``Ki``..``Ei`` suffix that divides exactly.

    Values below 1024 print in decimal form, as Kubernetes does for binary
    quantities (``1000`` prints as ``1k``).

    Example
    -------
    >>> format_bytes(16 * 1024**3), format_bytes(1536 * 1024**2), format_bytes(128974848)
    ('16Gi', '1536Mi', '123Mi')
    >>> format_bytes(1500), format_bytes(512)
    ('1500', '512')
    """
    return _canonical(Fraction(int(n)), BINARY_SI)
