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
:class:`TTLAfterFinishedController` deletes finished Jobs ``ttlSecondsAfterFinished``
seconds after they finish (``pkg/controller/ttlafterfinished``).

Simplified: the pod-failure back-off is capped at 6 minutes (as the Job
documentation says); ``backoffLimitPerIndex``, ``managedBy`` and metrics are
not modelled; ``successPolicy`` (alpha in v1.30) is honoured as if its feature
gate were on; a Job stored without a selector (the simulated API server does
not generate one) selects its pods by the ``batch.kubernetes.io/controller-uid``
label, which the controller puts on every pod it creates; the tracking
finalizer is removed with a JSON patch, not a strategic ``$deleteFromPrimitiveList``.

Example
-------
>>> format_indexes(with_indexes(parse_indexes("0,2-3", 10), [1, 7]))
'0-3,7'
>>> [backoff_duration(n) for n in (1, 2, 3, 7, 8)]
[10.0, 20.0, 40.0, 360.0, 360.0]
"""

from __future__ import annotations

from functools import cmp_to_key

from k8slab.api import errors
from k8slab.api.objects import (
    clone,
    condition,
    controller_of,
    is_pod_ready,
    owner_reference,
    split_key,
)
from k8slab.api.selectors import LabelSelector
from k8slab.apiserver.workqueue import WorkQueue
from k8slab.controlplane.controller import Controller, ControllerFailure
from k8slab.controlplane.replicaset import (
    INDEX_CONTROLLER_UID,
    INDEX_NAMESPACE,
    INDEX_ORPHANS,
    AdoptionError,
    ControllerExpectations,
    ControllerRefManager,
    add_ownership_indexes,
    is_pod_active,
    namespace_index,
    pod_from_template,
    recheck_deletion,
)
from k8slab.sim.loop import parse_timestamp, timestamp

#: The finalizer that keeps a Job's finished pods until they are counted.
JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
#: Annotation (and label) with an Indexed Job pod's completion index.
JOB_COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
LABEL_CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
LABEL_JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"

#: Pod events reach the Job this long after they happen, batched (``syncJobBatchPeriod``).
SYNC_JOB_BATCH_PERIOD = 1.0
#: First wait before replacing a failed pod; it doubles with each failure since the last success.
DEFAULT_POD_FAILURE_BACKOFF = 10.0
#: The longest wait between replacements (the documented six minutes).
MAX_POD_FAILURE_BACKOFF = 360.0
#: A failed sync is retried after 1 s, doubling up to a minute (``DefaultJobApiBackOff``, ``MaxJobApiBackOff``).
DEFAULT_API_BACKOFF = 1.0
MAX_API_BACKOFF = 60.0
#: At most this many uids wait in ``status.uncountedTerminatedPods`` (keeps the status small).
MAX_UNCOUNTED_PODS = 500
#: At most this many pods are created or deleted by one sync.
MAX_POD_CREATE_DELETE_PER_SYNC = 500

_UNKNOWN_INDEX = -1
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


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


def completion_index(pod: dict) -> int:
    """The pod's completion index (from its annotation), or -1."""
    value = (pod["metadata"].get("annotations") or {}).get(JOB_COMPLETION_INDEX)
    try:
        ix = int(value) if value is not None else _UNKNOWN_INDEX
    except ValueError:
        return _UNKNOWN_INDEX
    return ix if ix >= 0 else _UNKNOWN_INDEX


def has_tracking_finalizer(pod: dict) -> bool:
    return JOB_TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or ())


def _phase(pod: dict) -> str | None:
    return (pod.get("status") or {}).get("phase")


def only_replace_failed_pods(job: dict) -> bool:
    """Replacement pods wait for the old ones to be gone, not just terminating."""
    spec = job.get("spec") or {}
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def is_pod_failed(pod: dict, job: dict) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before it could succeed."""
    phase = _phase(pod)
    if phase == "Failed":
        return True
    if only_replace_failed_pods(job):
        return False
    return bool(pod["metadata"].get("deletionTimestamp")) and phase != "Succeeded"


def is_pod_terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp")) and _phase(pod) not in ("Succeeded", "Failed")


# ---------------------------------------------------------------------------------------
# Completed indexes as ordered intervals ("0-3,7")
# ---------------------------------------------------------------------------------------
def parse_indexes(text: str | None, completions: int) -> list[tuple[int, int]]:
    """``status.completedIndexes`` as ``[(first, last), ...]``, ignoring indexes >= ``completions``."""
    out: list[list[int]] = []
    for part in (text or "").split(",") if text else ():
        limits = part.split("-")
        try:
            first = int(limits[0])
        except ValueError:
            continue
        if first >= completions:
            break
        if len(limits) > 1:
            try:
                last = int(limits[1])
            except ValueError:
                continue
            last = min(last, completions - 1)
        else:
            last = first
        if out and out[-1][1] == first - 1:
            out[-1][1] = last
        else:
            out.append([first, last])
    return [(a, b) for a, b in out]


def with_indexes(intervals: list[tuple[int, int]], new: list[int]) -> list[tuple[int, int]]:
    """The intervals with the (sorted) indexes ``new`` added, merged."""
    out: list[list[int]] = []

    def put(first: int, last: int) -> None:
        if not out or first > out[-1][1] + 1:
            out.append([first, last])
        elif out[-1][1] < last:
            out[-1][1] = last

    i = j = 0
    while i < len(intervals) and j < len(new):
        if intervals[i][0] < new[j]:
            put(*intervals[i])
            i += 1
        else:
            put(new[j], new[j])
            j += 1
    for first, last in intervals[i:]:
        put(first, last)
    for ix in new[j:]:
        put(ix, ix)
    return [(a, b) for a, b in out]


def format_indexes(intervals: list[tuple[int, int]]) -> str:
    """``"0-3,7"``: two neighbours are written ``"4,5"``, longer runs with a dash."""
    parts = []
    for first, last in intervals:
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
    return ",".join(parts)


def total_indexes(intervals: list[tuple[int, int]]) -> int:
    return sum(last - first + 1 for first, last in intervals)


def has_index(intervals: list[tuple[int, int]], ix: int) -> bool:
    return any(first <= ix <= last for first, last in intervals)


def first_pending_indexes(active_pods: list[dict], succeeded: list[tuple[int, int]], count: int,
                          completions: int) -> list[int]:
    """The ``count`` lowest indexes neither succeeded nor held by an active pod.

    >>> first_pending_indexes([], [(0, 1), (4, 4)], 3, 10)
    [2, 3, 5]
    """
    if count == 0:
        return []
    active = sorted({ix for ix in (completion_index(p) for p in active_pods) if ix != _UNKNOWN_INDEX})
    taken = with_indexes(succeeded, active)
    out: list[int] = []
    candidate = 0
    for first, last in taken:
        while candidate < completions and len(out) < count and candidate < first:
            out.append(candidate)
            candidate += 1
        candidate = max(candidate, last + 1)
    while candidate < completions and len(out) < count:
        out.append(candidate)
        candidate += 1
    return out


# ---------------------------------------------------------------------------------------
# Back-off after pod failures (backoff_utils.go)
# ---------------------------------------------------------------------------------------
def backoff_duration(failures: int) -> float:
    """How long to wait after ``failures`` consecutive failures: 10 s doubling, capped."""
    if failures <= 0:
        return 0.0
    delay = DEFAULT_POD_FAILURE_BACKOFF
    for _ in range(1, failures):
        delay *= 2
        if delay >= MAX_POD_FAILURE_BACKOFF:
            return MAX_POD_FAILURE_BACKOFF
    return delay


class BackoffRecord:
    """Failures since the last success, and when the last one happened (``backoffRecord``)."""

    __slots__ = ("failures", "last_failure")

    def __init__(self, failures: int = 0, last_failure: float | None = None):
        self.failures = failures
        self.last_failure = last_failure

    def __repr__(self) -> str:
        return f"BackoffRecord(failures={self.failures}, last_failure={self.last_failure})"

    def remaining(self, now: float) -> float:
        """Seconds left before a replacement pod may be created."""
        if self.failures == 0 or self.last_failure is None:
            return 0.0
        left = backoff_duration(self.failures) - (now - self.last_failure)
        return max(left, 0.0)


def pod_finished_time(pod: dict) -> float:
    """When the pod finished: its last container's end, else Ready=False, else its deletion."""
    status = pod.get("status") or {}
    latest = None
    for cs in status.get("containerStatuses") or ():
        term = (cs.get("state") or {}).get("terminated")
        if not term or not term.get("finishedAt"):
            latest = None
            break
        t = parse_timestamp(term["finishedAt"])
        latest = t if latest is None or t > latest else latest
    else:
        if latest is not None:
            return latest
    ready = condition(pod, "Ready")
    if ready is not None and ready.get("status") == "False" and ready.get("lastTransitionTime"):
        return parse_timestamp(ready["lastTransitionTime"])
    m = pod["metadata"]
    if m.get("deletionTimestamp"):
        return parse_timestamp(m["deletionTimestamp"]) - (m.get("deletionGracePeriodSeconds") or 0)
    return parse_timestamp(m["creationTimestamp"]) if m.get("creationTimestamp") else 0.0


def next_backoff_record(old: BackoffRecord | None, new_succeeded: list[dict],
                        new_failed: list[dict]) -> BackoffRecord:
    """The record after these newly finished pods (``newBackoffRecord``)."""
    rec = BackoffRecord(old.failures, old.last_failure) if old is not None else BackoffRecord()
    failed_times = sorted(pod_finished_time(p) for p in new_failed)
    if not new_succeeded:
        if failed_times:
            rec.failures += len(failed_times)
            rec.last_failure = failed_times[-1]
        return rec
    rec.failures, rec.last_failure = 0, None
    last_success = max(pod_finished_time(p) for p in new_succeeded)
    for t in reversed(failed_times):
        if t <= last_success:
            break
        if rec.last_failure is None:
            rec.last_failure = t
        rec.failures += 1
    return rec


# ---------------------------------------------------------------------------------------
# Pod failure policy and success policy
# ---------------------------------------------------------------------------------------
def _matching_container(statuses: list, req: dict) -> dict | None:
    name = req.get("containerName")
    values = req.get("values") or []
    op = req.get("operator")
    for cs in statuses or ():
        term = (cs.get("state") or {}).get("terminated")
        if not term:
            continue
        if name is not None and name != cs.get("name"):
            continue
        code = term.get("exitCode", 0)
        if code == 0:
            continue
        if (op == "In" and code in values) or (op == "NotIn" and code not in values):
            return cs
    return None


def match_pod_failure_policy(policy: dict | None, pod: dict) -> tuple[str | None, bool, str | None]:
    """``(job failure message or None, count towards backoffLimit?, matched action)`` for a failed pod.

    >>> pod = {"metadata": {"name": "p", "namespace": "default"}, "status": {"containerStatuses": [
    ...     {"name": "main", "state": {"terminated": {"exitCode": 42}}}]}}
    >>> rules = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}
    >>> match_pod_failure_policy(rules, pod)[0]
    'Container main for pod default/p failed with exit code 42 matching FailJob rule at index 0'
    """
    if policy is None:
        return None, True, None
    status = pod.get("status") or {}
    m = pod["metadata"]
    for index, rule in enumerate(policy.get("rules") or ()):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            cs = _matching_container(status.get("containerStatuses"), rule["onExitCodes"]) or \
                _matching_container(status.get("initContainerStatuses"), rule["onExitCodes"])
            if cs is None:
                continue
            if action == "FailJob":
                code = cs["state"]["terminated"].get("exitCode", 0)
                return (f"Container {cs.get('name')} for pod {m.get('namespace')}/{m['name']} failed with "
                        f"exit code {code} matching FailJob rule at index {index}"), True, action
        elif rule.get("onPodConditions") is not None:
            cond = None
            for c in status.get("conditions") or ():
                if any(c.get("type") == pat.get("type") and c.get("status") == pat.get("status", "True")
                       for pat in rule["onPodConditions"]):
                    cond = c
                    break
            if cond is None:
                continue
            if action == "FailJob":
                return (f"Pod {m.get('namespace')}/{m['name']} has condition {cond.get('type')} matching "
                        f"FailJob rule at index {index}"), True, action
        else:
            continue
        if action == "Ignore":
            return None, False, action
        if action == "Count":
            return None, True, action
    return None, True, None


def match_success_policy(policy: dict | None, completions: int,
                         succeeded: list[tuple[int, int]]) -> tuple[str, bool]:
    """Whether the succeeded indexes meet one of the ``successPolicy`` rules."""
    if not policy or not succeeded:
        return "", False
    for index, rule in enumerate(policy.get("rules") or ()):
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            required = parse_indexes(rule["succeededIndexes"], completions)
            if not required:
                continue
            have = sum(1 for first, last in required for ix in range(first, last + 1) if has_index(succeeded, ix))
            if (count is None and have == total_indexes(required)) or (count is not None and have >= count):
                return f"Matched rules at index {index}", True
        elif count is not None and total_indexes(succeeded) >= count:
            return f"Matched rules at index {index}", True
    return "", False


# ---------------------------------------------------------------------------------------
# Which active pods to delete first (controller.ActivePods)
# ---------------------------------------------------------------------------------------
def _ready_since(pod: dict) -> float | None:
    c = condition(pod, "Ready")
    return parse_timestamp(c["lastTransitionTime"]) if c and c.get("lastTransitionTime") else None


def _max_restarts(pod: dict) -> int:
    return max((cs.get("restartCount", 0) for cs in (pod.get("status") or {}).get("containerStatuses") or ()),
               default=0)


def _active_pods_cmp(a: dict, b: dict) -> int:
    """Unscheduled, pending, not ready, ready for less time, restarted more, newer: first."""
    na, nb = a["spec"].get("nodeName") or "", b["spec"].get("nodeName") or ""
    if na != nb and (not na or not nb):
        return -1 if not na else 1
    pa, pb = _PHASE_ORDINAL.get(_phase(a), 0), _PHASE_ORDINAL.get(_phase(b), 0)
    if pa != pb:
        return -1 if pa < pb else 1
    ra, rb = is_pod_ready(a), is_pod_ready(b)
    if ra != rb:
        return -1 if not ra else 1
    if ra and rb:
        ta, tb = _ready_since(a), _ready_since(b)
        if ta != tb:
            return -1 if (tb is None or (ta is not None and ta > tb)) else 1
    xa, xb = _max_restarts(a), _max_restarts(b)
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
            if ix == _UNKNOWN_INDEX or ix >= completions:
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


def past_backoff_limit_on_failure(job: dict, pods: list[dict]) -> bool:
    """With ``restartPolicy: OnFailure``, whether container restarts reached ``backoffLimit``."""
    spec = job.get("spec") or {}
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        if _phase(pod) in ("Running", "Pending"):
            status = pod.get("status") or {}
            for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                restarts += cs.get("restartCount", 0)
    limit = spec.get("backoffLimit", 6)
    return restarts > 0 if limit == 0 else restarts >= limit


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


def _status_body(st: dict) -> dict:
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


def _working_copy(job: dict) -> dict:
    # the controller changes only the status: share the rest with the cache
    out = dict(job)
    st = clone(job.get("status") or {})
    uncounted = st.get("uncountedTerminatedPods") or {}
    st["uncountedTerminatedPods"] = {"succeeded": list(uncounted.get("succeeded") or ()),
                                     "failed": list(uncounted.get("failed") or ())}
    st["conditions"] = list(st.get("conditions") or ())
    out["status"] = st
    return out


class _SyncCtx:
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


class _JobPodRefManager(ControllerRefManager):
    """Adoption of an orphan pod also adds the tracking finalizer (``ClaimPods`` with finalizers)."""

    def _adopt(self, obj: dict) -> dict:
        if self._adopt_checked is None:
            try:
                self._can_adopt()
                self._adopt_checked = True
            except (errors.ApiError, AdoptionError) as e:
                self._adopt_checked = e
        if isinstance(self._adopt_checked, Exception):
            raise self._adopt_checked
        m = obj["metadata"]
        finalizers = list(m.get("finalizers") or [])
        if JOB_TRACKING_FINALIZER not in finalizers:
            finalizers.append(JOB_TRACKING_FINALIZER)
        body = {"metadata": {"ownerReferences": [owner_reference(self.controller)], "finalizers": finalizers}}
        patched = self.client.patch(self.resource, m["name"], body, m.get("namespace"), patch_type="strategic")
        self.adopted.append(patched)
        return patched


def _key(obj: dict) -> str:
    m = obj["metadata"]
    return f"{m.get('namespace')}/{m['name']}"


def job_selector(job: dict) -> dict:
    """``spec.selector``, or the one kube-apiserver would have generated from the Job's uid."""
    sel = (job.get("spec") or {}).get("selector")
    if sel:
        return sel
    return {"matchLabels": {LABEL_CONTROLLER_UID: job["metadata"].get("uid", "")}}


# ---------------------------------------------------------------------------------------
# The controller
# ---------------------------------------------------------------------------------------
class JobController(Controller):
    """Runs every Job's pods to completion (see the module docstring)."""

    name = "job-controller"

    def setup(self) -> None:
        self.expectations = ControllerExpectations(self.loop)
        # pod uids whose finalizer removal the controller wrote but has not seen yet, per Job
        self.finalizer_expectations: dict[str, set[str]] = {}
        self.backoff: dict[str, BackoffRecord] = {}
        self._timers: dict[str, object] = {}
        self._api_failures: dict[str, int] = {}
        self._selectors: dict[str, tuple[dict, LabelSelector]] = {}
        self.job_informer = self.informers.informer("jobs")
        self.pod_informer = self.informers.informer("pods")
        self.job_informer.add_index(INDEX_NAMESPACE, namespace_index)
        add_ownership_indexes(self.pod_informer)
        self.job_lister = self.job_informer.lister
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
        err = exc.kubectl_message() if isinstance(exc, errors.ApiError) else f"{type(exc).__name__}: {exc}"
        self.failures.append(ControllerFailure(self.now, self.name, key, err))
        del self.failures[:-100]
        n = self._api_failures.get(key, 0)
        self._api_failures[key] = n + 1
        self._sync_after(key, min(DEFAULT_API_BACKOFF * 2**n, MAX_API_BACKOFF))

    def _sync_after(self, key: str, delay: float) -> None:
        """``queue.AddAfter``: one pending wake-up per Job, the earliest wins."""
        if delay <= 0:
            self.queue.add(key)
            return
        due = self.now + delay
        prev = self._timers.get(key)
        if prev is not None and not prev.cancelled and prev.time <= due:
            return
        self.loop.cancel(prev)
        self._timers[key] = self.loop.call_at(due, self._wake, key, who=self.name,
                                              what=f"requeue {key} after {delay:g}s")

    def _wake(self, key: str) -> None:
        self._timers.pop(key, None)
        self.queue.add(key)

    def _cancel_timer(self, key: str) -> None:
        self.loop.cancel(self._timers.pop(key, None))

    # -- selectors ------------------------------------------------------------------------
    def _selector(self, job: dict) -> LabelSelector:
        uid = job["metadata"].get("uid", "")
        raw = job_selector(job)
        hit = self._selectors.get(uid)
        if hit is not None and hit[0] == raw:
            return hit[1]
        sel = LabelSelector.from_dict(raw)
        self._selectors[uid] = (raw, sel)
        return sel

    def _resolve(self, namespace: str | None, ref: dict) -> dict | None:
        if ref.get("kind") != "Job":
            return None
        job = self.job_lister.get(ref.get("name", ""), namespace)
        if job is None or job["metadata"].get("uid") != ref.get("uid"):
            return None
        return job

    def _pod_jobs(self, pod: dict) -> list[dict]:
        """Jobs whose selector matches an orphan pod (candidates to adopt it)."""
        labels = pod["metadata"].get("labels")
        if not labels:
            return []
        out = []
        for job in self.job_lister.by_index(INDEX_NAMESPACE, pod["metadata"].get("namespace") or ""):
            try:
                sel = self._selector(job)
            except (TypeError, ValueError):
                continue
            if not sel.empty and sel.matches(labels):
                out.append(job)
        return out

    # -- Job events ---------------------------------------------------------------------------
    def _add_job(self, job: dict) -> None:
        self.queue.add(_key(job))

    def _update_job(self, old: dict, cur: dict) -> None:
        key = _key(cur)
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
        key = _key(job)
        self.queue.add(key)
        self._selectors.pop(job["metadata"].get("uid", ""), None)
        self._cleanup_pod_finalizers(job)

    def _forget_job(self, key: str) -> None:
        self.expectations.delete(key)
        self.finalizer_expectations.pop(key, None)
        self.backoff.pop(key, None)
        self._cancel_timer(key)

    def _cleanup_pod_finalizers(self, job: dict) -> None:
        for pod in self.pod_lister.by_index(INDEX_CONTROLLER_UID, job["metadata"].get("uid", "")):
            if has_tracking_finalizer(pod):
                self.orphan_queue.add(_key(pod))

    # -- pod events ---------------------------------------------------------------------------
    def _add_pod(self, pod: dict) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._delete_pod(pod, final=False)
            return
        ref = controller_of(pod)
        if ref is not None:
            job = self._resolve(pod["metadata"].get("namespace"), ref)
            if job is None:
                return
            key = _key(job)
            self.expectations.creation_observed(key)
            self._sync_after(key, SYNC_JOB_BATCH_PERIOD)
            return
        if has_tracking_finalizer(pod):
            self.orphan_queue.add(_key(pod))
        for job in self._pod_jobs(pod):
            self._sync_after(_key(job), SYNC_JOB_BATCH_PERIOD)

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
            job = self._resolve(om.get("namespace"), old_ref)
            if job is not None:
                if removed:
                    self._finalizer_removal_observed(_key(job), cm.get("uid"))
                self._sync_after(_key(job), SYNC_JOB_BATCH_PERIOD)
        if cur_ref is not None:
            job = self._resolve(cm.get("namespace"), cur_ref)
            if job is None:
                return
            if removed:
                self._finalizer_removal_observed(_key(job), cm.get("uid"))
            self._sync_after(_key(job), SYNC_JOB_BATCH_PERIOD)
            return
        if has_tracking_finalizer(cur):
            self.orphan_queue.add(_key(cur))
        if om.get("labels") != cm.get("labels") or ref_changed:
            for job in self._pod_jobs(cur):
                self._sync_after(_key(job), SYNC_JOB_BATCH_PERIOD)

    def _delete_pod(self, pod: dict, final: bool) -> None:
        ref = controller_of(pod)
        finalizer = has_tracking_finalizer(pod)
        if ref is None:
            if finalizer:
                self.orphan_queue.add(_key(pod))
            return
        job = self._resolve(pod["metadata"].get("namespace"), ref)
        if job is None or is_job_finished(job):
            if finalizer:
                self.orphan_queue.add(_key(pod))
            return
        key = _key(job)
        self.expectations.deletion_observed(key, _key(pod))
        if final or not finalizer:
            self._finalizer_removal_observed(key, pod["metadata"].get("uid"))
        self._sync_after(key, SYNC_JOB_BATCH_PERIOD)

    def _finalizer_removal_observed(self, key: str, uid: str | None) -> None:
        uids = self.finalizer_expectations.get(key)
        if uids is not None:
            uids.discard(uid)
            if not uids:
                del self.finalizer_expectations[key]

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
            job = self._resolve(ns, ref)
            if job is not None and not is_job_finished(job):
                return  # adopted meanwhile
        self._remove_finalizer(pod)
        self.orphan_queue.forget(key)

    def _orphan_failed(self, key: str, exc: Exception) -> None:
        err = exc.kubectl_message() if isinstance(exc, errors.ApiError) else f"{type(exc).__name__}: {exc}"
        self.failures.append(ControllerFailure(self.now, self.name, key, err))
        del self.failures[:-100]
        self.orphan_queue.add_rate_limited(key)

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
        job = _working_copy(shared)
        spec = job.get("spec") or {}
        st = job["status"]
        satisfied = self.expectations.satisfied(key)
        pods = self._pods_for_job(job)
        ctx = _SyncCtx(job, pods, set(self.finalizer_expectations.get(key, ())))
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
                             if _phase(p) == "Succeeded" and has_tracking_finalizer(p)
                             and _UNKNOWN_INDEX != completion_index(p) < completions})
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

    def _finished_condition(self, key: str, ctx: _SyncCtx, pods: list[dict]) -> None:
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
        selector = self._selector(job)
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

    def _new_finished_pods(self, ctx: _SyncCtx) -> tuple[list[dict], list[dict]]:
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
                if ix == _UNKNOWN_INDEX or ix >= completions:
                    continue
            if _phase(p) == "Succeeded":
                if uid not in ctx.uncounted_succeeded:
                    succeeded.append(p)
            elif is_pod_failed(p, job) and uid not in ctx.uncounted_failed:
                failed.append(p)
        return succeeded, failed

    # -- managing pods ------------------------------------------------------------------------
    def _manage_job(self, key: str, job: dict, ctx: _SyncCtx) -> tuple[int, Exception | None]:
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
        self.expectations.expect_creations(key, diff)
        template = self._pod_template(job)
        first_error: Exception | None = None
        created = 0
        batch = 1
        todo = diff
        while todo > 0:
            batch_error = None
            for _ in range(min(batch, todo)):
                index = indexes.pop(0) if indexes else _UNKNOWN_INDEX
                try:
                    self._create_pod(job, template, index)
                    created += 1
                except errors.ApiError as e:
                    self.expectations.creation_observed(key)
                    batch_error = batch_error or e
            todo -= min(batch, todo)
            if batch_error is not None:
                first_error = batch_error
                # creations never attempted will never be observed
                for _ in range(todo):
                    self.expectations.creation_observed(key)
                break
            batch = min(2 * batch, todo)
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
        if index != _UNKNOWN_INDEX:
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
        try:
            created = self.client.create(pod, job["metadata"].get("namespace"), hand_over=True)
        except errors.ApiError as e:
            self.recorder.event(job, "Warning", "FailedCreate", f"Error creating: {e.message}")
            raise
        self.recorder.event(job, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        return created

    def _delete_pod_of(self, job: dict, pod: dict) -> None:
        m = pod["metadata"]
        try:
            self.client.delete("pods", m["name"], m.get("namespace"))
        except errors.NotFound:
            raise
        except errors.ApiError as e:
            self.recorder.event(job, "Warning", "FailedDelete", f"Error deleting: {e.message}")
            raise
        self.recorder.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {m['name']}")

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
        self.expectations.expect_deletions(key, [_key(p) for p in pods])
        deleted = ready = 0
        first_error = None
        for pod in pods:
            try:
                self._remove_finalizer(pod)
                self._delete_pod_of(job, pod)
            except errors.ApiError as e:
                self.expectations.deletion_observed(key, _key(pod))
                if not isinstance(e, errors.NotFound):
                    first_error = first_error or e
                    continue
            deleted += 1
            ready += is_pod_ready(pod)
        return ready, deleted, first_error

    # -- counting finished pods ----------------------------------------------------------------
    def _track_status_and_remove_finalizers(self, key: str, ctx: _SyncCtx, needs_flush: bool) -> None:
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
                    or _phase(pod) == "Succeeded" or failed):
                continue
            to_remove.append(pod)
            if _phase(pod) == "Succeeded" and uid not in ctx.uncounted_failed:
                if indexed:
                    ix = completion_index(pod)
                    if ix != _UNKNOWN_INDEX and ix < completions and not has_index(ctx.prev_succeeded_indexes, ix):
                        new_indexes.append(ix)
                        needs_flush = True
                elif uid not in ctx.uncounted_succeeded:
                    needs_flush = True
                    uncounted["succeeded"].append(uid)
            elif failed or (ctx.finished is not None and ctx.finished.get("type") != "SuccessCriteriaMet"):
                # once the Job is finished, every pod that has not succeeded counts as failed
                ix = completion_index(pod)
                if uid not in ctx.uncounted_failed and (not indexed or _UNKNOWN_INDEX != ix < completions):
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

    def _flush_and_remove_finalizers(self, key: str, ctx: _SyncCtx, to_remove: list[dict], with_finalizer: set,
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

    def _enact_finished(self, ctx: _SyncCtx) -> bool:
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
        body["status"] = _status_body(job["status"])
        stored = self.client.update_status(body)
        return _working_copy(stored)


# ---------------------------------------------------------------------------------------
# TTL after finished (pkg/controller/ttlafterfinished)
# ---------------------------------------------------------------------------------------
def job_finish_time(job: dict) -> float | None:
    c = finished_condition(job)
    if c is None or not c.get("lastTransitionTime"):
        return None
    return parse_timestamp(c["lastTransitionTime"])


class TTLAfterFinishedController(Controller):
    """Deletes a finished Job (and, in the foreground, its pods) ``ttlSecondsAfterFinished`` later.

    Its wake-ups are *background* events: ``Cluster.run()`` settles without waiting for
    them, ``Cluster.run(seconds=...)`` lets them happen.
    """

    name = "ttl-after-finished-controller"

    def setup(self) -> None:
        self._timers: dict[str, object] = {}
        self.job_informer = self.informers.informer("jobs")
        self.job_lister = self.job_informer.lister
        self.job_informer.add_event_handler(self._enqueue_if_due, lambda old, cur: self._enqueue_if_due(cur))

    @staticmethod
    def needs_cleanup(job: dict) -> bool:
        return (job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None and is_job_finished(job)

    def _enqueue_if_due(self, job: dict) -> None:
        if self.needs_cleanup(job):
            self.queue.add(_key(job))

    def _wake_after(self, key: str, delay: float) -> None:
        due = self.now + delay
        prev = self._timers.get(key)
        if prev is not None and not prev.cancelled and prev.time <= due:
            return
        self.loop.cancel(prev)
        self._timers[key] = self.loop.call_at(due, self._wake, key, who=self.name,
                                              what=f"requeue {key} after {delay:g}s", background=True)

    def _wake(self, key: str) -> None:
        self._timers.pop(key, None)
        self.queue.add(key)

    def _expired(self, job: dict) -> bool:
        """True when the TTL has run out; otherwise asks to be woken when it will have."""
        if job["metadata"].get("deletionTimestamp") or not self.needs_cleanup(job):
            return False
        finished = job_finish_time(job)
        if finished is None:
            return False
        left = finished + job["spec"]["ttlSecondsAfterFinished"] - self.now
        if left > 0:
            self._wake_after(_key(job), left)
            return False
        return True

    def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        job = self.job_lister.get(name, namespace)
        if job is None or not self._expired(job):
            return
        # the cache may be stale: check the stored Job once more before deleting it
        try:
            fresh = self.client.get("jobs", name, namespace)
        except errors.NotFound:
            return
        if not self._expired(fresh):
            return
        try:
            self.client.delete("jobs", name, namespace, propagation_policy="Foreground")
        except errors.NotFound:
            return
