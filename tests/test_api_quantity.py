"""Quantities parse, round and print exactly as Kubernetes' resource.Quantity does."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8slab.api.quantity import (
    canonical_quantity,
    cpu_millis,
    format_bytes,
    format_cpu,
    parse_quantity,
    quantity_format,
    to_bytes,
)

REGEX_MESSAGE = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


@pytest.mark.parametrize(
    "text, value",
    [
        ("500m", Fraction(1, 2)),
        ("1", 1),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("1Gi", 2**30),
        ("512Mi", 512 * 2**20),
        ("1G", 10**9),
        ("1e3", 1000),
        ("1E3", 1000),
        ("1e-3", Fraction(1, 1000)),
        ("100k", 100_000),
        ("1E", 10**18),  # E alone is exa, not an exponent
        ("1.5Gi", 3 * 2**29),
        ("-2", -2),
        ("+2", 2),
        ("250u", Fraction(250, 10**6)),
        ("3n", Fraction(3, 10**9)),
        (2, 2),
        (0.25, Fraction(1, 4)),
    ],
)
def test_parse_quantity_values(text, value):
    assert parse_quantity(text) == value


def test_values_below_a_nanounit_round_up_not_to_zero():
    assert parse_quantity("0.1n") == Fraction(1, 10**9)
    assert parse_quantity("-0.1n") == Fraction(-1, 10**9)


@pytest.mark.parametrize("text", ["abc", "1.2.3", " 1", "1 ", "1Mi ", "1e3.5"])
def test_malformed_quantities_give_the_regex_message(text):
    with pytest.raises(ValueError) as info:
        parse_quantity(text)
    assert str(info.value) == REGEX_MESSAGE


@pytest.mark.parametrize("text", ["1K", "1e", "1Ki3", "1ki", "1mi", "1-3", "--1"])
def test_unknown_suffixes_give_the_suffix_message(text):
    with pytest.raises(ValueError, match="^unable to parse quantity's suffix$"):
        parse_quantity(text)


@pytest.mark.parametrize("value", ["", True, None, [1], float("nan")])
def test_non_quantities_are_rejected(value):
    with pytest.raises(ValueError):
        parse_quantity(value)


def test_the_suffix_decides_the_format():
    assert quantity_format("1Gi") == "BinarySI"
    assert quantity_format("100m") == "DecimalSI"
    assert quantity_format("5") == "DecimalSI"
    assert quantity_format("1e3") == "DecimalExponent"
    assert quantity_format("0.5Ki") == "BinarySI"  # 512 bytes
    assert quantity_format("0.0001Ki") == "DecimalSI"  # less than one byte: no longer binary


@pytest.mark.parametrize(
    "text, millis", [("250m", 250), ("1.5", 1500), ("2", 2000), ("0.0001", 1), ("1n", 1), (3, 3000)]
)
def test_cpu_millis_rounds_up(text, millis):
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    "text, n", [("1Ki", 1024), ("1k", 1000), ("1.5", 2), ("128Mi", 134217728), ("1e3", 1000)]
)
def test_to_bytes_rounds_up(text, n):
    assert to_bytes(text) == n


@pytest.mark.parametrize(
    "text, shown",
    [
        ("1000m", "1"),
        ("0.5", "500m"),
        ("1500m", "1500m"),
        ("1.5Gi", "1536Mi"),
        ("2048Mi", "2Gi"),
        ("1536Mi", "1536Mi"),
        ("2000", "2k"),
        ("1500", "1500"),
        ("1024", "1024"),  # written without a binary suffix, so printed in decimal
        ("1e3", "1e3"),
        ("1.5e3", "1500"),
        ("0.5Ki", "512"),
        ("1000Ki", "1000Ki"),
        ("100Mi", "100Mi"),
        ("0", "0"),
        ("-1500m", "-1500m"),
        ("12.345678901", "12345678901n"),
    ],
)
def test_canonical_form_is_what_the_api_server_stores(text, shown):
    assert canonical_quantity(text) == shown


def test_format_cpu():
    assert [format_cpu(m) for m in (500, 2000, 1500, 0, 100)] == ["500m", "2", "1500m", "0", "100m"]


def test_format_bytes_picks_the_largest_exact_binary_suffix():
    assert format_bytes(16 * 1024**3) == "16Gi"
    assert format_bytes(1536 * 1024**2) == "1536Mi"
    assert format_bytes(128974848) == "123Mi"
    assert format_bytes(16393260 * 1024) == "16393260Ki"
    assert format_bytes(1500) == "1500"
    assert format_bytes(1000) == "1k"  # below 1024 Kubernetes prints decimal
    assert format_bytes(0) == "0"


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_cpu_round_trip(millis):
    assert cpu_millis(format_cpu(millis)) == millis


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**62))
def test_bytes_round_trip(n):
    assert to_bytes(format_bytes(n)) == n


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=999),
    st.sampled_from(["", "m", "k", "M", "G", "n", "u", "Ki", "Mi", "Gi", "e3", "e-2", "E6"]),
)
def test_canonical_form_parses_back_to_the_same_value(whole, frac, suffix):
    text = f"{whole}.{frac:03d}{suffix}"
    assert parse_quantity(canonical_quantity(text)) == parse_quantity(text)


def test_docstring_examples_run():
    import doctest

    import k8slab.api.quantity as module

    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
