"""``kubectl describe node``: roles, taints, lease, conditions, capacity, and what runs there.

The "Non-terminated Pods" table adds up each pod's requests and limits (init
containers count by their maximum) and shows them as a share of the node's
allocatable resources, rounded down, exactly as kubectl does.
"""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.kubectl.describe import (
    Context,
    Writer,
    annotations_multiline,
    labels_multiline,
    timed_conditions,
    with_events,
)
from k8slab.kubectl.duration import parse_time, rfc1123z
from k8slab.kubectl.quantity import Quantity
from k8slab.kubectl.rows_cluster import node_roles

_STANDARD = {"cpu", "memory", "ephemeral-storage", "storage", "requests.cpu", "requests.memory",
             "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage"}


def taint_text(t: dict) -> str:
    text = t.get("key", "")
    if t.get("value"):
        text += f"={t['value']}"
    if t.get("effect"):
        text += f":{t['effect']}"
    return text


def pod_requests_and_limits(pod: dict) -> tuple[dict[str, Quantity], dict[str, Quantity]]:
    """``resourcehelper.PodRequestsAndLimits``: app containers add up, each init container may exceed them."""
    spec = pod.get("spec") or {}
    reqs: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        for name, q in (res.get("requests") or {}).items():
            reqs[name] = reqs.get(name, Quantity()) + Quantity.parse(q)
        for name, q in (res.get("limits") or {}).items():
            limits[name] = limits.get(name, Quantity()) + Quantity.parse(q)
    for c in spec.get("initContainers") or []:
        res = c.get("resources") or {}
        for target, values in ((reqs, res.get("requests") or {}), (limits, res.get("limits") or {})):
            for name, q in values.items():
                q = Quantity.parse(q)
                if name not in target or target[name] < q:
                    target[name] = q
    for name, q in (spec.get("overhead") or {}).items():
        reqs[name] = reqs.get(name, Quantity()) + Quantity.parse(q)
        if name in limits:
            limits[name] = limits[name] + Quantity.parse(q)
    return reqs, limits


def _pct(part: Quantity, whole: Quantity, milli: bool) -> int:
    total = whole.milli_value() if milli else whole.value()
    if total == 0:
        return 0
    return int((part.milli_value() if milli else part.value()) / total * 100)


def _node_pods(ctx: Context, node_name: str) -> list[dict]:
    pods = []
    try:
        items = ctx.client.list("pods", None, field_selector=f"spec.nodeName={node_name}").get("items") or []
    except (ApiError, TypeError, AttributeError):
        items = ctx.list("pods", None)
    for p in items:
        if (p.get("spec") or {}).get("nodeName") != node_name:
            continue
        if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        pods.append(p)
    return pods


def describe_node(node: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    name = meta.get("name", "")
    w.write(0, f"Name:\t{name}\n")
    w.write(0, f"Roles:\t{','.join(node_roles(node)) or '<none>'}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"CreationTimestamp:\t{rfc1123z(parse_time(meta.get('creationTimestamp')))}\n")
    taints = sorted(spec.get("taints") or [], key=lambda t: f"{t.get('effect', '')},{t.get('key', '')}")
    w.write(0, "Taints:\t")
    if not taints:
        w.write(0, "<none>\n")
    for i, t in enumerate(taints):
        w.write(0, ("\t" if i else "") + taint_text(t) + "\n")
    w.write(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    if ctx.client is not None:
        try:
            lease = ctx.client.get("leases", name, "kube-node-lease")
            lspec = lease.get("spec") or {}
            w.write(0, "Lease:\n")
            w.write(1, f"HolderIdentity:\t{lspec.get('holderIdentity') or '<unset>'}\n")
            for title, key in (("AcquireTime", "acquireTime"), ("RenewTime", "renewTime")):
                value = rfc1123z(parse_time(lspec[key])) if lspec.get(key) else "<unset>"
                w.write(1, f"{title}:\t{value}\n")
        except ApiError as e:
            w.write(0, f"Lease:\tFailed to get lease: {e.message}\n")
    conditions = status.get("conditions") or []
    if conditions:
        timed_conditions(w, conditions, "LastHeartbeatTime", "lastHeartbeatTime")
    w.write(0, "Addresses:\n")
    for a in status.get("addresses") or []:
        w.write(1, f"{a.get('type', '')}:\t{a.get('address', '')}\n")
    for title, key in (("Capacity", "capacity"), ("Allocatable", "allocatable")):
        values = status.get(key) or {}
        if values:
            w.write(0, f"{title}:\n")
            for r in sorted(values):
                w.write(0, f"  {r}:\t{Quantity.parse(values[r])}\n")
    info = status.get("nodeInfo") or {}
    w.write(0, "System Info:\n")
    for title, key in (
        ("Machine ID", "machineID"), ("System UUID", "systemUUID"), ("Boot ID", "bootID"),
        ("Kernel Version", "kernelVersion"), ("OS Image", "osImage"), ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"), ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"), ("Kube-Proxy Version", "kubeProxyVersion"),
    ):
        w.write(0, f"  {title}:\t{info.get(key, '')}\n")
    if spec.get("podCIDR"):
        w.write(0, f"PodCIDR:\t{spec['podCIDR']}\n")
    if spec.get("podCIDRs"):
        w.write(0, f"PodCIDRs:\t{','.join(spec['podCIDRs'])}\n")
    if spec.get("providerID"):
        w.write(0, f"ProviderID:\t{spec['providerID']}\n")
    _node_resources(w, ctx, node, _node_pods(ctx, name) if ctx.client is not None else [])
    uid = meta.get("uid", "")
    return with_events(w, ctx, node, uids=(uid, name) if uid else (name,))


def _node_resources(w: Writer, ctx: Context, node: dict, pods: list[dict]) -> None:
    status = node.get("status") or {}
    allocatable = {k: Quantity.parse(v) for k, v in (status.get("allocatable") or status.get("capacity") or {}).items()}
    cpu_total, mem_total = allocatable.get("cpu", Quantity()), allocatable.get("memory", Quantity())
    w.write(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
    w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
    all_reqs: dict[str, Quantity] = {}
    all_limits: dict[str, Quantity] = {}
    for pod in pods:
        reqs, limits = pod_requests_and_limits(pod)
        for name, q in reqs.items():
            all_reqs[name] = all_reqs[name] + q if name in all_reqs else Quantity(q.amount, q.format)
        for name, q in limits.items():
            all_limits[name] = all_limits[name] + q if name in all_limits else Quantity(q.amount, q.format)
        cr, cl = reqs.get("cpu", Quantity()), limits.get("cpu", Quantity())
        mr, ml = reqs.get("memory", Quantity()), limits.get("memory", Quantity())
        meta = pod.get("metadata") or {}
        w.write(1, f"{meta.get('namespace', '')}\t{meta.get('name', '')}\t\t"
                   f"{cr} ({_pct(cr, cpu_total, True)}%)\t{cl} ({_pct(cl, cpu_total, True)}%)\t"
                   f"{mr} ({_pct(mr, mem_total, False)}%)\t{ml} ({_pct(ml, mem_total, False)}%)\t"
                   f"{ctx.since(meta.get('creationTimestamp'))}\n")
    w.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
    w.write(1, "Resource\tRequests\tLimits\n")
    w.write(1, "--------\t--------\t------\n")
    for name, milli in (("cpu", True), ("memory", False), ("ephemeral-storage", False)):
        r, lim = all_reqs.get(name, Quantity()), all_limits.get(name, Quantity())
        whole = allocatable.get(name, Quantity())
        w.write(1, f"{name}\t{r} ({_pct(r, whole, milli)}%)\t{lim} ({_pct(lim, whole, milli)}%)\n")
    huge = sorted(k for k in allocatable if k.startswith("hugepages-"))
    ext = sorted(k for k in allocatable if k not in _STANDARD and k != "pods" and not k.startswith("hugepages-")
                 and not k.startswith("requests.hugepages-"))
    for name in huge:
        r, lim = all_reqs.get(name, Quantity()), all_limits.get(name, Quantity())
        whole = allocatable[name]
        w.write(1, f"{name}\t{r} ({_pct(r, whole, False)}%)\t{lim} ({_pct(lim, whole, False)}%)\n")
    for name in ext:
        w.write(1, f"{name}\t{all_reqs.get(name, Quantity())}\t{all_limits.get(name, Quantity())}\n")
