"""``-o yaml`` and ``-o json`` exactly as kubectl writes them.

kubectl turns an object into JSON with Go's ``encoding/json`` and, for YAML, feeds
that JSON to go-yaml v2 (``sigs.k8s.io/yaml``). Both leave marks a learner will
see on a real cluster, reproduced here:

* JSON: keys sorted, 4-space indent, ``<``, ``>`` and ``&`` written as ``\\u003c`` ...;
* YAML: keys sorted (go-yaml's "natural" order, where ``a9`` < ``a10``), 2-space
  indent, list items at the same indent as their key, strings quoted only when
  they would read back as something else (``"80"``, ``"true"``, timestamps, ``""``)
  or start with a YAML indicator (``'*'``), long strings folded after column 80,
  multi-line strings as ``|`` blocks.

Example
-------
>>> print(to_yaml({"spec": {"containers": [{"name": "web", "image": "nginx"}]},
...                "metadata": {"creationTimestamp": "2025-01-01T00:00:35Z", "labels": {"port": "80"}}}), end="")
metadata:
  creationTimestamp: "2025-01-01T00:00:35Z"
  labels:
    port: "80"
spec:
  containers:
  - image: nginx
    name: web
"""

from __future__ import annotations

import functools
import json
import math
import re

# -- JSON ---------------------------------------------------------------------------


def to_json(obj, *, sort_keys: bool = True) -> str:
    """``json.MarshalIndent(obj, "", "    ")`` plus the newline kubectl adds.

    Objects read from the API server print with sorted keys (Go marshals them as maps);
    an object kubectl built itself (``--dry-run=client``) is a Go struct and prints in
    its fields' order: pass it in that order with ``sort_keys=False``.
    """
    text = json.dumps(_json_ready(obj), indent=4, sort_keys=sort_keys, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text + "\n"


def _json_ready(value):
    # Go writes whole floats without a fraction (2.0 -> 2).
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


# -- YAML ---------------------------------------------------------------------------

_BEST_WIDTH = 80
_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
    "true", "True", "TRUE", "false", "False", "FALSE",
    "on", "On", "ON", "off", "Off", "OFF",
}
_SPECIAL_FLOATS = {
    ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
}
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_TIMESTAMPS = (
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2}[Tt]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"),
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?$"),
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"),
)
_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$")


def to_yaml(obj) -> str:
    """The YAML document kubectl prints for ``obj`` (ends with a newline)."""
    obj = _json_ready(obj)
    if isinstance(obj, dict):
        if not obj:
            return "{}\n"
        lines: list[str] = []
        _mapping(obj, 0, lines)
        return "\n".join(lines) + "\n"
    if isinstance(obj, list):
        if not obj:
            return "[]\n"
        lines = []
        _sequence(obj, 0, lines)
        return "\n".join(lines) + "\n"
    return _scalar(obj, 0, 0, key=False) + "\n"


def _mapping(obj: dict, indent: int, lines: list[str], first_prefix: str | None = None) -> None:
    pad = " " * indent
    for i, key in enumerate(sorted(obj, key=_key_order)):
        prefix = first_prefix if (i == 0 and first_prefix is not None) else pad
        head = prefix + _scalar(str(key), indent, len(prefix), key=True) + ":"
        _value(obj[key], indent, head, lines)


def _value(value, indent: int, head: str, lines: list[str]) -> None:
    if isinstance(value, dict) and value:
        lines.append(head)
        _mapping(value, indent + 2, lines)
    elif isinstance(value, list) and value:
        lines.append(head)
        _sequence(value, indent, lines)  # go-yaml does not indent a list under its key
    else:
        lines.append(head + " " + _scalar(value, indent + 2, len(head) + 1, key=False))


def _sequence(items: list, indent: int, lines: list[str], first_prefix: str | None = None) -> None:
    pad = " " * indent
    for i, item in enumerate(items):
        prefix = (first_prefix if (i == 0 and first_prefix is not None) else pad) + "- "
        if isinstance(item, dict) and item:
            _mapping(item, indent + 2, lines, first_prefix=prefix)
        elif isinstance(item, list) and item:
            _sequence(item, indent + 2, lines, first_prefix=prefix)
        else:
            lines.append(prefix + _scalar(item, indent + 2, len(prefix), key=False))


def _scalar(value, indent: int, column: int, key: bool) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return _go_float(value)
    return _string(str(value), indent, column, key)


def _go_float(f: float) -> str:
    # strconv.FormatFloat(f, 'g', -1, 64)
    r = repr(f)
    if "e" in r:
        mant, exp = r.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mant}e{sign}{digits}"
    exp10 = math.floor(math.log10(abs(f))) if f else 0
    if exp10 < -4 or exp10 >= 21:
        return f"{f:e}"
    return r


def _string(s: str, indent: int, column: int, key: bool) -> str:
    if "\n" in s and not key:
        style = "literal"
    elif _resolves_to_str(s):
        style = "plain"
    else:
        style = "double"
    a = _analyze(s)
    if style == "plain" and (not a["plain"] or (key and not s)):
        style = "single"
    if style == "single" and not a["single"]:
        style = "double"
    if style == "literal" and (not a["block"] or key):
        style = "double"
    breaks = not key
    if style == "plain":
        return _fold(s, indent, column + 0, breaks, quote="")
    if style == "single":
        return _fold(s.replace("'", "''"), indent, column, breaks, quote="'")
    if style == "double":
        return _double(s, indent, column, breaks)
    return _literal(s, indent)


def _resolves_to_str(s: str) -> bool:
    """Would go-yaml read this plain scalar back as a string? (``resolve`` + ``isBase60Float``)."""
    if s in _NULLS or s in _BOOLS or s in _SPECIAL_FLOATS or s == "<<":
        return False
    if _BASE60.match(s):
        return False
    first = s[0]
    if first == ".":
        return not _YAML_FLOAT.match(s)
    if first in "+-0123456789":
        if any(t.match(s) for t in _TIMESTAMPS):
            return False
        plain = s.replace("_", "")
        if _INT.match(plain) or _YAML_FLOAT.match(plain):
            return False
    return True


def _analyze(s: str) -> dict:
    """Which styles the emitter allows for ``s`` (``yaml_emitter_analyze_scalar``)."""
    block_ind = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = line_breaks = special = False
    prev_space = prev_break = False
    if s.startswith("---") or s.startswith("..."):
        block_ind = True
    preceded_by_ws = True
    n = len(s)
    for i, ch in enumerate(s):
        followed_by_ws = i + 1 >= n or s[i + 1] in " \t"
        if i == 0:
            # Flow indicators do not matter: kubectl's YAML is all block style.
            if ch in "#,[]{}&*!|>'\"%@`" or (ch in "?:-" and followed_by_ws):
                block_ind = True
        elif (ch == ":" and followed_by_ws) or (ch == "#" and preceded_by_ws):
            block_ind = True
        if not _printable(ch):
            special = True
        if ch == " ":
            if i == 0:
                leading_space = True
            if i == n - 1:
                trailing_space = True
            if prev_break:
                break_space = True
            prev_space, prev_break = True, False
        elif ch in "\r\n\x85\u2028\u2029":
            line_breaks = True
            if i == 0:
                leading_break = True
            if i == n - 1:
                trailing_break = True
            if prev_space:
                space_break = True
            prev_space, prev_break = False, True
        else:
            prev_space = prev_break = False
        preceded_by_ws = ch in " \t\r\n"
    plain = single = block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        plain = False
    if trailing_space:
        block = False
    if break_space:
        plain = single = False
    if space_break or special:
        plain = single = block = False
    if line_breaks or block_ind:
        plain = False
    return {"plain": plain, "single": single, "block": block}


def _printable(ch: str) -> bool:
    o = ord(ch)
    return (
        o == 0x0A
        or 0x20 <= o <= 0x7E
        or o == 0x85
        or 0xA0 <= o <= 0xD7FF
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
        or 0x10000 <= o <= 0x10FFFF
    )


def _fold(text: str, indent: int, column: int, breaks: bool, quote: str) -> str:
    """Write a plain or single-quoted scalar, breaking at a space once past column 80."""
    out = [quote]
    col = column + len(quote)
    spaces = False
    n = len(text)
    for i, ch in enumerate(text):
        if ch == " ":
            nxt_space = i + 1 < n and text[i + 1] == " "
            inner = True if not quote else (0 < i < n - 1)
            if breaks and not spaces and col > _BEST_WIDTH and not nxt_space and inner:
                out.append("\n" + " " * indent)
                col = indent
            else:
                out.append(ch)
                col += 1
            spaces = True
        else:
            out.append(ch)
            col += 1
            spaces = False
    out.append(quote)
    return "".join(out)


_ESCAPES = {
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}


def _double(text: str, indent: int, column: int, breaks: bool) -> str:
    out = ['"']
    col = column + 1
    spaces = False
    n = len(text)
    for i, ch in enumerate(text):
        if not _printable(ch) or ch in '"\\' or ch in "\n\r\x85\u2028\u2029\ufeff":
            esc = _ESCAPES.get(ch)
            if esc is None:
                o = ord(ch)
                esc = f"x{o:02X}" if o <= 0xFF else (f"u{o:04X}" if o <= 0xFFFF else f"U{o:08X}")
            out.append("\\" + esc)
            col += 1 + len(esc)
            spaces = False
        elif ch == " ":
            if breaks and not spaces and col > _BEST_WIDTH and 0 < i < n - 1:
                out.append("\n" + " " * indent)
                col = indent
                if i + 1 < n and text[i + 1] == " ":
                    out.append("\\")
                    col += 1
            else:
                out.append(ch)
                col += 1
            spaces = True
        else:
            out.append(ch)
            col += 1
            spaces = False
    out.append('"')
    return "".join(out)


def _literal(text: str, indent: int) -> str:
    header = "|"
    if text[:1] in (" ", "\n"):
        header += "2"
    if not text.endswith("\n"):
        header += "-"
    elif text == "\n" or text.endswith("\n\n"):
        header += "+"
    body = text[:-1] if text.endswith("\n") else text
    pad = " " * indent
    lines = [(pad + line) if line else "" for line in body.split("\n")]
    return header + "\n" + "\n".join(lines)


def _key_compare(a: str, b: str) -> int:
    """go-yaml v2's ``keyList.Less``: letters by code point, digit runs by value, other marks first."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return -1 if ca < cb else 1
        if al or bl:
            return -1 if bl else 1
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdigit():
            an = an * 10 + int(a[ai])
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdigit():
            bn = bn * 10 + int(b[bi])
            bi += 1
        if an != bn:
            return -1 if an < bn else 1
        if ai != bi:
            return -1 if ai < bi else 1
        return -1 if ca < cb else 1
    return (len(a) > len(b)) - (len(a) < len(b))


_key_order = functools.cmp_to_key(lambda a, b: _key_compare(str(a), str(b)))
