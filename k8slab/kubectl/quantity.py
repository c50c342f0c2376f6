"""Resource quantities (``500m``, ``128Mi``, ``2``) as ``describe node`` adds and prints them.

A quantity remembers whether it was written with a binary suffix (``Ki``, ``Mi``,
... : BinarySI) or a decimal one (``m``, ``k``, ``M``, ... : DecimalSI), and prints
itself in canonical form the way ``resource.Quantity.String()`` does: ``1000m`` is
``1``, ``1024Mi`` is ``1Gi``, ``2000`` is ``2k``.

Example
-------
>>> str(Quantity.parse("100m") + Quantity.parse("900m"))
'1'
>>> str(Quantity.parse("64Mi") + Quantity.parse("64Mi"))
'128Mi'
>>> Quantity.parse("250m").milli_value(), Quantity.parse("1Gi").value()
(250, 1073741824)
"""

from __future__ import annotations

from fractions import Fraction

from k8slab.api.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    parse_quantity,
    quantity_format,
)

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_SUFFIX = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}


class Quantity:
    __slots__ = ("amount", "format")

    def __init__(self, amount: Fraction | int = 0, fmt: str = ""):
        self.amount = Fraction(amount)
        self.format = fmt

    @classmethod
    def parse(cls, text) -> Quantity:
        """Parse as the API server does (:mod:`k8slab.api.quantity`), remembering the suffix family."""
        if isinstance(text, Quantity):
            return cls(text.amount, text.format)
        if isinstance(text, bool):
            raise ValueError(f"not a quantity: {text!r}")
        return cls(parse_quantity(text), quantity_format(text))

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.amount + other.amount, self.format or other.format)

    def __eq__(self, other) -> bool:
        return isinstance(other, Quantity) and self.amount == other.amount

    def __hash__(self) -> int:
        return hash(self.amount)

    def __lt__(self, other: Quantity) -> bool:
        return self.amount < other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def value(self) -> int:
        """Whole units, rounded up (``Quantity.Value``)."""
        return -((-self.amount.numerator) // self.amount.denominator)

    def milli_value(self) -> int:
        """Thousandths, rounded up (``Quantity.MilliValue``)."""
        a = self.amount * 1000
        return -((-a.numerator) // a.denominator)

    def __str__(self) -> str:
        a = self.amount
        if a == 0:
            return "0"
        # Nothing is finer than a nano: round up to it, as the API does.
        nano = a * 10**9
        if nano.denominator != 1:
            a = Fraction(-((-nano.numerator) // nano.denominator), 10**9)
        fmt = self.format
        if fmt == BINARY_SI and (abs(a) < 1024 or a.denominator != 1):
            fmt = DECIMAL_SI
        if fmt == BINARY_SI:
            n, power = int(a), 0
            while power < 6 and n % 1024 == 0:
                n //= 1024
                power += 1
            suffix = "" if power == 0 else list(_BINARY)[power - 1]
            return f"{n}{suffix}"
        mantissa, exp = _base10(a)
        if fmt == DECIMAL_EXPONENT:
            e3 = (exp // 3) * 3
            mantissa *= 10 ** (exp - e3)
            return f"{mantissa}" if e3 == 0 else f"{mantissa}e{e3}"
        e3 = max(-9, min(18, (exp // 3) * 3))
        mantissa *= 10 ** (exp - e3)
        return f"{mantissa}{_DECIMAL_SUFFIX[e3]}"

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"


def _base10(a: Fraction) -> tuple[int, int]:
    """``a`` as ``mantissa * 10**exp`` with the largest possible exponent (``a`` has a finite decimal form)."""
    exp = 0
    while a.denominator != 1:
        a *= 10
        exp -= 1
    n = int(a)
    while n != 0 and n % 10 == 0:
        n //= 10
        exp += 1
    return n, exp


def total(values) -> Quantity:
    result = Quantity()
    for v in values:
        result = result + Quantity.parse(v)
    return result
