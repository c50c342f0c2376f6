"""The TTL-after-finished controller: delete finished Jobs ``ttlSecondsAfterFinished`` later.

It follows ``pkg/controller/ttlafterfinished``: a Job that is finished (its
``Complete`` or ``Failed`` condition is True) and has ``ttlSecondsAfterFinished``
is deleted that many seconds after the condition's ``lastTransitionTime``, with
``propagationPolicy: Foreground``, so its pods go first. Before deleting, the
controller reads the Job once more from the API server: the cache may be stale
(someone may have changed the TTL).

Example
-------
>>> job = {"status": {"conditions": [{"type": "Complete", "status": "True",
...                                   "lastTransitionTime": "2025-01-01T00:01:00Z"}]}}
>>> job_finish_time(job)
60.0
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.objects import object_key, split_key
from k8slab.controlplane.controller import Controller
from k8slab.controlplane.job_tracking import finished_condition, is_job_finished
from k8slab.controlplane.workload import DelayedRequeue
from k8slab.sim.loop import parse_timestamp


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
        self.delayed = DelayedRequeue(self, lambda key, delay: f"requeue {key} after {delay:g}s", background=True)
        self.job_informer = self.informers.informer("jobs")
        self.job_lister = self.job_informer.lister
        self.job_informer.add_event_handler(self._enqueue_if_due, lambda old, cur: self._enqueue_if_due(cur))

    @staticmethod
    def needs_cleanup(job: dict) -> bool:
        return (job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None and is_job_finished(job)

    def _enqueue_if_due(self, job: dict) -> None:
        if self.needs_cleanup(job):
            self.queue.add(object_key(job))

    def _expired(self, job: dict) -> bool:
        """True when the TTL has run out; otherwise asks to be woken when it will have."""
        if job["metadata"].get("deletionTimestamp") or not self.needs_cleanup(job):
            return False
        finished = job_finish_time(job)
        if finished is None:
            return False
        left = finished + job["spec"]["ttlSecondsAfterFinished"] - self.now
        if left > 0:
            self.delayed.add_after(object_key(job), left)
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
