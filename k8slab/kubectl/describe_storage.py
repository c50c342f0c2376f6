"""``kubectl describe`` for storage: PersistentVolume, PersistentVolumeClaim, StorageClass.

A PersistentVolume shows its class, phase, claim, reclaim policy, access modes
(``RWO``), capacity, node affinity and source (``HostPath``, ``Local``, ``NFS``,
``CSI``); a claim the volume it is bound to and the pods that use it (``Used By``);
a StorageClass its provisioner, parameters and binding mode, as
``staging/.../kubectl/pkg/describe/describe.go`` prints them.

k8slab simplifies: sources other than hostPath, local, NFS and CSI print ``<unknown>``.
"""

from __future__ import annotations

from k8slab.kubectl.describe import (
    Context,
    Writer,
    annotations_multiline,
    labels_multiline,
    timed_conditions,
    with_events,
    write_object_meta,
)
from k8slab.kubectl.rows_cluster import access_modes, storage_class, storage_quantity
from k8slab.kubectl.selectors import format_labels

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")


def _go_list(values) -> str:
    return "[" + " ".join(str(v) for v in values or ()) + "]"


def _status_line(w: Writer, ctx: Context, meta: dict, status: dict) -> None:
    """``Status:  Bound``, or ``Terminating (lasts 5s)`` once deleted (a finalizer holds it)."""
    if meta.get("deletionTimestamp"):
        w.write(0, f"Status:\tTerminating (lasts {ctx.since(meta['deletionTimestamp'])})\n")
    else:
        w.write(0, f"Status:\t{status.get('phase', '')}\n")


def _node_affinity(w: Writer, affinity: dict | None) -> None:
    w.write(0, "Node Affinity:\t")
    required = (affinity or {}).get("required")
    if not required:
        w.write(0, "<none>\n")
        return
    w.write(0, "\n")
    w.write(1, "Required Terms:\t")
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        w.write(0, "<none>\n")
        return
    w.write(0, "\n")
    for i, term in enumerate(terms):
        w.write(2, f"Term {i}:\t")
        exprs = term.get("matchExpressions") or []
        if not exprs:
            w.write(0, "<none>\n")
            continue
        for j, req in enumerate(exprs):
            if j:
                w.write(2, "\t")
            text = f"{req.get('key', '')} {str(req.get('operator', '')).lower()}"
            if req.get("values"):
                text += f" [{', '.join(req['values'])}]"
            w.write(0, text + "\n")


def _source(w: Writer, spec: dict) -> None:
    w.write(0, "Source:\n")
    if spec.get("hostPath") is not None:
        h = spec["hostPath"]
        w.write(2, "Type:\tHostPath (bare host directory volume)\n"
                   f"    Path:\t{h.get('path', '')}\n    HostPathType:\t{h.get('type', '<none>')}\n")
    elif spec.get("nfs") is not None:
        n = spec["nfs"]
        w.write(2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n"
                   f"    Server:\t{n.get('server', '')}\n    Path:\t{n.get('path', '')}\n"
                   f"    ReadOnly:\t{'true' if n.get('readOnly') else 'false'}\n")
    elif spec.get("local") is not None:
        w.write(2, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n"
                   f"    Path:\t{spec['local'].get('path', '')}\n")
    elif spec.get("csi") is not None:
        c = spec["csi"]
        w.write(2, "Type:\tCSI (a Container Storage Interface (CSI) volume source)\n"
                   f"    Driver:\t{c.get('driver', '')}\n    FSType:\t{c.get('fsType', '')}\n"
                   f"    VolumeHandle:\t{c.get('volumeHandle', '')}\n"
                   f"    ReadOnly:\t{'true' if c.get('readOnly') else 'false'}\n")
        attributes = c.get("volumeAttributes") or {}
        w.write(2, "VolumeAttributes:\t")
        if not attributes:
            w.write(0, "<none>\n")
        for i, key in enumerate(sorted(attributes)):
            if i:
                # the indent is written twice at this level, as kubectl does
                w.write(2, "")
                w.write(2, "\t")
            line = f"{key}={attributes[key]}"
            w.write(2, (line[:140] + "...") if len(line) > 140 else line)
            w.write(0, "\n")
    else:
        w.write(1, "<unknown>\n")


def describe_persistentvolume(pv: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec, status = pv.get("metadata") or {}, pv.get("spec") or {}, pv.get("status") or {}
    write_object_meta(w, meta, namespace=False)
    w.write(0, f"Finalizers:\t{_go_list(meta.get('finalizers'))}\n")
    w.write(0, f"StorageClass:\t{storage_class(pv)}\n")
    _status_line(w, ctx, meta, status)
    claim = spec.get("claimRef")
    w.write(0, f"Claim:\t{claim.get('namespace', '')}/{claim.get('name', '')}\n" if claim else "Claim:\t\n")
    w.write(0, f"Reclaim Policy:\t{spec.get('persistentVolumeReclaimPolicy', '')}\n")
    w.write(0, f"Access Modes:\t{access_modes(spec.get('accessModes'))}\n")
    if spec.get("volumeMode"):
        w.write(0, f"VolumeMode:\t{spec['volumeMode']}\n")
    w.write(0, f"Capacity:\t{storage_quantity((spec.get('capacity') or {}).get('storage'))}\n")
    _node_affinity(w, spec.get("nodeAffinity"))
    w.write(0, f"Message:\t{status.get('message', '')}\n")
    _source(w, spec)
    return with_events(w, ctx, pv)


def _pods_using(ctx: Context, claim: dict) -> list[str]:
    """``getPodsForPVC``: pods with a volume of this claim, and pods that own it."""
    meta = claim.get("metadata") or {}
    pods = ctx.list("pods", meta.get("namespace"))
    names = []
    for pod in pods:
        for v in (pod.get("spec") or {}).get("volumes") or []:
            if (v.get("persistentVolumeClaim") or {}).get("claimName") == meta.get("name"):
                names.append(pod["metadata"]["name"])
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == "Pod":
            owner = next((p for p in pods if p["metadata"].get("uid") == ref.get("uid")), None)
            if owner is not None and owner["metadata"]["name"] not in names:
                names.append(owner["metadata"]["name"])
    return sorted(names)


def describe_persistentvolumeclaim(claim: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec, status = claim.get("metadata") or {}, claim.get("spec") or {}, claim.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"StorageClass:\t{storage_class(claim)}\n")
    _status_line(w, ctx, meta, status)
    w.write(0, f"Volume:\t{spec.get('volumeName', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Finalizers:\t{_go_list(meta.get('finalizers'))}\n")
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes"))
        capacity = storage_quantity((status.get("capacity") or {}).get("storage"))
    w.write(0, f"Capacity:\t{capacity}\n")
    w.write(0, f"Access Modes:\t{modes}\n")
    if spec.get("volumeMode"):
        w.write(0, f"VolumeMode:\t{spec['volumeMode']}\n")
    source = spec.get("dataSource")
    if source:
        w.write(0, "DataSource:\n")
        if source.get("apiGroup"):
            w.write(1, f"APIGroup:\t{source['apiGroup']}\n")
        w.write(1, f"Kind:\t{source.get('kind', '')}\n")
        w.write(1, f"Name:\t{source.get('name', '')}\n")
    users = _pods_using(ctx, claim)
    w.write(0, "Used By:\t")
    if not users:
        w.write(0, "<none>\n")
    for i, name in enumerate(users):
        w.write(0, ("\t" if i else "") + f"{name}\n")
    if status.get("conditions"):
        timed_conditions(w, status["conditions"], "LastProbeTime", "lastProbeTime")
    return with_events(w, ctx, claim)


def describe_storageclass(sc: dict, ctx: Context) -> str:
    w = Writer()
    meta = sc.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    default = any(annotations.get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS)
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"IsDefaultClass:\t{'Yes' if default else 'No'}\n")
    w.write(0, f"Annotations:\t{format_labels(annotations)}\n")
    w.write(0, f"Provisioner:\t{sc.get('provisioner', '')}\n")
    w.write(0, f"Parameters:\t{format_labels(sc.get('parameters'))}\n")
    expansion = sc.get("allowVolumeExpansion")
    w.write(0, f"AllowVolumeExpansion:\t{'<unset>' if expansion is None else ('True' if expansion else 'False')}\n")
    options = sc.get("mountOptions") or []
    if not options:
        w.write(0, "MountOptions:\t<none>\n")
    else:
        w.write(0, "MountOptions:\n")
        for option in options:
            w.write(1, f"{option}\n")
    if sc.get("reclaimPolicy"):
        w.write(0, f"ReclaimPolicy:\t{sc['reclaimPolicy']}\n")
    if sc.get("volumeBindingMode"):
        w.write(0, f"VolumeBindingMode:\t{sc['volumeBindingMode']}\n")
    topologies = sc.get("allowedTopologies")
    if topologies is not None:
        w.write(0, "AllowedTopologies:\t")
        if not topologies:
            w.write(0, "<none>\n")
        else:
            w.write(0, "\n")
            for i, term in enumerate(topologies):
                w.write(1, f"Term {i}:\t")
                exprs = term.get("matchLabelExpressions") or []
                if not exprs:
                    w.write(0, "<none>\n")
                for j, req in enumerate(exprs):
                    if j:
                        w.write(1, "\t")
                    text = f"{req.get('key', '')} in"
                    if req.get("values"):
                        text += f" [{', '.join(req['values'])}]"
                    w.write(0, text + "\n")
    return with_events(w, ctx, sc)
