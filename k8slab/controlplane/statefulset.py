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

A member's name, identity, storage and states, and the status counts, are in
:mod:`k8slab.controlplane.statefulset_pods` (its names are importable from here too).

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

from k8slab.api import errors
from k8slab.api.objects import clone, controller_of, split_key
from k8slab.controlplane.history import (
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
from k8slab.controlplane.statefulset_pods import (
    claim_name,
    claim_owner_matches,
    claim_templates,
    claims_for,
    complete_rolling_update,
    count_replicas,
    end_ordinal,
    identity_matches,
    inconsistent_status,
    is_created,
    is_member_of,
    is_running_and_ready,
    is_terminating,
    is_unavailable,
    new_versioned_pod,
    ordinal_of,
    parent_and_ordinal,
    pod_name,
    pod_phase,
    pod_revision,
    retention_policy,
    start_ordinal,
    status_dict,
    storage_matches,
    update_identity,
    update_storage,
    updated_claim_owners,
    with_template,
)
from k8slab.controlplane.workload import (
    INDEX_CONTROLLER_UID,
    INDEX_NAMESPACE,
    INDEX_ORPHANS,
    ControllerRefManager,
    SelectorCache,
    WorkloadController,
    add_ownership_indexes,
    is_pod_available,
    namespace_index,
    recheck_deletion,
    update_status_with_retry,
)

#: Most requests one batch of a Parallel set sends at once (``MaxBatchSize``).
MAX_BATCH_SIZE = 500

__all__ = ["MAX_BATCH_SIZE", "StatefulSetController", "claim_name", "claim_owner_matches", "new_versioned_pod",
           "parent_and_ordinal", "pod_name"]


class ClaimError(Exception):
    """A pod's claim cannot be used yet (it is being deleted); the sync is retried."""


_SYNC_ERRORS = (errors.ApiError, ClaimError)


# ---------------------------------------------------------------------------------------
# The controller
# ---------------------------------------------------------------------------------------
class StatefulSetController(WorkloadController):
    """Runs StatefulSets (see the module docstring)."""

    name = "statefulset-controller"
    kind = "StatefulSet"

    def setup(self) -> None:
        self.selectors = SelectorCache()
        self.set_informer = self.informers.informer("statefulsets")
        self.pod_informer = self.informers.informer("pods")
        self.claim_informer = self.informers.informer("persistentvolumeclaims")
        self.revision_informer = self.informers.informer("controllerrevisions")
        self.set_informer.add_index(INDEX_NAMESPACE, namespace_index)
        add_ownership_indexes(self.pod_informer)
        add_ownership_indexes(self.revision_informer)
        self.set_lister = self.owner_lister = self.set_informer.lister
        self.pod_lister = self.pod_informer.lister
        self.claim_lister = self.claim_informer.lister
        self.set_informer.add_event_handler(self._enqueue, lambda old, cur: self._enqueue(cur), self._deleted_set)
        self.pod_informer.add_event_handler(self.add_owned, self._update_pod, self.delete_owned)

    # -- event handlers ---------------------------------------------------------------------
    def _deleted_set(self, sts: dict) -> None:
        self.selectors.forget(sts)
        self._enqueue(sts)

    def _update_pod(self, old: dict, cur: dict) -> None:
        self.update_owned(old, cur, requeue_when_available=True)

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
        phase = pod_phase(pod)
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
        for template in claim_templates(sts):
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
        obj["status"] = status_dict(status)
        update_status_with_retry(self.client, "statefulsets", obj)


def _message(err: Exception) -> str:
    return err.message if isinstance(err, errors.ApiError) else str(err)


def _wrapped(err: errors.ApiError, prefix: str) -> errors.ApiError:
    st = dict(err.status)
    st["message"] = prefix + st.get("message", "")
    new = type(err).__new__(type(err))
    errors.ApiError.__init__(new, st)
    return new
