"""The Job controller (and the TTL-after-finished controller) against a whole simulated cluster."""

import pytest
import yaml

from k8slab import Cluster
from k8slab.api import errors
from k8slab.controlplane.job import (
    JOB_TRACKING_FINALIZER,
    BackoffRecord,
    JobController,
    TTLAfterFinishedController,
    active_pods_for_removal,
    backoff_duration,
    first_pending_indexes,
    format_indexes,
    match_pod_failure_policy,
    match_success_policy,
    next_backoff_record,
    parse_indexes,
    with_indexes,
)
from k8slab.controlplane.manager import ControllerManager
from k8slab.sim.loop import parse_timestamp

MANAGERS: dict[int, list] = {}


def cluster() -> Cluster:
    c = Cluster(workers=2, seed=0)
    present = set(c.controller_manager.controllers)
    missing = [cls for cls in (JobController, TTLAfterFinishedController) if cls.name not in present]
    managers = [c.controller_manager]
    if missing:  # not (yet) among the cluster's default controllers
        managers.append(ControllerManager(c.api, c.loop, c.rng, missing))
        managers[-1].start()
    MANAGERS.clear()
    MANAGERS[id(c)] = managers
    return c


def failures(c: Cluster) -> list[str]:
    """What the Job controllers failed to do (retried with back-off)."""
    names = {JobController.name, TTLAfterFinishedController.name}
    return [str(f) for m in MANAGERS[id(c)] for f in m.failures if f.controller in names]


def job_manifest(name: str, command: str, *, restart: str = "Never", image: str = "busybox:1.36", **spec) -> str:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            **spec,
            "template": {"spec": {"restartPolicy": restart, "containers": [
                {"name": "main", "image": image, "command": ["sh", "-c", command]}]}},
        },
    }
    return yaml.safe_dump(job)


def job_events(c: Cluster, name: str) -> list[tuple[str, str, str]]:
    evs = [e for e in c.get("events") if e["involvedObject"]["kind"] == "Job" and e["involvedObject"]["name"] == name]
    evs.sort(key=lambda e: (e["firstTimestamp"], e["metadata"]["name"]))
    return [(e["type"], e["reason"], e["message"]) for e in evs]


def pods_of(c: Cluster, job: str) -> list[dict]:
    pods = [p for p in c.get("pods") if (p["metadata"].get("labels") or {}).get("job-name") == job]
    return sorted(pods, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))


def conditions(job: dict) -> list[tuple]:
    return [(x["type"], x["status"], x.get("reason"), x.get("message")) for x in job["status"].get("conditions", [])]


def finished_at(pod: dict) -> float:
    return parse_timestamp(pod["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"])


def created_at(obj: dict) -> float:
    return parse_timestamp(obj["metadata"]["creationTimestamp"])


# ---------------------------------------------------------------------------------------
# Completion
# ---------------------------------------------------------------------------------------
def test_job_runs_a_pod_to_completion_and_counts_it_through_the_tracking_finalizer():
    c = cluster()
    c.apply(job_manifest("hello", "echo hello"))
    c.run()
    job = c.get("job", "hello")
    (pod,) = pods_of(c, "hello")
    m = pod["metadata"]
    uid = job["metadata"]["uid"]
    assert m["name"].startswith("hello-") and len(m["name"]) == len("hello-") + 5
    assert m["labels"] == {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "hello",
                           "controller-uid": uid, "job-name": "hello"}
    assert m["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "Job", "name": "hello", "uid": uid,
                                     "controller": True, "blockOwnerDeletion": True}]
    assert "finalizers" not in m
    assert pod["status"]["phase"] == "Succeeded"

    done = job["status"]["completionTime"]
    assert job["status"] == {
        "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": done, "lastTransitionTime": done}],
        "startTime": job["metadata"]["creationTimestamp"],
        "completionTime": done,
        "succeeded": 1,
        "terminating": 0,
        "uncountedTerminatedPods": {},
        "ready": 0,
    }
    # pod events reach the Job after the one-second batching period
    assert parse_timestamp(done) == finished_at(pod) + 1
    assert job_events(c, "hello") == [("Normal", "SuccessfulCreate", f"Created pod: {m['name']}"),
                                      ("Normal", "Completed", "Job completed")]

    # the finished pod kept its finalizer until its uid was recorded as uncounted
    pod_versions = [kv.value for _rev, op, kv in c.etcd.history(f"/registry/pods/default/{m['name']}") if op == "PUT"]
    assert any(v["status"]["phase"] == "Succeeded" and v["metadata"].get("finalizers") == [JOB_TRACKING_FINALIZER]
               for v in pod_versions)
    statuses = [kv.value["status"] for _rev, op, kv in c.etcd.history("/registry/jobs/default/hello") if op == "PUT"]
    uncounted = [s for s in statuses if s.get("uncountedTerminatedPods")]
    assert uncounted == [{**uncounted[0], "uncountedTerminatedPods": {"succeeded": [m["uid"]]}}]
    assert "succeeded" not in uncounted[0]
    after = statuses[statuses.index(uncounted[0]) + 1]
    assert after["succeeded"] == 1 and after["uncountedTerminatedPods"] == {}
    assert failures(c) == []


def test_the_pi_example_of_the_documentation_prints_pi():
    c = cluster()
    c.apply(job_manifest("pi", "perl -Mbignum=bpi -wle 'print bpi(2000)'", image="perl:5.34.0",
                         backoffLimit=4))
    c.run()
    job = c.get("job", "pi")
    assert conditions(job) == [("Complete", "True", None, None)]
    (pod,) = pods_of(c, "pi")
    assert c.admin.logs(pod["metadata"]["name"], "default").startswith("3.14159265358979323846264338327950288")


def test_parallelism_bounds_the_active_pods_until_completions_are_reached():
    c = cluster()
    c.apply(job_manifest("batch", "sleep 5", completions=5, parallelism=2))
    c.run()
    job = c.get("job", "batch")
    pods = pods_of(c, "batch")
    assert len(pods) == 5 and all(p["status"]["phase"] == "Succeeded" for p in pods)
    assert job["status"]["succeeded"] == 5
    assert conditions(job) == [("Complete", "True", None, None)]
    # created two by two: the third wave has the last one
    waves = {}
    for p in pods:
        waves.setdefault(created_at(p), []).append(p)
    assert [len(w) for _t, w in sorted(waves.items())] == [2, 2, 1]
    # never more than two pods alive at once
    spans = [(created_at(p), finished_at(p)) for p in pods]
    for t, _end in spans:
        assert sum(1 for a, b in spans if a <= t < b) <= 2


def test_indexed_job_gives_each_pod_its_completion_index():
    c = cluster()
    c.apply(job_manifest("idx", "echo index $JOB_COMPLETION_INDEX on $(hostname)", completions=3, parallelism=3,
                         completionMode="Indexed"))
    c.run()
    job = c.get("job", "idx")
    assert job["status"]["completedIndexes"] == "0-2"
    assert job["status"]["succeeded"] == 3
    pods = sorted(pods_of(c, "idx"), key=lambda p: p["metadata"]["name"])
    for i, pod in enumerate(pods):
        m = pod["metadata"]
        assert m["name"].startswith(f"idx-{i}-")
        assert m["annotations"]["batch.kubernetes.io/job-completion-index"] == str(i)
        assert m["labels"]["batch.kubernetes.io/job-completion-index"] == str(i)
        assert pod["spec"]["hostname"] == f"idx-{i}"
        assert pod["spec"]["containers"][0]["env"] == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.labels['batch.kubernetes.io/job-completion-index']"}}}]
        assert c.admin.logs(m["name"], "default") == f"index {i} on idx-{i}\n"


def test_job_without_completions_is_done_when_one_pod_succeeded_and_none_run():
    c = cluster()
    c.apply(job_manifest("queue", "sleep 3", parallelism=3))
    c.run()
    job = c.get("job", "queue")
    assert job["spec"].get("completions") is None
    assert job["status"]["succeeded"] == 3
    assert conditions(job) == [("Complete", "True", None, None)]


# ---------------------------------------------------------------------------------------
# Failure
# ---------------------------------------------------------------------------------------
def test_failed_pods_are_replaced_after_10_20_40_seconds_until_the_backoff_limit():
    c = cluster()
    c.apply(job_manifest("flaky", "echo trying; exit 1", backoffLimit=3))
    c.run()
    job = c.get("job", "flaky")
    pods = pods_of(c, "flaky")
    assert len(pods) == 4 and all(p["status"]["phase"] == "Failed" for p in pods)
    gaps = [created_at(nxt) - finished_at(prev) for prev, nxt in zip(pods, pods[1:], strict=False)]
    assert gaps == [10, 20, 40]
    assert job["status"]["failed"] == 4
    assert "active" not in job["status"]
    assert conditions(job) == [("Failed", "True", "BackoffLimitExceeded",
                                "Job has reached the specified backoff limit")]
    assert job_events(c, "flaky")[-1] == ("Warning", "BackoffLimitExceeded",
                                          "Job has reached the specified backoff limit")
    assert [r for _t, r, _m in job_events(c, "flaky")].count("SuccessfulCreate") == 4
    assert failures(c) == []


def test_on_failure_counts_container_restarts_against_the_backoff_limit():
    c = cluster()
    c.apply(job_manifest("restarts", "exit 1", restart="OnFailure", backoffLimit=2))
    c.run(seconds=120)
    job = c.get("job", "restarts")
    assert conditions(job) == [("Failed", "True", "BackoffLimitExceeded",
                                "Job has reached the specified backoff limit")]
    events = job_events(c, "restarts")
    created = [m for _t, r, m in events if r == "SuccessfulCreate"]
    assert len(created) == 1  # the same pod restarted its container
    pod_name = created[0].removeprefix("Created pod: ")
    assert ("Normal", "SuccessfulDelete", f"Deleted pod: {pod_name}") in events
    assert job["status"]["failed"] == 1
    assert pods_of(c, "restarts") == []


def test_active_deadline_fails_the_job_and_deletes_its_pods():
    c = cluster()
    c.apply(job_manifest("slow", "sleep 300", activeDeadlineSeconds=30))
    c.run()
    job = c.get("job", "slow")
    (cond,) = job["status"]["conditions"]
    assert (cond["type"], cond["reason"], cond["message"]) == (
        "Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
    assert parse_timestamp(cond["lastTransitionTime"]) == parse_timestamp(job["status"]["startTime"]) + 30
    assert job["status"]["failed"] == 1
    events = job_events(c, "slow")
    assert events[-2][1] == "SuccessfulDelete" and events[-1] == (
        "Warning", "DeadlineExceeded", "Job was active longer than specified deadline")
    assert pods_of(c, "slow") == []


def test_pod_failure_policy_fail_job_announces_failure_target_first():
    c = cluster()
    policy = {"rules": [{"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In",
                                                               "values": [42]}}]}
    c.apply(job_manifest("strict", "exit 42", podFailurePolicy=policy))
    c.run()
    job = c.get("job", "strict")
    (pod,) = pods_of(c, "strict")
    msg = (f"Container main for pod default/{pod['metadata']['name']} failed with exit code 42 "
           "matching FailJob rule at index 0")
    assert conditions(job) == [("FailureTarget", "True", "PodFailurePolicy", msg),
                               ("Failed", "True", "PodFailurePolicy", msg)]
    assert job_events(c, "strict")[-1] == ("Warning", "PodFailurePolicy", msg)


def test_pod_failure_policy_ignore_does_not_count_the_failure():
    c = cluster()
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [42]}}]}
    c.apply(job_manifest("lenient", "exit 42", backoffLimit=0, podFailurePolicy=policy))
    c.run(seconds=60)
    job = c.get("job", "lenient")
    assert len(pods_of(c, "lenient")) >= 3  # replaced again and again, with back-off
    assert "failed" not in job["status"]
    assert conditions(job) == []


def test_a_deleted_pod_counts_as_failed_and_is_replaced_after_the_backoff():
    c = cluster()
    c.apply(job_manifest("victim", "sleep 600"))
    c.run(seconds=5)
    (pod,) = pods_of(c, "victim")
    deleted = int(c.now)
    c.admin.delete("pods", pod["metadata"]["name"], "default")
    c.run(seconds=12)
    job = c.get("job", "victim")
    old, new = pods_of(c, "victim")
    assert old["metadata"]["name"] == pod["metadata"]["name"]  # still terminating (30 s grace period)
    assert created_at(new) == deleted + 10
    assert job["status"]["failed"] == 1
    assert job["status"]["terminating"] == 1
    assert job["status"]["active"] == 1


# ---------------------------------------------------------------------------------------
# Changing a running Job
# ---------------------------------------------------------------------------------------
def test_suspend_deletes_the_pods_and_resume_starts_again():
    c = cluster()
    c.apply(job_manifest("pausable", "sleep 60", completions=2, parallelism=2))
    c.run(seconds=5)
    first = [p["metadata"]["name"] for p in pods_of(c, "pausable")]
    assert len(first) == 2
    c.admin.patch("jobs", "pausable", {"spec": {"suspend": True}}, "default")
    c.run(seconds=40)
    job = c.get("job", "pausable")
    assert conditions(job) == [("Suspended", "True", "JobSuspended", "Job suspended")]
    assert pods_of(c, "pausable") == []
    assert "active" not in job["status"]
    c.admin.patch("jobs", "pausable", {"spec": {"suspend": False}}, "default")
    c.run(seconds=5)
    job = c.get("job", "pausable")
    assert conditions(job) == [("Suspended", "False", "JobResumed", "Job resumed")]
    assert job["status"]["startTime"] == job["status"]["conditions"][0]["lastTransitionTime"]
    assert job["status"]["active"] == 2
    reasons = [r for _t, r, _m in job_events(c, "pausable")]
    assert reasons == ["SuccessfulCreate", "SuccessfulCreate", "SuccessfulDelete", "SuccessfulDelete", "Suspended",
                       "SuccessfulCreate", "SuccessfulCreate", "Resumed"]
    assert {m for _t, r, m in job_events(c, "pausable") if r == "SuccessfulDelete"} == {
        f"Deleted pod: {n}" for n in first}
    assert failures(c) == []


def test_lowering_parallelism_deletes_the_surplus_pods():
    c = cluster()
    c.apply(job_manifest("wide", "sleep 100", completions=6, parallelism=3))
    c.run(seconds=10)
    assert c.get("job", "wide")["status"]["active"] == 3
    c.admin.patch("jobs", "wide", {"spec": {"parallelism": 1}}, "default")
    c.run(seconds=5)
    job = c.get("job", "wide")
    assert job["status"]["active"] == 1
    assert [r for _t, r, _m in job_events(c, "wide")].count("SuccessfulDelete") == 2


def test_ttl_after_finished_deletes_the_job_and_its_pods_later():
    c = cluster()
    c.apply(job_manifest("short-lived", "echo bye", ttlSecondsAfterFinished=60))
    c.run()  # the TTL is a background timer: run() settles before it
    job = c.get("job", "short-lived")
    assert conditions(job) == [("Complete", "True", None, None)]
    done = parse_timestamp(job["status"]["completionTime"])
    c.run(seconds=done + 59 - c.now)
    assert c.get("jobs") != []
    c.run(seconds=10)
    assert c.get("jobs") == []
    assert pods_of(c, "short-lived") == []


def test_deleting_a_running_job_releases_and_removes_its_pods():
    c = cluster()
    c.apply(job_manifest("doomed", "sleep 600", parallelism=2, completions=2))
    c.run(seconds=5)
    assert len(pods_of(c, "doomed")) == 2
    c.admin.delete("jobs", "doomed", "default", propagation_policy="Background")
    c.run(seconds=60)
    assert c.get("jobs") == []
    assert pods_of(c, "doomed") == []
    assert failures(c) == []


def test_a_job_whose_pods_would_restart_forever_is_rejected():
    c = cluster()
    with pytest.raises(errors.Invalid) as e:
        c.admin.create(yaml.safe_load(job_manifest("forever", "echo", restart="Always")))
    assert e.value.message == ('Job.batch "forever" is invalid: spec.template.spec.restartPolicy: '
                               'Required value: valid values: "OnFailure", "Never"')


def test_success_policy_completes_an_indexed_job_early():
    c = cluster()
    c.apply(job_manifest("leader", 'if [ "$JOB_COMPLETION_INDEX" = 0 ]; then exit 0; fi; sleep 600',
                         completions=3, parallelism=3, completionMode="Indexed",
                         successPolicy={"rules": [{"succeededIndexes": "0"}]}))
    c.run()
    job = c.get("job", "leader")
    assert conditions(job) == [("SuccessCriteriaMet", "True", "SuccessPolicy", "Matched rules at index 0"),
                               ("Complete", "True", "SuccessPolicy", "Matched rules at index 0")]
    assert job["status"]["completedIndexes"] == "0"
    assert [r for _t, r, _m in job_events(c, "leader")].count("SuccessfulDelete") == 2


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
def test_completed_indexes_are_kept_as_merged_intervals():
    assert parse_indexes("0-2,5,7-9", 8) == [(0, 2), (5, 5), (7, 7)]
    assert parse_indexes("", 5) == []
    assert with_indexes([(0, 2), (5, 5)], [3, 4, 9]) == [(0, 5), (9, 9)]
    assert format_indexes([(0, 1), (3, 3), (5, 8)]) == "0,1,3,5-8"
    active = [{"metadata": {"annotations": {"batch.kubernetes.io/job-completion-index": "1"}}}]
    assert first_pending_indexes(active, [(0, 0), (3, 3)], 3, 6) == [2, 4, 5]
    assert first_pending_indexes(active, [(0, 0)], 5, 3) == [2]


def _pod(name, finished=None, phase="Failed", node="worker-1", created="2025-01-01T00:00:00Z", ready=False):
    status = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                              "lastTransitionTime": created}]}
    if finished is not None:
        status["containerStatuses"] = [{"name": "main", "restartCount": 0, "state": {"terminated": {
            "exitCode": 1, "finishedAt": finished}}}]
    return {"metadata": {"name": name, "namespace": "default", "creationTimestamp": created},
            "spec": {"nodeName": node}, "status": status}


def test_backoff_grows_with_failures_since_the_last_success():
    assert [backoff_duration(n) for n in range(0, 9)] == [0, 10, 20, 40, 80, 160, 320, 360, 360]
    rec = next_backoff_record(None, [], [_pod("a", "2025-01-01T00:01:00Z"), _pod("b", "2025-01-01T00:00:30Z")])
    assert (rec.failures, rec.last_failure) == (2, 60.0)
    assert rec.remaining(65.0) == 15.0 and rec.remaining(100.0) == 0.0
    # a success resets the count; only failures after it count
    rec = next_backoff_record(rec, [_pod("ok", "2025-01-01T00:02:00Z", "Succeeded")],
                              [_pod("c", "2025-01-01T00:01:50Z"), _pod("d", "2025-01-01T00:02:10Z")])
    assert (rec.failures, rec.last_failure) == (1, 130.0)
    assert BackoffRecord().remaining(1e9) == 0.0


def test_pod_failure_policy_rules_are_matched_in_order():
    pod = _pod("p", "2025-01-01T00:00:10Z")
    pod["status"]["conditions"].append({"type": "DisruptionTarget", "status": "True"})
    on_condition = {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                              {"action": "FailJob", "onExitCodes": {"operator": "NotIn", "values": [0]}}]}
    assert match_pod_failure_policy(on_condition, pod) == (None, False, "Ignore")
    fail_first = {"rules": on_condition["rules"][::-1]}
    msg, count, action = match_pod_failure_policy(fail_first, pod)
    assert (count, action) == (True, "FailJob")
    assert msg == "Container main for pod default/p failed with exit code 1 matching FailJob rule at index 0"
    cond_fail = {"rules": [{"action": "FailJob", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]}
    assert match_pod_failure_policy(cond_fail, pod)[0] == (
        "Pod default/p has condition DisruptionTarget matching FailJob rule at index 0")
    assert match_pod_failure_policy(None, pod) == (None, True, None)


def test_success_policy_rules():
    assert match_success_policy({"rules": [{"succeededCount": 2}]}, 5, [(0, 0), (3, 3)]) == (
        "Matched rules at index 0", True)
    assert match_success_policy({"rules": [{"succeededIndexes": "0-2", "succeededCount": 3}]}, 5,
                                [(0, 1), (4, 4)]) == ("", False)
    assert match_success_policy({"rules": [{"succeededIndexes": "9"}, {"succeededIndexes": "1,4"}]}, 5,
                                [(0, 1), (4, 4)]) == ("Matched rules at index 1", True)


def test_surplus_pods_are_chosen_least_advanced_first():
    pods = [_pod("running-ready", phase="Running", ready=True), _pod("pending", phase="Pending"),
            _pod("unscheduled", phase="Pending", node=""), _pod("running", phase="Running")]
    job = {"spec": {}}
    assert [p["metadata"]["name"] for p in active_pods_for_removal(job, pods, 3)] == [
        "unscheduled", "pending", "running"]
    indexed = {"spec": {"completionMode": "Indexed", "completions": 2}}

    def with_index(pod, ix):
        pod["metadata"]["annotations"] = {"batch.kubernetes.io/job-completion-index": str(ix)}
        return pod

    dup = [with_index(_pod("a", phase="Running"), 0), with_index(_pod("b", phase="Pending"), 0),
           with_index(_pod("c", phase="Running"), 5), with_index(_pod("d", phase="Running"), 1)]
    assert [p["metadata"]["name"] for p in active_pods_for_removal(indexed, dup, 0)] == ["c", "b"]
