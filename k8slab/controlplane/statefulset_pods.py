"""A StatefulSet's members: their names, identity, storage, states, and the set's status counts.

What ``pkg/controller/statefulset/stateful_set_utils.go`` computes about one pod
of a set: its name ``<set>-<ordinal>`` and the ordinal range ``spec.ordinals.start
.. start+replicas-1``; its *identity* (name, namespace, the ``statefulset.kubernetes.io/
pod-name`` and ``apps.kubernetes.io/pod-index`` labels, ``hostname`` and the
governing Service as ``subdomain``); its *storage* (one PersistentVolumeClaim
``<template>-<set>-<ordinal>`` per claim template); the pod made for an ordinal
at the current or the update revision; whether a pod is created, Running and
Ready, available; the replica counts of the status; and who should own a claim
under ``persistentVolumeClaimRetentionPolicy``.

Example
-------
>>> sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
...        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
...        "spec": {"serviceName": "web", "replicas": 2,
...                 "volumeClaimTemplates": [{"metadata": {"name": "www"}}]}}
>>> pod = new_stateful_pod(sts, 1)
>>> pod["metadata"]["name"], pod["spec"]["hostname"], pod["spec"]["subdomain"], in_ordinal_range(pod, sts)
('web-1', 'web-1', 'web', True)
>>> pod["spec"]["volumes"]
[{'name': 'www', 'persistentVolumeClaim': {'claimName': 'www-web-1'}}]
"""

from __future__ import annotations

import re

from k8slab.api.objects import clone, owner_reference
from k8slab.controlplane.history import POD_REVISION_LABEL
from k8slab.controlplane.workload import is_pod_available, pod_from_template

#: Label with the pod's own name, so a Service can select one member (``StatefulSetPodNameLabel``).
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
#: Label with the pod's ordinal (``PodIndexLabel``, on by default since v1.28).
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"

_POD_NAME_RE = re.compile(r"^(.*)-([0-9]+)$")


# ---------------------------------------------------------------------------------------
# Identity and storage (stateful_set_utils.go)
# ---------------------------------------------------------------------------------------
def parent_and_ordinal(name: str) -> tuple[str, int]:
    """The parent set's name and the ordinal in a pod name; ``("", -1)`` for other names."""
    m = _POD_NAME_RE.match(name or "")
    if m is None:
        return "", -1
    ordinal = int(m.group(2))
    # Go parses the ordinal as a 32-bit int: anything larger is no ordinal
    return m.group(1), ordinal if ordinal < 2**31 else -1


def ordinal_of(pod: dict) -> int:
    return parent_and_ordinal(pod["metadata"]["name"])[1]


def pod_name(sts: dict, ordinal: int) -> str:
    return f"{sts['metadata']['name']}-{ordinal}"


def claim_name(sts: dict, template: dict, ordinal: int) -> str:
    """``<claim template>-<set>-<ordinal>``: one PersistentVolumeClaim per template and pod."""
    return f"{(template.get('metadata') or {}).get('name', '')}-{sts['metadata']['name']}-{ordinal}"


def start_ordinal(sts: dict) -> int:
    """``spec.ordinals.start`` (0 unless set)."""
    return int(((sts.get("spec") or {}).get("ordinals") or {}).get("start") or 0)


def end_ordinal(sts: dict) -> int:
    return start_ordinal(sts) + int((sts.get("spec") or {}).get("replicas") or 0) - 1


def in_ordinal_range(pod: dict, sts: dict) -> bool:
    return start_ordinal(sts) <= ordinal_of(pod) <= end_ordinal(sts)


def is_member_of(sts: dict, pod: dict) -> bool:
    return parent_and_ordinal(pod["metadata"]["name"])[0] == sts["metadata"]["name"]


def identity_matches(sts: dict, pod: dict) -> bool:
    """The pod has the name, namespace and pod-name label of a member of ``sts``."""
    parent, ordinal = parent_and_ordinal(pod["metadata"]["name"])
    m = pod["metadata"]
    return (ordinal >= 0 and parent == sts["metadata"]["name"]
            and m.get("namespace") == sts["metadata"].get("namespace")
            and (m.get("labels") or {}).get(POD_NAME_LABEL) == m["name"])


def claim_templates(sts: dict) -> list[dict]:
    return [t for t in (sts.get("spec") or {}).get("volumeClaimTemplates") or () if isinstance(t, dict)]


def storage_matches(sts: dict, pod: dict) -> bool:
    """Every claim template has a volume of its name using the pod's own claim."""
    ordinal = ordinal_of(pod)
    if ordinal < 0:
        return False
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or ()}
    for template in claim_templates(sts):
        vol = volumes.get((template.get("metadata") or {}).get("name"))
        pvc = (vol or {}).get("persistentVolumeClaim")
        if pvc is None or pvc.get("claimName") != claim_name(sts, template, ordinal):
            return False
    return True


def retention_policy(sts: dict) -> tuple[str, str]:
    """``(whenDeleted, whenScaled)`` of ``persistentVolumeClaimRetentionPolicy`` (Retain, Retain by default)."""
    policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted") or "Retain", policy.get("whenScaled") or "Retain"


def claims_for(sts: dict, ordinal: int) -> list[tuple[str, dict]]:
    """The PersistentVolumeClaims of one ordinal, ``(template name, claim)``, in template order."""
    selector_labels = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    out = []
    for template in claim_templates(sts):
        tm = template.get("metadata") or {}
        meta = {"name": claim_name(sts, template, ordinal), "namespace": sts["metadata"].get("namespace")}
        labels = dict(tm.get("labels") or {})
        labels.update(selector_labels)
        if labels:
            meta["labels"] = labels
        if tm.get("annotations"):
            meta["annotations"] = dict(tm["annotations"])
        claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                 "spec": clone(template.get("spec") or {})}
        out.append((tm.get("name", ""), claim))
    return out


def update_storage(sts: dict, pod: dict) -> None:
    """Point the pod's volumes named after claim templates at its own claims (others kept)."""
    claims = claims_for(sts, ordinal_of(pod))
    names = {name for name, _c in claims}
    spec = pod.setdefault("spec", {})
    volumes = [{"name": name, "persistentVolumeClaim": {"claimName": c["metadata"]["name"]}} for name, c in claims]
    volumes += [v for v in spec.get("volumes") or () if v.get("name") not in names]
    if volumes:
        spec["volumes"] = volumes


def update_identity(sts: dict, pod: dict) -> None:
    """Name, namespace, and the pod-name and pod-index labels of a member."""
    ordinal = ordinal_of(pod)
    m = pod["metadata"]
    m["name"] = pod_name(sts, ordinal)
    m["namespace"] = sts["metadata"].get("namespace")
    labels = m.setdefault("labels", {})
    labels[POD_NAME_LABEL] = m["name"]
    labels[POD_INDEX_LABEL] = str(ordinal)


def new_stateful_pod(sts: dict, ordinal: int) -> dict:
    """``newStatefulSetPod``: the pod for ``ordinal`` from ``sts``'s template.

    ``spec.hostname`` and ``spec.subdomain`` (the governing Service) give it the DNS
    name ``web-0.web.default.svc.cluster.local``; they are set only at creation.
    """
    pod = pod_from_template(sts, (sts.get("spec") or {}).get("template") or {})
    pod["metadata"]["name"] = pod_name(sts, ordinal)
    update_identity(sts, pod)
    pod["spec"]["hostname"] = pod["metadata"]["name"]
    service = (sts.get("spec") or {}).get("serviceName")
    if service:
        pod["spec"]["subdomain"] = service
    update_storage(sts, pod)
    return pod


def with_template(sts: dict, template: dict) -> dict:
    """``ApplyRevision``: the set as it was at a revision (only the template is saved)."""
    out = dict(sts)
    out["spec"] = dict(sts.get("spec") or {})
    out["spec"]["template"] = template
    return out


def new_versioned_pod(current_set: dict, update_set: dict, current_revision: str, update_revision: str,
                      ordinal: int) -> dict:
    """``newVersionedStatefulSetPod``: ordinals below the partition keep the current revision.

    (The Go condition's ``&&``/``||`` grouping is kept: with ``RollingUpdate`` and no
    ``rollingUpdate`` field, the first ``currentReplicas`` ordinals stay current.)
    """
    spec = current_set.get("spec") or {}
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate")
    start = start_ordinal(current_set)
    current_replicas = (current_set.get("status") or {}).get("currentReplicas") or 0
    keep_current = (
        (strategy.get("type") == "RollingUpdate" and rolling is None and ordinal < start + current_replicas)
        or (rolling is not None and ordinal < start + int(rolling.get("partition") or 0))
    )
    if keep_current:
        pod = new_stateful_pod(current_set, ordinal)
        pod["metadata"]["labels"][POD_REVISION_LABEL] = current_revision
    else:
        pod = new_stateful_pod(update_set, ordinal)
        pod["metadata"]["labels"][POD_REVISION_LABEL] = update_revision
    return pod


# ---------------------------------------------------------------------------------------
# Pod states
# ---------------------------------------------------------------------------------------
def pod_phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def is_created(pod: dict) -> bool:
    """Stored by the API server (which always gives a phase); our placeholders have none."""
    return pod_phase(pod) != ""


def is_terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_running_and_ready(pod: dict) -> bool:
    if pod_phase(pod) != "Running":
        return False
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def is_healthy(pod: dict) -> bool:
    return is_running_and_ready(pod) and not is_terminating(pod)


def is_unavailable(pod: dict, min_ready_seconds: int, now: float) -> bool:
    return not is_healthy(pod) or not is_pod_available(pod, min_ready_seconds, now)


def pod_revision(pod: dict) -> str:
    return (pod["metadata"].get("labels") or {}).get(POD_REVISION_LABEL, "")


# ---------------------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------------------
_STATUS_FIELDS = ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "currentRevision",
                  "availableReplicas", "updateRevision")


def status_dict(st: dict) -> dict:
    # Go's field order and omitempty: replicas and availableReplicas are always written,
    # collisionCount whenever set (a pointer), the rest only when not zero or empty.
    out: dict = {}
    if st.get("observedGeneration"):
        out["observedGeneration"] = st["observedGeneration"]
    out["replicas"] = st.get("replicas", 0)
    for f in ("readyReplicas", "currentReplicas", "updatedReplicas", "currentRevision", "updateRevision"):
        if st.get(f):
            out[f] = st[f]
    if st.get("collisionCount") is not None:
        out["collisionCount"] = st["collisionCount"]
    out["availableReplicas"] = st.get("availableReplicas", 0)
    return out


def count_replicas(status: dict, pods: list[dict], min_ready_seconds: int, now: float,
                   current_revision: str, update_revision: str) -> None:
    """``updateStatus``: the replica counts of ``status`` recomputed from ``pods``."""
    replicas = ready = available = current = updated = 0
    for pod in pods:
        created = is_created(pod)
        replicas += created
        if is_running_and_ready(pod):
            ready += 1
            available += is_pod_available(pod, min_ready_seconds, now)
        if created and not is_terminating(pod):
            rev = pod_revision(pod)
            current += rev == current_revision
            updated += rev == update_revision
    status.update(replicas=replicas, readyReplicas=ready, availableReplicas=available,
                  currentReplicas=current, updatedReplicas=updated)


def complete_rolling_update(sts: dict, status: dict) -> None:
    """Once every replica runs the update revision, it becomes the current one."""
    spec = sts.get("spec") or {}
    replicas = spec.get("replicas") or 0
    if ((spec.get("updateStrategy") or {}).get("type") == "RollingUpdate"
            and status["updatedReplicas"] == replicas and status["readyReplicas"] == replicas
            and status["replicas"] == replicas):
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = status["updateRevision"]


def inconsistent_status(sts: dict, status: dict) -> bool:
    """Whether the computed status differs from the stored one (``collisionCount`` alone does not count)."""
    old = sts.get("status") or {}
    if (status.get("observedGeneration") or 0) > (old.get("observedGeneration") or 0):
        return True
    return any((status.get(f) or 0) != (old.get(f) or 0) for f in _STATUS_FIELDS)


# ---------------------------------------------------------------------------------------
# PersistentVolumeClaim ownership for the retention policy (stateful_set_utils.go)
# ---------------------------------------------------------------------------------------
def _has_owner(obj: dict, uid: str | None) -> bool:
    return bool(uid) and any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or ())


def claim_owner_matches(claim: dict, sts: dict, pod: dict) -> bool:
    """Whether the claim's owner references already say what the retention policy wants.

    Retain/Retain: no owner. ``whenDeleted: Delete``: owned by the set (the garbage
    collector deletes it with the set). ``whenScaled: Delete``: a condemned pod owns it
    (it goes when the pod goes).
    """
    when_deleted, when_scaled = retention_policy(sts)
    has_set = _has_owner(claim, sts["metadata"].get("uid"))
    has_pod = _has_owner(claim, pod["metadata"].get("uid"))
    scaled_down = not in_ordinal_range(pod, sts)
    if when_scaled == "Delete":
        if (when_deleted == "Delete" and not scaled_down) != has_set:
            return False
        return scaled_down == has_pod
    if when_deleted == "Delete":
        return has_set and not has_pod
    return not has_set and not has_pod


def updated_claim_owners(claim: dict, sts: dict, pod: dict) -> list[dict]:
    """The claim's owner references with ours redone for the retention policy."""
    set_uid, pod_uid = sts["metadata"].get("uid"), pod["metadata"].get("uid")
    refs = [r for r in claim["metadata"].get("ownerReferences") or ()
            if r.get("uid") not in (set_uid, pod_uid)
            and not (r.get("kind") == "StatefulSet" and r.get("name") == sts["metadata"]["name"])
            and not (r.get("kind") == "Pod" and r.get("name") == pod["metadata"]["name"])]
    when_deleted, when_scaled = retention_policy(sts)
    scaled_down = not in_ordinal_range(pod, sts)
    if when_scaled == "Delete" and scaled_down and pod_uid:
        refs.append(owner_reference(pod))
    elif when_deleted == "Delete" and not (when_scaled == "Delete" and scaled_down):
        refs.append(owner_reference(sts))
    return refs
