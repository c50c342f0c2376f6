"""The course's central story: one Deployment's whole journey through the cluster."""

import re

from conftest import nginx_deployment

import k8slab
from k8slab.api.objects import is_pod_ready

POD_NAME = re.compile(r"^web-[4-9bcdf]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$")


def test_three_replicas_run_spread_over_the_workers_with_real_names_and_owners(cluster):
    c = cluster
    assert c.apply(nginx_deployment(3)) == ["deployment.apps/web created"]
    c.run()
    pods = c.get("pods")
    assert len(pods) == 3
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert all(is_pod_ready(p) for p in pods)
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["worker-1", "worker-2", "worker-3"]
    for p in pods:
        assert POD_NAME.match(p["metadata"]["name"]), p["metadata"]["name"]
        assert p["status"]["podIP"].startswith("10.244.")
    ips = {p["status"]["podIP"] for p in pods}
    assert len(ips) == 3

    (rs,) = c.get("replicasets")
    (deploy,) = c.get("deployments")
    for p in pods:
        (ref,) = p["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == (
            "ReplicaSet", rs["metadata"]["name"], rs["metadata"]["uid"], True)
        assert p["metadata"]["name"].startswith(rs["metadata"]["name"] + "-")
    (ref,) = rs["metadata"]["ownerReferences"]
    assert (ref["kind"], ref["name"], ref["uid"]) == ("Deployment", "web", deploy["metadata"]["uid"])
    assert rs["metadata"]["labels"]["pod-template-hash"] == rs["metadata"]["name"].split("-")[-1]
    assert deploy["status"]["availableReplicas"] == 3


def test_no_user_pod_lands_on_the_tainted_control_plane(cluster):
    cluster.apply(nginx_deployment(9))
    cluster.run()
    nodes = {p["spec"]["nodeName"] for p in cluster.get("pods")}
    assert "control-plane" not in nodes
    system = cluster.get("pods", namespace="kube-system")
    assert {p["spec"]["nodeName"] for p in system if p["metadata"]["name"].startswith("kube-apiserver")} == {
        "control-plane"}


def test_trace_shows_the_real_order_of_the_journey(cluster):
    c = cluster
    mark = c.trace.mark()
    c.apply(nginx_deployment(3))
    c.run()
    entries = c.trace.since(mark)

    def first(pred):
        for i, e in enumerate(entries):
            if pred(e):
                return i
        raise AssertionError("not in trace")

    stored = first(lambda e: e.type == "request" and e.actor == "kubectl" and e.verb == "create"
                   and e.resource == "deployments" and e.code == 201)
    rs_created = first(lambda e: e.actor == "deployment-controller" and e.verb == "create"
                       and e.resource == "replicasets" and e.code == 201)
    pods_created = first(lambda e: e.actor == "replicaset-controller" and e.verb == "create"
                         and e.resource == "pods" and e.code == 201)
    bound = first(lambda e: e.actor == "kube-scheduler" and e.resource == "pods/binding" and e.code == 201)
    status = first(lambda e: e.actor.startswith("kubelet/worker") and e.resource == "pods/status")
    assert stored < rs_created < pods_created < bound < status
    # between them, the watches that carried the news
    dc_saw = first(lambda e: e.type == "watch" and e.actor == "kube-controller-manager"
                   and e.resource == "deployments" and e.verb == "ADDED")
    sched_saw = first(lambda e: e.type == "watch" and e.actor == "kube-scheduler" and e.resource == "pods")
    kubelet_saw = first(lambda e: e.type == "watch" and e.actor.startswith("kubelet/worker"))
    assert stored < dc_saw < rs_created
    assert pods_created < sched_saw < bound < kubelet_saw < status


def _story(seed):
    c = k8slab.Cluster(workers=3, seed=seed)
    c.apply(nginx_deployment(3))
    c.run()
    return [str(e) for e in c.trace], str(c.kubectl("get pods -o wide"))


def test_same_seed_same_story_different_seed_different_names():
    trace_a, pods_a = _story(0)
    trace_b, pods_b = _story(0)
    assert trace_a == trace_b
    assert pods_a == pods_b
    _trace_c, pods_c = _story(1)
    names = lambda text: sorted(line.split()[0] for line in text.splitlines()[1:])  # noqa: E731
    assert set(names(pods_a)).isdisjoint(names(pods_c))


def test_rolling_update_stays_within_surge_and_unavailability_at_every_step(cluster):
    c = cluster
    c.apply(nginx_deployment(4, "nginx:1.26"))
    c.run()
    (old_rs,) = c.get("replicasets")
    c.apply(nginx_deployment(4, "nginx:1.27"))
    # 25 % of 4: at most 1 extra pod (surge, rounded up) and 1 unavailable (rounded down)
    steps = 0
    while not c.loop.settled() and steps < 20000:
        c.step()
        steps += 1
        pods = [p for p in c.api.list_objects(c.kinds.resolve("pods"), "default")
                if not p["metadata"].get("deletionTimestamp")]
        ready = [p for p in pods if is_pod_ready(p)]
        assert len(pods) <= 5, f"step {steps}: {len(pods)} pods"
        assert len(ready) >= 3, f"step {steps}: only {len(ready)} ready"
    assert c.loop.settled()
    c.run()
    rs = {r["metadata"]["name"]: r for r in c.get("replicasets")}
    assert rs[old_rs["metadata"]["name"]]["spec"]["replicas"] == 0
    assert rs[old_rs["metadata"]["name"]]["status"].get("replicas", 0) == 0
    (new_rs,) = [r for n, r in rs.items() if n != old_rs["metadata"]["name"]]
    assert new_rs["status"]["readyReplicas"] == 4
    images = {p["spec"]["containers"][0]["image"] for p in c.get("pods")}
    assert images == {"nginx:1.27"}


def test_failed_node_pods_are_replaced_elsewhere_and_the_node_comes_back(cluster):
    c = cluster
    c.apply(nginx_deployment(3))
    c.run()
    victim = next(p for p in c.get("pods") if p["spec"]["nodeName"] == "worker-2")
    failed_at = c.now
    c.fail_node("worker-2")
    c.run()
    assert c.now >= failed_at + 40 + 300
    node = c.get("node", "worker-2")
    ready = next(cd for cd in node["status"]["conditions"] if cd["type"] == "Ready")
    assert ready["status"] == "Unknown"
    taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints", [])}
    assert ("node.kubernetes.io/unreachable", "NoExecute") in taints
    pods = c.get("pods")
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 3
    assert all(p["status"]["phase"] == "Running" for p in live)
    assert {p["spec"]["nodeName"] for p in live} <= {"worker-1", "worker-3"}
    old = next(p for p in pods if p["metadata"]["name"] == victim["metadata"]["name"])
    assert old["metadata"]["deletionTimestamp"]  # Terminating: its kubelet is gone
    assert "worker-2" in str(c.kubectl("get nodes")) and "NotReady" in str(c.kubectl("get nodes"))

    c.recover_node("worker-2")
    c.run()
    node = c.get("node", "worker-2")
    ready = next(cd for cd in node["status"]["conditions"] if cd["type"] == "Ready")
    assert ready["status"] == "True"
    assert not [t for t in node["spec"].get("taints", []) if t["key"].startswith("node.kubernetes.io/")]
    names = {p["metadata"]["name"] for p in c.get("pods")}
    assert victim["metadata"]["name"] not in names
    assert len(names) == 3
