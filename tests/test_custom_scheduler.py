"""Several schedulers side by side: a learner's SimpleScheduler beside kube-scheduler."""

from __future__ import annotations

import pytest

from k8slab import Cluster
from k8slab.controlplane.scheduler.custom import DEFAULT_REJECTION, SimpleScheduler, allocatable

CONTROL_PLANE_TAINT = "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"


def pod(name: str, scheduler: str | None = "my-scheduler", cpu: str | None = None, labels: dict | None = None) -> dict:
    spec: dict = {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}
    if cpu:
        spec["containers"][0]["resources"] = {"requests": {"cpu": cpu}}
    if scheduler:
        spec["schedulerName"] = scheduler
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def add_scheduler(c: Cluster, s: SimpleScheduler) -> SimpleScheduler:
    if hasattr(c, "add_scheduler"):
        return c.add_scheduler(s)
    return s.start(c.api, c.loop, c.rng)


class Untainted(SimpleScheduler):
    """Leaves tainted nodes out, as kube-scheduler's TaintToleration filter would for these pods."""

    def filter(self, pod, node):
        for t in node["spec"].get("taints") or ():
            if t["effect"] == "NoSchedule":
                return f"node(s) had untolerated taint {{{t['key']}: {t.get('value', '')}}}"
        return True


class MostFreeCPU(Untainted):
    def score(self, pod, node):
        return allocatable(node)["cpu"] - self.requested(node["metadata"]["name"])["cpu"]


class FewestPods(Untainted):
    def score(self, pod, node):
        return -len(self.pods_on(node["metadata"]["name"]))


def events_about(c: Cluster, name: str) -> list[dict]:
    return [e for e in c.get("events") if e["involvedObject"]["name"] == name]


def test_pods_land_where_the_custom_score_says():
    c = Cluster(workers=3, seed=0)
    c.add_node("worker-4", cpu="8")
    s = add_scheduler(c, MostFreeCPU())
    c.run()
    nodes = ("worker-1", "worker-2", "worker-3", "worker-4")
    free_before = []
    for i, cpu in enumerate(("3", "2", "2")):
        free_before.append({n: allocatable(c.get("node", n))["cpu"] - s.requested(n)["cpu"] for n in nodes})
        c.apply(pod(f"p{i}", cpu=cpu))
        c.run()
    placed = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in c.get("pods")}
    # worker-4 has 8 CPUs free, then 5; then 3, less than the 4-CPU workers (3.9 with a CoreDNS pod)
    assert placed["p0"] == "worker-4" and placed["p1"] == "worker-4"
    assert free_before[2]["worker-4"] == 3000
    assert free_before[2][placed["p2"]] == max(free_before[2].values()) == 4000
    decision = s.decisions["default/p0"]
    assert decision["node"] == "worker-4"
    assert decision["rejected"] == {"control-plane": CONTROL_PLANE_TAINT}
    assert decision["scores"]["worker-4"] == 8000
    assert s.scheduled == 3


def test_scheduled_event_and_binding_come_from_the_custom_scheduler_only():
    c = Cluster(workers=3, seed=0)
    add_scheduler(c, FewestPods("my-scheduler"))
    c.run()
    t0 = c.now
    c.apply(pod("x"))
    c.run()
    x = c.get("pod", "x")
    node = x["spec"]["nodeName"]
    assert x["status"]["phase"] == "Running"
    (ev,) = [e for e in events_about(c, "x") if e["reason"] == "Scheduled"]
    assert ev["message"] == f"Successfully assigned default/x to {node}"
    assert ev["source"] == {"component": "my-scheduler"}
    assert ev["reportingComponent"] == "my-scheduler"
    about_x = [e for e in c.trace if e.time >= t0 and e.type == "request" and e.name == "x"]
    assert [(e.actor, e.verb, e.resource, e.code) for e in about_x if e.resource == "pods/binding"] == [
        ("my-scheduler", "create", "pods/binding", 201)]
    # kube-scheduler saw the pod in its watch but never touched it (its lease renewals aside)
    assert not [e for e in c.trace if e.time >= t0 and e.type == "request" and e.actor == "kube-scheduler"
                and e.resource != "leases"]
    assert any(e.type == "watch" and e.actor == "kube-scheduler" and e.name == "x" for e in c.trace)
    assert "default/x" not in c.scheduler.decisions
    assert {e["source"]["component"] for e in events_about(c, "x") if "Schedul" in e["reason"]} == {"my-scheduler"}


def test_a_burst_of_pods_spreads_because_bound_pods_count_at_once():
    c = Cluster(workers=3, seed=0)
    s = add_scheduler(c, FewestPods())
    c.run()
    before = {n: len(s.pods_on(n)) for n in ("worker-1", "worker-2", "worker-3")}
    for i in range(6):
        c.apply(pod(f"b{i}"))  # all pending at the same instant
    c.run()
    after = {n: len(s.pods_on(n)) for n in before}
    # each attempt sees the pods bound just before it (assumed), so the counts stay level
    assert max(after.values()) - min(after.values()) <= 1
    assert sum(after.values()) - sum(before.values()) == 6


def test_when_no_node_passes_the_filter_the_message_counts_the_reasons():
    class OnlySSD(Untainted):
        def filter(self, pod, node):
            verdict = super().filter(pod, node)
            if verdict is not True:
                return verdict
            return node["metadata"]["labels"].get("disk") == "ssd"

    c = Cluster(workers=3, seed=0)
    s = add_scheduler(c, OnlySSD())
    c.run()
    c.apply(pod("db"))
    c.run()
    db = c.get("pod", "db")
    assert db["status"]["phase"] == "Pending" and "nodeName" not in db["spec"]
    message = f"0/4 nodes are available: 1 {CONTROL_PLANE_TAINT}, 3 {DEFAULT_REJECTION}."
    failed = [e for e in events_about(c, "db") if e["reason"] == "FailedScheduling"]
    assert [(e["type"], e["message"], e["source"]["component"]) for e in failed] == [
        ("Warning", message, "my-scheduler")]
    (cond,) = [x for x in db["status"]["conditions"] if x["type"] == "PodScheduled"]
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", message)
    # a node that fits arrives: the parked pod is tried again and lands there
    c.add_node("fast-1", labels={"disk": "ssd"})
    c.run()
    db = c.get("pod", "db")
    assert db["spec"]["nodeName"] == "fast-1"
    assert s.decisions["default/db"]["node"] == "fast-1"
    assert [x["status"] for x in db["status"]["conditions"] if x["type"] == "PodScheduled"][-1] == "True"


def test_a_pod_for_a_scheduler_nobody_runs_stays_pending_without_a_word():
    c = Cluster(workers=3, seed=0)
    add_scheduler(c, FewestPods())
    c.run()
    t0 = c.now
    c.apply(pod("orphan", scheduler="no-such-scheduler"))
    c.run(seconds=600)
    orphan = c.get("pod", "orphan")
    assert orphan["status"]["phase"] == "Pending"
    assert "nodeName" not in orphan["spec"]
    assert not (orphan["status"].get("conditions") or [])
    assert events_about(c, "orphan") == []
    # the only request ever made about it is kubectl's own
    assert {e.actor for e in c.trace if e.type == "request" and e.name == "orphan" and e.time >= t0} == {"kubectl"}
    assert "schedulerName is 'no-such-scheduler'" in c.scheduler.explain("orphan").note


def test_the_default_scheduler_still_serves_pods_without_a_scheduler_name():
    c = Cluster(workers=3, seed=0)
    s = add_scheduler(c, FewestPods())
    c.run()
    c.apply(pod("plain", scheduler=None))
    c.run()
    plain = c.get("pod", "plain")
    assert plain["spec"]["schedulerName"] == "default-scheduler"
    (ev,) = [e for e in events_about(c, "plain") if e["reason"] == "Scheduled"]
    assert ev["source"] == {"component": "default-scheduler"}
    assert "default/plain" not in s.decisions and s.attempts == 0


def test_a_filter_that_raises_fails_the_attempt_not_the_cluster():
    class Broken(SimpleScheduler):
        def filter(self, pod, node):
            return 1 / 0

    c = Cluster(workers=3, seed=0)
    s = add_scheduler(c, Broken("broken"))
    c.run()
    c.apply(pod("p", scheduler="broken"))
    c.run(seconds=20)
    assert c.errors == []
    msg = 'running "Broken" filter plugin: ZeroDivisionError: division by zero'
    failed = [e for e in events_about(c, "p") if e["reason"] == "FailedScheduling"]
    assert [e["message"] for e in failed] == [msg]
    assert failed[0]["count"] >= 3  # retried with back-off (1 s, 2 s, 4 s, ...)
    (cond,) = [x for x in c.get("pod", "p")["status"]["conditions"] if x["type"] == "PodScheduled"]
    assert (cond["reason"], cond["message"]) == ("SchedulerError", msg)
    assert s.failures[0].pod == "default/p" and s.failures[0].error == "filter: ZeroDivisionError: division by zero"


def test_equal_scores_are_broken_at_random_but_the_same_for_the_same_seed():
    def run(seed: int) -> list[str]:
        c = Cluster(workers=3, seed=seed)
        add_scheduler(c, Untainted())  # every node scores 0
        c.run()
        for i in range(8):
            c.apply(pod(f"t{i}"))
        c.run()
        return [c.get("pod", f"t{i}")["spec"]["nodeName"] for i in range(8)]

    first = run(0)
    assert run(0) == first
    assert len(set(first)) > 1  # not always the first node
    assert "control-plane" not in first


def test_scheduler_names_are_checked():
    with pytest.raises(ValueError, match="invalid scheduler name 'My_Scheduler'"):
        SimpleScheduler("My_Scheduler")
    with pytest.raises(ValueError, match="kube-scheduler's name"):
        SimpleScheduler("default-scheduler")
    assert SimpleScheduler().name == "my-scheduler"
    assert repr(SimpleScheduler("x")) == "SimpleScheduler(x: 0 scheduled, 0 pending)"
