"""Counting a Job's finished pods, and writing the Job's status.

Every pod the Job controller creates carries the finalizer
``batch.kubernetes.io/job-tracking``, so a finished pod cannot vanish before it
was counted. Counting goes in three steps (``trackJobStatusAndRemoveFinalizers``
of ``pkg/controller/job/job_controller.go``):

1. the pod's uid is written into ``status.uncountedTerminatedPods``;
2. the finalizer is removed from the pod (a JSON patch that checks it is still
   there); the controller expects to see that removal (its *finalizer expectations*);
3. uids whose finalizer is gone move from ``uncountedTerminatedPods`` into
   ``status.succeeded`` or ``status.failed`` (for an Indexed Job,
   ``completedIndexes``).

Only when nothing is left uncounted does a finishing Job get its ``Complete`` or
``Failed`` condition. This module also reads what the controller needs about a
Job and its pods (finished? indexed? suspended? failed?).

Example
-------
>>> job = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
>>> is_job_finished(job), finished_condition(job)["type"]
(True, 'Complete')
>>> conditions = []
>>> ensure_condition(conditions, "Suspended", "False", "JobResumed", "Job resumed", 0.0), conditions
(False, [])
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.objects import clone, is_pod_ready
from k8slab.controlplane.job_indexes import (
    UNKNOWN_INDEX,
    completion_index,
    format_indexes,
    has_index,
    total_indexes,
    with_indexes,
)
from k8slab.controlplane.job_policies import BackoffRecord, match_pod_failure_policy
from k8slab.controlplane.workload import is_pod_active
from k8slab.sim.loop import timestamp

#: The finalizer that keeps a Job's finished pods until they are counted.
JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
#: At most this many uids wait in ``status.uncountedTerminatedPods`` (keeps the status small).
MAX_UNCOUNTED_PODS = 500


# ---------------------------------------------------------------------------------------
# Reading Jobs and pods
# ---------------------------------------------------------------------------------------
def finished_condition(job: dict) -> dict | None:
    """The ``Complete`` or ``Failed`` condition with status True, if the Job is finished."""
    for c in (job.get("status") or {}).get("conditions") or ():
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return c
    return None


def is_job_finished(job: dict) -> bool:
    return finished_condition(job) is not None


def is_indexed(job: dict) -> bool:
    return (job.get("spec") or {}).get("completionMode") == "Indexed"


def is_suspended(job: dict) -> bool:
    return bool((job.get("spec") or {}).get("suspend"))


def has_tracking_finalizer(pod: dict) -> bool:
    return JOB_TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or ())


def pod_phase(pod: dict) -> str | None:
    return (pod.get("status") or {}).get("phase")


def only_replace_failed_pods(job: dict) -> bool:
    """Replacement pods wait for the old ones to be gone, not just terminating."""
    spec = job.get("spec") or {}
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def is_pod_failed(pod: dict, job: dict) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before it could succeed."""
    phase = pod_phase(pod)
    if phase == "Failed":
        return True
    if only_replace_failed_pods(job):
        return False
    return bool(pod["metadata"].get("deletionTimestamp")) and phase != "Succeeded"


def is_pod_terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp")) and pod_phase(pod) not in ("Succeeded", "Failed")


# ---------------------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------------------
def new_condition(ctype: str, status: str, reason: str, message: str, now: float) -> dict:
    c = {"type": ctype, "status": status, "lastProbeTime": timestamp(now), "lastTransitionTime": timestamp(now)}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def ensure_condition(conditions: list[dict], ctype: str, status: str, reason: str, message: str,
                     now: float) -> bool:
    """Set the condition ``ctype`` (never adding one that is False); True when something changed."""
    for i, c in enumerate(conditions):
        if c.get("type") == ctype:
            if (c.get("status"), c.get("reason", ""), c.get("message", "")) != (status, reason, message):
                conditions[i] = new_condition(ctype, status, reason, message, now)
                return True
            return False
    if status != "False":
        conditions.append(new_condition(ctype, status, reason, message, now))
        return True
    return False


def status_body(st: dict) -> dict:
    """The status as the API shows it (Go field order; zero counters and empty lists left out)."""
    out: dict = {}
    if st.get("conditions"):
        out["conditions"] = st["conditions"]
    for key in ("startTime", "completionTime"):
        if st.get(key):
            out[key] = st[key]
    for key in ("active", "succeeded", "failed"):
        if st.get(key):
            out[key] = st[key]
    if st.get("terminating") is not None:
        out["terminating"] = st["terminating"]
    if st.get("completedIndexes"):
        out["completedIndexes"] = st["completedIndexes"]
    if st.get("failedIndexes") is not None:
        out["failedIndexes"] = st["failedIndexes"]
    uncounted = st.get("uncountedTerminatedPods")
    if uncounted is not None:
        out["uncountedTerminatedPods"] = {k: list(uncounted[k]) for k in ("succeeded", "failed") if uncounted.get(k)}
    if st.get("ready") is not None:
        out["ready"] = st["ready"]
    return out


def working_copy(job: dict) -> dict:
    # the controller changes only the status: share the rest with the cache
    out = dict(job)
    st = clone(job.get("status") or {})
    uncounted = st.get("uncountedTerminatedPods") or {}
    st["uncountedTerminatedPods"] = {"succeeded": list(uncounted.get("succeeded") or ()),
                                     "failed": list(uncounted.get("failed") or ())}
    st["conditions"] = list(st.get("conditions") or ())
    out["status"] = st
    return out


class JobSyncContext:
    """What one sync learns about a Job (``syncJobCtx``)."""

    __slots__ = ("job", "pods", "active_pods", "finished", "succeeded", "failed", "prev_succeeded_indexes",
                 "succeeded_indexes", "new_backoff", "expected_rm", "uncounted_succeeded", "uncounted_failed",
                 "terminating", "ready")

    def __init__(self, job: dict, pods: list[dict], expected_rm: set[str]):
        self.job = job
        self.pods = pods
        self.active_pods = [p for p in pods if is_pod_active(p)]
        self.finished: dict | None = None
        self.succeeded = 0
        self.failed = 0
        self.prev_succeeded_indexes: list[tuple[int, int]] = []
        self.succeeded_indexes: list[tuple[int, int]] = []
        self.new_backoff: BackoffRecord | None = None
        self.expected_rm = expected_rm
        uncounted = job["status"]["uncountedTerminatedPods"]
        self.uncounted_succeeded = set(uncounted["succeeded"])
        self.uncounted_failed = set(uncounted["failed"])
        self.terminating = sum(1 for p in pods if is_pod_terminating(p))
        self.ready = sum(1 for p in self.active_pods if is_pod_ready(p))



# ---------------------------------------------------------------------------------------
# Counting finished pods (a part of the Job controller)
# ---------------------------------------------------------------------------------------
class JobStatusTracking:
    """The Job controller's counting of finished pods and its status writes.

    A part of :class:`~k8slab.controlplane.job.JobController` (which it is mixed
    into): it uses the controller's ``client``, ``recorder``, ``backoff`` records,
    ``finalizer_expectations`` and delayed requeues.
    """

    def _finalizer_removal_observed(self, key: str, uid: str | None) -> None:
        uids = self.finalizer_expectations.get(key)
        if uids is not None:
            uids.discard(uid)
            if not uids:
                del self.finalizer_expectations[key]


    def _remove_finalizer(self, pod: dict) -> None:
        """Patch the tracking finalizer out of ``pod`` (a JSON patch that checks it is still there)."""
        m = pod["metadata"]
        finalizers = m.get("finalizers") or []
        if JOB_TRACKING_FINALIZER not in finalizers:
            return
        for _attempt in range(2):
            if finalizers == [JOB_TRACKING_FINALIZER]:
                # the last finalizer: drop the field, as Go leaves an empty list out
                ops = [{"op": "test", "path": "/metadata/finalizers", "value": finalizers},
                       {"op": "remove", "path": "/metadata/finalizers"}]
            else:
                i = finalizers.index(JOB_TRACKING_FINALIZER)
                ops = [{"op": "test", "path": f"/metadata/finalizers/{i}", "value": JOB_TRACKING_FINALIZER},
                       {"op": "remove", "path": f"/metadata/finalizers/{i}"}]
            try:
                self.client.patch("pods", m["name"], ops, m.get("namespace"), patch_type="json")
                return
            except errors.NotFound:
                return
            except errors.ApiError as e:
                if e.code != 422:
                    raise
            # the list changed since the cache saw it: read it again
            try:
                fresh = self.client.get("pods", m["name"], m.get("namespace"))
            except errors.NotFound:
                return
            finalizers = fresh["metadata"].get("finalizers") or []
            if JOB_TRACKING_FINALIZER not in finalizers:
                return
        raise errors.Conflict("pods", m["name"], "the tracking finalizer moved while it was being removed")


    def _track_status_and_remove_finalizers(self, key: str, ctx: JobSyncContext, needs_flush: bool) -> None:
        """Count finished pods through ``uncountedTerminatedPods`` and finish the Job when due."""
        job = ctx.job
        spec = job.get("spec") or {}
        indexed = is_indexed(job)
        completions = spec.get("completions") or 0
        pods = sorted(ctx.pods, key=completion_index) if indexed else ctx.pods
        with_finalizer = {p["metadata"].get("uid") for p in pods
                          if has_tracking_finalizer(p) and p["metadata"].get("uid") not in ctx.expected_rm}
        if self._clean_uncounted(job["status"], with_finalizer):
            needs_flush = True
        uncounted = job["status"]["uncountedTerminatedPods"]
        policy = spec.get("podFailurePolicy")
        to_remove: list[dict] = []
        new_indexes: list[int] = []
        reached_max = False
        for pod in pods:
            uid = pod["metadata"].get("uid")
            if not has_tracking_finalizer(pod) or uid in ctx.expected_rm:
                continue  # counted by an earlier sync
            failed = is_pod_failed(pod, job)
            if not (job["metadata"].get("deletionTimestamp") or ctx.finished is not None
                    or pod_phase(pod) == "Succeeded" or failed):
                continue
            to_remove.append(pod)
            if pod_phase(pod) == "Succeeded" and uid not in ctx.uncounted_failed:
                if indexed:
                    ix = completion_index(pod)
                    if ix != UNKNOWN_INDEX and ix < completions and not has_index(ctx.prev_succeeded_indexes, ix):
                        new_indexes.append(ix)
                        needs_flush = True
                elif uid not in ctx.uncounted_succeeded:
                    needs_flush = True
                    uncounted["succeeded"].append(uid)
            elif failed or (ctx.finished is not None and ctx.finished.get("type") != "SuccessCriteriaMet"):
                # once the Job is finished, every pod that has not succeeded counts as failed
                ix = completion_index(pod)
                if uid not in ctx.uncounted_failed and (not indexed or UNKNOWN_INDEX != ix < completions):
                    if match_pod_failure_policy(policy, pod)[1]:
                        needs_flush = True
                        uncounted["failed"].append(uid)
            if len(new_indexes) + len(uncounted["succeeded"]) + len(uncounted["failed"]) >= MAX_UNCOUNTED_PODS:
                reached_max = True
                break
        st = job["status"]
        if indexed:
            ctx.succeeded_indexes = with_indexes(ctx.prev_succeeded_indexes, sorted(set(new_indexes)))
            text = format_indexes(ctx.succeeded_indexes)
            if text != (st.get("completedIndexes") or ""):
                needs_flush = True
            st["succeeded"] = total_indexes(ctx.succeeded_indexes)
            st["completedIndexes"] = text
        if ctx.finished is not None and ctx.finished["type"] == "FailureTarget":
            # announce the failure before the finalizers go, then fail for good
            st["conditions"].append(ctx.finished)
            needs_flush = True
            ctx.finished = new_condition("Failed", "True", ctx.finished.get("reason", ""),
                                         ctx.finished.get("message", ""), self.now)
        if ctx.finished is not None and ctx.finished["type"] == "SuccessCriteriaMet":
            if not any(c.get("type") == "SuccessCriteriaMet" for c in st["conditions"]):
                st["conditions"].append(ctx.finished)
                needs_flush = True
            ctx.finished = new_condition("Complete", "True", ctx.finished.get("reason", ""),
                                         ctx.finished.get("message", ""), self.now)
        needs_flush = self._flush_and_remove_finalizers(key, ctx, to_remove, with_finalizer, needs_flush)
        finished = not reached_max and self._enact_finished(ctx)
        if finished or needs_flush:
            ctx.job = self._write_status(ctx.job)
            if finished:
                self._record_finished(ctx.job, ctx.finished)
                self.backoff.pop(key, None)
                self._cancel_timer(key)

    def _clean_uncounted(self, st: dict, with_finalizer: set) -> bool:
        """Move uids whose finalizer is gone from ``uncountedTerminatedPods`` to the counters."""
        changed = False
        uncounted = st["uncountedTerminatedPods"]
        for field in ("succeeded", "failed"):
            keep = [uid for uid in uncounted[field] if uid in with_finalizer]
            if len(keep) != len(uncounted[field]):
                changed = True
                st[field] = st.get(field, 0) + len(uncounted[field]) - len(keep)
                uncounted[field] = keep
        return changed

    def _flush_and_remove_finalizers(self, key: str, ctx: JobSyncContext, to_remove: list[dict], with_finalizer: set,
                                     needs_flush: bool) -> bool:
        """Write the uncounted uids, remove the finalizers, move what was removed into the counters."""
        if needs_flush:
            ctx.job = self._write_status(ctx.job)
            self.backoff[key] = ctx.new_backoff
            needs_flush = False
        first_error = None
        if to_remove:
            expected = self.finalizer_expectations.setdefault(key, set())
            expected.update(p["metadata"].get("uid") for p in to_remove)
            for pod in to_remove:
                uid = pod["metadata"].get("uid")
                try:
                    self._remove_finalizer(pod)
                except errors.ApiError as e:
                    # no update will come for it: stop expecting one
                    self._finalizer_removal_observed(key, uid)
                    first_error = first_error or e
                    continue
                with_finalizer.discard(uid)
        if self._clean_uncounted(ctx.job["status"], with_finalizer):
            needs_flush = True
        if first_error is not None:
            if needs_flush:
                ctx.job = self._write_status(ctx.job)
            raise first_error
        return needs_flush

    def _enact_finished(self, ctx: JobSyncContext) -> bool:
        """Add the Complete or Failed condition, once every finished pod has been counted."""
        if ctx.finished is None:
            return False
        st = ctx.job["status"]
        uncounted = st["uncountedTerminatedPods"]
        if uncounted["succeeded"] or uncounted["failed"]:
            return False
        c = ctx.finished
        ensure_condition(st["conditions"], c["type"], c["status"], c.get("reason", ""), c.get("message", ""),
                         self.now)
        if c["type"] == "Complete":
            st["completionTime"] = c["lastTransitionTime"]
        return True

    def _record_finished(self, job: dict, c: dict) -> None:
        if c["type"] == "Complete":
            completions = (job.get("spec") or {}).get("completions")
            if completions is not None and job["status"].get("succeeded", 0) > completions:
                self.recorder.event(job, "Warning", "TooManySucceededPods",
                                    "Too many succeeded pods running after completion count reached")
            self.recorder.event(job, "Normal", "Completed", "Job completed")
        else:
            self.recorder.event(job, "Warning", c.get("reason", ""), c.get("message", ""))

    def _write_status(self, job: dict) -> dict:
        body = dict(job)
        body["status"] = status_body(job["status"])
        stored = self.client.update_status(body)
        return working_copy(stored)
