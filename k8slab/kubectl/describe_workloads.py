"""``kubectl describe`` for the controllers of long-running pods: Deployment, ReplicaSet,
StatefulSet and DaemonSet.

A Deployment's description ends with its ReplicaSets: the *new* one is the
ReplicaSet whose pod template equals the Deployment's (ignoring the
``pod-template-hash`` label); every other ReplicaSet it controls is *old*, even
when scaled to zero, as after a rollout. The others count the pods they control
by phase (``Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed``); a
StatefulSet lists its volume claim templates, a DaemonSet how many nodes run its pod.
"""

from __future__ import annotations

from k8slab.kubectl.cells import replicas
from k8slab.kubectl.describe import (
    Context,
    Writer,
    annotations_multiline,
    labels_multiline,
    with_events,
    write_controlled_by,
)
from k8slab.kubectl.describe_pod import describe_pod_template
from k8slab.kubectl.duration import parse_time, rfc1123z
from k8slab.kubectl.quantity import Quantity
from k8slab.kubectl.rows_cluster import storage_class
from k8slab.kubectl.selectors import format_labels, format_selector, selector_string


def _controlled_by_uid(obj: dict, uid: str | None) -> bool:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return bool(uid) and ref.get("uid") == uid
    return False


def _without_hash(template: dict | None) -> dict:
    t = dict(template or {})
    meta = dict(t.get("metadata") or {})
    labels = dict(meta.get("labels") or {})
    labels.pop("pod-template-hash", None)
    meta["labels"] = labels
    meta.pop("creationTimestamp", None)
    t["metadata"] = meta
    return t


def replica_sets_of(ctx: Context, deployment: dict) -> tuple[list[dict], dict | None]:
    """(old ReplicaSets, new ReplicaSet) of a Deployment (``deploymentutil.GetAllReplicaSets``)."""
    meta = deployment.get("metadata") or {}
    owned = [rs for rs in ctx.list("replicasets", meta.get("namespace")) if _controlled_by_uid(rs, meta.get("uid"))]
    wanted = _without_hash((deployment.get("spec") or {}).get("template"))
    matching = [rs for rs in owned if _without_hash((rs.get("spec") or {}).get("template")) == wanted]
    if not matching:
        revision = (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision")
        matching = [rs for rs in owned
                    if revision and ((rs.get("metadata") or {}).get("annotations") or {}).get("deployment.kubernetes.io/revision") == revision]
    matching.sort(key=lambda rs: (rs["metadata"].get("creationTimestamp") or "", rs["metadata"].get("name", "")))
    new = matching[0] if matching else None
    old = [rs for rs in owned if rs is not new]
    return old, new


def _rs_summary(rss: list[dict]) -> str:
    text = ", ".join(
        f"{rs['metadata'].get('name', '')} ({int((rs.get('status') or {}).get('replicas') or 0)}/{replicas(rs.get('spec') or {})} replicas created)"
        for rs in rss
    )
    return text or "<none>"


def _conditions(w: Writer, conditions) -> None:
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for c in conditions:
            w.write(1, f"{c.get('type', '')} \t{c.get('status', '')}\t{c.get('reason', '')}\n")


def describe_deployment(d: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec, status = d.get("metadata") or {}, d.get("spec") or {}, d.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(parse_time(meta.get('creationTimestamp')))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{selector_string(spec.get('selector'))}\n")
    w.write(0, f"Replicas:\t{replicas(spec)} desired | {int(status.get('updatedReplicas') or 0)} updated | "
               f"{int(status.get('replicas') or 0)} total | {int(status.get('availableReplicas') or 0)} available | "
               f"{int(status.get('unavailableReplicas') or 0)} unavailable\n")
    strategy = spec.get("strategy") or {}
    w.write(0, f"StrategyType:\t{strategy.get('type', 'RollingUpdate')}\n")
    w.write(0, f"MinReadySeconds:\t{int(spec.get('minReadySeconds') or 0)}\n")
    ru = strategy.get("rollingUpdate")
    if ru is not None:
        w.write(0, f"RollingUpdateStrategy:\t{ru.get('maxUnavailable', '25%')} max unavailable, {ru.get('maxSurge', '25%')} max surge\n")
    describe_pod_template(w, spec.get("template"))
    _conditions(w, status.get("conditions"))
    old, new = replica_sets_of(ctx, d)
    if old or new:
        w.write(0, f"OldReplicaSets:\t{_rs_summary(old)}\n")
        w.write(0, f"NewReplicaSet:\t{_rs_summary([new] if new else [])}\n")
    return with_events(w, ctx, d)


def describe_replicaset(rs: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec, status = rs.get("metadata") or {}, rs.get("spec") or {}, rs.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"Selector:\t{format_selector(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    write_controlled_by(w, rs)
    w.write(0, f"Replicas:\t{int(status.get('replicas') or 0)} current / {replicas(spec)} desired\n")
    w.write(0, f"Pods Status:\t{pod_status_counts(ctx, rs)}\n")
    describe_pod_template(w, spec.get("template"))
    _conditions(w, status.get("conditions"))
    return with_events(w, ctx, rs)


def pod_status_counts(ctx: Context, owner: dict) -> str:
    """``getPodStatusForController``: the phases of the pods ``owner`` controls, as describe shows them."""
    meta, spec = owner.get("metadata") or {}, owner.get("spec") or {}
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    selector = selector_string(spec.get("selector"))
    for pod in ctx.list("pods", meta.get("namespace"), label_selector=selector or None):
        if _controlled_by_uid(pod, meta.get("uid")):
            phase = (pod.get("status") or {}).get("phase")
            if phase in counts:
                counts[phase] += 1
    return (f"{counts['Running']} Running / {counts['Pending']} Waiting / {counts['Succeeded']} Succeeded / "
            f"{counts['Failed']} Failed")


def _volume_claim_templates(w: Writer, templates: list[dict]) -> None:
    if not templates:
        w.write(0, "Volume Claims:\t<none>\n")
        return
    w.write(0, "Volume Claims:\n")
    for claim in templates:
        meta, spec = claim.get("metadata") or {}, claim.get("spec") or {}
        w.write(1, f"Name:\t{meta.get('name', '')}\n")
        w.write(1, f"StorageClass:\t{storage_class(claim)}\n")
        labels_multiline(w, "Labels", meta.get("labels"), "  ")
        labels_multiline(w, "Annotations", meta.get("annotations"), "  ")
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        w.write(1, f"Capacity:\t{Quantity.parse(storage) if storage is not None else '<default>'}\n")
        w.write(1, f"Access Modes:\t[{' '.join(spec.get('accessModes') or [])}]\n")


def describe_statefulset(sts: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec, status = sts.get("metadata") or {}, sts.get("spec") or {}, sts.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(parse_time(meta.get('creationTimestamp')))}\n")
    w.write(0, f"Selector:\t{selector_string(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Replicas:\t{replicas(spec)} desired | {int(status.get('replicas') or 0)} total\n")
    strategy = spec.get("updateStrategy") or {}
    w.write(0, f"Update Strategy:\t{strategy.get('type', '')}\n")
    ru = strategy.get("rollingUpdate")
    if ru is not None and ru.get("partition") is not None:
        w.write(1, f"Partition:\t{int(ru['partition'])}\n")
        if ru.get("maxUnavailable") is not None:
            w.write(1, f"MaxUnavailable:\t{ru['maxUnavailable']}\n")
    w.write(0, f"Pods Status:\t{pod_status_counts(ctx, sts)}\n")
    describe_pod_template(w, spec.get("template"))
    _volume_claim_templates(w, spec.get("volumeClaimTemplates") or [])
    return with_events(w, ctx, sts)


def describe_daemonset(ds: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec, status = ds.get("metadata") or {}, ds.get("spec") or {}, ds.get("status") or {}
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"Selector:\t{selector_string(spec.get('selector'))}\n")
    w.write(0, f"Node-Selector:\t{format_labels(node_selector)}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    # these five lines have no tab: kubectl does not align them
    w.write(0, f"Desired Number of Nodes Scheduled: {int(status.get('desiredNumberScheduled') or 0)}\n")
    w.write(0, f"Current Number of Nodes Scheduled: {int(status.get('currentNumberScheduled') or 0)}\n")
    w.write(0, f"Number of Nodes Scheduled with Up-to-date Pods: {int(status.get('updatedNumberScheduled') or 0)}\n")
    w.write(0, f"Number of Nodes Scheduled with Available Pods: {int(status.get('numberAvailable') or 0)}\n")
    w.write(0, f"Number of Nodes Misscheduled: {int(status.get('numberMisscheduled') or 0)}\n")
    w.write(0, f"Pods Status:\t{pod_status_counts(ctx, ds)}\n")
    describe_pod_template(w, spec.get("template"))
    return with_events(w, ctx, ds)
