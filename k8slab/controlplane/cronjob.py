"""The CronJob controller: create a Job at every scheduled time (``pkg/controller/cronjob``, v1.30).

Each sync of a CronJob (the ``ControllerV2`` of kube-controller-manager):

1. *Cleans up* finished Jobs beyond ``successfulJobsHistoryLimit`` (default 3)
   and ``failedJobsHistoryLimit`` (default 1), oldest first.
2. *Reconciles* ``status.active`` with the Jobs it owns: a finished one leaves
   the list (event ``SawCompletedJob``) and a successful one moves
   ``status.lastSuccessfulTime``; a Job that went missing is dropped.
3. Finds the most recent scheduled time not yet run (since
   ``status.lastScheduleTime``, or the CronJob's creation). Too late for it
   (``startingDeadlineSeconds``) means ``MissSchedule``; more than 100 missed
   times are reported as ``TooManyMissedTimes`` but the latest still runs.
   ``concurrencyPolicy`` decides what happens while an earlier Job runs:
   ``Allow`` starts another, ``Forbid`` skips this time, ``Replace`` deletes the
   running ones first.
4. Creates the Job ``<cronjob>-<scheduled time in minutes since the Unix epoch>``
   from ``jobTemplate`` (the name is the lock that stops a time from running
   twice), annotated with ``batch.kubernetes.io/cronjob-scheduled-timestamp``,
   and records it in ``status.active`` and ``status.lastScheduleTime``.
5. Asks to be woken 100 ms after the next scheduled time.

Those wake-ups are *background* events on the virtual clock: ``Cluster.run()``
settles without waiting for the next run (it would never end), while
``Cluster.run(seconds=3600)`` lets an hour of schedule happen.

Simplified: the rare race where a Job created by this controller shows up
before the CronJob's status update is resolved with a fresh read, and that fresh
copy is the one updated afterwards.

Example
-------
>>> cj = {"metadata": {"name": "hello", "creationTimestamp": "2025-01-01T00:00:05Z"}, "spec": {}, "status": {}}
>>> sched = parse_standard("*/15 * * * *")
>>> most_recent_schedule_time(cj, 3000.0, sched, True)[1] / 60    # 00:45 is the latest due time
45.0
>>> job_name(cj, 2700.0)
'hello-28928205'
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.cron import (
    CronSyntaxError,
    EverySchedule,
    Schedule,
    UnknownTimeZone,
    load_location,
    parse_standard,
    to_datetime,
)
from k8slab.api.objects import clone, controller_of, object_key, owner_reference, split_key
from k8slab.controlplane.job import finished_condition
from k8slab.controlplane.workload import DelayedRequeue, WorkloadController
from k8slab.sim.loop import EPOCH, parse_timestamp, timestamp

#: Requeue this long after the scheduled time, so clock skew never makes a run too early.
NEXT_SCHEDULE_DELTA = 0.1
#: The annotation with the time a Job was scheduled for (RFC 3339, in the CronJob's time zone).
SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
#: Informer index: Jobs by ``namespace/name`` of the CronJob that controls them.
INDEX_CRONJOB = "cronjob"

_EPOCH_UNIX = int(EPOCH.timestamp())

NONE_MISSED, FEW_MISSED, MANY_MISSED = "none", "few", "many"


class InvalidSchedule(Exception):
    """The schedule parses but cannot run (a date such as 31 February)."""


def job_name(cronjob: dict, scheduled: float) -> str:
    """``<cronjob>-<minutes since the Unix epoch>`` of the scheduled time (``getJobName``)."""
    return f"{cronjob['metadata']['name']}-{(_EPOCH_UNIX + int(scheduled)) // 60}"


def format_schedule(cronjob: dict) -> str:
    """The schedule the controller parses: ``TZ=<timeZone>`` is put in front when set and valid."""
    spec = cronjob.get("spec") or {}
    schedule = spec.get("schedule") or ""
    if "TZ" in schedule:
        return schedule
    tz = spec.get("timeZone")
    if tz is not None:
        try:
            load_location(tz)
        except UnknownTimeZone:
            return schedule
        return f"TZ={tz} {schedule}"
    return schedule


def most_recent_schedule_time(cronjob: dict, now: float, schedule: Schedule | EverySchedule,
                              include_starting_deadline: bool) -> tuple[float, float | None, str]:
    """``(earliest time considered, most recent due time or None, how many were missed)``.

    Raises :class:`InvalidSchedule` when two runs are not at least a second apart (never).
    """
    meta, spec, status = cronjob["metadata"], cronjob.get("spec") or {}, cronjob.get("status") or {}
    earliest = parse_timestamp(meta["creationTimestamp"]) if meta.get("creationTimestamp") else 0.0
    if status.get("lastScheduleTime"):
        earliest = parse_timestamp(status["lastScheduleTime"])
    deadline_seconds = spec.get("startingDeadlineSeconds")
    if include_starting_deadline and deadline_seconds is not None:
        # nothing older than the starting deadline can still be started
        earliest = max(earliest, now - deadline_seconds)
    t1 = schedule.next_after(earliest)
    t2 = schedule.next_after(t1) if t1 is not None else None
    if t1 is not None and now < t1:
        return earliest, None, NONE_MISSED
    if t1 is not None and t2 is not None and now < t2:
        return earliest, t1, NONE_MISSED
    between = round(t2 - t1) if t1 is not None and t2 is not None else 0
    if between < 1:
        raise InvalidSchedule("time difference between two schedules is less than 1 second")
    # roughly how many runs fit between the first missed one and now
    missed = int(now - t1) // between + 1
    most_recent = None
    t = schedule.next_after(t1 + (missed - 2) * between)
    while t is not None and t <= now:
        most_recent = t
        t = schedule.next_after(t)
    kind = MANY_MISSED if missed > 100 else FEW_MISSED if missed > 0 else NONE_MISSED
    return earliest, most_recent, kind


def next_schedule_delay(cronjob: dict, now: float, schedule: Schedule | EverySchedule) -> float | None:
    """Seconds from ``now`` until 100 ms after the next run (``nextScheduleTimeDuration``)."""
    try:
        earliest, most_recent, missed = most_recent_schedule_time(cronjob, now, schedule, False)
    except InvalidSchedule:
        most_recent = now
    else:
        if most_recent is None:
            most_recent = earliest if missed == NONE_MISSED else now
    nxt = schedule.next_after(most_recent)
    if nxt is None:
        return None
    return nxt + NEXT_SCHEDULE_DELTA - now


def scheduled_timestamp(scheduled: float, time_zone: str | None) -> str:
    """RFC 3339 in the CronJob's zone, ``Z`` for a zero offset (Go's ``time.RFC3339``).

    >>> scheduled_timestamp(3600, None), scheduled_timestamp(3600, "Europe/Paris")
    ('2025-01-01T01:00:00Z', '2025-01-01T02:00:00+01:00')
    """
    dt = to_datetime(scheduled, load_location(time_zone or ""))
    offset = dt.utcoffset()
    if not offset:
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    return f"{text[:-2]}:{text[-2:]}"


def _is_finished(job: dict) -> bool:
    return finished_condition(job) is not None


def _job_ref(job: dict) -> dict:
    m = job["metadata"]
    return {"kind": "Job", "namespace": m.get("namespace"), "name": m["name"], "uid": m.get("uid"),
            "apiVersion": "batch/v1", "resourceVersion": m.get("resourceVersion")}


def _cronjob_index(job: dict) -> list[str]:
    ref = controller_of(job)
    if ref is None or ref.get("kind") != "CronJob":
        return []
    return [f"{job['metadata'].get('namespace')}/{ref.get('name')}"]


def _start_time_key(job: dict) -> tuple:
    # oldest first; Jobs that never started go last; ties by name (byJobStartTime)
    start = (job.get("status") or {}).get("startTime")
    return (start is None, start or "", job["metadata"]["name"])


class CronJobController(WorkloadController):
    """Creates each CronJob's Jobs on schedule (see the module docstring)."""

    name = "cronjob-controller"
    kind = "CronJob"

    def setup(self) -> None:
        # wake-ups are *background* events: a schedule is not work waiting to be done
        self.delayed = DelayedRequeue(self, lambda key, delay: f"next schedule of {key}", background=True)
        self.cronjob_informer = self.informers.informer("cronjobs")
        self.job_informer = self.informers.informer("jobs")
        self.job_informer.add_index(INDEX_CRONJOB, _cronjob_index)
        self.cronjob_lister = self.owner_lister = self.cronjob_informer.lister
        self.job_lister = self.job_informer.lister
        self.job_informer.add_event_handler(self._add_job, self._update_job, self._delete_job)
        self.cronjob_informer.add_event_handler(self._enqueue, self._update_cronjob, self._enqueue)

    # -- events -----------------------------------------------------------------------------
    def _enqueue_owner(self, job: dict, ref: dict | None) -> None:
        if ref is not None:
            cj = self.resolve_controller_ref(job["metadata"].get("namespace"), ref)
            if cj is not None:
                self._enqueue(cj)

    def _add_job(self, job: dict) -> None:
        if job["metadata"].get("deletionTimestamp"):
            self._delete_job(job)
            return
        self._enqueue_owner(job, controller_of(job))

    def _update_job(self, old: dict, cur: dict) -> None:
        if old["metadata"].get("resourceVersion") == cur["metadata"].get("resourceVersion"):
            return
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        if cur_ref != old_ref and old_ref is not None:
            self._enqueue_owner(old, old_ref)
        self._enqueue_owner(cur, cur_ref)

    def _delete_job(self, job: dict) -> None:
        self._enqueue_owner(job, controller_of(job))

    def _update_cronjob(self, old: dict, cur: dict) -> None:
        key = object_key(cur)
        ospec, cspec = old.get("spec") or {}, cur.get("spec") or {}
        if ospec.get("schedule") != cspec.get("schedule") or ospec.get("timeZone") != cspec.get("timeZone"):
            # a new schedule: wake up for its next run (sooner than the old one, or a no-op sync then)
            try:
                schedule = parse_standard(format_schedule(cur))
            except CronSyntaxError:
                self.recorder.event(cur, "Warning", "UnParseableCronJobSchedule",
                                    f"unparseable schedule for cronjob: {cspec.get('schedule')}")
                return
            delay = next_schedule_delay(cur, self.now, schedule)
            self.delayed.add_after(key, delay if delay is not None else 0)
            return
        self.queue.add(key)

    # -- sync -------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        shared = self.cronjob_lister.get(name, namespace)
        if shared is None:
            self.delayed.cancel(key)
            return
        jobs = self.job_lister.by_index(INDEX_CRONJOB, key)
        jobs.sort(key=lambda j: j["metadata"]["name"])
        cronjob = self._working_copy(shared)
        update_after_cleanup = self._cleanup_finished_jobs(cronjob, jobs)
        requeue, update_after_sync, cronjob, sync_error = self._sync_cronjob(cronjob, jobs)
        if update_after_cleanup or update_after_sync:
            body = dict(cronjob)
            body["status"] = self._status_body(cronjob["status"])
            self.client.update_status(body)
        if requeue is not None:
            self.delayed.add_after(key, requeue)
            return
        if sync_error is not None:
            raise sync_error

    @staticmethod
    def _working_copy(cronjob: dict) -> dict:
        out = dict(cronjob)
        out["status"] = clone(cronjob.get("status") or {})
        return out

    @staticmethod
    def _status_body(st: dict) -> dict:
        # Go's field order; an empty active list is left out
        out = {}
        if st.get("active"):
            out["active"] = st["active"]
        for k in ("lastScheduleTime", "lastSuccessfulTime"):
            if st.get(k):
                out[k] = st[k]
        return out

    def _cleanup_finished_jobs(self, cronjob: dict, jobs: list[dict]) -> bool:
        """Delete the oldest finished Jobs beyond the history limits (``cleanupFinishedJobs``)."""
        spec = cronjob.get("spec") or {}
        if spec.get("successfulJobsHistoryLimit") is None and spec.get("failedJobsHistoryLimit") is None:
            return False
        successful, failed = [], []
        for job in jobs:
            c = finished_condition(job)
            if c is not None and c["type"] == "Complete":
                successful.append(job)
            elif c is not None and c["type"] == "Failed":
                failed.append(job)
        updated = False
        for limit, finished in ((spec.get("successfulJobsHistoryLimit"), successful),
                                (spec.get("failedJobsHistoryLimit"), failed)):
            if limit is None or len(finished) <= limit:
                continue
            for job in sorted(finished, key=_start_time_key)[:len(finished) - limit]:
                if self._delete_job_of(cronjob, job):
                    updated = True
        return updated

    def _delete_job_of(self, cronjob: dict, job: dict) -> bool:
        """Delete a Job (its pods follow in the background) and drop it from ``status.active``."""
        m = job["metadata"]
        try:
            self.client.delete("jobs", m["name"], m.get("namespace"), propagation_policy="Background")
        except errors.ApiError as e:
            self.recorder.event(cronjob, "Warning", "FailedDelete", f"Deleted job: {e.message}")
            return False
        self._drop_active(cronjob, m.get("uid"))
        self.recorder.event(cronjob, "Normal", "SuccessfulDelete", f"Deleted job {m['name']}")
        return True

    @staticmethod
    def _drop_active(cronjob: dict, uid: str | None) -> None:
        st = cronjob["status"]
        st["active"] = [ref for ref in st.get("active") or () if ref.get("uid") != uid]

    @staticmethod
    def _in_active(cronjob: dict, uid: str | None) -> bool:
        return any(ref.get("uid") == uid for ref in (cronjob.get("status") or {}).get("active") or ())

    def _sync_cronjob(self, cronjob: dict, jobs: list[dict]):
        """``syncCronJob``: returns (requeue delay or None, status changed?, CronJob, error or None)."""
        now = self.now
        updated = False
        children = set()
        for job in jobs:
            uid = job["metadata"].get("uid")
            children.add(uid)
            found = self._in_active(cronjob, uid)
            finished = finished_condition(job)
            if not found and finished is None:
                try:
                    fresh = self.client.get("cronjobs", cronjob["metadata"]["name"], cronjob["metadata"].get("namespace"))
                except errors.ApiError as e:
                    return None, updated, cronjob, e
                if self._in_active(fresh, uid):
                    cronjob = self._working_copy(fresh)
                    continue
                self.recorder.event(cronjob, "Warning", "UnexpectedJob",
                                    f"Saw a job that the controller did not create or forgot: {job['metadata']['name']}")
            elif finished is not None:
                if found:
                    self._drop_active(cronjob, uid)
                    self.recorder.event(cronjob, "Normal", "SawCompletedJob",
                                        f"Saw completed job: {job['metadata']['name']}, condition: {finished['type']}")
                    updated = True
                if finished["type"] == "Complete":
                    done = (job.get("status") or {}).get("completionTime")
                    last = cronjob["status"].get("lastSuccessfulTime")
                    if done and (not last or parse_timestamp(done) > parse_timestamp(last)):
                        cronjob["status"]["lastSuccessfulTime"] = done
                        updated = True
        # an active Job that no longer exists must not keep the CronJob busy forever
        for ref in list(cronjob["status"].get("active") or ()):
            if ref.get("uid") in children:
                continue
            try:
                self.client.get("jobs", ref.get("name"), ref.get("namespace"))
            except errors.NotFound:
                self.recorder.event(cronjob, "Normal", "MissingJob", f"Active job went missing: {ref.get('name')}")
                self._drop_active(cronjob, ref.get("uid"))
                updated = True
            except errors.ApiError as e:
                return None, updated, cronjob, e

        if cronjob["metadata"].get("deletionTimestamp"):
            return None, updated, cronjob, None
        spec = cronjob.get("spec") or {}
        tz = spec.get("timeZone")
        if tz is not None:
            try:
                load_location(tz)
            except UnknownTimeZone as e:
                self.recorder.event(cronjob, "Warning", "UnknownTimeZone", f'invalid timeZone: "{tz}": {e}')
                return None, updated, cronjob, None
        if spec.get("suspend"):
            return None, updated, cronjob, None
        schedule_text = spec.get("schedule") or ""
        if "TZ" in schedule_text:
            self.recorder.event(cronjob, "Warning", "UnsupportedSchedule",
                                f'CRON_TZ or TZ used in schedule "{schedule_text}" is not officially supported, '
                                "see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ "
                                "for more details")
        try:
            schedule = parse_standard(format_schedule(cronjob))
        except CronSyntaxError as e:
            self.recorder.event(cronjob, "Warning", "UnparseableSchedule",
                                f'unparseable schedule: "{schedule_text}" : {e}')
            return None, updated, cronjob, None
        try:
            _, scheduled, missed = most_recent_schedule_time(cronjob, now, schedule, True)
        except InvalidSchedule as e:
            self.recorder.event(cronjob, "Warning", "InvalidSchedule", f"invalid schedule: {schedule_text} : {e}")
            return None, updated, cronjob, None
        if scheduled is None or scheduled > now:
            # nothing due: the wake-up was early, or came for another reason
            return next_schedule_delay(cronjob, now, schedule), updated, cronjob, None
        if missed == MANY_MISSED:
            self.recorder.event(cronjob, "Warning", "TooManyMissedTimes",
                                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
                                "or check clock skew")

        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and scheduled + deadline < now:
            self.recorder.event(cronjob, "Warning", "MissSchedule",
                                f"Missed scheduled time to start a job: {_rfc1123z(scheduled)}")
            return next_schedule_delay(cronjob, now, schedule), updated, cronjob, None
        name = job_name(cronjob, scheduled)
        st = cronjob["status"]
        if any(ref.get("name") == name for ref in st.get("active") or ()) or (
                st.get("lastScheduleTime") and parse_timestamp(st["lastScheduleTime"]) == int(scheduled)):
            return next_schedule_delay(cronjob, now, schedule), updated, cronjob, None
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and st.get("active"):
            self.recorder.event(cronjob, "Normal", "JobAlreadyActive",
                                "Not starting job because prior execution is running and concurrency policy is Forbid")
            return next_schedule_delay(cronjob, now, schedule), updated, cronjob, None
        if policy == "Replace":
            for ref in list(st.get("active") or ()):
                try:
                    job = self.client.get("jobs", ref.get("name"), ref.get("namespace"))
                except errors.ApiError as e:
                    self.recorder.event(cronjob, "Warning", "FailedGet", f"Get job: {e.message}")
                    return None, updated, cronjob, e
                if not self._delete_job_of(cronjob, job):
                    return None, updated, cronjob, errors.InternalError(
                        f"could not replace job {ref.get('namespace')}/{ref.get('name')}")
                updated = True

        request = self._job_from_template(cronjob, scheduled, name)
        try:
            created = self.client.create(request, cronjob["metadata"].get("namespace"), hand_over=True)
            self.recorder.event(cronjob, "Normal", "SuccessfulCreate", f"Created job {created['metadata']['name']}")
        except errors.AlreadyExists:
            # created before, but the status update was lost: record it now if it is ours
            try:
                created = self.client.get("jobs", name, cronjob["metadata"].get("namespace"))
            except errors.ApiError as e:
                return None, updated, cronjob, e
            ref = controller_of(created)
            if ref is None or ref.get("uid") != cronjob["metadata"].get("uid"):
                return None, updated, cronjob, None
            if self._in_active(cronjob, created["metadata"].get("uid")):
                return None, updated, cronjob, None
        except errors.ApiError as e:
            self.recorder.event(cronjob, "Warning", "FailedCreate", f"Error creating job: {e.message}")
            return None, updated, cronjob, e
        st["active"] = [*(st.get("active") or ()), _job_ref(created)]
        st["lastScheduleTime"] = timestamp(scheduled)
        return next_schedule_delay(cronjob, now, schedule), True, cronjob, None

    @staticmethod
    def _job_from_template(cronjob: dict, scheduled: float, name: str) -> dict:
        """The Job for one scheduled time (``getJobFromTemplate2``)."""
        template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
        tmeta = template.get("metadata") or {}
        meta: dict = {"name": name, "namespace": cronjob["metadata"].get("namespace")}
        if tmeta.get("labels"):
            meta["labels"] = dict(tmeta["labels"])
        annotations = dict(tmeta.get("annotations") or {})
        annotations[SCHEDULED_TIMESTAMP_ANNOTATION] = scheduled_timestamp(
            scheduled, (cronjob.get("spec") or {}).get("timeZone"))
        meta["annotations"] = annotations
        meta["ownerReferences"] = [owner_reference(cronjob)]
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": clone(template.get("spec") or {})}


def _rfc1123z(t: float) -> str:
    """Go's ``time.RFC1123Z`` in UTC: ``Wed, 01 Jan 2025 01:00:00 +0000``."""
    return to_datetime(t).strftime("%a, %d %b %Y %H:%M:%S +0000")
