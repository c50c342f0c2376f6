"""The Job controller: run pods until enough of them have succeeded (``pkg/controller/job``, v1.30).

A Job asks for ``completions`` successful pods, at most ``parallelism`` at a time.
Each sync of the controller:

1. *Counts* the Job's pods. Every pod it creates carries the finalizer
   ``batch.kubernetes.io/job-tracking``, so a finished pod cannot vanish before
   it was counted: the controller first records the pod's uid in
   ``status.uncountedTerminatedPods``, then removes the finalizer, then moves the
   uid into ``status.succeeded`` or ``status.failed``.
2. *Decides* whether the Job is over: ``Complete`` once ``completions`` pods
   succeeded; ``Failed`` with reason ``BackoffLimitExceeded`` once more than
   ``backoffLimit`` pods failed (or, with ``restartPolicy: OnFailure``, once the
   containers restarted that often), ``DeadlineExceeded`` past
   ``activeDeadlineSeconds``, ``PodFailurePolicy`` when a ``FailJob`` rule
   matched (announced first by a ``FailureTarget`` condition).
3. Otherwise *manages* pods: keeps ``min(parallelism, remaining)`` active,
   creating the missing ones (``Indexed`` Jobs give each an index
   ``0..completions-1``) or deleting the extra ones, and deleting them all while
   the Job is ``suspend``-ed. After failures it waits before creating again:
   10 s, 20 s, 40 s ... (reset by a success).

Pod events reach a Job after a 1-second batching delay, so one status write
covers a burst of changes (``syncJobBatchPeriod``). The companion
:class:`~k8slab.controlplane.ttlafterfinished.TTLAfterFinishedController` deletes
finished Jobs ``ttlSecondsAfterFinished`` seconds after they finish.

The Job controller's parts live beside this module: the counting of finished pods
and the status writes (:mod:`~k8slab.controlplane.job_tracking`), completion
indexes (:mod:`~k8slab.controlplane.job_indexes`), back-off and the failure and
success policies (:mod:`~k8slab.controlplane.job_policies`). Their names are
importable from here too.

Simplified: the pod-failure back-off is capped at 6 minutes (as the Job
documentation says); ``backoffLimitPerIndex``, ``managedBy`` and metrics are
not modelled; ``successPolicy`` (alpha in v1.30) is honoured as if its feature
gate were on; a Job stored without a selector (the simulated API server does
not generate one) selects its pods by the ``batch.kubernetes.io/controller-uid``
label, which the controller puts on every pod it creates; the tracking
finalizer is removed with a JSON patch, not a strategic ``$deleteFromPrimitiveList``.

Example
-------
>>> job = {"metadata": {"uid": "u1"}, "spec": {}}
>>> job_selector(job)
{'matchLabels': {'batch.kubernetes.io/controller-uid': 'u1'}}
"""

from __future__ import annotations

from functools import cmp_to_key

from k8slab.api import errors
from k8slab.api.objects import (
    clone,
    condition,
    controller_of,
    is_pod_ready,
    object_key,
    owner_reference,
    split_key,
)
from k8slab.apiserver.workqueue import WorkQueue
from k8slab.controlplane.job_indexes import (
    JOB_COMPLETION_INDEX,
    UNKNOWN_INDEX,
    completion_index,
    first_pending_indexes,
    format_indexes,
    parse_indexes,
    total_indexes,
    with_indexes,
)
from k8slab.controlplane.job_policies import (
    BackoffRecord,
    backoff_duration,
    match_pod_failure_policy,
    match_success_policy,
    next_backoff_record,
    past_backoff_limit_on_failure,
)
from k8slab.controlplane.job_tracking import (
    JOB_TRACKING_FINALIZER,
    JobStatusTracking,
    JobSyncContext,
    ensure_condition,
    finished_condition,
    has_tracking_finalizer,
    is_indexed,
    is_job_finished,
    is_pod_failed,
    is_suspended,
    new_condition,
    only_replace_failed_pods,
    pod_phase,
    working_copy,
)
from k8slab.controlplane.ttlafterfinished import TTLAfterFinishedController
from k8slab.controlplane.workload import (
    INDEX_CONTROLLER_UID,
    INDEX_NAMESPACE,
    INDEX_ORPHANS,
    ControllerRefManager,
    DelayedRequeue,
    PodControl,
    SelectorCache,
    UIDTrackingControllerExpectations,
    WorkloadController,
    add_ownership_indexes,
    create_in_batches,
    max_container_restarts,
    namespace_index,
    pod_from_template,
    recheck_deletion,
)
from k8slab.sim.loop import parse_timestamp, timestamp

LABEL_CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
LABEL_JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"

#: Pod events reach the Job this long after they happen, batched (``syncJobBatchPeriod``).
SYNC_JOB_BATCH_PERIOD = 1.0
#: A failed sync is retried after 1 s, doubling up to a minute (``DefaultJobApiBackOff``, ``MaxJobApiBackOff``).
DEFAULT_API_BACKOFF = 1.0
MAX_API_BACKOFF = 60.0
#: At most this many pods are created or deleted by one sync.
MAX_POD_CREATE_DELETE_PER_SYNC = 500

__all__ = [
    "JOB_COMPLETION_INDEX", "JOB_TRACKING_FINALIZER", "BackoffRecord", "JobController",
    "TTLAfterFinishedController", "active_pods_for_removal", "backoff_duration", "finished_condition",
    "first_pending_indexes", "format_indexes", "is_job_finished", "job_selector", "match_pod_failure_policy",
    "match_success_policy", "next_backoff_record", "parse_indexes", "total_indexes", "with_indexes",
]

_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


# ---------------------------------------------------------------------------------------
# Which active pods to delete first (controller.ActivePods)
# ---------------------------------------------------------------------------------------
def _ready_since(pod: dict) -> float | None:
    c = condition(pod, "Ready")
    return parse_timestamp(c["lastTransitionTime"]) if c and c.get("lastTransitionTime") else None


def _active_pods_cmp(a: dict, b: dict) -> int:
    """Unscheduled, pending, not ready, ready for less time, restarted more, newer: first."""
    na, nb = a["spec"].get("nodeName") or "", b["spec"].get("nodeName") or ""
    if na != nb and (not na or not nb):
        return -1 if not na else 1
    pa, pb = _PHASE_ORDINAL.get(pod_phase(a), 0), _PHASE_ORDINAL.get(pod_phase(b), 0)
    if pa != pb:
        return -1 if pa < pb else 1
    ra, rb = is_pod_ready(a), is_pod_ready(b)
    if ra != rb:
        return -1 if not ra else 1
    if ra and rb:
        ta, tb = _ready_since(a), _ready_since(b)
        if ta != tb:
            return -1 if (tb is None or (ta is not None and ta > tb)) else 1
    xa, xb = max_container_restarts(a), max_container_restarts(b)
    if xa != xb:
        return -1 if xa > xb else 1
    ca, cb = a["metadata"].get("creationTimestamp") or "", b["metadata"].get("creationTimestamp") or ""
    if ca != cb:
        return -1 if (not ca or (cb and ca > cb)) else 1
    return 0


def active_pods_for_removal(job: dict, pods: list[dict], rm_at_least: int) -> list[dict]:
    """Pods to delete: duplicated or out-of-range indexes first, then the least advanced."""
    rm: list[dict] = []
    left = pods
    if is_indexed(job):
        completions = job["spec"].get("completions") or 0
        rm, left = [], []
        by_index: dict[int, list[dict]] = {}
        for p in sorted(pods, key=completion_index):
            ix = completion_index(p)
            if ix == UNKNOWN_INDEX or ix >= completions:
                rm.append(p)
            else:
                by_index.setdefault(ix, []).append(p)
        for same in by_index.values():
            same = sorted(same, key=cmp_to_key(_active_pods_cmp))
            rm.extend(same[:-1])
            left.append(same[-1])
    if len(rm) < rm_at_least:
        left = sorted(left, key=cmp_to_key(_active_pods_cmp))
        rm.extend(left[:rm_at_least - len(rm)])
    return rm


# ---------------------------------------------------------------------------------------
# Adoption and the selector
# ---------------------------------------------------------------------------------------
class _JobPodRefManager(ControllerRefManager):
    """Adoption of an orphan pod also adds the tracking finalizer (``ClaimPods`` with finalizers)."""

    def adoption_patch(self, obj: dict) -> dict:
        finalizers = list(obj["metadata"].get("finalizers") or [])
        if JOB_TRACKING_FINALIZER not in finalizers:
            finalizers.append(JOB_TRACKING_FINALIZER)
        return {"metadata": {"ownerReferences": [owner_reference(self.controller)], "finalizers": finalizers}}


def job_selector(job: dict) -> dict:
    """``spec.selector``, or the one kube-apiserver would have generated from the Job's uid."""
    sel = (job.get("spec") or {}).get("selector")
    if sel:
        return sel
    return {"matchLabels": {LABEL_CONTROLLER_UID: job["metadata"].get("uid", "")}}


# ---------------------------------------------------------------------------------------
# The controller
# ---------------------------------------------------------------------------------------
class JobController(JobStatusTracking, WorkloadController):
    """Runs every Job's pods to completion (see the module docstring)."""

    name = "job-controller"
    kind = "Job"

    def setup(self) -> None:
        self.expectations = UIDTrackingControllerExpectations(self.loop)
        # pod uids whose finalizer removal the controller wrote but has not seen yet, per Job
        self.finalizer_expectations: dict[str, set[str]] = {}
        self.backoff: dict[str, BackoffRecord] = {}
        self.delayed = DelayedRequeue(self, lambda key, delay: f"requeue {key} after {delay:g}s")
        self._api_failures: dict[str, int] = {}
        self.selectors = SelectorCache(job_selector)
        self.pod_control = PodControl(self.client, self.recorder)
        self.job_informer = self.informers.informer("jobs")
        self.pod_informer = self.informers.informer("pods")
        self.job_informer.add_index(INDEX_NAMESPACE, namespace_index)
        add_ownership_indexes(self.pod_informer)
        self.job_lister = self.owner_lister = self.job_informer.lister
        self.pod_lister = self.pod_informer.lister
        self.job_informer.add_event_handler(self._add_job, self._update_job, self._delete_job)
        self.pod_informer.add_event_handler(self._add_pod, self._update_pod,
                                            lambda pod: self._delete_pod(pod, final=True))
        self.orphan_queue = WorkQueue(self.loop, f"{self.name}/orphan-pods", self._sync_orphan_pod,
                                      who=self.name, on_error=self._orphan_failed)

    # -- timers -----------------------------------------------------------------------------
    def _sync(self, key: str) -> None:
        super()._sync(key)
        self._api_failures.pop(key, None)

    def _failed(self, key: str, exc: Exception) -> None:
        """Record the failure and retry with the Job controller's own back-off (1 s, 2 s ... 1 min)."""
        self.record_failure(key, exc)
        n = self._api_failures.get(key, 0)
        self._api_failures[key] = n + 1
        self._sync_after(key, min(DEFAULT_API_BACKOFF * 2**n, MAX_API_BACKOFF))

    def _sync_after(self, key: str, delay: float) -> None:
        """``queue.AddAfter``: one pending wake-up per Job, the earliest wins."""
        self.delayed.add_after(key, delay)

    def _cancel_timer(self, key: str) -> None:
        self.delayed.cancel(key)

    # -- Job events ---------------------------------------------------------------------------
    def _add_job(self, job: dict) -> None:
        self.queue.add(object_key(job))

    def _update_job(self, old: dict, cur: dict) -> None:
        key = object_key(cur)
        if old["metadata"].get("uid") != cur["metadata"].get("uid"):
            self._forget_job(key)
        if cur["metadata"].get("generation") == old["metadata"].get("generation"):
            self._sync_after(key, SYNC_JOB_BATCH_PERIOD)  # a status write: batch with pod events
        else:
            self.queue.add(key)
        if is_job_finished(cur):
            self._cleanup_pod_finalizers(cur)
        start = (cur.get("status") or {}).get("startTime")
        ads = (cur.get("spec") or {}).get("activeDeadlineSeconds")
        if start and ads is not None and ads != (old.get("spec") or {}).get("activeDeadlineSeconds"):
            self._sync_after(key, ads - (self.now - parse_timestamp(start)))

    def _delete_job(self, job: dict) -> None:
        key = object_key(job)
        self.queue.add(key)
        self.selectors.forget(job)
        self._cleanup_pod_finalizers(job)

    def _forget_job(self, key: str) -> None:
        self.expectations.delete(key)
        self.finalizer_expectations.pop(key, None)
        self.backoff.pop(key, None)
        self._cancel_timer(key)

    def _cleanup_pod_finalizers(self, job: dict) -> None:
        for pod in self.pod_lister.by_index(INDEX_CONTROLLER_UID, job["metadata"].get("uid", "")):
            if has_tracking_finalizer(pod):
                self.orphan_queue.add(object_key(pod))

    # -- pod events ---------------------------------------------------------------------------
    def _add_pod(self, pod: dict) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._delete_pod(pod, final=False)
            return
        ref = controller_of(pod)
        if ref is not None:
            job = self.resolve_controller_ref(pod["metadata"].get("namespace"), ref)
            if job is None:
                return
            key = object_key(job)
            self.expectations.creation_observed(key)
            self._sync_after(key, SYNC_JOB_BATCH_PERIOD)
            return
        if has_tracking_finalizer(pod):
            self.orphan_queue.add(object_key(pod))
        for job in self.owners_selecting(pod):
            self._sync_after(object_key(job), SYNC_JOB_BATCH_PERIOD)

    def _update_pod(self, old: dict, cur: dict) -> None:
        om, cm = old["metadata"], cur["metadata"]
        if om.get("resourceVersion") == cm.get("resourceVersion"):
            return
        if cm.get("deletionTimestamp"):
            self._delete_pod(cur, final=False)
            return
        removed = not has_tracking_finalizer(cur)
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        ref_changed = cur_ref != old_ref
        if ref_changed and old_ref is not None:
            job = self.resolve_controller_ref(om.get("namespace"), old_ref)
            if job is not None:
                if removed:
                    self._finalizer_removal_observed(object_key(job), cm.get("uid"))
                self._sync_after(object_key(job), SYNC_JOB_BATCH_PERIOD)
        if cur_ref is not None:
            job = self.resolve_controller_ref(cm.get("namespace"), cur_ref)
            if job is None:
                return
            if removed:
                self._finalizer_removal_observed(object_key(job), cm.get("uid"))
            self._sync_after(object_key(job), SYNC_JOB_BATCH_PERIOD)
            return
        if has_tracking_finalizer(cur):
            self.orphan_queue.add(object_key(cur))
        if om.get("labels") != cm.get("labels") or ref_changed:
            for job in self.owners_selecting(cur):
                self._sync_after(object_key(job), SYNC_JOB_BATCH_PERIOD)

    def _delete_pod(self, pod: dict, final: bool) -> None:
        ref = controller_of(pod)
        finalizer = has_tracking_finalizer(pod)
        if ref is None:
            if finalizer:
                self.orphan_queue.add(object_key(pod))
            return
        job = self.resolve_controller_ref(pod["metadata"].get("namespace"), ref)
        if job is None or is_job_finished(job):
            if finalizer:
                self.orphan_queue.add(object_key(pod))
            return
        key = object_key(job)
        self.expectations.deletion_observed(key, object_key(pod))
        if final or not finalizer:
            self._finalizer_removal_observed(key, pod["metadata"].get("uid"))
        self._sync_after(key, SYNC_JOB_BATCH_PERIOD)

    # -- orphan pods --------------------------------------------------------------------------
    def _sync_orphan_pod(self, key: str) -> None:
        """Remove the tracking finalizer of a pod whose Job is gone or finished."""
        if not self.manager.is_leader:
            return
        ns, _name = split_key(key)
        pod = self.pod_informer.indexer.get(key)
        if pod is None:
            return
        ref = controller_of(pod)
        if ref is not None:
            if ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
                return
            job = self.resolve_controller_ref(ns, ref)
            if job is not None and not is_job_finished(job):
                return  # adopted meanwhile
        self._remove_finalizer(pod)
        self.orphan_queue.forget(key)

    def _orphan_failed(self, key: str, exc: Exception) -> None:
        self.record_failure(key, exc)
        self.orphan_queue.add_rate_limited(key)

    # -- sync ---------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        shared = self.job_lister.get(name, namespace)
        if shared is None:
            self._forget_job(key)
            return
        if is_job_finished(shared):
            self.backoff.pop(key, None)
            self._cancel_timer(key)
            return
        mode = (shared.get("spec") or {}).get("completionMode")
        if mode not in (None, "NonIndexed", "Indexed"):
            self.recorder.event(shared, "Warning", "UnknownCompletionMode",
                                "Skipped Job sync because completion mode is unknown")
            return
        job = working_copy(shared)
        spec = job.get("spec") or {}
        st = job["status"]
        satisfied = self.expectations.satisfied(key)
        pods = self._pods_for_job(job)
        ctx = JobSyncContext(job, pods, set(self.finalizer_expectations.get(key, ())))
        active = len(ctx.active_pods)
        new_succeeded, new_failed = self._new_finished_pods(ctx)
        policy = spec.get("podFailurePolicy")
        counted_failed = sum(1 for p in new_failed if match_pod_failure_policy(policy, p)[1])
        ctx.succeeded = st.get("succeeded", 0) + len(new_succeeded) + len(ctx.uncounted_succeeded)
        ctx.failed = st.get("failed", 0) + counted_failed + len(ctx.uncounted_failed)
        if not st.get("startTime") and not is_suspended(job):
            st["startTime"] = timestamp(self.now)
        ctx.new_backoff = next_backoff_record(self.backoff.get(key), new_succeeded, new_failed)

        self._finished_condition(key, ctx, pods)
        if is_indexed(job):
            completions = spec.get("completions") or 0
            ctx.prev_succeeded_indexes = parse_indexes(st.get("completedIndexes"), completions)
            new_ix = sorted({completion_index(p) for p in pods
                             if pod_phase(p) == "Succeeded" and has_tracking_finalizer(p)
                             and UNKNOWN_INDEX != completion_index(p) < completions})
            ctx.succeeded_indexes = with_indexes(ctx.prev_succeeded_indexes, new_ix)
            ctx.succeeded = total_indexes(ctx.succeeded_indexes)
            if ctx.finished is None:
                msg, met = match_success_policy(spec.get("successPolicy"), completions, ctx.succeeded_indexes)
                if met:
                    ctx.finished = new_condition("SuccessCriteriaMet", "True", "SuccessPolicy", msg, self.now)

        manage_error: Exception | None = None
        suspend_changed = False
        if ctx.finished is not None:
            deleted_ready, deleted, manage_error = self._delete_active_pods(job, ctx.active_pods)
            if deleted != active or not satisfied:
                # pods may still be on their way: finish on a later sync
                ctx.finished = None
            active -= deleted
            ctx.terminating += deleted
            ctx.ready -= deleted_ready
        else:
            managed = False
            if satisfied and not job["metadata"].get("deletionTimestamp"):
                active, manage_error = self._manage_job(key, job, ctx)
                managed = True
            completions = spec.get("completions")
            if completions is None:
                complete = ctx.succeeded > 0 and active == 0
            else:
                complete = ctx.succeeded >= completions and active == 0
            if complete:
                ctx.finished = new_condition("Complete", "True", "", "", self.now)
            elif managed:
                suspend_changed = self._suspend_condition(job)

        needs_update = (suspend_changed or active != st.get("active", 0) or ctx.ready != st.get("ready")
                        or st.get("terminating") != ctx.terminating)
        st["active"] = active
        st["ready"] = ctx.ready
        st["terminating"] = ctx.terminating
        self._track_status_and_remove_finalizers(key, ctx, needs_update)
        if manage_error is not None:
            raise manage_error

    def _finished_condition(self, key: str, ctx: JobSyncContext, pods: list[dict]) -> None:
        """Whether the Job has failed (or met its success policy already): sets ``ctx.finished``."""
        job = ctx.job
        spec = job.get("spec") or {}
        conditions = job["status"]["conditions"]
        met = next((c for c in conditions if c.get("type") == "SuccessCriteriaMet" and c.get("status") == "True"),
                   None)
        ctx.finished = met
        if ctx.finished is None:
            target = next((c for c in conditions if c.get("type") == "FailureTarget" and c.get("status") == "True"),
                          None)
            if target is not None:
                ctx.finished = new_condition("Failed", "True", target.get("reason", ""), target.get("message", ""),
                                             self.now)
            elif spec.get("podFailurePolicy") is not None:
                for p in pods:
                    if is_pod_failed(p, job):
                        msg = match_pod_failure_policy(spec["podFailurePolicy"], p)[0]
                        if msg is not None:
                            ctx.finished = new_condition("FailureTarget", "True", "PodFailurePolicy", msg,
                                                         self.now)
                            break
        if ctx.finished is not None:
            return
        if ctx.failed > spec.get("backoffLimit", 6) or past_backoff_limit_on_failure(job, pods):
            ctx.finished = new_condition("Failed", "True", "BackoffLimitExceeded",
                                         "Job has reached the specified backoff limit", self.now)
        elif self._past_active_deadline(job):
            ctx.finished = new_condition("Failed", "True", "DeadlineExceeded",
                                         "Job was active longer than specified deadline", self.now)
        elif spec.get("activeDeadlineSeconds") is not None and not is_suspended(job):
            started = parse_timestamp(job["status"]["startTime"])
            self._sync_after(key, spec["activeDeadlineSeconds"] - (self.now - started))

    def _past_active_deadline(self, job: dict) -> bool:
        ads = (job.get("spec") or {}).get("activeDeadlineSeconds")
        start = job["status"].get("startTime")
        if ads is None or not start or is_suspended(job):
            return False
        return self.now - parse_timestamp(start) >= ads

    def _suspend_condition(self, job: dict) -> bool:
        st = job["status"]
        if is_suspended(job):
            changed = ensure_condition(st["conditions"], "Suspended", "True", "JobSuspended", "Job suspended", self.now)
            if changed:
                self.recorder.event(job, "Normal", "Suspended", "Job suspended")
            return changed
        changed = ensure_condition(st["conditions"], "Suspended", "False", "JobResumed", "Job resumed", self.now)
        if changed:
            self.recorder.event(job, "Normal", "Resumed", "Job resumed")
            # activeDeadlineSeconds counts the time a Job is continuously active
            st["startTime"] = timestamp(self.now)
        return changed

    def _pods_for_job(self, job: dict) -> list[dict]:
        """The Job's pods: those it controls, plus matching orphans it adopts (``getPodsForJob``)."""
        m = job["metadata"]
        uid = m.get("uid", "")
        selector = self.selectors.get(job)
        owned = self.pod_lister.by_index(INDEX_CONTROLLER_UID, uid)
        candidates = list(owned)
        if not selector.empty:
            orphans = [p for p in self.pod_lister.by_index(INDEX_ORPHANS, m.get("namespace") or "")
                       if selector.matches(p["metadata"].get("labels"))]
            candidates += sorted(orphans, key=lambda p: p["metadata"]["name"])
        manager = _JobPodRefManager(self.client, job, selector, "pods", recheck_deletion(self.client, "jobs", job))
        pods, errs = manager.claim(candidates)
        if errs:
            raise errs[0]
        # a stable order (creation, then name) keeps every choice below deterministic
        return sorted(pods, key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"]))

    def _new_finished_pods(self, ctx: JobSyncContext) -> tuple[list[dict], list[dict]]:
        """Finished pods not yet counted in the status (``getNewFinishedPods``)."""
        job = ctx.job
        completions = (job.get("spec") or {}).get("completions") or 0
        succeeded, failed = [], []
        for p in ctx.pods:
            uid = p["metadata"].get("uid")
            if not has_tracking_finalizer(p) or uid in ctx.expected_rm:
                continue
            if is_indexed(job):
                ix = completion_index(p)
                if ix == UNKNOWN_INDEX or ix >= completions:
                    continue
            if pod_phase(p) == "Succeeded":
                if uid not in ctx.uncounted_succeeded:
                    succeeded.append(p)
            elif is_pod_failed(p, job) and uid not in ctx.uncounted_failed:
                failed.append(p)
        return succeeded, failed

    # -- managing pods ------------------------------------------------------------------------
    def _manage_job(self, key: str, job: dict, ctx: JobSyncContext) -> tuple[int, Exception | None]:
        """Create or delete pods so ``min(parallelism, remaining)`` are active (``manageJob``)."""
        spec = job["spec"]
        active = len(ctx.active_pods)
        parallelism = spec.get("parallelism", 1)
        if is_suspended(job):
            victims = active_pods_for_removal(job, ctx.active_pods, active)
            removed_ready, removed, err = self._delete_job_pods(key, job, victims)
            ctx.terminating += removed
            ctx.ready -= removed_ready
            return active - removed, err
        completions = spec.get("completions")
        if completions is None:
            want = active if ctx.succeeded > 0 else parallelism
        else:
            want = max(0, min(completions - ctx.succeeded, parallelism))
        victims = active_pods_for_removal(job, ctx.active_pods, max(0, active - want))
        if victims:
            victims = victims[:MAX_POD_CREATE_DELETE_PER_SYNC]
            removed_ready, removed, err = self._delete_job_pods(key, job, victims)
            ctx.terminating += removed
            ctx.ready -= removed_ready
            return active - removed, err
        terminating = ctx.terminating if only_replace_failed_pods(job) else 0
        diff = want - terminating - active
        if diff <= 0:
            return active, None
        remaining = ctx.new_backoff.remaining(self.now)
        if remaining > 0:
            self._sync_after(key, max(remaining, SYNC_JOB_BATCH_PERIOD))
            return 0, None  # as the real controller reports while it waits
        diff = min(diff, MAX_POD_CREATE_DELETE_PER_SYNC)
        indexes: list[int] = []
        if is_indexed(job):
            indexes = first_pending_indexes(ctx.active_pods, ctx.succeeded_indexes, diff, completions or 0)
            diff = len(indexes)
        if diff <= 0:
            return active, None
        template = self._pod_template(job)
        created, first_error = create_in_batches(
            self.expectations, key, diff,
            lambda: self._create_pod(job, template, indexes.pop(0) if indexes else UNKNOWN_INDEX))
        return active + created, first_error

    def _pod_template(self, job: dict) -> dict:
        template = clone(job["spec"].get("template") or {})
        meta = template.setdefault("metadata", {})
        if not job["spec"].get("manualSelector"):
            # what kube-apiserver writes into a Job's template when it generates the selector
            labels = meta.setdefault("labels", {})
            uid, name = job["metadata"].get("uid", ""), job["metadata"]["name"]
            for label, value in ((LABEL_CONTROLLER_UID, uid), (LABEL_JOB_NAME, name),
                                 (LEGACY_CONTROLLER_UID, uid), (LEGACY_JOB_NAME, name)):
                labels.setdefault(label, value)
        if is_indexed(job):
            pod_spec = template.setdefault("spec", {})
            for group in ("initContainers", "containers"):
                for ctr in pod_spec.get(group) or ():
                    env = ctr.setdefault("env", [])
                    if not any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                        env.append({"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
                            "apiVersion": "v1", "fieldPath": f"metadata.labels['{JOB_COMPLETION_INDEX}']"}}})
        finalizers = meta.setdefault("finalizers", [])
        if JOB_TRACKING_FINALIZER not in finalizers:
            finalizers.append(JOB_TRACKING_FINALIZER)
        return template

    def _create_pod(self, job: dict, template: dict, index: int) -> dict:
        pod = pod_from_template(job, template)
        if index != UNKNOWN_INDEX:
            m = pod["metadata"]
            m["annotations"] = {**(m.get("annotations") or {}), JOB_COMPLETION_INDEX: str(index)}
            m["labels"] = {**(m.get("labels") or {}), JOB_COMPLETION_INDEX: str(index)}
            name = job["metadata"]["name"]
            pod["spec"]["hostname"] = f"{name}-{index}"
            suffix = f"-{index}-"
            prefix = name + suffix
            if len(prefix) > 58:  # generated names leave room for the 5 random characters
                prefix = prefix[:58 - len(suffix)] + suffix
            m["generateName"] = prefix
        return self.pod_control.create_pod(job, pod)

    def _delete_pod_of(self, job: dict, pod: dict) -> None:
        self.pod_control.delete_pod(job, pod["metadata"]["name"], pod["metadata"].get("namespace"))

    def _delete_active_pods(self, job: dict, pods: list[dict]) -> tuple[int, int, Exception | None]:
        """Delete the active pods of a finished Job, keeping their finalizers (``deleteActivePods``)."""
        deleted = ready = 0
        first_error = None
        for pod in pods:
            try:
                self._delete_pod_of(job, pod)
            except errors.NotFound:
                pass
            except errors.ApiError as e:
                first_error = first_error or e
                continue
            deleted += 1
            ready += is_pod_ready(pod)
        return ready, deleted, first_error

    def _delete_job_pods(self, key: str, job: dict, pods: list[dict]) -> tuple[int, int, Exception | None]:
        """Remove the finalizer, then delete (``deleteJobPods``): surplus and suspended Jobs' pods."""
        self.expectations.expect_deletions(key, [object_key(p) for p in pods])
        deleted = ready = 0
        first_error = None
        for pod in pods:
            try:
                self._remove_finalizer(pod)
                self._delete_pod_of(job, pod)
            except errors.ApiError as e:
                self.expectations.deletion_observed(key, object_key(pod))
                if not isinstance(e, errors.NotFound):
                    first_error = first_error or e
                    continue
            deleted += 1
            ready += is_pod_ready(pod)
        return ready, deleted, first_error
