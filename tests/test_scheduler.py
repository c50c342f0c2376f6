"""kube-scheduler: placements, messages, events, queue behaviour, explain().

The harness is an API server, the scheduler and an admin client creating Nodes
and Pods directly (no kubelet, no controllers), on one virtual clock.
"""

from __future__ import annotations

import pytest

from k8slab.api import errors
from k8slab.apiserver import APIServer
from k8slab.controlplane.scheduler import FilterPlugin, Scheduler, ScorePlugin, Status
from k8slab.controlplane.scheduler.framework import UNSCHEDULABLE_AND_UNRESOLVABLE
from k8slab.etcd import Etcd
from k8slab.sim import EventLoop, Randomness, Trace

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


class Harness:
    """API server + scheduler + an admin client that creates Nodes and Pods by hand."""

    def __init__(self, seed: int = 0, *, workers: int = 3, cpu: str = "4", memory: str = "8Gi", **sched_kw):
        self.loop = EventLoop()
        self.rng = Randomness(seed)
        self.trace = Trace()
        self.api = APIServer(Etcd(), self.loop, self.trace, self.rng)
        self.admin = self.api.client("kubectl")
        for ns in ("default", "kube-system"):
            self.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        self.scheduler = Scheduler(self.api, self.loop, self.rng, events=True, **sched_kw)
        self.scheduler.start()
        if workers:
            self.add_node("control-plane", cpu=cpu, memory=memory, taints=[CONTROL_PLANE_TAINT],
                          labels={"node-role.kubernetes.io/control-plane": ""})
            for i in range(1, workers + 1):
                self.add_node(f"worker-{i}", cpu=cpu, memory=memory)
        self.run()

    def add_node(self, name, *, cpu="4", memory="8Gi", pods="110", labels=None, taints=None,
                 unschedulable=False, ready=True, images=None):
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  **(labels or {})}},
            "spec": {"taints": list(taints or []), **({"unschedulable": True} if unschedulable else {})},
            "status": {
                "capacity": {"cpu": cpu, "memory": memory, "pods": pods},
                "allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                **({"images": images} if images else {}),
            },
        }
        return self.admin.create(node)

    def add_pod(self, name, *, cpu=None, memory=None, namespace="default", labels=None, owner=None, **spec):
        requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
        container = {"name": "app", "image": "nginx:1.27"}
        if requests:
            container["resources"] = {"requests": requests}
        meta = {"name": name, "namespace": namespace, "labels": dict(labels or {})}
        if owner is not None:
            meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner["metadata"]["name"],
                                        "uid": owner["metadata"]["uid"], "controller": True,
                                        "blockOwnerDeletion": True}]
        if "priority" in spec:
            # the Priority admission plugin computes spec.priority from a PriorityClass
            value = spec.pop("priority")
            policy = spec.pop("preemptionPolicy", "PreemptLowerPriority")
            klass = f"p{value}-{policy.lower()}"
            if not self.admin.list("priorityclasses.scheduling.k8s.io")["items"] or not any(
                    pc["metadata"]["name"] == klass for pc in self.admin.list("priorityclasses.scheduling.k8s.io")["items"]):
                self.admin.create({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                   "metadata": {"name": klass}, "value": value, "preemptionPolicy": policy})
            spec["priorityClassName"] = klass
        return self.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                                  "spec": {"containers": [container], **spec}})

    def add_replicaset(self, name, replicas=3, labels=None):
        labels = labels or {"app": name}
        return self.admin.create({
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}})

    def run(self, seconds=None):
        if seconds is None:
            self.loop.run_until_settled()
        else:
            self.loop.run_until(self.loop.now + seconds)
        return self

    def pod(self, name, namespace="default"):
        return self.admin.get("pods", name, namespace)

    def node_of(self, name):
        return self.pod(name)["spec"].get("nodeName")

    def condition(self, name):
        conds = self.pod(name).get("status", {}).get("conditions") or []
        return next((c for c in conds if c["type"] == "PodScheduled"), None)

    def events(self, name, reason=None):
        evs = [e for e in self.admin.list("events", "default")["items"] if e["involvedObject"]["name"] == name]
        return [e for e in evs if reason is None or e["reason"] == reason]


@pytest.fixture
def h():
    return Harness()


# -- filters -----------------------------------------------------------------------------------
def test_control_plane_is_filtered_by_its_taint(h):
    for i in range(6):
        h.add_pod(f"web-{i}")
    h.run()
    nodes = {h.node_of(f"web-{i}") for i in range(6)}
    assert "control-plane" not in nodes
    assert nodes <= {"worker-1", "worker-2", "worker-3"}
    row = h.scheduler.explain("web-0").node("control-plane")
    assert row.filtered_by == "TaintToleration"
    assert row.reason == "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"


def test_node_selector_picks_the_labelled_node(h):
    h.add_node("worker-ssd", labels={"disk": "ssd"})
    h.run()
    for i in range(3):
        h.add_pod(f"db-{i}", nodeSelector={"disk": "ssd"})
    h.run()
    assert {h.node_of(f"db-{i}") for i in range(3)} == {"worker-ssd"}
    ex = h.scheduler.explain("db-0")
    assert ex.node("worker-1").filtered_by == "NodeAffinity"
    assert ex.node("worker-1").reason == "node(s) didn't match Pod's node affinity/selector"


def test_node_selector_without_match_reports_affinity_and_taint(h):
    h.add_pod("lost", nodeSelector={"disk": "nvme"})
    h.run()
    assert h.node_of("lost") is None
    assert h.condition("lost")["message"] == (
        "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "3 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")


def test_cordoned_node_gets_no_new_pods():
    h = Harness(workers=0)
    h.add_node("worker-1", unschedulable=True, taints=[{"key": "node.kubernetes.io/unschedulable",
                                                          "effect": "NoSchedule"}])
    h.add_node("worker-2")
    h.run()
    for i in range(4):
        h.add_pod(f"p{i}")
    h.run()
    assert {h.node_of(f"p{i}") for i in range(4)} == {"worker-2"}
    # spec.unschedulable alone (without the taint) is NodeUnschedulable's business
    h2 = Harness(workers=0)
    h2.add_node("only", unschedulable=True)
    h2.add_pod("p")
    h2.run()
    assert h2.node_of("p") is None
    assert h2.condition("p")["message"].startswith("0/1 nodes are available: 1 node(s) were unschedulable.")
    assert h2.scheduler.explain("p").node("only").filtered_by == "NodeUnschedulable"


def test_insufficient_cpu_gives_the_exact_failed_scheduling_message(h):
    h.add_pod("big", cpu="5")
    h.run()
    message = ("0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
               "3 Insufficient cpu. preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, "
               "3 No preemption victims found for incoming pod.")
    cond = h.condition("big")
    assert cond["status"] == "False" and cond["reason"] == "Unschedulable"
    assert cond["message"] == message
    (ev,) = h.events("big", "FailedScheduling")
    assert ev["type"] == "Warning"
    assert ev["message"] == message
    assert ev["source"] == {"component": "default-scheduler"}
    assert h.scheduler.explain("big").message == message


def test_several_reasons_on_one_node_are_all_counted(h):
    h.add_pod("huge", cpu="5", memory="9Gi")
    h.run()
    assert h.condition("huge")["message"].startswith(
        "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "3 Insufficient cpu, 3 Insufficient memory.")


def test_too_many_pods():
    h = Harness(workers=0)
    h.add_node("tiny", pods="2")
    h.run()
    for i in range(3):
        h.add_pod(f"p{i}")
    h.run()
    placed = [i for i in range(3) if h.node_of(f"p{i}")]
    assert placed == [0, 1]
    assert h.condition("p2")["message"].startswith("0/1 nodes are available: 1 Too many pods.")


def test_pod_without_requests_fits_anywhere_resources_allow():
    h = Harness(workers=0, cpu="1")
    h.add_node("n1", cpu="1")
    h.run()
    h.add_pod("a", cpu="1")
    h.add_pod("b")  # no requests: counts as 0 for fitting
    h.run()
    assert h.node_of("a") == "n1" and h.node_of("b") == "n1"


def test_host_port_conflict():
    h = Harness(workers=0)
    h.add_node("n1")
    h.run()
    port = [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080}]}]
    h.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "default"},
                    "spec": {"containers": port}})
    h.run()
    h.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "default"},
                    "spec": {"containers": port}})
    h.run()
    assert h.node_of("a") == "n1" and h.node_of("b") is None
    assert h.condition("b")["message"].startswith(
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.")


def test_tolerations_let_a_pod_land_on_the_control_plane(h):
    h.add_pod("on-cp", nodeSelector={"node-role.kubernetes.io/control-plane": ""},
              tolerations=[{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                            "effect": "NoSchedule"}])
    h.run()
    assert h.node_of("on-cp") == "control-plane"
    (ev,) = h.events("on-cp", "Scheduled")
    assert ev["message"] == "Successfully assigned default/on-cp to control-plane"
    assert ev["type"] == "Normal"


def test_not_ready_taint_keeps_pods_away(h):
    h.add_node("sick", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}])
    h.run()
    for i in range(6):
        h.add_pod(f"p{i}")
    h.run()
    assert "sick" not in {h.node_of(f"p{i}") for i in range(6)}
    assert h.scheduler.explain("p0").node("sick").reason == "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"


def test_daemonset_style_pin_by_node_name_field(h):
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["worker-2"]}]}]}}}
    h.add_pod("ds", affinity=affinity, cpu="10")
    h.run()
    assert h.condition("ds")["message"].startswith(
        "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity].")


# -- scores ---------------------------------------------------------------------------------------
def test_three_replicas_spread_over_three_identical_workers(h):
    rs = h.add_replicaset("web", replicas=3)
    for i in range(3):
        h.add_pod(f"web-{i}", labels={"app": "web"}, owner=rs)
    h.run()
    assert sorted(h.node_of(f"web-{i}") for i in range(3)) == ["worker-1", "worker-2", "worker-3"]
    ex = h.scheduler.explain("web-2")
    chosen = ex.node(ex.chosen)
    others = [n for n in ex.nodes if n.feasible and not n.chosen]
    # the emptier node wins on spreading (PodTopologySpread's default constraints) and on resources
    assert chosen.scores["PodTopologySpread"].score == 100
    assert all(n.scores["PodTopologySpread"].score < 100 for n in others)


def test_replicas_keep_spreading_evenly(h):
    rs = h.add_replicaset("web", replicas=9)
    for i in range(9):
        h.add_pod(f"web-{i}", labels={"app": "web"}, owner=rs)
    h.run()
    placed = [h.node_of(f"web-{i}") for i in range(9)]
    assert sorted(placed.count(n) for n in ("worker-1", "worker-2", "worker-3")) == [3, 3, 3]


def test_least_allocated_prefers_the_emptier_node():
    h = Harness(workers=0)
    h.add_node("small", cpu="2")
    h.add_node("large", cpu="16")
    h.run()
    h.add_pod("p", cpu="1")
    h.run()
    assert h.node_of("p") == "large"
    ex = h.scheduler.explain("p")
    assert ex.node("large").scores["NodeResourcesFit"].score > ex.node("small").scores["NodeResourcesFit"].score


def test_preferred_node_affinity_attracts():
    h = Harness(workers=0)
    h.add_node("a")
    h.add_node("b", labels={"zone-pref": "yes"})
    h.run()
    aff = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "preference": {"matchExpressions": [{"key": "zone-pref", "operator": "In", "values": ["yes"]}]}}]}}
    h.add_pod("p", affinity=aff)
    h.run()
    assert h.node_of("p") == "b"
    ex = h.scheduler.explain("p")
    assert ex.node("b").scores["NodeAffinity"].score == 100
    assert ex.node("b").scores["NodeAffinity"].weighted == 200
    assert ex.node("a").scores["NodeAffinity"].score == 0


def test_prefer_no_schedule_taint_repels():
    h = Harness(workers=0)
    h.add_node("a", taints=[{"key": "spot", "value": "true", "effect": "PreferNoSchedule"}])
    h.add_node("b")
    h.run()
    h.add_pod("p")
    h.run()
    assert h.node_of("p") == "b"
    ex = h.scheduler.explain("p")
    assert ex.node("a").scores["TaintToleration"].score == 0
    assert ex.node("b").scores["TaintToleration"].weighted == 300


def test_image_locality_prefers_nodes_with_the_image():
    h = Harness(workers=0)
    big = 500 * 1024 * 1024
    h.add_node("cold")
    h.add_node("warm", images=[{"names": ["docker.io/library/nginx:1.27", "nginx:1.27"], "sizeBytes": big}])
    h.run()
    h.add_pod("p")
    h.run()
    assert h.node_of("p") == "warm"
    ex = h.scheduler.explain("p")
    # 500MiB spread over 1 of 2 nodes -> 250MiB, scaled between 23MiB and 1000MiB
    assert ex.node("warm").scores["ImageLocality"].score == 100 * (250 - 23) // (1000 - 23)


# -- explain ----------------------------------------------------------------------------------------
def test_explain_bound_pod_shows_filters_scores_and_choice(h):
    h.add_pod("web-x", cpu="500m", memory="256Mi")
    h.run()
    ex = h.scheduler.explain("web-x")
    assert ex.chosen == h.node_of("web-x")
    assert ex.message == ""
    assert [n.name for n in ex.nodes] == ["control-plane", "worker-1", "worker-2", "worker-3"]
    cp = ex.node("control-plane")
    assert (cp.filtered_by, cp.scores, cp.total) == ("TaintToleration", {}, None)
    w = ex.node(ex.chosen)
    assert w.chosen and w.feasible
    assert set(w.scores) == {"TaintToleration", "NodeResourcesFit", "NodeResourcesBalancedAllocation",
                             "ImageLocality"}
    assert w.total == sum(s.weighted for s in w.scores.values())
    assert w.scores["TaintToleration"].weight == 3
    # LeastAllocated: cpu (4000-500)*100//4000 = 87, memory (8192-256)*100//8192 = 96 -> 91
    assert w.scores["NodeResourcesFit"].score == 91
    # Balanced: fractions 0.125 and 0.03125 -> (1 - 0.046875) * 100 = 95
    assert w.scores["NodeResourcesBalancedAllocation"].score == 95
    text = repr(ex)
    assert text.splitlines()[1].split()[:2] == ["NODE", "RESULT"]
    assert "✗ TaintToleration: node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }" in text
    assert "✓ chosen" in text and "TOTAL" in text


def test_explain_pending_pod_reevaluates_now(h):
    h.add_pod("big", cpu="5")
    h.run()
    ex = h.scheduler.explain("big")
    assert ex.chosen is None and not ex.recorded
    assert ex.node("worker-1").filtered_by == "NodeResourcesFit"
    assert ex.node("worker-1").reason == "Insufficient cpu"
    h.add_node("worker-big", cpu="8")
    h.run()
    assert h.node_of("big") == "worker-big"


def test_explain_pretty_printer_and_missing_pod(h):
    h.add_pod("p")
    h.run()
    ex = h.scheduler.explain("p")

    class Printer:
        def __init__(self):
            self.out = []

        def text(self, s):
            self.out.append(s)

    p = Printer()
    ex._repr_pretty_(p, False)
    assert p.out == [str(ex)]
    with pytest.raises(errors.NotFound):
        h.scheduler.explain("nope")


# -- determinism --------------------------------------------------------------------------------------
def _placements(seed):
    h = Harness(seed=seed, workers=5)
    for i in range(20):
        h.add_pod(f"p{i}", cpu="100m")
    h.run()
    return [h.node_of(f"p{i}") for i in range(20)]


def test_same_seed_same_placements():
    assert _placements(7) == _placements(7)


def test_ties_are_broken_by_the_seeded_rng():
    runs = {tuple(_placements(seed)) for seed in range(6)}
    assert len(runs) > 1  # ties really are random, not "first node"


# -- queue ---------------------------------------------------------------------------------------------
def test_backoff_then_reactivation_when_a_node_is_added(h):
    h.add_pod("big", cpu="6")
    h.run()
    q = h.scheduler.queue
    assert q.pending_pods()["unschedulablePods"] == ["default/big"]
    failed_at = h.condition("big")["lastTransitionTime"]
    assert failed_at == "2025-01-01T00:00:00Z"
    # the node arrives right away: the pod is still backing off (1 s), so it waits in backoffQ
    h.add_node("worker-big", cpu="8")
    h.run(0.01)
    assert q.pending_pods()["backoffQ"] == ["default/big"]
    h.run()
    assert h.node_of("big") == "worker-big"
    bind = [e for e in h.trace if getattr(e, "resource", "") == "pods/binding" and e.name == "big"]
    assert len(bind) == 1 and 1.0 <= bind[0].time <= 2.01


def test_unrelated_event_does_not_requeue(h):
    h.add_pod("big", cpu="6")
    h.run()
    h.scheduler.queue.move_all_to_active_or_backoff(
        __import__("k8slab.controlplane.scheduler.framework", fromlist=["x"]).ClusterEvent("Pod", 1 << 7, "X"))
    assert h.scheduler.queue.pending_pods()["unschedulablePods"] == ["default/big"]


def test_deleting_a_pod_frees_room(h):
    for i in range(3):
        h.add_pod(f"hog-{i}", cpu="3")
    h.run()
    h.add_pod("late", cpu="3")
    h.run()
    assert h.node_of("late") is None
    victim = h.node_of("hog-0")
    h.admin.delete("pods", "hog-0", "default", grace_period_seconds=0)
    h.run()
    assert h.node_of("late") == victim


def test_backoff_doubles_up_to_ten_seconds():
    from k8slab.controlplane.scheduler.queue import backoff_duration

    assert [backoff_duration(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_unschedulable_pods_are_retried_after_five_minutes(h):
    h.add_pod("big", cpu="6")
    h.run()
    attempts = h.scheduler.attempts
    h.run(200)
    assert h.scheduler.attempts == attempts
    h.run(200)
    assert h.scheduler.attempts == attempts + 1  # flushUnschedulablePodsLeftover (every 30 s, after 5 min)


def test_priority_orders_the_active_queue():
    h = Harness(workers=0)
    h.add_node("n1", cpu="1")
    h.run()
    h.add_pod("low", cpu="1")
    h.add_pod("high", cpu="1", priority=1000)
    h.run()
    assert h.node_of("high") == "n1" and h.node_of("low") is None


def test_preemption_evicts_a_lower_priority_pod():
    h = Harness(workers=0)
    h.add_node("n1", cpu="1")
    h.run()
    h.add_pod("low", cpu="1", priority=0)
    h.run()
    h.add_pod("high", cpu="1", priority=1000)
    h.run(0.01)
    assert h.pod("high")["status"].get("nominatedNodeName") == "n1"
    low = h.pod("low")
    assert low["metadata"].get("deletionTimestamp")  # graceful deletion: the kubelet would finish it
    assert any(c["type"] == "DisruptionTarget" and c["reason"] == "PreemptionByScheduler"
               for c in low["status"]["conditions"])
    assert h.events("low", "Preempted")
    h.run()
    assert h.node_of("high") is None  # the victim still terminates on n1
    h.admin.delete("pods", "low", "default", grace_period_seconds=0)  # what the kubelet does
    h.run()
    with pytest.raises(errors.NotFound):
        h.pod("low")
    assert h.node_of("high") == "n1"


# -- ownership ---------------------------------------------------------------------------------------
def test_pods_of_another_scheduler_are_ignored(h):
    h.add_pod("custom", schedulerName="my-scheduler")
    h.run()
    assert h.node_of("custom") is None
    assert h.events("custom") == []
    assert "my-scheduler" in repr(h.scheduler.explain("custom"))


def test_binding_goes_through_the_binding_subresource_as_the_scheduler(h):
    h.add_pod("p")
    h.run()
    reqs = [e for e in h.trace if e.type == "request" and e.resource == "pods/binding"]
    assert [(e.actor, e.verb, e.name, e.code) for e in reqs] == [("kube-scheduler", "create", "p", 201)]


def test_bind_conflict_forgets_the_assumed_pod():
    h = Harness(workers=0)
    h.add_node("n1", cpu="1")
    h.run()
    pod = h.add_pod("p", cpu="1")
    # someone else binds the pod before the scheduler's informer sees the change
    h.admin.bind(pod, "n1")
    h.run()
    assert h.node_of("p") == "n1"
    s = h.scheduler
    assert not s.cache.is_assumed("default/p")
    assert int(s.cache.pod_count[s.cache.slot_of["n1"]]) == 1


# -- plugins --------------------------------------------------------------------------------------------
def test_a_learner_can_add_filter_and_score_plugins(h):
    class NoWorker1(FilterPlugin):
        name = "NoWorker1"

        def filter(self, state, pod, node):
            if node.name == "worker-1":
                return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) were worker-1")

    class PreferWorker3(ScorePlugin):
        name = "PreferWorker3"
        weight = 5

        def score(self, state, pod, node):
            return 100 if node.name == "worker-3" else 0

    h.scheduler.add_plugin(NoWorker1())
    h.scheduler.add_plugin(PreferWorker3())
    for i in range(3):
        h.add_pod(f"p{i}")
    h.run()
    assert {h.node_of(f"p{i}") for i in range(3)} == {"worker-3"}
    ex = h.scheduler.explain("p0")
    assert ex.node("worker-1").filtered_by == "NoWorker1"
    assert ex.node("worker-3").scores["PreferWorker3"].weighted == 500


def test_percentage_of_nodes_to_score():
    from k8slab.controlplane.scheduler.scheduler import num_feasible_nodes_to_find

    assert num_feasible_nodes_to_find(99) == 99
    assert num_feasible_nodes_to_find(100) == 100
    assert num_feasible_nodes_to_find(1000) == 420  # 50 - 1000/125 = 42 %
    assert num_feasible_nodes_to_find(5000) == 500  # 10 %
    assert num_feasible_nodes_to_find(10000) == 500  # at least 5 %
    assert num_feasible_nodes_to_find(1000, 10) == 100


def test_big_cluster_scores_only_a_sample_and_rotates_the_start():
    h = Harness(workers=0)
    for i in range(250):
        h.add_node(f"n{i:03d}")
    h.run()
    s = h.scheduler
    h.add_pod("p0")
    h.run()
    ex = h.scheduler.explain("p0")
    assert ex.evaluated == 120  # 250 nodes: 50 - 250/125 = 48 %, 120 nodes (more than the minimum 100)
    assert sum(1 for n in ex.nodes if not n.evaluated) == 130
    assert s.next_start_node_index == 120
    h.add_pod("p1")
    h.run()
    assert s.next_start_node_index == 240


def test_repeated_failure_does_not_rewrite_the_condition(h):
    h.add_pod("big", cpu="6")
    h.run()
    h.run(400)  # retried once after 5 minutes, failing the same way
    status_writes = [e for e in h.trace if e.type == "request" and e.resource == "pods/status" and e.name == "big"]
    assert len(status_writes) == 1
    (ev,) = h.events("big", "FailedScheduling")
    assert ev["count"] == 2


def test_preemption_policy_never_is_reported():
    h = Harness(workers=0)
    h.add_node("n1", cpu="1")
    h.run()
    h.add_pod("low", cpu="1")
    h.run()
    h.add_pod("polite", cpu="1", priority=1000, preemptionPolicy="Never")
    h.run()
    assert h.condition("polite")["message"] == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.")
    assert h.node_of("low") == "n1"


def test_scheduling_gates_hold_a_pod_until_removed(h):
    pod = h.add_pod("gated", schedulingGates=[{"name": "example.com/wait"}])
    h.run()
    assert h.node_of("gated") is None and h.scheduler.attempts == 0
    pod = h.pod("gated")
    pod["spec"]["schedulingGates"] = []
    h.admin.update(pod)
    h.run()
    assert h.node_of("gated") is not None


def test_hard_topology_spread_constraint():
    h = Harness(workers=0)
    for name, zone in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        h.add_node(name, labels={"topology.kubernetes.io/zone": zone})
    h.add_node("nozone")
    h.run()
    tsc = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "db"}}}]
    for i in range(4):
        h.add_pod(f"db-{i}", labels={"app": "db"}, topologySpreadConstraints=tsc)
        h.run()
    zones = [h.node_of(f"db-{i}")[0] for i in range(4)]
    assert sorted(zones) == ["a", "a", "b", "b"]
    ex = h.scheduler.explain("db-3")
    assert ex.node("nozone").reason == "node(s) didn't match pod topology spread constraints (missing required label)"


def test_removed_node_is_forgotten_and_can_come_back(h):
    h.admin.delete("nodes", "worker-3")
    h.run()
    for i in range(4):
        h.add_pod(f"p{i}")
    h.run()
    assert "worker-3" not in {h.node_of(f"p{i}") for i in range(4)}
    h.add_node("worker-3")
    h.add_pod("p9")
    h.run()
    assert [n.name for n in h.scheduler.explain("p9").nodes] == ["control-plane", "worker-1", "worker-2", "worker-3"]


# -- in a whole cluster ------------------------------------------------------------------------------
def test_in_a_cluster_replicas_spread_and_explain_names_the_plugins():
    from conftest import nginx_deployment

    import k8slab

    def placements(seed):
        c = k8slab.Cluster(workers=3, seed=seed)
        c.apply(nginx_deployment(6))
        c.run()
        pods = sorted(c.get("pods"), key=lambda p: p["metadata"]["name"])
        return c, [(p["metadata"]["name"], p["spec"]["nodeName"]) for p in pods]

    c, first = placements(3)
    assert sorted(n for _p, n in first) == ["worker-1", "worker-1", "worker-2", "worker-2", "worker-3", "worker-3"]
    assert placements(3)[1] == first
    ex = c.scheduler.explain(first[0][0])
    assert ex.chosen == first[0][1]
    assert "PodTopologySpread" in ex.node(ex.chosen).scores
    assert ex.node("control-plane").filtered_by == "TaintToleration"
    step_texts = [e.describe() for e in c.loop.pending(include_background=True)]
    assert not any(t.startswith("kube-scheduler: schedule") for t in step_texts)


def test_each_attempt_is_one_loop_event(h):
    h.add_pod("web-x")
    ev = h.loop.step()  # the watch delivers the pod to the scheduler's informer...
    assert ev.describe() == "apiserver ⇒ kube-scheduler: watch ADDED pods default/web-x"
    nxt = [e for e in h.loop.pending() if e.who == "kube-scheduler"]
    assert [e.describe() for e in nxt] == ["kube-scheduler: schedule default/web-x"]
    assert h.node_of("web-x") is None
    assert h.loop.step().describe() == "kube-scheduler: schedule default/web-x"  # ...one attempt, one event
    assert h.node_of("web-x") is not None
