"""The ReplicaSet controller: keep ``spec.replicas`` pods running that match the selector.

The loop of kube-controller-manager's ``pkg/controller/replicaset``, step by step:

1. *Claim* pods: adopt orphans whose labels match the selector (patch an
   ``ownerReference`` in), release owned pods that no longer match (patch it out).
2. If the controller is not still waiting to *see* its own earlier writes
   (its **expectations**), compare how many active pods it owns with
   ``spec.replicas``: create the missing ones from the template in slow-start
   batches (1, 2, 4 ... at most 500 per sync), or delete the surplus, choosing
   the victims that hurt least (unscheduled before scheduled, pending before
   running, not ready before ready, ... newer before older).
3. Write ``status`` (replicas, fullyLabeledReplicas, readyReplicas,
   availableReplicas, observedGeneration) when it changed.

Expectations exist because the informer cache lags behind the API server: just
after creating 3 pods the cache still shows none, and a second sync would
create 3 more. The controller records "I expect 3 creations" and skips managing
replicas until the informer has delivered them (or 5 minutes have passed).

The expectations, the claiming of pods and the pod writes are shared with the
other workload controllers (:mod:`k8slab.controlplane.workload`).

Example
-------
>>> from k8slab.sim import EventLoop
>>> exp = UIDTrackingControllerExpectations(EventLoop())
>>> exp.expect_deletions("default/web", ["default/web-abcde"])
>>> exp.satisfied("default/web")
False
>>> # seen as a deletionTimestamp update, then as the final delete: counted once
>>> exp.deletion_observed("default/web", "default/web-abcde")
>>> exp.deletion_observed("default/web", "default/web-abcde")
>>> exp.satisfied("default/web"), exp.get("default/web")
(True, Expectation(add=0, del=0))
"""

from __future__ import annotations

import math
from collections import Counter
from functools import cmp_to_key

from k8slab.api import errors
from k8slab.api.objects import clone, condition, controller_of, is_pod_ready, split_key
from k8slab.api.selectors import LabelSelector
from k8slab.controlplane.workload import (
    INDEX_CONTROLLER_UID,
    INDEX_ORPHANS,
    ControllerRefManager,
    PodControl,
    SelectorCache,
    UIDTrackingControllerExpectations,
    WorkloadController,
    add_ownership_indexes,
    create_in_batches,
    is_pod_active,
    is_pod_available,
    max_container_restarts,
    pod_from_template,
    recheck_deletion,
    slow_start_batch,
    update_status_with_retry,
)
from k8slab.sim.loop import parse_timestamp, timestamp

#: At most this many pods are created or deleted by one sync (--replicaset-burst... ``burstReplicas``).
BURST_REPLICAS = 500
#: Annotation that lets a user say which pods to delete first when scaling down.
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"

__all__ = ["BURST_REPLICAS", "ReplicaSetController", "calculate_status", "is_pod_active", "pods_to_delete",
           "slow_start_batch", "status_from_counts"]


# ---------------------------------------------------------------------------------------
# Pods: which to delete first
# ---------------------------------------------------------------------------------------
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def _ts(text: str | None) -> float | None:
    return parse_timestamp(text) if text else None


def _ready_time(pod: dict) -> float | None:
    c = condition(pod, "Ready")
    if c is not None and c.get("status") == "True":
        return _ts(c.get("lastTransitionTime"))
    return None


def _deletion_cost(pod: dict) -> int:
    value = (pod["metadata"].get("annotations") or {}).get(POD_DELETION_COST)
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _after_or_zero(t1: float | None, t2: float | None) -> bool:
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


def _log_rank(t: float, now: float) -> int:
    # Go compares durations in nanoseconds on a log2 scale (LogarithmicScaleDown, on in v1.30).
    d = (now - t) * 1e9
    return int(math.log2(d)) if d > 0 else -1


def _time_less(t1: float | None, t2: float | None, uid1: str, uid2: str, now: float) -> bool:
    if t1 is None or t2 is None:
        return _after_or_zero(t1, t2)
    diff = _log_rank(t1, now) - _log_rank(t2, now)
    if diff == 0:
        # same order of magnitude of age: a pseudo-random (uid) order spreads deletions
        return uid1 < uid2
    return diff < 0


def deletion_less(a: dict, rank_a: int, b: dict, rank_b: int, now: float) -> bool:
    """True when pod ``a`` should be deleted before pod ``b`` (``ActivePodsWithRanks.Less``).

    1. unscheduled < scheduled; 2. Pending < Unknown < Running; 3. not ready < ready;
    4. lower ``pod-deletion-cost`` first; 5. more pods of the same owner on its node first;
    6. ready for less time first; 7. more container restarts first; 8. newer first.
    Times are compared on a logarithmic scale, ties broken by uid.
    """
    na, nb = a["spec"].get("nodeName") or "", b["spec"].get("nodeName") or ""
    if na != nb and (not na or not nb):
        return not na
    pa = _PHASE_ORDINAL.get((a.get("status") or {}).get("phase"), 0)
    pb = _PHASE_ORDINAL.get((b.get("status") or {}).get("phase"), 0)
    if pa != pb:
        return pa < pb
    ra, rb = is_pod_ready(a), is_pod_ready(b)
    if ra != rb:
        return not ra
    ca, cb = _deletion_cost(a), _deletion_cost(b)
    if ca != cb:
        return ca < cb
    if rank_a != rank_b:
        return rank_a > rank_b
    ua, ub = a["metadata"].get("uid", ""), b["metadata"].get("uid", "")
    if ra and rb:
        t1, t2 = _ready_time(a), _ready_time(b)
        if t1 != t2:
            return _time_less(t1, t2, ua, ub, now)
    xa, xb = max_container_restarts(a), max_container_restarts(b)
    if xa != xb:
        return xa > xb
    c1, c2 = _ts(a["metadata"].get("creationTimestamp")), _ts(b["metadata"].get("creationTimestamp"))
    if c1 != c2:
        return _time_less(c1, c2, ua, ub, now)
    return False


def pods_to_delete(pods: list[dict], related: list[dict], diff: int, now: float) -> list[dict]:
    """The ``diff`` pods a scale-down should delete first (``getPodsToDelete``).

    ``related`` are the active pods of every ReplicaSet with the same owner: a pod
    on a node crowded with its siblings goes before a lonely one.

    Example
    -------
    >>> def pod(name, node, phase):
    ...     return {"metadata": {"name": name, "uid": name}, "spec": {"nodeName": node},
    ...             "status": {"phase": phase}}
    >>> pods = [pod("running", "worker-1", "Running"), pod("pending", "worker-2", "Pending"),
    ...         pod("unscheduled", "", "Pending")]
    >>> [p["metadata"]["name"] for p in pods_to_delete(pods, pods, 2, now=100.0)]
    ['unscheduled', 'pending']
    """
    if diff >= len(pods):
        return list(pods[:diff])
    on_node = Counter((p["spec"].get("nodeName") or "") for p in related if is_pod_active(p))
    ranked = [(p, on_node[p["spec"].get("nodeName") or ""]) for p in pods]

    def cmp(x, y):
        if deletion_less(x[0], x[1], y[0], y[1], now):
            return -1
        if deletion_less(y[0], y[1], x[0], x[1], now):
            return 1
        return 0

    ranked.sort(key=cmp_to_key(cmp))
    return [p for p, _rank in ranked[:diff]]


# ---------------------------------------------------------------------------------------
# Status (replica_set_utils.go)
# ---------------------------------------------------------------------------------------
def _status_dict(replicas: int, fully: int, ready: int, available: int, observed: int,
                 conditions: list[dict]) -> dict:
    # Go marshals these with omitempty (all but replicas): zeros do not appear.
    st: dict = {"replicas": replicas}
    if fully:
        st["fullyLabeledReplicas"] = fully
    if ready:
        st["readyReplicas"] = ready
    if available:
        st["availableReplicas"] = available
    if observed:
        st["observedGeneration"] = observed
    if conditions:
        st["conditions"] = conditions
    return st


def _fully_labeled(labels: dict, template_labels: dict) -> bool:
    return labels == template_labels or all(labels.get(k) == v for k, v in template_labels.items())


def calculate_status(rs: dict, pods: list[dict], manage_error: Exception | None, now: float) -> dict:
    """The ReplicaSet status the claimed ``pods`` call for (``observedGeneration`` left as it was)."""
    spec = rs.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = spec.get("minReadySeconds") or 0
    fully = ready = available = 0
    for pod in pods:
        if _fully_labeled(pod["metadata"].get("labels") or {}, template_labels):
            fully += 1
        if is_pod_ready(pod):
            ready += 1
            if is_pod_available(pod, min_ready, now):
                available += 1
    return status_from_counts(rs, len(pods), fully, ready, available, manage_error, now)


def status_from_counts(rs: dict, replicas: int, fully: int, ready: int, available: int,
                       manage_error: Exception | None, now: float) -> dict:
    """The status for these counts, with the ``ReplicaFailure`` condition set or cleared."""
    spec = rs.get("spec") or {}
    old = rs.get("status") or {}
    conditions = [clone(c) for c in old.get("conditions") or ()]
    failure = next((c for c in conditions if c.get("type") == "ReplicaFailure"), None)
    if manage_error is not None and failure is None:
        diff = replicas - (spec.get("replicas") or 0)
        reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
        message = manage_error.message if isinstance(manage_error, errors.ApiError) else str(manage_error)
        conditions.append({"type": "ReplicaFailure", "status": "True", "lastTransitionTime": timestamp(now),
                           "reason": reason, "message": message})
    elif manage_error is None and failure is not None:
        conditions = [c for c in conditions if c.get("type") != "ReplicaFailure"]
    return _status_dict(replicas, fully, ready, available, old.get("observedGeneration") or 0, conditions)


class OwnedPods:
    """The active pods one ReplicaSet owns, with running counts.

    The real controller lists and re-examines every pod on each sync. Here the
    pod handlers note which pods changed, and a sync looks at those only (or at
    all of them when the ReplicaSet's selector or template labels changed), so a
    sync costs what changed, not the size of the ReplicaSet. The result is the
    same ``filteredPods`` the real controller would compute.
    """

    __slots__ = ("basis", "pods", "claimed", "fully", "ready", "nonmatching")

    def __init__(self, basis: tuple):
        self.basis = basis
        self.pods: dict[str, tuple[dict, bool, bool, bool]] = {}
        self.claimed = self.fully = self.ready = 0
        self.nonmatching: dict[str, dict] = {}

    def __repr__(self) -> str:
        return f"OwnedPods({self.claimed} claimed, {self.ready} ready, {len(self.nonmatching)} to release)"

    def _count(self, entry: tuple, sign: int) -> None:
        _pod, match, fully, ready = entry
        if match:
            self.claimed += sign
            self.fully += sign * fully
            self.ready += sign * ready

    def drop(self, key: str) -> None:
        entry = self.pods.pop(key, None)
        if entry is not None:
            self._count(entry, -1)
        self.nonmatching.pop(key, None)

    def put(self, key: str, pod: dict, match: bool, fully: bool, ready: bool) -> None:
        self.drop(key)
        entry = (pod, match, fully, ready)
        self.pods[key] = entry
        self._count(entry, 1)
        if not match:
            self.nonmatching[key] = pod

    def matching(self) -> list[dict]:
        return [e[0] for e in self.pods.values() if e[1]]


# ---------------------------------------------------------------------------------------
# The controller
# ---------------------------------------------------------------------------------------
class ReplicaSetController(WorkloadController):
    """Keeps the right number of pods for every ReplicaSet (see the module docstring)."""

    name = "replicaset-controller"
    kind = "ReplicaSet"
    burst_replicas = BURST_REPLICAS

    def setup(self) -> None:
        self.expectations = UIDTrackingControllerExpectations(self.loop)
        self.selectors = SelectorCache()
        self.pod_control = PodControl(self.client, self.recorder)
        self.rs_informer = self.informers.informer("replicasets")
        self.pod_informer = self.informers.informer("pods")
        add_ownership_indexes(self.rs_informer)
        add_ownership_indexes(self.pod_informer)
        self.rs_lister = self.owner_lister = self.rs_informer.lister
        self.pod_lister = self.pod_informer.lister
        self.rs_informer.add_event_handler(self._add_rs, self._update_rs, self._delete_rs)
        self.pod_informer.add_event_handler(self._add_pod, self._update_pod, self._delete_pod)
        # which owned pods changed since each ReplicaSet's last sync (controller uid -> pod keys)
        self._dirty: dict[str, set[str]] = {}
        self._owned: dict[str, OwnedPods] = {}
        self.pod_informer.add_event_handler(self._mark, lambda old, cur: (self._mark(old), self._mark(cur)),
                                            self._mark)

    def _mark(self, pod: dict) -> None:
        ref = controller_of(pod)
        # only ReplicaSets with a summary need to know; the others rebuild on their next sync
        if ref is not None and ref.get("uid") in self._owned:
            self._dirty.setdefault(ref["uid"], set()).add(self._key(pod))

    # -- event handlers: decide which ReplicaSets need a sync ------------------------------
    def _add_rs(self, rs: dict) -> None:
        self.queue.add(self._key(rs))

    def _update_rs(self, old: dict, cur: dict) -> None:
        if old["metadata"].get("uid") != cur["metadata"].get("uid"):
            self._delete_rs(old)
        self.queue.add(self._key(cur))

    def _delete_rs(self, rs: dict) -> None:
        key = self._key(rs)
        # a new ReplicaSet of the same name starts with clean expectations
        self.expectations.delete(key)
        self.selectors.forget(rs)
        self._owned.pop(rs["metadata"].get("uid"), None)
        self._dirty.pop(rs["metadata"].get("uid"), None)
        self.queue.add(key)

    def _add_pod(self, pod: dict) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            # seen for the first time already terminating: not a creation we waited for
            self._delete_pod(pod)
            return
        ref = controller_of(pod)
        if ref is not None:
            rs = self.resolve_controller_ref(pod["metadata"].get("namespace"), ref)
            if rs is None:
                return
            key = self._key(rs)
            self.expectations.creation_observed(key)
            self.queue.add(key)
            return
        for rs in self.owners_selecting(pod):
            self.queue.add(self._key(rs))

    def _update_pod(self, old: dict, cur: dict) -> None:
        om, cm = old["metadata"], cur["metadata"]
        if om.get("resourceVersion") == cm.get("resourceVersion"):
            return
        if cm.get("deletionTimestamp"):
            # a graceful deletion started: replace the pod now, not when the kubelet is done
            self._delete_pod(cur)
            if om.get("labels") != cm.get("labels"):
                self._delete_pod(old)
            return
        self.update_owned(old, cur, requeue_when_available=True)

    def _delete_pod(self, pod: dict) -> None:
        ref = controller_of(pod)
        if ref is None:
            return
        rs = self.resolve_controller_ref(pod["metadata"].get("namespace"), ref)
        if rs is None:
            return
        key = self._key(rs)
        self.expectations.deletion_observed(key, self._key(pod))
        self.queue.add(key)

    # -- sync -------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        rs = self.rs_lister.get(name, namespace)
        if rs is None:
            self.expectations.delete(key)
            return
        needs_sync = self.expectations.satisfied(key)
        try:
            selector = self.selectors.get(rs)
        except ValueError:
            return  # an invalid selector: nothing can be done until it is fixed
        owned = self.owned_pods(rs, selector)
        adopted = self._claim_pods(rs, selector, owned)
        count = owned.claimed + len(adopted)
        manage_error = None
        if needs_sync and not rs["metadata"].get("deletionTimestamp"):
            try:
                self._manage(rs, count, lambda: owned.matching() + adopted)
            except errors.ApiError as e:
                manage_error = e
        status = self._status(rs, owned, adopted, manage_error)
        updated = self._update_status(rs, status)
        spec = updated.get("spec") or {}
        st = updated.get("status") or {}
        min_ready = spec.get("minReadySeconds") or 0
        replicas = spec.get("replicas") or 0
        if (manage_error is None and min_ready > 0 and st.get("readyReplicas", 0) == replicas
                and st.get("availableReplicas", 0) != replicas):
            self.queue.add_after(key, min_ready)
        if manage_error is not None:
            raise manage_error

    def owned_pods(self, rs: dict, selector: LabelSelector) -> OwnedPods:
        """The active pods this ReplicaSet controls, brought up to date with what changed."""
        uid = rs["metadata"]["uid"]
        template_labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        basis = ((rs["spec"].get("selector") or {}), template_labels)
        owned = self._owned.get(uid)
        dirty = self._dirty.pop(uid, None)
        if owned is None or owned.basis != basis:
            owned = self._owned[uid] = OwnedPods(basis)
            keys = [self._key(p) for p in self.pod_lister.by_index(INDEX_CONTROLLER_UID, uid)]
        else:
            keys = sorted(dirty) if dirty else ()
        indexer = self.pod_informer.indexer
        for key in keys:
            pod = indexer.get(key)
            ref = controller_of(pod) if pod is not None else None
            if ref is None or ref.get("uid") != uid or not is_pod_active(pod):
                owned.drop(key)
                continue
            labels = pod["metadata"].get("labels") or {}
            # fast path: a pod made from the template carries exactly its labels
            match = (labels == template_labels and bool(labels)) or selector.matches(labels)
            owned.put(key, pod, match, _fully_labeled(labels, template_labels), is_pod_ready(pod))
        return owned

    def _claim_pods(self, rs: dict, selector: LabelSelector, owned: OwnedPods) -> list[dict]:
        """Release owned pods that stopped matching, adopt matching orphans; returns the adopted."""
        orphans = self.pod_lister.by_index(INDEX_ORPHANS, rs["metadata"].get("namespace") or "")
        candidates = list(owned.nonmatching.values())
        if orphans:
            candidates += sorted((p for p in orphans if is_pod_active(p)), key=lambda p: p["metadata"]["name"])
        if not candidates:
            return []
        manager = ControllerRefManager(self.client, rs, selector, "pods",
                                       recheck_deletion(self.client, "replicasets", rs))
        adopted, errs = manager.claim(candidates)
        if errs:
            raise errs[0]
        return adopted

    def _status(self, rs: dict, owned: OwnedPods, adopted: list[dict], manage_error) -> dict:
        spec = rs.get("spec") or {}
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        min_ready = spec.get("minReadySeconds") or 0
        fully = owned.fully + sum(_fully_labeled(p["metadata"].get("labels") or {}, template_labels) for p in adopted)
        ready = owned.ready + sum(is_pod_ready(p) for p in adopted)
        if min_ready:
            available = sum(is_pod_available(p, min_ready, self.now) for p in owned.matching() + adopted)
        else:
            available = ready
        return status_from_counts(rs, owned.claimed + len(adopted), fully, ready, available, manage_error, self.now)

    def manage_replicas(self, pods: list[dict], rs: dict) -> None:
        """Create or delete pods so that ``len(pods)`` reaches ``spec.replicas`` (``manageReplicas``)."""
        self._manage(rs, len(pods), lambda: pods)

    def _manage(self, rs: dict, count: int, pods) -> None:
        key = self._key(rs)
        diff = count - (rs["spec"].get("replicas") or 0)
        if diff < 0:
            diff = min(-diff, self.burst_replicas)
            template = rs["spec"].get("template") or {}
            # pod_from_template builds a new pod (the spec copied in depth), used for nothing else
            _created, err = create_in_batches(
                self.expectations, key, diff,
                lambda: self.pod_control.create_pod(rs, pod_from_template(rs, template)))
            if err is not None:
                raise err
        elif diff > 0:
            diff = min(diff, self.burst_replicas)
            victims = pods_to_delete(pods(), self._related_pods(rs), diff, self.now)
            self.expectations.expect_deletions(key, [self._key(p) for p in victims])
            first_error = None
            for pod in victims:
                try:
                    self.pod_control.delete_pod(rs, pod["metadata"]["name"], pod["metadata"].get("namespace"))
                except errors.ApiError as e:
                    self.expectations.deletion_observed(key, self._key(pod))
                    if not isinstance(e, errors.NotFound):
                        first_error = first_error or e
            if first_error is not None:
                raise first_error

    def _related_pods(self, rs: dict) -> list[dict]:
        """Pods of every ReplicaSet with the same controller (``getIndirectlyRelatedPods``)."""
        ref = controller_of(rs)
        if ref is None:
            return []
        out, seen = [], set()
        for sibling in self.rs_lister.by_index(INDEX_CONTROLLER_UID, ref["uid"]):
            for pod in self.pod_lister.by_index(INDEX_CONTROLLER_UID, sibling["metadata"]["uid"]):
                uid = pod["metadata"].get("uid")
                if uid not in seen:
                    seen.add(uid)
                    out.append(pod)
        return out

    def _update_status(self, rs: dict, status: dict) -> dict:
        """Write ``status`` if it differs (``updateReplicaSetStatus``, one retry on conflict)."""
        old = rs.get("status") or {}
        generation = rs["metadata"].get("generation") or 0
        same = all(old.get(f, 0) == status.get(f, 0) for f in
                   ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"))
        if (same and generation == (old.get("observedGeneration") or 0)
                and (old.get("conditions") or []) == (status.get("conditions") or [])):
            return rs
        new_status = dict(status)
        if generation:
            new_status["observedGeneration"] = generation
        obj = dict(rs)
        obj["status"] = _status_dict(new_status["replicas"], new_status.get("fullyLabeledReplicas", 0),
                                     new_status.get("readyReplicas", 0), new_status.get("availableReplicas", 0),
                                     new_status.get("observedGeneration", 0), new_status.get("conditions") or [])
        return update_status_with_retry(self.client, "replicasets", obj)
