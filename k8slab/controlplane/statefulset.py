"""The StatefulSet controller: pods with a stable name, a stable network identity and their own disks.

The loop of kube-controller-manager's ``pkg/controller/statefulset`` (v1.30):

1. *Revisions*: the set's pod template is saved as a ControllerRevision
   (:mod:`k8slab.controlplane.history`); a new template makes a new revision
   (the *update revision*), while ``status.currentRevision`` names the one the
   set ran before. Pods carry the revision's name in ``controller-revision-hash``.
2. *Claim* pods named ``<set>-<ordinal>`` (adopt matching orphans, release the rest).
3. Walk the ordinals ``0 .. replicas-1`` in order. A missing pod is created —
   after its PersistentVolumeClaims ``<template>-<set>-<ordinal>``, which are
   never deleted by default, so a pod made again under the same name finds its
   data again. A Failed or Succeeded pod is deleted, to be made again.
   With ``podManagementPolicy: OrderedReady`` (the default) the walk stops at the
   first pod that is not Running and Ready: ``web-1`` is only created once
   ``web-0`` is Ready. ``Parallel`` creates them all at once.
4. Pods beyond ``replicas`` are *condemned*: deleted from the highest ordinal
   down, one at a time (OrderedReady), each once it has terminated.
5. ``RollingUpdate``: delete the pod with the highest ordinal not yet at the
   update revision — only ordinals ``>= partition`` — and wait until its
   replacement is Running and Ready before the next. ``OnDelete`` replaces a pod
   only when someone deletes it.
6. Write ``status``; keep ``revisionHistoryLimit`` unused revisions.

Events as the real controller words them: ``SuccessfulCreate`` "create Pod web-0
in StatefulSet web successful", "create Claim www-web-0 Pod web-0 in StatefulSet
web success", ``SuccessfulDelete`` "delete Pod web-1 in StatefulSet web successful".

Simplified: parallel requests run one after the other (in ordinal order); the
``maxUnavailable`` rolling update (an alpha feature gate in v1.30) is left out.

Example
-------
>>> sts = {"metadata": {"name": "web", "namespace": "default"},
...        "spec": {"serviceName": "web", "replicas": 2,
...                 "volumeClaimTemplates": [{"metadata": {"name": "www"}}]}}
>>> pod_name(sts, 1), claim_name(sts, {"metadata": {"name": "www"}}, 1)
('web-1', 'www-web-1')
>>> parent_and_ordinal("web-12")
('web', 12)
"""

from __future__ import annotations

import re

from k8slab.api import errors
from k8slab.api.objects import clone, controller_of, is_pod_ready, owner_reference, split_key
from k8slab.controlplane.controller import Controller
from k8slab.controlplane.history import (
    POD_REVISION_LABEL,
    adopt_controller_revision,
    create_controller_revision,
    find_equal_revisions,
    list_controller_revisions,
    new_controller_revision,
    next_revision,
    sort_controller_revisions,
    template_of,
    template_patch,
    truncate_history,
    update_controller_revision,
)
from k8slab.controlplane.replicaset import (
    INDEX_CONTROLLER_UID,
    INDEX_NAMESPACE,
    INDEX_ORPHANS,
    ControllerRefManager,
    SelectorCache,
    add_ownership_indexes,
    is_pod_available,
    pod_from_template,
    recheck_deletion,
)

#: Label with the pod's own name, so a Service can select one member (``StatefulSetPodNameLabel``).
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
#: Label with the pod's ordinal (``PodIndexLabel``, on by default since v1.28).
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
#: Most requests one batch of a Parallel set sends at once (``MaxBatchSize``).
MAX_BATCH_SIZE = 500

_POD_NAME_RE = re.compile(r"^(.*)-([0-9]+)$")


class ClaimError(Exception):
    """A pod's claim cannot be used yet (it is being deleted); the sync is retried."""


_SYNC_ERRORS = (errors.ApiError, ClaimError)


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


def _claim_templates(sts: dict) -> list[dict]:
    return [t for t in (sts.get("spec") or {}).get("volumeClaimTemplates") or () if isinstance(t, dict)]


def storage_matches(sts: dict, pod: dict) -> bool:
    """Every claim template has a volume of its name using the pod's own claim."""
    ordinal = ordinal_of(pod)
    if ordinal < 0:
        return False
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or ()}
    for template in _claim_templates(sts):
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
    for template in _claim_templates(sts):
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
def _phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def is_created(pod: dict) -> bool:
    """Stored by the API server (which always gives a phase); our placeholders have none."""
    return _phase(pod) != ""


def is_terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_running_and_ready(pod: dict) -> bool:
    if _phase(pod) != "Running":
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


def _status_dict(st: dict) -> dict:
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


# ---------------------------------------------------------------------------------------
# The controller
# ---------------------------------------------------------------------------------------
class StatefulSetController(Controller):
    """Runs StatefulSets (see the module docstring)."""

    name = "statefulset-controller"
    kind = "StatefulSet"

    def setup(self) -> None:
        self.selectors = SelectorCache()
        self.set_informer = self.informers.informer("statefulsets")
        self.pod_informer = self.informers.informer("pods")
        self.claim_informer = self.informers.informer("persistentvolumeclaims")
        self.revision_informer = self.informers.informer("controllerrevisions")
        self.set_informer.add_index(INDEX_NAMESPACE, lambda o: [o["metadata"].get("namespace") or ""])
        add_ownership_indexes(self.pod_informer)
        add_ownership_indexes(self.revision_informer)
        self.set_lister = self.set_informer.lister
        self.pod_lister = self.pod_informer.lister
        self.claim_lister = self.claim_informer.lister
        self.set_informer.add_event_handler(self._enqueue, lambda old, cur: self._enqueue(cur), self._deleted_set)
        self.pod_informer.add_event_handler(self._add_pod, self._update_pod, self._delete_pod)

    # -- event handlers ---------------------------------------------------------------------
    @staticmethod
    def _key(obj: dict) -> str:
        m = obj["metadata"]
        return f"{m.get('namespace')}/{m['name']}"

    def _enqueue(self, sts: dict) -> None:
        self.queue.add(self._key(sts))

    def _deleted_set(self, sts: dict) -> None:
        self.selectors.forget(sts)
        self._enqueue(sts)

    def _resolve(self, namespace: str | None, ref: dict) -> dict | None:
        if ref.get("kind") != self.kind:
            return None
        sts = self.set_lister.get(ref.get("name", ""), namespace)
        if sts is None or sts["metadata"].get("uid") != ref.get("uid"):
            return None
        return sts

    def _sets_for_pod(self, pod: dict) -> list[dict]:
        """``GetPodStatefulSets``: the sets of the pod's namespace whose selector matches it."""
        labels = pod["metadata"].get("labels")
        if not labels:
            return []
        out = []
        for sts in self.set_lister.by_index(INDEX_NAMESPACE, pod["metadata"].get("namespace") or ""):
            try:
                sel = self.selectors.get(sts)
            except ValueError:
                continue
            if not sel.empty and sel.matches(labels):
                out.append(sts)
        return out

    def _add_pod(self, pod: dict) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._delete_pod(pod)
            return
        ref = controller_of(pod)
        if ref is not None:
            sts = self._resolve(pod["metadata"].get("namespace"), ref)
            if sts is not None:
                self._enqueue(sts)
            return
        for sts in self._sets_for_pod(pod):
            self._enqueue(sts)

    def _update_pod(self, old: dict, cur: dict) -> None:
        om, cm = old["metadata"], cur["metadata"]
        if om.get("resourceVersion") == cm.get("resourceVersion"):
            return
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        if cur_ref != old_ref and old_ref is not None:
            sts = self._resolve(om.get("namespace"), old_ref)
            if sts is not None:
                self._enqueue(sts)
        if cur_ref is not None:
            sts = self._resolve(cm.get("namespace"), cur_ref)
            if sts is None:
                return
            self._enqueue(sts)
            min_ready = (sts.get("spec") or {}).get("minReadySeconds") or 0
            if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(cur):
                # nothing else happens when the pod turns available: look again then (+1 s of skew)
                self.queue.add_after(self._key(sts), min_ready + 1)
            return
        if om.get("labels") != cm.get("labels") or cur_ref != old_ref:
            for sts in self._sets_for_pod(cur):
                self._enqueue(sts)

    def _delete_pod(self, pod: dict) -> None:
        ref = controller_of(pod)
        if ref is None:
            return
        sts = self._resolve(pod["metadata"].get("namespace"), ref)
        if sts is not None:
            self._enqueue(sts)

    # -- sync -------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        sts = self.set_lister.get(name, namespace)
        if sts is None:
            return
        try:
            selector = self.selectors.get(sts)
        except ValueError:
            return  # a selector that cannot be parsed will not parse on a retry either
        self._adopt_orphan_revisions(sts, selector)
        pods = self._claim_pods(sts, selector)
        status = self.update_stateful_set(sts, pods, selector)
        spec = sts.get("spec") or {}
        min_ready = spec.get("minReadySeconds") or 0
        if min_ready > 0 and status is not None and status["availableReplicas"] != (spec.get("replicas") or 0):
            self.queue.add_after(key, min_ready)

    def _revisions(self, sts: dict, selector) -> list[dict]:
        return list_controller_revisions(self.revision_informer.indexer, sts, selector,
                                         by_owner=INDEX_CONTROLLER_UID, orphans=INDEX_ORPHANS)

    def _adopt_orphan_revisions(self, sts: dict, selector) -> None:
        orphans = [r for r in self._revisions(sts, selector) if controller_of(r) is None]
        if not orphans:
            return
        recheck_deletion(self.client, "statefulsets", sts)()
        for rev in sorted(orphans, key=lambda r: r["metadata"]["name"]):
            adopt_controller_revision(self.client, sts, rev)

    def _claim_pods(self, sts: dict, selector) -> list[dict]:
        """``getPodsForStatefulSet``: owned pods still matching, plus adopted orphans named like members."""
        m = sts["metadata"]
        candidates = list(self.pod_lister.by_index(INDEX_CONTROLLER_UID, m["uid"]))
        candidates += sorted(self.pod_lister.by_index(INDEX_ORPHANS, m.get("namespace") or ""),
                             key=lambda p: p["metadata"]["name"])
        if not candidates:
            return []
        manager = ControllerRefManager(
            self.client, sts, selector, "pods", recheck_deletion(self.client, "statefulsets", sts),
            match=lambda p: selector.matches(p["metadata"].get("labels")) and is_member_of(sts, p))
        claimed, errs = manager.claim(candidates)
        if errs:
            raise errs[0]
        return claimed

    # -- UpdateStatefulSet (stateful_set_control.go) -----------------------------------------
    def update_stateful_set(self, sts: dict, pods: list[dict], selector) -> dict | None:
        revisions = sort_controller_revisions(self._revisions(sts, selector))
        current = update = None
        try:
            current, update, collision_count = self._get_revisions(sts, revisions)
            status, err = self._update_pods(sts, current, update, collision_count, pods)
            if status is not None:
                self._update_status(sts, status)
            if err is not None:
                raise err
            return status
        finally:
            live = {pod_revision(p) for p in pods}
            live.update(r["metadata"]["name"] for r in (current, update) if r is not None)
            truncate_history(self.client, revisions, live, (sts.get("spec") or {}).get("revisionHistoryLimit"))

    def _get_revisions(self, sts: dict, revisions: list[dict]) -> tuple[dict, dict, int]:
        """``getStatefulSetRevisions``: the current and update revisions, creating the latter if new."""
        status = sts.get("status") or {}
        collision_count = status.get("collisionCount") or 0
        spec = sts.get("spec") or {}
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
        update = new_controller_revision(sts, template_labels, template_patch(sts), next_revision(revisions),
                                         collision_count)
        annotations = sts["metadata"].get("annotations")
        if annotations:
            update["metadata"]["annotations"] = dict(annotations)
        equal = find_equal_revisions(revisions, update)
        if equal and equal[-1] is revisions[-1]:
            update = revisions[-1]  # the template has not changed
        elif equal:
            # the template went back to an older one: renumber that revision (a roll back)
            update = update_controller_revision(self.client, equal[-1], update["revision"])
        else:
            update, collision_count = create_controller_revision(self.client, sts, update, collision_count)
        current = next((r for r in revisions if r["metadata"]["name"] == status.get("currentRevision")), None)
        return current or update, update, collision_count

    def _update_pods(self, sts: dict, current: dict, update: dict, collision_count: int,
                     pods: list[dict]) -> tuple[dict | None, Exception | None]:
        """``updateStatefulSet``: create, delete and replace pods; returns the status and any error."""
        spec = sts.get("spec") or {}
        min_ready = spec.get("minReadySeconds") or 0
        now = self.now
        current_set = with_template(sts, template_of(current))
        update_set = with_template(sts, template_of(update))
        cur_name, upd_name = current["metadata"]["name"], update["metadata"]["name"]
        status = {"observedGeneration": sts["metadata"].get("generation") or 0, "currentRevision": cur_name,
                  "updateRevision": upd_name, "collisionCount": collision_count}
        count_replicas(status, pods, min_ready, now, cur_name, upd_name)

        start, end = start_ordinal(sts), end_ordinal(sts)
        replicas: list[dict | None] = [None] * (end - start + 1)
        condemned = []
        for pod in pods:
            ordinal = ordinal_of(pod)
            if start <= ordinal <= end:
                replicas[ordinal - start] = pod
            elif ordinal >= 0:
                condemned.append(pod)
        for i, pod in enumerate(replicas):
            if pod is None:
                replicas[i] = new_versioned_pod(current_set, update_set, cur_name, upd_name, start + i)
        condemned.sort(key=ordinal_of, reverse=True)

        first_unhealthy = next((p for p in replicas if is_unavailable(p, min_ready, now)), None)
        if first_unhealthy is None:
            first_unhealthy = next((p for p in reversed(condemned) if is_unavailable(p, min_ready, now)), None)

        if sts["metadata"].get("deletionTimestamp"):
            return status, None
        monotonic = spec.get("podManagementPolicy") != "Parallel"

        def recount():
            count_replicas(status, replicas + condemned, min_ready, now, cur_name, upd_name)

        stop, err = self._run_for_all(
            replicas, lambda i: self._process_replica(sts, update_set, monotonic, replicas, i), monotonic)
        if stop or err:
            recount()
            return status, err

        def fix_claims(i: int) -> bool:
            if not self._claims_match_retention(update_set, condemned[i]):
                self._update_claims_for_retention(update_set, condemned[i])
            return False

        stop, err = self._run_for_all(condemned, fix_claims, monotonic)
        if stop or err:
            recount()
            return status, err

        stop, err = self._run_for_all(
            condemned, lambda i: self._process_condemned(sts, first_unhealthy, monotonic, condemned, i),
            monotonic)
        recount()
        if stop or err:
            return status, err

        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type") == "OnDelete":
            return status, None  # pods are replaced only when someone deletes them

        # Rolling update: replace the highest ordinal not at the update revision, one at a time.
        rolling = strategy.get("rollingUpdate")
        update_min = int(rolling.get("partition") or 0) if rolling is not None else 0
        for target in range(len(replicas) - 1, update_min - 1, -1):
            pod = replicas[target]
            if pod_revision(pod) != upd_name and not is_terminating(pod):
                try:
                    self._delete_pod_of(sts, pod)
                except errors.NotFound:
                    pass
                except errors.ApiError as e:
                    return status, e
                status["currentReplicas"] -= 1
                return status, None
            if is_unavailable(pod, min_ready, now):
                return status, None  # wait for the replacement to be Running and Ready
        return status, None

    @staticmethod
    def _run_for_all(pods: list, fn, monotonic: bool) -> tuple[bool, Exception | None]:
        """``runForAll``: in order, stopping at the first that says so (OrderedReady), or all of
        them in slow-start batches of 1, 2, 4 ... (Parallel), stopping after a failed batch."""
        if monotonic:
            for i in range(len(pods)):
                try:
                    if fn(i):
                        return True, None
                except _SYNC_ERRORS as e:
                    return True, e
            return False, None
        i, batch = 0, min(1, len(pods))
        while batch > 0:
            first_error = None
            for k in range(i, i + batch):
                try:
                    fn(k)
                except _SYNC_ERRORS as e:
                    first_error = first_error or e
            if first_error is not None:
                return True, first_error
            i += batch
            batch = min(2 * batch, len(pods) - i, MAX_BATCH_SIZE)
        return False, None

    def _process_replica(self, sts: dict, update_set: dict, monotonic: bool, replicas: list[dict], i: int) -> bool:
        """One ordinal in range: make it exist, healthy, and with its identity and claims."""
        pod = replicas[i]
        phase = _phase(pod)
        if phase in ("Failed", "Succeeded"):
            # the pod's program ended (evicted, node rebooted...): delete it, a new one follows
            if not is_terminating(pod):
                self._delete_pod_of(sts, pod)
            return True
        if not is_created(pod):
            if self._claim_is_stale(sts, pod):
                return True  # a claim still owned by an older pod of this name: wait for the GC
            self._create_pod(sts, pod)
            if monotonic:
                return True
        if phase == "Pending":
            self._create_missing_claims(sts, pod)
            self._update_claims_for_retention(sts, pod)
        if is_terminating(pod) and monotonic:
            return True  # wait until it is gone
        if not is_running_and_ready(pod) and monotonic:
            return True  # the next ordinal waits for this one to be Running and Ready
        min_ready = (sts.get("spec") or {}).get("minReadySeconds") or 0
        if not is_pod_available(pod, min_ready, self.now) and monotonic:
            return True
        if not is_created(pod):
            return False  # (Parallel) just created: nothing of it to check until the cache has it
        retention_ok = self._claims_match_retention(update_set, pod)
        if identity_matches(sts, pod) and storage_matches(sts, pod) and retention_ok:
            return False
        self._update_stateful_pod(update_set, clone(pod))
        return False

    def _process_condemned(self, sts: dict, first_unhealthy: dict | None, monotonic: bool,
                           condemned: list[dict], i: int) -> bool:
        """One ordinal beyond ``replicas``: delete it, highest first, once its elders are healthy."""
        pod = condemned[i]
        if is_terminating(pod):
            return monotonic  # OrderedReady waits for it to be gone before the next
        min_ready = (sts.get("spec") or {}).get("minReadySeconds") or 0
        if monotonic and pod is not first_unhealthy and (
                not is_running_and_ready(pod) or not is_pod_available(pod, min_ready, self.now)):
            return True
        self._delete_pod_of(sts, pod)
        return True

    # -- pod and claim writes (stateful_pod_control.go) ---------------------------------------
    def _pod_event(self, verb: str, sts: dict, pod: dict, err: Exception | None) -> None:
        name, set_name = pod["metadata"]["name"], sts["metadata"]["name"]
        if err is None:
            self.recorder.event(sts, "Normal", f"Successful{verb.title()}",
                                f"{verb} Pod {name} in StatefulSet {set_name} successful")
        else:
            self.recorder.event(sts, "Warning", f"Failed{verb.title()}",
                                f"{verb} Pod {name} in StatefulSet {set_name} failed error: {_message(err)}")

    def _claim_event(self, verb: str, sts: dict, pod: dict, claim: dict, err: Exception | None) -> None:
        claim_, name, set_name = claim["metadata"]["name"], pod["metadata"]["name"], sts["metadata"]["name"]
        if err is None:
            self.recorder.event(sts, "Normal", f"Successful{verb.title()}",
                                f"{verb} Claim {claim_} Pod {name} in StatefulSet {set_name} success")
        else:
            self.recorder.event(sts, "Warning", f"Failed{verb.title()}",
                                f"{verb} Claim {claim_} for Pod {name} in StatefulSet {set_name} failed error: "
                                f"{_message(err)}")

    def _create_pod(self, sts: dict, pod: dict) -> None:
        """``CreateStatefulPod``: the claims first, then the pod."""
        try:
            self._create_claims(sts, pod)
        except _SYNC_ERRORS as e:
            self._pod_event("create", sts, pod, e)
            raise
        try:
            created = self.client.create(clone(pod), sts["metadata"].get("namespace"), hand_over=True)
        except errors.AlreadyExists:
            raise  # the cache has not seen it yet: no event, try again later
        except errors.ApiError as e:
            self._pod_event("create", sts, pod, e)
            raise
        try:
            self._update_claims_for_retention(sts, created)
        except errors.ApiError as e:
            self._pod_event("update", sts, pod, e)
            raise
        self._pod_event("create", sts, pod, None)

    def _delete_pod_of(self, sts: dict, pod: dict) -> None:
        m = pod["metadata"]
        try:
            self.client.delete("pods", m["name"], m.get("namespace"))
        except errors.ApiError as e:
            self._pod_event("delete", sts, pod, e)
            raise
        self._pod_event("delete", sts, pod, None)

    def _update_stateful_pod(self, sts: dict, pod: dict) -> None:
        """``UpdateStatefulPod``: restore identity and storage (creating missing claims), one retry on conflict."""
        for attempt in range(2):
            consistent = True
            if not identity_matches(sts, pod):
                update_identity(sts, pod)
                consistent = False
            if not storage_matches(sts, pod):
                update_storage(sts, pod)
                consistent = False
                try:
                    self._create_claims(sts, pod)
                except _SYNC_ERRORS as e:
                    self._pod_event("update", sts, pod, e)
                    raise
            if not self._claims_match_retention(sts, pod):
                self._update_claims_for_retention(sts, pod)
                consistent = False
            if consistent:
                return
            try:
                self.client.update(pod)
                self._pod_event("update", sts, pod, None)
                return
            except errors.Conflict as e:
                fresh = self.pod_lister.get(pod["metadata"]["name"], sts["metadata"].get("namespace"))
                if attempt or fresh is None:
                    self._pod_event("update", sts, pod, e)
                    raise
                pod = clone(fresh)
            except errors.ApiError as e:
                self._pod_event("update", sts, pod, e)
                raise

    def _create_claims(self, sts: dict, pod: dict) -> None:
        """``createPersistentVolumeClaims``: create the pod's missing claims (existing ones are reused)."""
        first_error = None
        namespace = sts["metadata"].get("namespace")
        for _template, claim in claims_for(sts, ordinal_of(pod)):
            name = claim["metadata"]["name"]
            existing = self.claim_lister.get(name, namespace)
            if existing is None:
                try:
                    self.client.create(claim, namespace, hand_over=True)
                    self._claim_event("create", sts, pod, claim, None)
                except errors.AlreadyExists as e:
                    first_error = first_error or _wrapped(e, f"failed to create PVC {name}: ")
                except errors.ApiError as e:
                    self._claim_event("create", sts, pod, claim, e)
                    first_error = first_error or _wrapped(e, f"failed to create PVC {name}: ")
            elif existing["metadata"].get("deletionTimestamp"):
                first_error = first_error or ClaimError(f"pvc {name} is being deleted")
        if first_error is not None:
            raise first_error

    def _create_missing_claims(self, sts: dict, pod: dict) -> None:
        self._create_claims(sts, pod)

    def _claims(self, sts: dict, pod: dict):
        namespace = sts["metadata"].get("namespace")
        for template in _claim_templates(sts):
            claim = self.claim_lister.get(claim_name(sts, template, ordinal_of(pod)), namespace)
            if claim is not None:
                yield claim

    def _claims_match_retention(self, sts: dict, pod: dict) -> bool:
        return all(claim_owner_matches(c, sts, pod) for c in self._claims(sts, pod))

    def _update_claims_for_retention(self, sts: dict, pod: dict) -> None:
        """``UpdatePodClaimForRetentionPolicy``: set the claims' owners as the policy wants."""
        for claim in list(self._claims(sts, pod)):
            if claim_owner_matches(claim, sts, pod):
                continue
            refs = updated_claim_owners(claim, sts, pod)
            if refs == (claim["metadata"].get("ownerReferences") or []):
                continue
            body = clone(claim)
            if refs:
                body["metadata"]["ownerReferences"] = refs
            else:
                body["metadata"].pop("ownerReferences", None)
            self.client.update(body)

    def _claim_is_stale(self, sts: dict, pod: dict) -> bool:
        """``PodClaimIsStale``: with ``whenScaled: Delete``, a claim still owned by an earlier pod
        of this name is about to be deleted; a new pod must not use it."""
        if retention_policy(sts)[1] == "Retain":
            return False
        name, uid = pod["metadata"]["name"], pod["metadata"].get("uid")
        for claim in self._claims(sts, pod):
            for ref in claim["metadata"].get("ownerReferences") or ():
                if ref.get("kind") == "Pod" and ref.get("name") == name and ref.get("uid") != uid:
                    return True
        return False

    # -- status (stateful_set_status_updater.go) ----------------------------------------------
    def _update_status(self, sts: dict, status: dict) -> None:
        complete_rolling_update(sts, status)
        if not inconsistent_status(sts, status):
            return
        obj = dict(sts)
        obj["status"] = _status_dict(status)
        try:
            self.client.update_status(obj)
        except errors.Conflict:
            m = sts["metadata"]
            fresh = self.client.get("statefulsets", m["name"], m.get("namespace"))
            fresh["status"] = obj["status"]
            self.client.update_status(fresh)


def _message(err: Exception) -> str:
    return err.message if isinstance(err, errors.ApiError) else str(err)


def _wrapped(err: errors.ApiError, prefix: str) -> errors.ApiError:
    st = dict(err.status)
    st["message"] = prefix + st.get("message", "")
    new = type(err).__new__(type(err))
    errors.ApiError.__init__(new, st)
    return new
