"""The DaemonSet controller in a whole cluster: a pod per eligible node, placed by the scheduler."""

import re

import pytest

from k8slab import Cluster
from k8slab.api.objects import is_pod_ready
from k8slab.controlplane.daemonset import (
    DaemonScheduling,
    DaemonSetController,
    daemon_tolerations,
    evaluate_node,
    node_should_run_daemon_pod,
    target_node_name,
)
from k8slab.controlplane.history import POD_REVISION_LABEL
from k8slab.controlplane.manager import ControllerManager

HASH = re.compile(r"^[4-9bcdf]{1,10}$")
WORKERS = ["worker-1", "worker-2", "worker-3"]
MAX_EVENTS = 20_000


def daemonset(image="nginx:1.26", tolerations=None, node_selector=None, strategy=None, **spec):
    pod_spec = {"containers": [{"name": "agent", "image": image}]}
    if tolerations is not None:
        pod_spec["tolerations"] = tolerations
    if node_selector is not None:
        pod_spec["nodeSelector"] = node_selector
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}}, "spec": pod_spec}, **spec},
    }
    if strategy is not None:
        ds["spec"]["updateStrategy"] = strategy
    return ds


class Controllers:
    """The DaemonSet controller, wherever it runs, and its failures."""

    def __init__(self, c):
        self.managers = [c.controller_manager]
        if DaemonSetController.name not in c.controllers:
            # (once the cluster runs it by default, the test does not start a second copy)
            manager = ControllerManager(c.api, c.loop, c.rng, [DaemonSetController])
            manager.start()
            self.managers.append(manager)

    @property
    def failures(self):
        return [f for m in self.managers for f in m.failures if f.controller == DaemonSetController.name]


def start(**kw):
    c = Cluster(workers=3, seed=0)
    cm = Controllers(c)
    c.apply(daemonset(**kw))
    return c, cm


def agent_pods(c, live=True):
    ps = c.get("pods", selector="app=agent")
    return [p for p in ps if not (live and p["metadata"].get("deletionTimestamp"))]


def nodes_of(c):
    return sorted(p["spec"].get("nodeName") for p in agent_pods(c))


def status(c):
    return c.get("daemonsets", "agent")["status"]


def ds_events(c, reason):
    evs = [e for e in c.get("events") if e["involvedObject"]["kind"] == "DaemonSet" and e["reason"] == reason]
    return [e["message"] for e in sorted(evs, key=lambda e: e["metadata"]["name"])]


def set_image(c, image):
    c.admin.patch("daemonsets", "agent", {"spec": {"template": {"spec": {"containers": [
        {"name": "agent", "image": image}]}}}}, "default", patch_type="strategic")


def test_daemon_pods_tolerate_node_problems_and_network_ones_with_host_network():
    tols = daemon_tolerations({"tolerations": [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
        {"key": "dedicated", "operator": "Equal", "value": "logs", "effect": "NoSchedule"}]})
    assert tols[0] == {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}
    assert [t["key"] for t in tols] == [
        "node.kubernetes.io/not-ready", "dedicated", "node.kubernetes.io/unreachable",
        "node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable"]
    assert "node.kubernetes.io/network-unavailable" in [t["key"] for t in daemon_tolerations({"hostNetwork": True})]


def test_should_run_follows_selector_affinity_and_taints():
    node = {"metadata": {"name": "n1", "labels": {"disk": "ssd"}}, "spec": {}}
    sched = DaemonScheduling.of(daemonset(node_selector={"disk": "ssd"}))
    assert node_should_run_daemon_pod(node, sched) == (True, True)
    assert node_should_run_daemon_pod(node, DaemonScheduling.of(daemonset(node_selector={"disk": "hdd"}))) == (
        False, False)
    no_schedule = {"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}]}}
    no_execute = {"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "gpu", "effect": "NoExecute"}]}}
    plain = DaemonScheduling.of(daemonset())
    assert node_should_run_daemon_pod(no_schedule, plain) == (False, True)  # stays if already there
    assert node_should_run_daemon_pod(no_execute, plain) == (False, False)
    cordoned = {"metadata": {"name": "n1"}, "spec": {"unschedulable": True, "taints": [
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]}}
    assert node_should_run_daemon_pod(cordoned, plain) == (True, True)


def test_one_pod_per_worker_none_on_the_control_plane():
    c, cm = start()
    c.run()
    pods = agent_pods(c)
    assert nodes_of(c) == WORKERS
    assert all(re.match(r"^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$", p["metadata"]["name"]) for p in pods)
    revision = c.get("controllerrevisions")
    assert len(revision) == 1
    hash_ = revision[0]["metadata"]["labels"][POD_REVISION_LABEL]
    assert HASH.match(hash_) and revision[0]["metadata"]["name"] == f"agent-{hash_}"
    for p in pods:
        node = p["spec"]["nodeName"]
        # created pinned to its node by affinity, then bound by the default scheduler
        assert p["spec"]["affinity"] == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                    "values": [node]}]}]}}}
        assert target_node_name(p) == node
        assert p["metadata"]["labels"] == {"app": "agent", POD_REVISION_LABEL: hash_, "pod-template-generation": "1"}
        assert {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"} in \
            p["spec"]["tolerations"]
        assert p["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
        assert is_pod_ready(p)
    scheduled = [e for e in c.get("events") if e["reason"] == "Scheduled"
                 and e["involvedObject"]["name"].startswith("agent-")]
    assert len(scheduled) == 3 and all(e["source"]["component"] == "default-scheduler" for e in scheduled)
    assert status(c) == {"currentNumberScheduled": 3, "numberMisscheduled": 0, "desiredNumberScheduled": 3,
                         "numberReady": 3, "observedGeneration": 1, "updatedNumberScheduled": 3,
                         "numberAvailable": 3}
    assert sorted(ds_events(c, "SuccessfulCreate")) == sorted(f"Created pod: {p['metadata']['name']}" for p in pods)
    assert {e["source"]["component"] for e in c.get("events") if e["involvedObject"]["kind"] == "DaemonSet"} == {
        "daemonset-controller"}
    # the pods were created with the controller's own service account, and bound by the scheduler
    assert {e.actor for e in c.trace if e.type == "request" and e.verb == "create" and e.resource == "pods"
            and e.code == 201 and (e.name or "").startswith("agent-")} == {"daemon-set-controller"}
    assert {e.actor for e in c.trace if e.type == "request" and e.resource == "pods/binding"
            and (e.name or "").startswith("agent-")} == {"kube-scheduler"}
    assert cm.failures == []


def test_a_toleration_of_the_control_plane_taint_includes_it():
    c, cm = start(tolerations=[{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                                "effect": "NoSchedule"}])
    c.run()
    assert nodes_of(c) == ["control-plane", *WORKERS]
    assert status(c)["desiredNumberScheduled"] == 4 and status(c)["numberReady"] == 4


def test_node_selector_picks_nodes_and_follows_label_changes():
    c = Cluster(workers=3, seed=0)
    cm = Controllers(c)
    c.add_node("worker-4", labels={"disk": "ssd"})
    c.run()
    c.apply(daemonset(node_selector={"disk": "ssd"}))
    c.run()
    assert nodes_of(c) == ["worker-4"]
    assert status(c)["desiredNumberScheduled"] == 1
    first = agent_pods(c)[0]["metadata"]["name"]
    c.admin.patch("nodes", "worker-4", {"metadata": {"labels": {"disk": None}}})
    c.admin.patch("nodes", "worker-2", {"metadata": {"labels": {"disk": "ssd"}}})
    c.run(seconds=0.1)
    # at once: the pod of the node that lost its label goes, one for the newly labelled node comes
    assert ds_events(c, "SuccessfulDelete")[0] == f"Deleted pod: {first}"
    assert [target_node_name(p) for p in agent_pods(c)] == ["worker-2"]
    c.run()
    assert nodes_of(c) == ["worker-2"]
    assert status(c)["desiredNumberScheduled"] == 1 and status(c)["numberMisscheduled"] == 0
    assert status(c)["numberReady"] == 1
    assert cm.failures == []


def test_adding_a_node_adds_a_pod_and_removing_it_takes_the_pod_away():
    c, cm = start()
    c.run()
    c.add_node("worker-4")
    c.run()
    assert nodes_of(c) == [*WORKERS, "worker-4"]
    assert status(c)["desiredNumberScheduled"] == 4 and status(c)["numberAvailable"] == 4
    c.remove_node("worker-4")
    c.run()
    # the pod garbage collector deletes the pod of the vanished node; the DaemonSet does not replace it
    assert nodes_of(c) == WORKERS
    assert status(c)["desiredNumberScheduled"] == 3 and status(c)["currentNumberScheduled"] == 3
    assert len(ds_events(c, "SuccessfulCreate")) == 4


def test_a_deleted_daemon_pod_is_replaced_on_the_same_node():
    c, cm = start()
    c.run()
    victim = next(p for p in agent_pods(c) if p["spec"]["nodeName"] == "worker-2")
    c.admin.delete("pods", victim["metadata"]["name"], "default")
    c.run()
    assert nodes_of(c) == WORKERS
    assert victim["metadata"]["name"] not in {p["metadata"]["name"] for p in agent_pods(c)}


def step_through_rollout(c, check, max_events=MAX_EVENTS):
    for _ in range(max_events):
        if c.step() is None:
            break
        pods = agent_pods(c, live=False)
        check(pods)
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        if (len(pods) == 3 and all(p["spec"]["containers"][0]["image"] == "nginx:1.27" and is_pod_ready(p)
                                   for p in live)):
            return
    raise AssertionError("the rollout did not finish")


def test_rolling_update_replaces_one_node_at_a_time_within_max_unavailable():
    c, cm = start()
    c.run()
    set_image(c, "nginx:1.27")
    order = []

    def check(pods):
        serving = {p["spec"].get("nodeName") for p in pods
                   if is_pod_ready(p) and not p["metadata"].get("deletionTimestamp")}
        assert len(serving) >= 2, f"more than maxUnavailable=1 node without a ready daemon: {sorted(serving)}"
        for p in pods:
            node = p["spec"].get("nodeName")
            if p["metadata"].get("deletionTimestamp") and node not in order:
                order.append(node)

    step_through_rollout(c, check)
    assert order == WORKERS
    c.run()
    st = status(c)
    assert st["updatedNumberScheduled"] == 3 and st["numberAvailable"] == 3
    assert sorted(r["revision"] for r in c.get("controllerrevisions")) == [1, 2]
    assert len(ds_events(c, "SuccessfulDelete")) == 3 and len(ds_events(c, "SuccessfulCreate")) == 6


def test_max_unavailable_two_replaces_two_nodes_at_once():
    c, cm = start(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}})
    c.run()
    set_image(c, "nginx:1.27")
    most = []

    def check(pods):
        most.append(sum(1 for p in pods if p["metadata"].get("deletionTimestamp")
                        or p["spec"]["containers"][0]["image"] == "nginx:1.26" and not is_pod_ready(p)))

    step_through_rollout(c, check)
    assert max(most) == 2


def test_max_surge_starts_the_new_pod_before_deleting_the_old():
    c, cm = start(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    c.run()
    set_image(c, "nginx:1.27")
    surged = set()

    def check(pods):
        by_node = {}
        for p in pods:
            if not p["metadata"].get("deletionTimestamp"):
                by_node.setdefault(p["spec"].get("nodeName") or target_node_name(p), []).append(p)
        ready = {n for n, ps in by_node.items() if any(is_pod_ready(p) for p in ps)}
        assert ready == set(WORKERS), "a node was left without a ready daemon"
        surged.update(n for n, ps in by_node.items() if len(ps) == 2)
        assert sum(len(ps) == 2 for ps in by_node.values()) <= 1  # maxSurge: 1

    step_through_rollout(c, check)
    assert surged == set(WORKERS)


def test_on_delete_waits_for_pods_to_be_deleted():
    c, cm = start(strategy={"type": "OnDelete"})
    c.run()
    set_image(c, "nginx:1.27")
    c.run()
    assert {p["spec"]["containers"][0]["image"] for p in agent_pods(c)} == {"nginx:1.26"}
    assert status(c).get("updatedNumberScheduled", 0) == 0  # omitted when zero, as Go's omitempty
    old = next(p for p in agent_pods(c) if p["spec"]["nodeName"] == "worker-3")
    c.admin.delete("pods", old["metadata"]["name"], "default")
    c.run()
    images = {p["spec"]["nodeName"]: p["spec"]["containers"][0]["image"] for p in agent_pods(c)}
    assert images == {"worker-1": "nginx:1.26", "worker-2": "nginx:1.26", "worker-3": "nginx:1.27"}
    assert status(c)["updatedNumberScheduled"] == 1


@pytest.mark.parametrize("phase, event", [("Failed", "FailedDaemonPod"), ("Succeeded", "SucceededDaemonPod")])
def test_a_finished_daemon_pod_is_deleted_and_made_again(phase, event):
    c, cm = start()
    c.run()
    pod = next(p for p in agent_pods(c) if p["spec"]["nodeName"] == "worker-1")
    pod["status"]["phase"] = phase
    c.admin.update_status(pod)
    c.run()
    assert nodes_of(c) == WORKERS
    assert pod["metadata"]["name"] not in {p["metadata"]["name"] for p in agent_pods(c)}
    verb = "kill it" if phase == "Failed" else "delete it"
    assert ds_events(c, event) == [
        f"Found {phase.lower()} daemon pod default/{pod['metadata']['name']} on node worker-1, will try to {verb}"]


def test_evaluate_node_keeps_the_oldest_of_two_pods_and_counts_it():
    def pod(name, created, ready=True):
        return {"metadata": {"name": name, "creationTimestamp": created, "labels": {POD_REVISION_LABEL: "h"}},
                "spec": {"nodeName": "n1"},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready
                                                               else "False"}]}}

    node = {"metadata": {"name": "n1"}, "spec": {}}
    rec = evaluate_node("n1", node, [pod("b", "2025-01-01T00:00:02Z"), pod("a", "2025-01-01T00:00:01Z", False)],
                        DaemonScheduling.of(daemonset()), "h", surge=False, min_ready=0, now=10.0)
    assert rec.delete == ["b"] and not rec.create
    assert (rec.desired, rec.current, rec.ready, rec.updated) == (1, 1, 0, 1)  # counts the oldest, not ready
    gone = evaluate_node("n1", None, [pod("a", "2025-01-01T00:00:01Z")], DaemonScheduling.of(daemonset()), "h",
                         surge=False, min_ready=0, now=10.0)
    assert gone.desired == 0 and gone.delete == []  # bound to a vanished node: the pod GC's job
