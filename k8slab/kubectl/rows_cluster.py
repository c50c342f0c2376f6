"""Rows of the cluster tables: Nodes, Namespaces, Events, Leases, storage, RBAC, quotas."""

from __future__ import annotations

from datetime import datetime

from k8slab.kubectl.cells import age_of, meta, name
from k8slab.kubectl.duration import age
from k8slab.kubectl.quantity import Quantity


def node_roles(node: dict) -> list[str]:
    roles = set()
    for k, v in (meta(node).get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/"):
            role = k[len("node-role.kubernetes.io/"):]
            if role:
                roles.add(role)
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return sorted(roles)


def _node_address(node: dict, kind: str) -> str:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == kind:
            return a.get("address", "")
    return "<none>"


def node_row(obj: dict, now: datetime) -> list[str]:
    status = obj.get("status") or {}
    states = []
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            states = ["Ready" if c.get("status") == "True" else "NotReady"]
    if not states:
        states = ["Unknown"]
    if (obj.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    return [
        name(obj),
        ",".join(states),
        ",".join(node_roles(obj)) or "<none>",
        age_of(obj, now),
        info.get("kubeletVersion", ""),
        _node_address(obj, "InternalIP"),
        _node_address(obj, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def namespace_row(obj: dict, now: datetime) -> list[str]:
    return [name(obj), (obj.get("status") or {}).get("phase", ""), age_of(obj, now)]


def event_object(ev: dict) -> str:
    inv = ev.get("involvedObject") or ev.get("regarding") or {}
    kind = (inv.get("kind") or "").lower()
    return f"{kind}/{inv['name']}" if inv.get("name") else kind


def event_row(obj: dict, now: datetime) -> list[str]:
    first = obj.get("firstTimestamp") or obj.get("eventTime")
    first_seen = age(first, now)
    last_seen = age(obj["lastTimestamp"], now) if obj.get("lastTimestamp") else first_seen
    count = obj.get("count") or 0
    series = obj.get("series")
    if series:
        last_seen = age(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or obj.get("reportingController") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return [
        last_seen,
        obj.get("type", ""),
        obj.get("reason", ""),
        event_object(obj),
        ((obj.get("involvedObject") or {}).get("fieldPath") or ""),
        f"{component}, {instance}" if instance else component,
        (obj.get("message") or obj.get("note") or "").strip(),
        first_seen,
        str(count),
        name(obj),
    ]


def lease_row(obj: dict, now: datetime) -> list[str]:
    return [name(obj), (obj.get("spec") or {}).get("holderIdentity") or "", age_of(obj, now)]


def storage_quantity(value) -> str:
    """``Quantity.String()`` of a storage size: canonical (``1024Mi`` is ``1Gi``), ``0`` when unset."""
    if value is None or value == "":
        return "0"
    try:
        return str(Quantity.parse(value))
    except ValueError:
        return str(value)


def storage_class(obj: dict) -> str:
    """``GetPersistentVolume(Claim)Class``: the old beta annotation wins over ``spec.storageClassName``."""
    ann = (meta(obj).get("annotations") or {}).get("volume.beta.kubernetes.io/storage-class")
    if ann is not None:
        return ann
    return (obj.get("spec") or {}).get("storageClassName") or ""


def pv_row(obj: dict, now: datetime) -> list[str]:
    spec = obj.get("spec") or {}
    claim = spec.get("claimRef")
    phase = (obj.get("status") or {}).get("phase", "")
    if meta(obj).get("deletionTimestamp"):
        phase = "Terminating"
    return [
        name(obj),
        storage_quantity((spec.get("capacity") or {}).get("storage")),
        access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy", ""),
        phase,
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        storage_class(obj),
        spec.get("volumeAttributesClassName") or "<unset>",
        (obj.get("status") or {}).get("reason", ""),
        age_of(obj, now),
        spec.get("volumeMode") or "<unset>",
    ]


def pvc_row(obj: dict, now: datetime) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = status.get("phase", "")
    if meta(obj).get("deletionTimestamp"):
        phase = "Terminating"
    bound = bool(spec.get("volumeName"))
    return [
        name(obj),
        phase,
        spec.get("volumeName", ""),
        storage_quantity((status.get("capacity") or {}).get("storage")) if bound else "",
        access_modes(status.get("accessModes")) if bound else "",
        storage_class(obj),
        spec.get("volumeAttributesClassName") or "<unset>",
        age_of(obj, now),
        spec.get("volumeMode") or "<unset>",
    ]


def access_modes(modes) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    seen = []
    for m in ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"):
        if m in (modes or []):
            seen.append(short[m])
    return ",".join(seen)


def storageclass_row(obj: dict, now: datetime) -> list[str]:
    ann = meta(obj).get("annotations") or {}
    default = "true" in (ann.get("storageclass.kubernetes.io/is-default-class"), ann.get("storageclass.beta.kubernetes.io/is-default-class"))
    return [
        name(obj) + (" (default)" if default else ""),
        obj.get("provisioner", ""),
        obj.get("reclaimPolicy") or "Delete",
        obj.get("volumeBindingMode") or "Immediate",
        "true" if obj.get("allowVolumeExpansion") else "false",
        age_of(obj, now),
    ]


def role_binding_row(obj: dict, now: datetime) -> list[str]:
    ref = obj.get("roleRef") or {}
    users, groups, sas = [], [], []
    for s in obj.get("subjects") or []:
        if s.get("kind") == "User":
            users.append(s.get("name", ""))
        elif s.get("kind") == "Group":
            groups.append(s.get("name", ""))
        elif s.get("kind") == "ServiceAccount":
            sas.append(f"{s.get('namespace', '')}/{s.get('name', '')}")
    return [name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", age_of(obj, now),
            ", ".join(users), ", ".join(groups), ", ".join(sas)]


def resource_quota_row(obj: dict, now: datetime) -> list[str]:
    status = obj.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    requests, limits = [], []
    for r in sorted(hard):
        text = f"{r}: {used.get(r, '0')}/{hard[r]}"
        (limits if r.startswith("limits.") else requests).append(text)
    return [name(obj), ", ".join(requests), ", ".join(limits), age_of(obj, now)]


def priority_class_row(obj: dict, now: datetime) -> list[str]:
    return [name(obj), str(obj.get("value", 0)), "true" if obj.get("globalDefault") else "false",
            age_of(obj, now), obj.get("preemptionPolicy", "")]
