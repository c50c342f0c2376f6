r"""kubectl's JSONPath templates: ``-o jsonpath=…`` and ``-o custom-columns=…``.

The same dialect as ``k8s.io/client-go/util/jsonpath``: text outside braces is
printed as it is; inside braces, ``.field``, ``['key']``, ``[n]``, ``[start:end]``,
``[*]``, ``..field`` (recursive descent), ``[?(@.type=="Ready")]`` filters,
``{range …}…{end}`` loops and ``{"\n"}`` string literals. One action that finds
several values prints them separated by a space; maps and lists print as compact
JSON. kubectl allows missing keys when it prints (``AllowMissingKeys``), so a
field that is absent prints nothing.

Example
-------
>>> pod = {"metadata": {"name": "web"}, "status": {"conditions": [
...     {"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}]}}
>>> render("{.metadata.name}", pod)
'web'
>>> render('{.status.conditions[?(@.type=="Ready")].status}', pod)
'False'
>>> render('{range .status.conditions[*]}{.type}={.status}{"\\n"}{end}', pod)
'PodScheduled=True\nReady=False\n'
"""

from __future__ import annotations

import json
import re

from k8slab.kubectl.command import KubectlError


class JSONPathError(ValueError):
    """A template that does not parse (kubectl: ``error parsing jsonpath …``)."""


# -- parsing ---------------------------------------------------------------------------------

def _split(template: str) -> list[tuple[str, str]]:
    """The template as ("text", …) and ("action", …) pieces."""
    pieces: list[tuple[str, str]] = []
    i = 0
    while i < len(template):
        start = template.find("{", i)
        if start < 0:
            pieces.append(("text", template[i:]))
            break
        if start > i:
            pieces.append(("text", template[i:start]))
        depth, j, quote = 0, start, ""
        while j < len(template):
            ch = template[j]
            if quote:
                if ch == "\\":
                    j += 1
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(template):
            raise JSONPathError(f"error parsing jsonpath {template}, unclosed action")
        pieces.append(("action", template[start + 1:j].strip()))
        i = j + 1
    return pieces


_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$')
_SINGLE = re.compile(r"^'((?:[^'\\]|\\.)*)'$")


def _unquote(text: str) -> str:
    return json.loads(f'"{text}"', strict=False)


class _Node:
    """One parsed action: a literal string, or a path of steps."""

    def __init__(self, literal: str | None = None, steps: list | None = None):
        self.literal = literal
        self.steps = steps or []


_FILTER = re.compile(r"^\?\((.*)\)$", re.S)
_COMPARE = re.compile(r"^(.+?)\s*(==|!=|<=|>=|<|>)\s*(.+)$", re.S)


def _parse_path(text: str, template: str) -> list:
    """Steps of a path like ``.items[*].metadata.name`` or ``..name``."""
    steps: list = []
    i = 0
    if text.startswith("$"):
        i = 1
    elif text.startswith("@"):
        i = 1
    while i < len(text):
        ch = text[i]
        if text.startswith("..", i):
            m = re.match(r"[A-Za-z0-9_\-/\\.]*?(?=[.\[]|$)", text[i + 2:])
            name = m.group(0) if m else ""
            steps.append(("recursive", name))
            i += 2 + len(name)
        elif ch == ".":
            j = i + 1
            name = ""
            while j < len(text) and text[j] not in ".[":
                if text[j] == "\\" and j + 1 < len(text):  # an escaped dot belongs to the key
                    name += text[j + 1]
                    j += 2
                    continue
                name += text[j]
                j += 1
            if name:
                steps.append(("field", name))
            i = j
        elif ch == "[":
            depth, j = 0, i
            while j < len(text):
                if text[j] == "[":
                    depth += 1
                elif text[j] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(text):
                raise JSONPathError(f"error parsing jsonpath {template}, unterminated array")
            steps.append(_bracket(text[i + 1:j].strip(), template))
            i = j + 1
        else:
            raise JSONPathError(f"error parsing jsonpath {template}, unrecognized character in action: {ch}")
    return steps


def _bracket(inner: str, template: str):
    if inner == "*":
        return ("all",)
    m = _FILTER.match(inner)
    if m:
        cond = m.group(1).strip()
        cm = _COMPARE.match(cond)
        if cm:
            return ("filter", _operand(cm.group(1).strip(), template), cm.group(2), _operand(cm.group(3).strip(), template))
        return ("filter", _operand(cond, template), "exists", None)
    if inner[:1] in "'\"":
        keys = [k.strip()[1:-1] for k in inner.split(",")]
        return ("keys", keys)
    if ":" in inner:
        parts = inner.split(":")
        try:
            nums = [int(p) if p.strip() else None for p in parts]
        except ValueError:
            raise JSONPathError(f"error parsing jsonpath {template}, invalid array index {inner}") from None
        return ("slice", *(nums + [None] * (3 - len(nums))))
    try:
        return ("index", int(inner))
    except ValueError:
        raise JSONPathError(f"error parsing jsonpath {template}, invalid array index {inner}") from None


def _operand(text: str, template: str):
    if text.startswith("@") or text.startswith("$"):
        return ("path", _parse_path(text, template))
    m = _STRING.match(text) or re.match(r"^'((?:[^'\\]|\\.)*)'$", text)
    if m:
        return ("value", m.group(1))
    try:
        return ("value", json.loads(text))
    except ValueError:
        raise JSONPathError(f"error parsing jsonpath {template}, unrecognized filter operand {text}") from None


# -- evaluation ----------------------------------------------------------------------------------

def _walk(values: list, steps: list) -> list:
    for step in steps:
        found = []
        for v in values:
            found.extend(_apply(v, step))
        values = found
    return values


def _apply(value, step) -> list:
    kind = step[0]
    if kind == "field":
        if isinstance(value, dict) and step[1] in value:
            return [value[step[1]]]
        return []
    if kind == "keys":
        return [value[k] for k in step[1] if isinstance(value, dict) and k in value]
    if kind == "all":
        if isinstance(value, list):
            return list(value)
        if isinstance(value, dict):
            return [value[k] for k in sorted(value)]
        return []
    if kind == "index":
        if isinstance(value, list) and -len(value) <= step[1] < len(value):
            return [value[step[1]]]
        return []
    if kind == "slice":
        return list(value[step[1]:step[2]:step[3]]) if isinstance(value, list) else []
    if kind == "recursive":
        return _recursive(value, step[1])
    if kind == "filter":
        items = value if isinstance(value, list) else [value]
        return [item for item in items if _matches(item, step)]
    raise AssertionError(kind)


def _recursive(value, name: str) -> list:
    found = []
    if isinstance(value, dict):
        if name and name in value:
            found.append(value[name])
        for k in sorted(value) if not name else value:
            found.extend(_recursive(value[k], name))
    elif isinstance(value, list):
        for item in value:
            found.extend(_recursive(item, name))
    return found


def _value_of(item, operand):
    if operand[0] == "value":
        return [operand[1]]
    return _walk([item], operand[1])


def _matches(item, step) -> bool:
    _, left, op, right = step
    lv = _value_of(item, left)
    if op == "exists":
        return bool(lv)
    rv = _value_of(item, right)
    if not lv or not rv:
        return False
    a, b = lv[0], rv[0]
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    try:
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    except TypeError:
        return False


def format_value(value) -> str:
    """One value as kubectl prints it: strings raw, numbers and booleans as JSON, maps and lists as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _compile(template: str) -> list:
    """Pieces with ranges nested: ("text", s) | ("node", _Node) | ("range", steps, body)."""
    stack: list[list] = [[]]
    ranges: list[list] = []
    for kind, text in _split(template):
        if kind == "text":
            stack[-1].append(("text", text))
            continue
        if text == "end":
            if not ranges:
                raise JSONPathError(f"error parsing jsonpath {template}, not in range, nothing to end")
            body = stack.pop()
            steps = ranges.pop()
            stack[-1].append(("range", steps, body))
            continue
        if text.startswith("range "):
            ranges.append(_parse_path(text[6:].strip(), template))
            stack.append([])
            continue
        m = _STRING.match(text) or _SINGLE.match(text)
        if m:
            stack[-1].append(("text", _unquote(m.group(1))))
            continue
        if text and text[0] not in ".@$[":
            raise JSONPathError(f"error parsing jsonpath {template}, unrecognized identifier {text}")
        stack[-1].append(("node", _parse_path(text, template)))
    if ranges:
        raise JSONPathError(f"error parsing jsonpath {template}, unclosed range")
    return stack[0]


def _execute(pieces: list, data, out: list[str]) -> None:
    for piece in pieces:
        if piece[0] == "text":
            out.append(piece[1])
        elif piece[0] == "node":
            out.append(" ".join(format_value(v) for v in _walk([data], piece[1])))
        else:
            for item in _walk([data], piece[1]):
                _execute(piece[2], item, out)


def render(template: str, data) -> str:
    """The template's text for ``data`` (an object, or a List with ``items``)."""
    out: list[str] = []
    _execute(_compile(template), data, out)
    return "".join(out)


# -- kubectl's printers ---------------------------------------------------------------------------

def jsonpath_output(template: str, data) -> str:
    """``-o jsonpath=TEMPLATE``: errors become kubectl's own messages."""
    try:
        return render(template, data)
    except JSONPathError as e:
        raise KubectlError(str(e)) from None


def relaxed(path: str) -> str:
    """kubectl's ``RelaxedJSONPathExpression``: ``metadata.name`` and ``.metadata.name`` mean ``{.metadata.name}``."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        return path
    if not path.startswith("."):
        path = "." + path
    return "{" + path + "}"


def custom_columns(spec: str, objects: list[dict], *, no_headers: bool = False) -> list[list[str]]:
    """The rows of ``-o custom-columns=NAME:.path,…`` (header first unless ``no_headers``)."""
    columns = []
    for part in spec.split(","):
        if ":" not in part:
            raise KubectlError(f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>")
        header, path = part.split(":", 1)
        try:
            columns.append((header, _compile(relaxed(path))))
        except JSONPathError as e:
            raise KubectlError(str(e)) from None
    rows = [] if no_headers else [[h for h, _ in columns]]
    for obj in objects:
        row = []
        for _, pieces in columns:
            values = []
            for piece in pieces:
                if piece[0] == "node":
                    values.extend(_walk([obj], piece[1]))
            row.append(",".join(format_value(v) for v in values) if values else "<none>")
        rows.append(row)
    return rows
