"""Node lifecycle, taint eviction and node IPAM controllers: what happens when nodes come and go."""

from test_kubelet_harness import Harness

from k8slab.api.objects import condition
from k8slab.controlplane.tainteviction import matching_tolerations, min_toleration_time
from k8slab.sim.loop import parse_timestamp


def taints_of(h, node):
    return {(t["key"], t["effect"]): t for t in h.admin.get("nodes", node)["spec"].get("taints", [])}


def test_failed_node_goes_unknown_after_40s_is_tainted_and_its_pods_evicted_after_300s():
    h = Harness(2)
    h.pod("web")
    h.run()
    assert h.lifecycle.grace_period == 40.0
    failed = h.loop.now
    h.kubelets["worker-1"].stop()
    h.loop.extend_horizon(h.loop.now + h.lifecycle.grace_period + 10)  # what Cluster.fail_node does
    unknown_at = h.run_until(lambda: condition(h.admin.get("nodes", "worker-1"), "Ready")["status"] == "Unknown",
                             step=0.1)
    assert 40 <= unknown_at - failed <= 46  # last renewal seen, + 40 s, at the next 5 s pass
    node = h.admin.get("nodes", "worker-1")
    for c in node["status"]["conditions"]:
        assert (c["status"], c["reason"], c["message"]) == (
            "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert ("NodeNotReady", "Node worker-1 status is now: NodeNotReady") in [
        (e["reason"], e["message"]) for e in h.events("worker-1", "Node")]
    # its pods stop being Ready at once (Services drop them)
    h.run(0.1)
    assert condition(h.get("web"), "Ready")["status"] == "False"
    assert ("NodeNotReady", "Node is not ready") in [(e["reason"], e["message"]) for e in h.events("web")]
    # NoExecute taint at the next pass; the pod tolerates it for 300 s (DefaultTolerationSeconds)
    h.run()
    taints = taints_of(h, "worker-1")
    assert ("node.kubernetes.io/unreachable", "NoSchedule") in taints
    tainted = parse_timestamp(taints[("node.kubernetes.io/unreachable", "NoExecute")]["timeAdded"])
    assert 0 < tainted - unknown_at <= 6
    pod = h.get("web")
    deleted = parse_timestamp(pod["metadata"]["deletionTimestamp"]) - 30  # minus its grace period
    assert 299 <= deleted - tainted <= 301
    assert condition(pod, "DisruptionTarget")["reason"] == "DeletionByTaintManager"
    assert ("TaintManagerEviction", "Marking for deletion Pod default/web") in [
        (e["reason"], e["message"]) for e in h.events("web")]
    evict = next(e for e in h.events("web") if e["reason"] == "TaintManagerEviction")
    assert evict["source"]["component"] == "taint-eviction-controller"
    # the kubelet is down: the pod stays Terminating
    h.run(120)
    assert h.get("web")["metadata"]["deletionTimestamp"]

    h.kubelets["worker-1"].restart()
    h.run()
    node = h.admin.get("nodes", "worker-1")
    assert condition(node, "Ready")["status"] == "True"
    assert not [t for t in node["spec"].get("taints", []) if t["key"].startswith("node.kubernetes.io/")]
    assert h.admin.list("pods", "default")["items"] == []  # the kubelet finished the eviction


def test_recovery_before_eviction_cancels_it():
    h = Harness(2)
    h.pod("web")
    h.run()
    h.kubelets["worker-1"].stop()
    h.loop.extend_horizon(h.loop.now + 50)
    h.run_until(lambda: ("node.kubernetes.io/unreachable", "NoExecute") in taints_of(h, "worker-1"), step=0.5)
    h.run(60)
    h.kubelets["worker-1"].restart()
    h.run()
    assert not taints_of(h, "worker-1")
    assert h.get("web")["metadata"].get("deletionTimestamp") is None
    assert ("TaintManagerEviction", "Cancelling deletion of Pod default/web") in [
        (e["reason"], e["message"]) for e in h.events("web")]
    assert h.get("web")["status"]["phase"] == "Running"
    assert condition(h.get("web"), "Ready")["status"] == "True"


def test_most_of_a_zone_down_stops_tainting_for_small_clusters():
    h = Harness(4)
    for name in ("worker-1", "worker-2", "worker-3"):
        h.kubelets[name].stop()
    h.loop.extend_horizon(h.loop.now + 120)
    h.run()
    for name in ("worker-1", "worker-2", "worker-3"):
        assert condition(h.admin.get("nodes", name), "Ready")["status"] == "Unknown"
        assert ("node.kubernetes.io/unreachable", "NoExecute") not in taints_of(h, name)
        assert ("node.kubernetes.io/unreachable", "NoSchedule") in taints_of(h, name)
    assert h.lifecycle.zone_states == {"": "PartialDisruption"}


def test_cordon_adds_the_unschedulable_taint_and_uncordon_removes_it():
    h = Harness(1)
    h.admin.patch("nodes", "worker-1", {"spec": {"unschedulable": True}})
    h.run()
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in taints_of(h, "worker-1")
    h.admin.patch("nodes", "worker-1", {"spec": {"unschedulable": None}})
    h.run()
    assert taints_of(h, "worker-1") == {}


def test_noexecute_taints_evict_by_toleration():
    h = Harness(1)
    h.pod("plain")
    h.pod("forever", tolerations=[{"key": "maintenance", "operator": "Exists", "effect": "NoExecute"}])
    h.pod("minute", tolerations=[{"key": "maintenance", "operator": "Exists", "effect": "NoExecute",
                                  "tolerationSeconds": 60}])
    h.run()
    node = h.admin.get("nodes", "worker-1")
    node["spec"]["taints"] = [{"key": "maintenance", "effect": "NoExecute"}]
    h.admin.update(node)
    h.run(1)
    names = {p["metadata"]["name"] for p in h.admin.list("pods", "default")["items"]}
    assert names == {"forever", "minute"}  # "plain" went at once (gracefully, nginx stops fast)
    h.run(58)
    assert h.get("minute")["metadata"].get("deletionTimestamp") is None
    h.run(3)
    names = {p["metadata"]["name"] for p in h.admin.list("pods", "default")["items"]}
    assert names == {"forever"}


def test_toleration_arithmetic():
    taint = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
    ok, used = matching_tolerations([taint], [{"operator": "Exists"}])
    assert ok and min_toleration_time(used) == -1  # tolerated forever
    assert matching_tolerations([taint], [{"key": "other", "operator": "Exists"}]) == (False, [])
    assert min_toleration_time([{"tolerationSeconds": 0}]) == 0


def test_ipam_gives_each_node_the_next_block_and_frees_it():
    h = Harness(3)
    cidrs = [h.admin.get("nodes", f"worker-{i}")["spec"]["podCIDRs"] for i in (1, 2, 3)]
    assert cidrs == [["10.244.0.0/24"], ["10.244.1.0/24"], ["10.244.2.0/24"]]
    h.kubelets["worker-2"].stop()
    h.admin.delete("nodes", "worker-2")
    h.run()
    k = h.add_kubelet("worker-4")
    h.run()
    assert h.admin.get("nodes", "worker-4")["spec"]["podCIDR"] == "10.244.3.0/24"  # round robin, like the real one
    assert k.pod_cidr == "10.244.3.0/24"


def test_ipam_runs_out_of_blocks_with_an_event():
    h = Harness(3, manager_attrs={"cluster_cidr": "10.244.0.0/23"})
    assert h.admin.get("nodes", "worker-3")["spec"].get("podCIDR") is None
    assert ("CIDRNotAvailable", "Node worker-3 status is now: CIDRNotAvailable") in [
        (e["reason"], e["message"]) for e in h.events("worker-3", "Node")]


def test_registered_node_event_from_the_node_controller():
    h = Harness(1)
    h.run(6)
    ev = [e for e in h.events("worker-1", "Node") if e["reason"] == "RegisteredNode"]
    assert ev and ev[0]["message"] == "Node worker-1 event: Registered Node worker-1 in Controller"
    assert ev[0]["source"]["component"] == "node-controller"
