"""The CronJob controller against a whole simulated cluster, on the virtual clock."""

import pytest
import yaml

from k8slab import Cluster
from k8slab.api import errors
from k8slab.api.cron import parse_standard
from k8slab.controlplane.cronjob import (
    CronJobController,
    InvalidSchedule,
    format_schedule,
    job_name,
    most_recent_schedule_time,
    next_schedule_delay,
    scheduled_timestamp,
)
from k8slab.controlplane.job import JobController
from k8slab.controlplane.manager import ControllerManager
from k8slab.sim.loop import parse_timestamp

#: Minutes since the Unix epoch at virtual time 0 (2025-01-01T00:00:00Z): Job names count from it.
MINUTE_ZERO = 28928160

MANAGERS: dict[int, list] = {}


def cluster() -> Cluster:
    c = Cluster(workers=2, seed=0)
    present = set(c.controller_manager.controllers)
    missing = [cls for cls in (JobController, CronJobController) if cls.name not in present]
    managers = [c.controller_manager]
    if missing:  # not (yet) among the cluster's default controllers
        managers.append(ControllerManager(c.api, c.loop, c.rng, missing))
        managers[-1].start()
    MANAGERS.clear()
    MANAGERS[id(c)] = managers
    return c


def failures(c: Cluster) -> list[str]:
    names = {JobController.name, CronJobController.name}
    return [str(f) for m in MANAGERS[id(c)] for f in m.failures if f.controller in names]


def cronjob(name: str, schedule: str, command: str = "date; echo Hello from the Kubernetes cluster",
            restart: str = "OnFailure", job_spec: dict | None = None, **spec) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": schedule,
            **spec,
            "jobTemplate": {"spec": {**(job_spec or {}), "template": {"spec": {
                "restartPolicy": restart,
                "containers": [{"name": name, "image": "busybox:1.28", "command": ["sh", "-c", command]}]}}}},
        },
    }


def events_of(c: Cluster, name: str) -> list[tuple[str, str, str]]:
    evs = [e for e in c.get("events")
           if e["involvedObject"]["kind"] == "CronJob" and e["involvedObject"]["name"] == name]
    evs.sort(key=lambda e: (e["firstTimestamp"], e["metadata"]["name"]))
    return [(e["type"], e["reason"], e["message"]) for e in evs]


def created_jobs(c: Cluster, name: str) -> list[str]:
    return [m.removeprefix("Created job ") for _t, r, m in events_of(c, name) if r == "SuccessfulCreate"]


def job_names(c: Cluster, owner: str) -> list[str]:
    return sorted(j["metadata"]["name"] for j in c.get("jobs")
                  if j["metadata"]["ownerReferences"][0]["name"] == owner)


def wakeups(c: Cluster) -> list:
    return [e for e in c.loop.pending(include_background=True) if e.who == CronJobController.name]


def test_run_settles_while_the_schedule_waits_in_the_background():
    c = cluster()
    c.apply(cronjob("hello", "*/15 * * * *"))
    start = c.now
    c.run()
    assert c.now - start < 5  # not the 15 minutes to the first run
    assert c.get("jobs") == []
    (wake,) = wakeups(c)
    assert wake.background and wake.time == pytest.approx(900.1)


def test_an_hour_of_a_quarter_hourly_schedule_makes_four_jobs_and_keeps_three():
    c = cluster()
    c.apply(cronjob("hello", "*/15 * * * *"))
    c.run(seconds=3600)
    names = [f"hello-{MINUTE_ZERO + m}" for m in (15, 30, 45, 60)]
    assert created_jobs(c, "hello") == names
    # successfulJobsHistoryLimit (3): the oldest finished Job was deleted
    assert job_names(c, "hello") == names[1:]
    assert ("Normal", "SuccessfulDelete", f"Deleted job {names[0]}") in events_of(c, "hello")
    assert [m for _t, r, m in events_of(c, "hello") if r == "SawCompletedJob"] == [
        f"Saw completed job: {n}, condition: Complete" for n in names]
    for j in c.get("jobs"):
        minute = int(j["metadata"]["name"].rsplit("-", 1)[1]) - MINUTE_ZERO
        assert parse_timestamp(j["metadata"]["creationTimestamp"]) == minute * 60
        assert j["metadata"]["annotations"] == {
            "batch.kubernetes.io/cronjob-scheduled-timestamp": f"2025-01-01T{minute // 60:02d}:{minute % 60:02d}:00Z"}
        (ref,) = j["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["name"], ref["controller"]) == ("CronJob", "hello", True)
    cj = c.get("cronjob", "hello")
    last_job = c.get("job", names[-1])
    assert cj["status"] == {"lastScheduleTime": "2025-01-01T01:00:00Z",
                            "lastSuccessfulTime": last_job["status"]["completionTime"]}
    # the pods of the deleted Job went with it
    assert {p["metadata"]["labels"]["job-name"] for p in c.get("pods")} == set(names[1:])
    (wake,) = wakeups(c)
    assert wake.time == pytest.approx(4500.1)
    assert failures(c) == []


def test_hourly_jobs_appear_on_the_hour():
    c = cluster()
    c.apply(cronjob("tick", "@hourly"))
    c.run(seconds=2 * 3600)
    assert created_jobs(c, "tick") == [f"tick-{MINUTE_ZERO + 60 * h}" for h in (1, 2)]


def test_history_limits_keep_the_newest_successful_and_failed_jobs():
    c = cluster()
    c.apply(cronjob("good", "*/5 * * * *", successfulJobsHistoryLimit=2))
    c.apply(cronjob("bad", "*/5 * * * *", command="exit 1", restart="Never", job_spec={"backoffLimit": 0}))
    c.run(seconds=1800)
    every_five = [MINUTE_ZERO + m for m in range(5, 31, 5)]
    assert created_jobs(c, "good") == [f"good-{m}" for m in every_five]
    assert created_jobs(c, "bad") == [f"bad-{m}" for m in every_five]
    assert job_names(c, "good") == [f"good-{m}" for m in every_five[-2:]]
    assert job_names(c, "bad") == [f"bad-{every_five[-1]}"]  # failedJobsHistoryLimit defaults to 1
    assert [m for _t, r, m in events_of(c, "bad") if r == "SawCompletedJob"][0] == (
        f"Saw completed job: bad-{every_five[0]}, condition: Failed")
    assert "lastSuccessfulTime" not in c.get("cronjob", "bad")["status"]


def test_forbid_skips_runs_while_the_previous_job_is_active_then_starts_the_latest_late():
    c = cluster()
    c.apply(cronjob("single", "* * * * *", command="sleep 150", concurrencyPolicy="Forbid"))
    c.run(seconds=300)
    # the 00:01 Job runs until about 00:03:30: 00:02 and 00:03 are skipped, and 00:03, still
    # unmet, starts as soon as the first Job is seen completed
    first, second = f"single-{MINUTE_ZERO + 1}", f"single-{MINUTE_ZERO + 3}"
    assert created_jobs(c, "single") == [first, second]
    assert c.get("job", second)["metadata"]["creationTimestamp"] == c.get("job", first)["status"]["completionTime"]
    assert c.get("job", second)["metadata"]["annotations"] == {
        "batch.kubernetes.io/cronjob-scheduled-timestamp": "2025-01-01T00:03:00Z"}
    # skipped at 00:02, 00:03, 00:04 and 00:05: one event, counted
    skipped = [e for e in c.get("events") if e["reason"] == "JobAlreadyActive"]
    assert [(e["type"], e["message"], e["count"]) for e in skipped] == [
        ("Normal", "Not starting job because prior execution is running and concurrency policy is Forbid", 4)]


def test_replace_deletes_the_running_job_for_the_new_one():
    c = cluster()
    c.apply(cronjob("fresh", "* * * * *", command="sleep 150", concurrencyPolicy="Replace"))
    c.run(seconds=190)
    names = [f"fresh-{MINUTE_ZERO + m}" for m in (1, 2, 3)]
    assert created_jobs(c, "fresh") == names
    assert [m for _t, r, m in events_of(c, "fresh") if r == "SuccessfulDelete"] == [
        f"Deleted job {n}" for n in names[:2]]
    assert job_names(c, "fresh") == names[2:]
    assert [ref["name"] for ref in c.get("cronjob", "fresh")["status"]["active"]] == names[2:]


def test_allow_lets_jobs_overlap():
    c = cluster()
    c.apply(cronjob("many", "* * * * *", command="sleep 150"))
    c.run(seconds=190)
    names = [f"many-{MINUTE_ZERO + m}" for m in (1, 2, 3)]
    active = c.get("cronjob", "many")["status"]["active"]
    assert [ref["name"] for ref in active] == names
    assert all(ref["kind"] == "Job" and ref["apiVersion"] == "batch/v1" and ref["namespace"] == "default"
               for ref in active)
    assert [ref["uid"] for ref in active] == [c.get("job", n)["metadata"]["uid"] for n in names]


@pytest.mark.parametrize(("deadline", "warned"), [(None, True), (300, False)])
def test_resuming_after_many_missed_times_runs_only_the_latest(deadline, warned):
    c = cluster()
    extra = {"startingDeadlineSeconds": deadline} if deadline is not None else {}
    c.apply(cronjob("late", "* * * * *", suspend=True, **extra))
    c.run(seconds=6300)  # 105 minutes
    assert c.get("jobs") == [] and wakeups(c) == []
    c.admin.patch("cronjobs", "late", {"spec": {"suspend": False}}, "default")
    c.run(seconds=5)
    latest = int(c.now // 60)
    assert created_jobs(c, "late") == [f"late-{MINUTE_ZERO + latest}"]
    assert c.get("cronjob", "late")["status"]["lastScheduleTime"] == f"2025-01-01T{latest // 60:02d}:{latest % 60:02d}:00Z"
    too_many = ("Warning", "TooManyMissedTimes",
                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
    assert (too_many in events_of(c, "late")) is warned


def test_time_zone_reads_the_schedule_in_that_zone():
    c = cluster()
    c.apply(cronjob("india", "30 * * * *", timeZone="Asia/Kolkata"))  # UTC+05:30
    c.run(seconds=3600)
    (name,) = created_jobs(c, "india")
    assert name == f"india-{MINUTE_ZERO + 60}"
    assert c.get("job", name)["metadata"]["annotations"] == {
        "batch.kubernetes.io/cronjob-scheduled-timestamp": "2025-01-01T06:30:00+05:30"}


def test_changing_the_schedule_moves_the_next_wakeup():
    c = cluster()
    c.apply(cronjob("moving", "0 * * * *"))
    c.run()
    assert [e.time for e in wakeups(c)] == [pytest.approx(3600.1)]
    c.admin.patch("cronjobs", "moving", {"spec": {"schedule": "*/5 * * * *"}}, "default")
    c.run(seconds=300)
    assert created_jobs(c, "moving") == [f"moving-{MINUTE_ZERO + 5}"]


def test_an_unparseable_schedule_is_reported():
    c = cluster()
    bad = cronjob("broken", "*/5 * * *")
    try:
        c.admin.create(bad)
    except errors.Invalid as e:  # the API server checks schedules itself
        assert "spec.schedule: Invalid value: \"*/5 * * *\": expected exactly 5 fields, found 4: [*/5 * * *]" in (
            e.message)
        return
    c.run()
    assert events_of(c, "broken") == [("Warning", "UnparseableSchedule",
                                       'unparseable schedule: "*/5 * * *" : expected exactly 5 fields, found 4: '
                                       "[*/5 * * *]")]
    assert wakeups(c) == [] and c.get("jobs") == []


def test_deleting_the_cronjob_stops_its_schedule_and_removes_its_jobs():
    c = cluster()
    c.apply(cronjob("gone", "*/5 * * * *"))
    c.run(seconds=600)
    assert len(job_names(c, "gone")) == 2
    c.admin.delete("cronjobs", "gone", "default")
    c.run(seconds=30)
    assert wakeups(c) == []
    assert c.get("jobs") == [] and c.get("pods") == []


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
def _cj(created="2025-01-01T00:00:05Z", last=None, **spec):
    return {"metadata": {"name": "hello", "creationTimestamp": created}, "spec": spec,
            "status": {"lastScheduleTime": last} if last else {}}


def test_most_recent_schedule_time_counts_missed_runs():
    every_minute = parse_standard("* * * * *")
    assert most_recent_schedule_time(_cj(), 30.0, every_minute, True) == (5.0, None, "none")
    assert most_recent_schedule_time(_cj(), 90.0, every_minute, True) == (5.0, 60.0, "none")
    assert most_recent_schedule_time(_cj(), 6010.0, every_minute, True) == (5.0, 6000.0, "few")
    assert most_recent_schedule_time(_cj(), 7200.0, every_minute, True) == (5.0, 7200.0, "many")
    # since the last run, or no further back than the starting deadline
    assert most_recent_schedule_time(_cj(last="2025-01-01T01:00:00Z"), 3700.0, every_minute, True)[1] == 3660.0
    assert most_recent_schedule_time(_cj(startingDeadlineSeconds=100), 7200.0, every_minute, True) == (
        7100.0, 7200.0, "few")
    with pytest.raises(InvalidSchedule, match="time difference between two schedules is less than 1 second"):
        most_recent_schedule_time(_cj(), 60.0, parse_standard("0 0 31 2 *"), True)


def test_next_wakeup_is_100ms_after_the_next_run():
    quarter = parse_standard("*/15 * * * *")
    assert next_schedule_delay(_cj(), 10.0, quarter) == pytest.approx(890.1)
    assert next_schedule_delay(_cj(last="2025-01-01T00:15:00Z"), 900.1, quarter) == pytest.approx(900.0)


def test_job_names_and_scheduled_timestamps():
    assert job_name(_cj(), 0) == f"hello-{MINUTE_ZERO}"
    assert job_name(_cj(), 3600.1) == f"hello-{MINUTE_ZERO + 60}"
    assert scheduled_timestamp(0, None) == "2025-01-01T00:00:00Z"
    assert scheduled_timestamp(0, "Etc/UTC") == "2025-01-01T00:00:00Z"
    assert scheduled_timestamp(0, "America/New_York") == "2024-12-31T19:00:00-05:00"
    assert format_schedule({"spec": {"schedule": "0 * * * *", "timeZone": "Europe/Paris"}}) == (
        "TZ=Europe/Paris 0 * * * *")
    assert format_schedule({"spec": {"schedule": "0 * * * *", "timeZone": "Nowhere/Land"}}) == "0 * * * *"


def test_cronjob_yaml_of_the_documentation_is_accepted():
    c = cluster()
    doc = yaml.safe_dump(cronjob("hello", "* * * * *"))
    assert c.apply(doc) == ["cronjob.batch/hello created"]
    assert c.get("cronjob", "hello")["spec"]["concurrencyPolicy"] == "Allow"


def test_same_seed_same_story():
    def story():
        c = cluster()
        c.apply(cronjob("again", "*/10 * * * *", command="echo $RANDOM; sleep 2"))
        c.run(seconds=1200)
        return [str(t) for t in c.trace], [(p["metadata"]["name"], p["spec"]["nodeName"]) for p in c.get("pods")]

    first, second = story(), story()
    assert first == second
    assert len(first[1]) == 2
