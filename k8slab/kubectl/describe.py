"""``kubectl describe``: the long, human-oriented view of one object and its events.

Each describer writes ``Key:\\tvalue`` lines at indentation levels of two spaces,
and the whole text goes through Go's tabwriter (minwidth 0, padding 2), so keys
of consecutive lines line up, exactly as ``k8s.io/kubectl/pkg/describe`` does.
Kinds without a describer of their own get the generic one, which walks the
object's fields.

The per-kind describers live beside this module: :mod:`describe_pod`,
:mod:`describe_node`, :mod:`describe_workloads`, :mod:`describe_batch`,
:mod:`describe_network`, :mod:`describe_config`, :mod:`describe_storage`,
:mod:`describe_rbac`.

Example
-------
>>> from datetime import datetime, timezone
>>> ns = {"apiVersion": "v1", "kind": "Namespace",
...       "metadata": {"name": "default", "labels": {"kubernetes.io/metadata.name": "default"}},
...       "status": {"phase": "Active"}}
>>> print(describe_namespace(ns, Context(None, datetime(2025, 1, 1, tzinfo=timezone.utc))), end="")
Name:         default
Labels:       kubernetes.io/metadata.name=default
Annotations:  <none>
Status:       Active
<BLANKLINE>
No resource quota.
<BLANKLINE>
No LimitRange resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from k8slab.api.errors import ApiError
from k8slab.kubectl.duration import human_duration, parse_time, rfc1123z
from k8slab.kubectl.tabwriter import DESCRIBE_MINWIDTH, DESCRIBE_PADDING, tabwrite

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_MAX_ANNOTATION = 140


@dataclass
class Context:
    """What a describer may use: the API client (``None`` in pure tests) and the current time."""

    client: object
    now: datetime
    show_events: bool = True

    def since(self, timestamp) -> str:
        t = parse_time(timestamp) if timestamp else None
        if t is None:
            return "<unknown>"
        return human_duration((self.now - t).total_seconds())

    def list(self, resource: str, namespace: str | None, **selectors) -> list[dict]:
        if self.client is None:
            return []
        try:
            return list(self.client.list(resource, namespace, **selectors).get("items") or [])
        except ApiError:
            return []

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict | None:
        if self.client is None:
            return None
        try:
            return self.client.get(resource, name, namespace)
        except ApiError:
            return None


class Writer:
    """``PrefixWriter``: text at indentation levels of two spaces, aligned at the end."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, level: int, text: str) -> None:
        self.parts.append("  " * level + text)

    def text(self) -> str:
        return tabwrite("".join(self.parts), DESCRIBE_MINWIDTH, DESCRIBE_PADDING)


def labels_multiline(w: Writer, title: str, labels: dict | None, initial_indent: str = "") -> None:
    w.write(0, f"{initial_indent}{title}:\t")
    if not labels:
        w.write(0, "<none>\n")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.write(0, initial_indent + "\t")
        w.write(0, f"{key}={labels[key]}\n")


def annotations_multiline(w: Writer, title: str, annotations: dict | None) -> None:
    w.write(0, f"{title}:\t")
    keys = sorted(k for k in (annotations or {}) if k != LAST_APPLIED)
    if not keys:
        w.write(0, "<none>\n")
        return
    for i, key in enumerate(keys):
        if i:
            w.write(0, "\t")
        value = str(annotations[key])
        if value.endswith("\n"):
            value = value[:-1]
        if len(value) + len(key) + 2 > _MAX_ANNOTATION or "\n" in value:
            w.write(0, f"{key}:\n")
            for line in value.split("\n"):
                short = line[: _MAX_ANNOTATION - 2] + "..." if len(line) > _MAX_ANNOTATION - 2 else line
                w.write(0, f"\t  {short}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def controlled_by(obj: dict) -> str:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind', '')}/{ref.get('name', '')}"
    return ""


def write_object_meta(w: Writer, meta: dict, *, namespace: bool = True) -> None:
    """The ``Name:``, ``Namespace:`` (unless left out), ``Labels:`` and ``Annotations:`` lines
    most descriptions begin with."""
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    if namespace:
        w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))


def write_controlled_by(w: Writer, obj: dict) -> None:
    """``Controlled By:  ReplicaSet/web-5d4f8`` when the object has a controller."""
    owner = controlled_by(obj)
    if owner:
        w.write(0, f"Controlled By:\t{owner}\n")


def go_bool(value) -> str:
    """A Go ``bool`` as ``%v`` prints it."""
    return "true" if value else "false"


# -- events ---------------------------------------------------------------------------


def _event_time(ev: dict):
    series = ev.get("series")
    if series and series.get("lastObservedTime"):
        return parse_time(series["lastObservedTime"])
    return parse_time(ev.get("lastTimestamp")) or parse_time(ev.get("eventTime"))


def search_events(ctx: Context, obj: dict, with_kind: bool = True, uids: tuple[str, ...] | None = None) -> list[dict]:
    """The events whose ``involvedObject`` is ``obj`` (kubectl's ``searchEvents`` field selector)."""
    meta = obj.get("metadata") or {}
    name, namespace = meta.get("name"), meta.get("namespace") or ""
    kind = obj.get("kind") if with_kind else None
    wanted_uids = uids if uids is not None else ((meta["uid"],) if meta.get("uid") else ())
    found = []
    for ev in ctx.list("events", namespace or None):
        inv = ev.get("involvedObject") or {}
        if inv.get("name") != name or (inv.get("namespace") or "") != namespace:
            continue
        if kind and inv.get("kind") and inv.get("kind") != kind:
            continue
        # An event recorded without a uid still belongs to the object it names.
        if wanted_uids and inv.get("uid") and inv.get("uid") not in wanted_uids:
            continue
        found.append(ev)
    return found


def with_events(w: Writer, ctx: Context, obj: dict, **search) -> str:
    """The description's text, ending with ``obj``'s events unless they are turned off.

    ``search`` goes to :func:`search_events` (``with_kind``, ``uids``).
    """
    if ctx.show_events:
        describe_events(w, ctx, search_events(ctx, obj, **search))
    return w.text()


def timed_conditions(w: Writer, conditions: list[dict], time_title: str, time_key: str) -> None:
    """The ``Conditions:`` table of a node (``LastHeartbeatTime``) or a claim (``LastProbeTime``)."""
    w.write(0, f"Conditions:\n  Type\tStatus\t{time_title}\tLastTransitionTime\tReason\tMessage\n")
    w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
    for c in conditions:
        w.write(1, f"{c.get('type', '')} \t{c.get('status', '')} \t{rfc1123z(parse_time(c.get(time_key)))} \t"
                   f"{rfc1123z(parse_time(c.get('lastTransitionTime')))} \t{c.get('reason', '')} \t{c.get('message', '')}\n")


def describe_events(w: Writer, ctx: Context, events: list[dict]) -> None:
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    events = sorted(events, key=lambda e: (_event_time(e) is not None, _event_time(e) or ctx.now))
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")
    for e in events:
        first = ctx.since(e["eventTime"]) if e.get("eventTime") else ctx.since(e.get("firstTimestamp"))
        series = e.get("series")
        count = int(e.get("count") or 0)
        if series:
            interval = f"{ctx.since(series.get('lastObservedTime'))} (x{series.get('count', 0)} over {first})"
        elif count > 1:
            interval = f"{ctx.since(e.get('lastTimestamp'))} (x{count} over {first})"
        else:
            interval = first
        source = (e.get("source") or {}).get("component") or e.get("reportingComponent") or e.get("reportingController") or ""
        w.write(1, f"{e.get('type', '')}\t{e.get('reason', '')}\t{interval}\t{source}\t{(e.get('message') or '').strip()}\n")


# -- namespace, generic ----------------------------------------------------------


def describe_namespace(ns: dict, ctx: Context) -> str:
    w = Writer()
    meta = ns.get("metadata") or {}
    write_object_meta(w, meta, namespace=False)
    w.write(0, f"Status:\t{(ns.get('status') or {}).get('phase', '')}\n")
    name = meta.get("name")
    quotas = sorted(ctx.list("resourcequotas", name), key=lambda q: q["metadata"]["name"])
    limits = ctx.list("limitranges", name)
    w.write(0, "\n")
    if not quotas:
        w.write(0, "No resource quota.\n")
    else:
        w.write(0, "Resource Quotas\n")
        for q in quotas:
            w.write(1, f"Name:\t{q['metadata']['name']}\n")
            w.write(1, "Resource\tUsed\tHard\n")
            w.write(1, "--------\t---\t---\n")
            st = q.get("status") or {}
            for r in sorted(st.get("hard") or {}):
                w.write(1, f"{r}\t{(st.get('used') or {}).get(r, '0')}\t{st['hard'][r]}\n")
    w.write(0, "\n")
    if not limits:
        w.write(0, "No LimitRange resource.\n")
    else:
        w.write(0, "Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n")
        w.write(0, " ----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n")
        for lr in limits:
            for item in (lr.get("spec") or {}).get("limits") or []:
                names = sorted(set().union(*(item.get(f) or {} for f in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"))))
                for r in names:
                    cells = [str((item.get(f) or {}).get(r, "-")) for f in ("min", "max", "defaultRequest", "default", "maxLimitRequestRatio")]
                    w.write(0, f" {item.get('type', '')}\t{r}\t" + "\t".join(cells) + "\n")
    return w.text()


def _smart_label(field: str) -> str:
    if any(not (ch.isalpha() or ch == "-") for ch in field):
        return field
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[^A-Za-z]+", field)
    out = []
    for part in parts:
        if part.upper() in ("API", "URL", "UID", "OSB", "GUID"):
            out.append(part.upper())
        else:
            out.append(part[:1].upper() + part[1:])
    return " ".join(out)


def _unstructured(w: Writer, level: int, content: dict, prefix: str, skip: set[str]) -> None:
    for field in sorted(content):
        value = content[field]
        path = f"{prefix}.{field}"
        if path in skip:
            continue
        if isinstance(value, dict):
            w.write(level, f"{_smart_label(field)}:\n")
            _unstructured(w, level + 1, value, path, skip)
        elif isinstance(value, list):
            w.write(level, f"{_smart_label(field)}:\n")
            for child in value:
                if isinstance(child, dict):
                    _unstructured(w, level + 1, child, path, skip)
                else:
                    w.write(level + 1, f"{_go_value(child)}\n")
        else:
            w.write(level, f"{_smart_label(field)}:\t{_go_value(value)}\n")


def _go_value(v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "<nil>"
    return str(v)


def describe_generic(obj: dict, ctx: Context) -> str:
    w = Writer()
    meta = obj.get("metadata") or {}
    write_object_meta(w, meta)
    skip = {".metadata.managedFields", ".metadata.name", ".metadata.namespace", ".metadata.labels", ".metadata.annotations"}
    _unstructured(w, 0, obj, "", skip)
    return with_events(w, ctx, obj)


def describe(obj: dict, ctx: Context) -> str:
    """The ``kubectl describe`` text of one object, chosen by its kind."""
    from k8slab.kubectl import (
        describe_batch,
        describe_config,
        describe_network,
        describe_node,
        describe_pod,
        describe_rbac,
        describe_storage,
        describe_workloads,
    )

    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    rbac = "rbac.authorization.k8s.io"
    describers = {
        ("", "Pod"): describe_pod.describe_pod,
        ("", "Node"): describe_node.describe_node,
        ("", "Namespace"): describe_namespace,
        ("", "Service"): describe_network.describe_service,
        ("", "Endpoints"): describe_network.describe_endpoints,
        ("", "ConfigMap"): describe_config.describe_configmap,
        ("", "Secret"): describe_config.describe_secret,
        ("", "ServiceAccount"): describe_config.describe_serviceaccount,
        ("", "PersistentVolume"): describe_storage.describe_persistentvolume,
        ("", "PersistentVolumeClaim"): describe_storage.describe_persistentvolumeclaim,
        ("discovery.k8s.io", "EndpointSlice"): describe_network.describe_endpointslice,
        ("networking.k8s.io", "Ingress"): describe_network.describe_ingress,
        ("networking.k8s.io", "IngressClass"): describe_network.describe_ingress_class,
        ("apps", "Deployment"): describe_workloads.describe_deployment,
        ("apps", "ReplicaSet"): describe_workloads.describe_replicaset,
        ("apps", "StatefulSet"): describe_workloads.describe_statefulset,
        ("apps", "DaemonSet"): describe_workloads.describe_daemonset,
        ("batch", "Job"): describe_batch.describe_job,
        ("batch", "CronJob"): describe_batch.describe_cronjob,
        ("storage.k8s.io", "StorageClass"): describe_storage.describe_storageclass,
        ("scheduling.k8s.io", "PriorityClass"): describe_config.describe_priorityclass,
        ("", "ResourceQuota"): describe_config.describe_resourcequota,
        ("", "LimitRange"): describe_config.describe_limitrange,
        (rbac, "Role"): describe_rbac.describe_role,
        (rbac, "ClusterRole"): describe_rbac.describe_role,
        (rbac, "RoleBinding"): describe_rbac.describe_role_binding,
        (rbac, "ClusterRoleBinding"): describe_rbac.describe_role_binding,
    }
    fn = describers.get((group, kind), describe_generic)
    return fn(obj, ctx)
