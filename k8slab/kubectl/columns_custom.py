"""The columns of ``kubectl get`` for custom resources: a CRD's ``additionalPrinterColumns``.

For a custom resource the API server builds the table from its
CustomResourceDefinition (``apiextensions-apiserver/pkg/registry/customresource/
tableconvertor``): a NAME column, then one column per entry of the served
version's ``additionalPrinterColumns`` (each a JSONPath into the object, with a
type and a priority: 1 shows only with ``-o wide``). A CRD without any gets a
single ``Age`` column (:func:`k8slab.apiserver.crd.printer_columns` reads them, as the
API server does). Values print by type: ``date`` as an age (``5m``),
``integer``, ``number`` and ``boolean`` as Go prints them, ``string`` as the
JSONPath prints the value; a path that finds nothing leaves the cell empty.

k8slab simplifies: JSONPath is the subset printer columns use (fields, ``[n]``,
``[*]`` and ``[?(@.field=="value")]`` filters).

Example
-------
>>> obj = {"spec": {"replicas": 3}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
>>> jsonpath(obj, '.status.conditions[?(@.type=="Ready")].status'), jsonpath(obj, ".spec.replicas")
(['True'], [3])
"""

from __future__ import annotations

import re
from datetime import datetime

from k8slab.apiserver.crd import printer_columns
from k8slab.kubectl.cells import name
from k8slab.kubectl.columns import Column, TableDef
from k8slab.kubectl.duration import age

_FILTER = re.compile(r"""^\?\(@\.([\w.\-/]+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|([\w.\-]+))\)$""")


def _segments(path: str) -> list[str]:
    """``.a.b[0].c[?(@.x=="y")]`` -> ``["a", "b", "[0]", "c", "[?(@.x==\\"y\\")]"]``."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    out, buf, depth = [], "", 0
    for ch in path:
        if ch == "[" and depth == 0:
            if buf:
                out.append(buf)
            buf, depth = "[", 1
            continue
        if depth:
            buf += ch
            depth += ch == "["
            depth -= ch == "]"
            if depth == 0:
                out.append(buf)
                buf = ""
            continue
        if ch == ".":
            if buf:
                out.append(buf)
            buf = ""
            continue
        buf += ch
    if buf:
        out.append(buf)
    return out


def _field(value, dotted: str):
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def jsonpath(obj, path: str) -> list:
    """The values ``path`` finds in ``obj``, in document order."""
    current = [obj]
    for seg in _segments(path):
        found = []
        if seg.startswith("["):
            inner = seg[1:-1].strip()
            for value in current:
                if not isinstance(value, list):
                    continue
                if inner == "*":
                    found.extend(value)
                elif inner.lstrip("-").isdigit():
                    i = int(inner)
                    if -len(value) <= i < len(value):
                        found.append(value[i])
                else:
                    m = _FILTER.match(inner)
                    if m is None:
                        continue
                    key, op, *literals = m.groups()
                    wanted = next((x for x in literals if x is not None), "")
                    for item in value:
                        got = _field(item, key)
                        text = got if isinstance(got, str) else _go_value(got)
                        if (text == wanted) == (op == "=="):
                            found.append(item)
        else:
            for value in current:
                if isinstance(value, dict) and seg in value:
                    found.append(value[seg])
                elif seg == "*" and isinstance(value, dict):
                    found.extend(value.values())
        current = found
    return current


def _go_value(value) -> str:
    """How Go's ``fmt.Fprint`` writes a decoded JSON value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    return str(value)


def _cell(column: dict, obj: dict, now: datetime) -> str:
    found = jsonpath(obj, column.get("jsonPath", ""))
    if not found or found[0] is None:
        return ""
    value = found[0]
    kind = column.get("type", "string")
    if kind == "string":
        return value if isinstance(value, str) else _go_value(value)
    if kind == "integer":
        return str(int(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    if kind == "number":
        return _go_value(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    if kind == "boolean":
        return _go_value(value) if isinstance(value, bool) else ""
    if kind == "date":
        if not isinstance(value, str):
            return ""
        try:
            return age(value, now)
        except ValueError:
            return "<invalid>"
    return ""


def custom_resource_table(crd: dict | None, version: str) -> TableDef:
    """The table the API server serves for a custom resource of ``crd`` at ``version``."""
    columns = printer_columns(crd, version)
    header = (Column("NAME", 0, True), *(Column(c.get("name", "").upper(), int(c.get("priority") or 0))
                                          for c in columns))

    def row(obj: dict, now: datetime) -> list[str]:
        return [name(obj), *(_cell(c, obj, now) for c in columns)]

    return TableDef(header, row)
