"""The columns of ``kubectl get`` for each kind: the API server's table printers.

On a real cluster the API server, not kubectl, decides the columns: it answers a
``get`` with a ``Table`` built by ``pkg/printers/internalversion/printers.go``.
This module holds those column definitions and row functions for the kinds the
course uses. A column of ``priority`` 1 appears only with ``-o wide``.

Kinds without a printer fall back to what the server does for them: built-in
kinds print ``NAME  CREATED AT``, custom resources ``NAME  AGE`` (or, when their
CustomResourceDefinition names printer columns, those: :mod:`columns_custom`).

Example
-------
>>> from datetime import datetime, timezone
>>> now = datetime(2025, 1, 1, 0, 5, tzinfo=timezone.utc)
>>> ns = {"kind": "Namespace", "metadata": {"name": "default", "creationTimestamp": "2025-01-01T00:00:00Z"},
...       "status": {"phase": "Active"}}
>>> t = table_for("", "Namespace")
>>> [c.name for c in t.columns], t.row(ns, now)
(['NAME', 'STATUS', 'AGE'], ['default', 'Active', '5m'])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from k8slab.kubectl import rows_cluster as cluster
from k8slab.kubectl import rows_network as network
from k8slab.kubectl import rows_workloads as workloads
from k8slab.kubectl.cells import age_of, meta, name
from k8slab.kubectl.pod_status import pod_row


@dataclass(frozen=True)
class Column:
    name: str
    priority: int = 0
    is_name: bool = False


@dataclass(frozen=True)
class TableDef:
    columns: tuple[Column, ...]
    row: Callable[[dict, datetime], list[str]]
    #: The row for ``-o wide`` when it differs in more than its extra columns (uncut addresses).
    wide_row: Callable[[dict, datetime], list[str]] | None = None


def _cols(*specs: str) -> tuple[Column, ...]:
    """``"NAME"`` is the name column; a trailing ``*`` marks a wide-only column."""
    out = []
    for s in specs:
        wide = s.endswith("*")
        name = s.rstrip("*")
        out.append(Column(name, 1 if wide else 0, name == "NAME"))
    return tuple(out)


def created_at(obj: dict, now: datetime) -> list[str]:
    return [name(obj), meta(obj).get("creationTimestamp") or ""]


def name_age(obj: dict, now: datetime) -> list[str]:
    return [name(obj), age_of(obj, now)]


_TABLES: dict[tuple[str, str], TableDef] = {
    ("", "Pod"): TableDef(
        _cols("NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP*", "NODE*", "NOMINATED NODE*", "READINESS GATES*"),
        pod_row,
    ),
    ("", "Node"): TableDef(
        _cols("NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP*", "EXTERNAL-IP*", "OS-IMAGE*",
              "KERNEL-VERSION*", "CONTAINER-RUNTIME*"),
        cluster.node_row,
    ),
    ("", "Namespace"): TableDef(_cols("NAME", "STATUS", "AGE"), cluster.namespace_row),
    ("", "Event"): TableDef(
        _cols("LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT*", "SOURCE*", "MESSAGE", "FIRST SEEN*", "COUNT*", "NAME*"),
        cluster.event_row,
    ),
    ("", "Service"): TableDef(
        _cols("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR*"), network.service_row,
        network.service_row_wide,
    ),
    ("", "Endpoints"): TableDef(_cols("NAME", "ENDPOINTS", "AGE"), network.endpoints_row),
    ("", "ConfigMap"): TableDef(
        _cols("NAME", "DATA", "AGE"),
        lambda o, now: [name(o), str(len(o.get("data") or {}) + len(o.get("binaryData") or {})), age_of(o, now)],
    ),
    ("", "Secret"): TableDef(
        _cols("NAME", "TYPE", "DATA", "AGE"),
        lambda o, now: [name(o), o.get("type", ""), str(len(o.get("data") or {})), age_of(o, now)],
    ),
    ("", "ServiceAccount"): TableDef(
        _cols("NAME", "SECRETS", "AGE"), lambda o, now: [name(o), str(len(o.get("secrets") or [])), age_of(o, now)]
    ),
    ("", "PersistentVolume"): TableDef(
        _cols("NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS",
              "VOLUMEATTRIBUTESCLASS", "REASON", "AGE", "VOLUMEMODE*"),
        cluster.pv_row,
    ),
    ("", "PersistentVolumeClaim"): TableDef(
        _cols("NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE",
              "VOLUMEMODE*"),
        cluster.pvc_row,
    ),
    ("", "ResourceQuota"): TableDef(_cols("NAME", "REQUEST", "LIMIT", "AGE"), cluster.resource_quota_row),
    ("apps", "Deployment"): TableDef(
        _cols("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS*", "IMAGES*", "SELECTOR*"), workloads.deployment_row
    ),
    ("apps", "ReplicaSet"): TableDef(
        _cols("NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS*", "IMAGES*", "SELECTOR*"), workloads.replicaset_row
    ),
    ("apps", "StatefulSet"): TableDef(_cols("NAME", "READY", "AGE", "CONTAINERS*", "IMAGES*"), workloads.statefulset_row),
    ("apps", "DaemonSet"): TableDef(
        _cols("NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE", "CONTAINERS*",
              "IMAGES*", "SELECTOR*"),
        workloads.daemonset_row,
    ),
    ("apps", "ControllerRevision"): TableDef(_cols("NAME", "CONTROLLER", "REVISION", "AGE"), workloads.controller_revision_row),
    ("batch", "Job"): TableDef(
        _cols("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "CONTAINERS*", "IMAGES*", "SELECTOR*"), workloads.job_row
    ),
    ("batch", "CronJob"): TableDef(
        _cols("NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE", "CONTAINERS*", "IMAGES*",
              "SELECTOR*"),
        workloads.cronjob_row,
    ),
    ("coordination.k8s.io", "Lease"): TableDef(_cols("NAME", "HOLDER", "AGE"), cluster.lease_row),
    ("discovery.k8s.io", "EndpointSlice"): TableDef(_cols("NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"), network.endpointslice_row),
    ("networking.k8s.io", "Ingress"): TableDef(
        _cols("NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"), network.ingress_row, network.ingress_row_wide
    ),
    ("networking.k8s.io", "IngressClass"): TableDef(
        _cols("NAME", "CONTROLLER", "PARAMETERS", "AGE"), network.ingress_class_row
    ),
    ("storage.k8s.io", "StorageClass"): TableDef(
        _cols("NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"), cluster.storageclass_row
    ),
    ("rbac.authorization.k8s.io", "RoleBinding"): TableDef(
        _cols("NAME", "ROLE", "AGE", "USERS*", "GROUPS*", "SERVICEACCOUNTS*"), cluster.role_binding_row
    ),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): TableDef(
        _cols("NAME", "ROLE", "AGE", "USERS*", "GROUPS*", "SERVICEACCOUNTS*"), cluster.role_binding_row
    ),
    ("scheduling.k8s.io", "PriorityClass"): TableDef(
        _cols("NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"), cluster.priority_class_row
    ),
}

BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io",
    "networking.k8s.io", "storage.k8s.io", "rbac.authorization.k8s.io", "scheduling.k8s.io",
    "apiextensions.k8s.io", "admissionregistration.k8s.io", "certificates.k8s.io", "node.k8s.io",
    "flowcontrol.apiserver.k8s.io", "apiregistration.k8s.io", "resource.k8s.io", "storagemigration.k8s.io",
})

_CREATED_AT = TableDef(_cols("NAME", "CREATED AT"), created_at)
_NAME_AGE = TableDef(_cols("NAME", "AGE"), name_age)


def table_for(group: str, kind: str) -> TableDef:
    """The columns the API server prints for ``kind`` in ``group``."""
    found = _TABLES.get((group, kind))
    if found is not None:
        return found
    return _CREATED_AT if group in BUILTIN_GROUPS else _NAME_AGE
