"""``kubectl describe`` for configuration: ConfigMap, Secret, ServiceAccount, PriorityClass.

A ConfigMap shows its data; a Secret never does: each key is followed by the
size of its value (``password:  8 bytes``), except the token of a
service-account-token Secret. A ServiceAccount lists its image pull secrets,
mountable secrets and tokens. Keys are printed in sorted order (kubectl walks a Go
map, whose order changes from run to run).

Example
-------
>>> from datetime import datetime, timezone
>>> s = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
...      "metadata": {"name": "db", "namespace": "default"}, "data": {"password": "czNjcjN0IQ=="}}
>>> print(describe_secret(s, Context(None, datetime(2025, 1, 1, tzinfo=timezone.utc))), end="")
Name:         db
Namespace:    default
Labels:       <none>
Annotations:  <none>
<BLANKLINE>
Type:  Opaque
<BLANKLINE>
Data
====
password:  7 bytes
"""

from __future__ import annotations

import base64
import binascii

from k8slab.kubectl.describe import (
    Context,
    Writer,
    with_events,
    write_object_meta,
)
from k8slab.kubectl.selectors import format_labels

SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"


def _decoded(value) -> bytes:
    """A Secret value as bytes (the API keeps it base64-encoded)."""
    try:
        return base64.b64decode(str(value or ""), validate=True)
    except (binascii.Error, ValueError):
        return str(value or "").encode()


def describe_configmap(cm: dict, ctx: Context) -> str:
    w = Writer()
    meta = cm.get("metadata") or {}
    write_object_meta(w, meta)
    w.write(0, "\nData\n====\n")
    data = cm.get("data") or {}
    for key in sorted(data):
        w.write(0, f"{key}:\n----\n")
        w.write(0, f"{data[key]}\n")
        w.write(0, "\n")
    w.write(0, "\nBinaryData\n====\n")
    binary = cm.get("binaryData") or {}
    for key in sorted(binary):
        w.write(0, f"{key}: {len(_decoded(binary[key]))} bytes\n")
    w.write(0, "\n")
    return with_events(w, ctx, cm)


def describe_secret(secret: dict, ctx: Context) -> str:
    w = Writer()
    meta = secret.get("metadata") or {}
    write_object_meta(w, meta)
    kind = secret.get("type", "")
    w.write(0, f"\nType:\t{kind}\n")
    w.write(0, "\nData\n====\n")
    data = secret.get("data") or {}
    for key in sorted(data):
        value = _decoded(data[key])
        if key == "token" and kind == SERVICE_ACCOUNT_TOKEN:
            w.write(0, f"{key}:\t{value.decode(errors='replace')}\n")
        else:
            w.write(0, f"{key}:\t{len(value)} bytes\n")
    return w.text()


def describe_serviceaccount(sa: dict, ctx: Context) -> str:
    w = Writer()
    meta = sa.get("metadata") or {}
    name, namespace = meta.get("name", ""), meta.get("namespace")
    write_object_meta(w, meta)
    secrets = ctx.list("secrets", namespace)
    existing = {s["metadata"]["name"] for s in secrets}
    tokens = sorted(s["metadata"]["name"] for s in secrets
                    if s.get("type") == SERVICE_ACCOUNT_TOKEN
                    and (s["metadata"].get("annotations") or {}).get("kubernetes.io/service-account.name") == name
                    and (s["metadata"].get("annotations") or {}).get("kubernetes.io/service-account.uid")
                    == meta.get("uid"))
    sections = {
        "Image pull secrets:": [r.get("name", "") for r in sa.get("imagePullSecrets") or []],
        "Mountable secrets: ": [r.get("name", "") for r in sa.get("secrets") or []],
        "Tokens:            ": tokens,
    }
    for header in sorted(sections):
        names = sections[header]
        if not names:
            w.write(0, f"{header}\t<none>\n")
            continue
        prefix = header
        for n in names:
            missing = " (not found)" if n not in existing and header != "Tokens:            " else ""
            w.write(0, f"{prefix}\t{n}{missing}\n")
            prefix = " " * len(header)
    return with_events(w, ctx, sa)


def describe_priorityclass(pc: dict, ctx: Context) -> str:
    w = Writer()
    meta = pc.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Value:\t{int(pc.get('value') or 0)}\n")
    w.write(0, f"GlobalDefault:\t{'true' if pc.get('globalDefault') else 'false'}\n")
    w.write(0, f"PreemptionPolicy:\t{pc.get('preemptionPolicy', '')}\n")
    w.write(0, f"Description:\t{pc.get('description', '')}\n")
    w.write(0, f"Annotations:\t{format_labels(meta.get('annotations'))}\n")
    return with_events(w, ctx, pc)


def describe_resourcequota(quota: dict, ctx: Context) -> str:
    """``Resource  Used  Hard``: one line per resource the quota limits, sorted (no events)."""
    w = Writer()
    meta = quota.get("metadata") or {}
    spec, status = quota.get("spec") or {}, quota.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    if spec.get("scopes"):
        w.write(0, "Scopes:\t" + ", ".join(sorted(spec["scopes"])) + "\n")
    w.write(0, "Resource\tUsed\tHard\n")
    w.write(0, "--------\t----\t----\n")
    hard, used = status.get("hard") or spec.get("hard") or {}, status.get("used") or {}
    for resource in sorted(hard):
        w.write(0, f"{resource}\t{used.get(resource, '0')}\t{hard[resource]}\n")
    return w.text()


def describe_limitrange(lr: dict, ctx: Context) -> str:
    """kubectl's LimitRange table: one line per type and resource, ``-`` where nothing is set."""
    w = Writer()
    meta = lr.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, "Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n")
    w.write(0, "----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n")
    for item in (lr.get("spec") or {}).get("limits") or []:
        fields = ("min", "max", "defaultRequest", "default", "maxLimitRequestRatio")
        resources = sorted({r for f in fields for r in (item.get(f) or {})})
        for resource in resources:
            cells = [str((item.get(f) or {}).get(resource, "-")) for f in fields]
            w.write(0, f"{item.get('type', '')}\t{resource}\t" + "\t".join(cells) + "\n")
    return w.text()
