"""What failures and successes mean for a Job: back-off, pod failure policy, success policy.

* After failed pods the Job waits before creating new ones: 10 s, 20 s, 40 s ...
  since the last success (``pkg/controller/job/backoff_utils.go``), at most six minutes.
* ``podFailurePolicy`` rules decide what a failed pod means: fail the whole Job
  (``FailJob``), not count it against ``backoffLimit`` (``Ignore``), or count it
  (``Count``) (``pod_failure_policy.go``).
* ``successPolicy`` rules let an Indexed Job succeed before every index did
  (``success_policy.go``).
* With ``restartPolicy: OnFailure`` container restarts count against ``backoffLimit``.

Example
-------
>>> [backoff_duration(n) for n in (1, 2, 3, 7, 8)]
[10.0, 20.0, 40.0, 360.0, 360.0]
"""

from __future__ import annotations

from k8slab.api.objects import condition
from k8slab.controlplane.job_indexes import has_index, parse_indexes, total_indexes
from k8slab.sim.loop import parse_timestamp

#: First wait before replacing a failed pod; it doubles with each failure since the last success.
DEFAULT_POD_FAILURE_BACKOFF = 10.0
#: The longest wait between replacements (the documented six minutes).
MAX_POD_FAILURE_BACKOFF = 360.0


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


def past_backoff_limit_on_failure(job: dict, pods: list[dict]) -> bool:
    """With ``restartPolicy: OnFailure``, whether container restarts reached ``backoffLimit``."""
    spec = job.get("spec") or {}
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Running", "Pending"):
            status = pod.get("status") or {}
            for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                restarts += cs.get("restartCount", 0)
    limit = spec.get("backoffLimit", 6)
    return restarts > 0 if limit == 0 else restarts >= limit
