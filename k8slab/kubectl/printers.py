"""How ``kubectl get`` prints what it fetched: tables, names, YAML and JSON.

A table takes the server's columns for the kind (:mod:`k8slab.kubectl.columns`),
drops the wide-only ones unless ``-o wide``, and decorates them as kubectl does:
a NAMESPACE column first with ``-A``, ``kind/`` before names when several kinds
are printed together (``pod/web-x``, ``deployment.apps/web``), label columns
(``-L``) and LABELS (``--show-labels``) last. Headers are upper case and the
columns are aligned by the tabwriter (3 spaces between columns).

Example
-------
>>> from datetime import datetime, timezone
>>> from k8slab.api.kinds import resolve
>>> ns = lambda n: {"metadata": {"name": n, "creationTimestamp": "2025-01-01T00:00:00Z"}, "status": {"phase": "Active"}}
>>> now = datetime(2025, 1, 1, 0, 0, 35, tzinfo=timezone.utc)
>>> print(table_text(resolve("ns"), [ns("default"), ns("kube-system")], now, PrintOptions()), end="")
NAME          STATUS   AGE
default       Active   35s
kube-system   Active   35s
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from k8slab.kubectl.columns import table_for
from k8slab.kubectl.encoding import to_json, to_yaml
from k8slab.kubectl.selectors import format_labels
from k8slab.kubectl.tabwriter import table

OUTPUT_FORMATS = ("wide", "name", "yaml", "json")


@dataclass
class PrintOptions:
    output: str = ""  # "", wide, name, yaml, json
    all_namespaces: bool = False
    with_kind: bool = False
    show_labels: bool = False
    no_headers: bool = False
    label_columns: list[str] = field(default_factory=list)
    sort_by: str | None = None


def object_name(kind, obj: dict) -> str:
    """``-o name``: ``pod/web-x``, ``deployment.apps/web``."""
    return f"{kind.resource_ref}/{(obj.get('metadata') or {}).get('name', '')}"


def table_rows(kind, objects: list[dict], now: datetime, opts: PrintOptions, tdef=None) -> list[list[str]]:
    """Header and rows of the table for ``objects`` (all of one kind); ``tdef`` overrides the kind's columns."""
    tdef = tdef or table_for(kind.group, kind.kind)
    wide = opts.output == "wide"
    shown = [i for i, c in enumerate(tdef.columns) if wide or c.priority == 0]
    header = [tdef.columns[i].name for i in shown]
    with_ns = opts.all_namespaces and kind.namespaced
    if with_ns:
        header = ["NAMESPACE", *header]
    header += [key.split("/")[-1].upper() for key in opts.label_columns]
    if opts.show_labels:
        header.append("LABELS")
    rows = [] if opts.no_headers else [header]
    row_of = tdef.wide_row if wide and tdef.wide_row is not None else tdef.row
    for obj in objects:
        cells = row_of(obj, now)
        meta = obj.get("metadata") or {}
        row = []
        for i in shown:
            cell = cells[i]
            if opts.with_kind and tdef.columns[i].is_name:
                cell = f"{kind.resource_ref}/{cell}"
            row.append(cell)
        if with_ns:
            row.insert(0, meta.get("namespace", ""))
        labels = meta.get("labels") or {}
        row += [labels.get(key, "") for key in opts.label_columns]
        if opts.show_labels:
            row.append(format_labels(labels))
        rows.append(row)
    return rows


def table_text(kind, objects: list[dict], now: datetime, opts: PrintOptions, tdef=None) -> str:
    """The aligned table, or ``""`` when there is nothing to print (kubectl prints no lone header)."""
    if not objects:
        return ""
    return table(table_rows(kind, objects, now, opts, tdef))


def for_output(obj: dict, kind=None) -> dict:
    """The object as ``-o yaml|json`` shows it: typed, without ``managedFields``."""
    out = dict(obj)
    if kind is not None:
        out.setdefault("apiVersion", kind.api_version)
        out.setdefault("kind", kind.kind)
    meta = out.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return out


def as_list(objects: list[dict]) -> dict:
    """Several objects, as kubectl wraps them for ``-o yaml|json``."""
    return {"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {"resourceVersion": ""}}


def encode(obj: dict, output: str) -> str:
    return to_yaml(obj) if output == "yaml" else to_json(obj)


# -- --sort-by -----------------------------------------------------------------------------

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _lookup(obj, path: str):
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    value = obj
    for name, index in _PATH_PART.findall(path.lstrip(".")):
        if name:
            value = value.get(name) if isinstance(value, dict) else None
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        if value is None:
            return None
    return value


def _sort_value(value):
    from k8slab.kubectl.quantity import Quantity

    if isinstance(value, bool):
        return (1, int(value), "")
    if isinstance(value, (int, float)):
        return (1, value, "")
    if isinstance(value, str):
        try:
            return (1, float(Quantity.parse(value).amount), "")
        except ValueError:
            return (2, 0, value)
    return (0, 0, "")


def sort_objects(objects: list[dict], path: str) -> list[dict]:
    """``--sort-by=.metadata.creationTimestamp``: a stable sort on one field (missing values first)."""
    return sorted(objects, key=lambda o: _sort_value(_lookup(o, path)))
