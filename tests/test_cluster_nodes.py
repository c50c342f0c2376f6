"""Adding, removing, failing nodes from the learner's side."""

import pytest
from conftest import nginx_deployment

import k8slab
from k8slab.api import errors


def test_added_node_registers_with_its_size_labels_and_runtime(cluster):
    cluster.add_node("worker-4", cpu="8", memory="16Gi", labels={"disk": "ssd"}, runtime="cri-o")
    cluster.run()
    node = cluster.get("node", "worker-4")
    assert node["metadata"]["labels"]["disk"] == "ssd"
    assert node["status"]["capacity"]["cpu"] == "8"
    assert node["status"]["capacity"]["memory"] == "16777216Ki"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("cri-o://")
    assert node["spec"]["podCIDR"] == "10.244.4.0/24"
    assert "worker-4" in str(cluster.kubectl("get nodes"))


def test_new_pods_can_land_on_an_added_node():
    c = k8slab.Cluster(workers=1, seed=0)
    c.add_node("big", cpu="16", memory="64Gi", labels={"disk": "ssd"})
    c.run()
    text = nginx_deployment(2).replace("    spec:\n      containers:", "    spec:\n      nodeSelector:\n        disk: ssd\n      containers:")
    c.apply(text)
    c.run()
    assert {p["spec"]["nodeName"] for p in c.get("pods")} == {"big"}


def test_removed_node_pods_are_collected_and_replaced(cluster):
    c = cluster
    c.apply(nginx_deployment(3))
    c.run()
    gone = {p["metadata"]["name"] for p in c.get("pods") if p["spec"]["nodeName"] == "worker-3"}
    assert gone
    c.remove_node("worker-3")
    c.run()
    pods = c.get("pods")
    assert not gone & {p["metadata"]["name"] for p in pods}
    assert len(pods) == 3 and all(p["status"]["phase"] == "Running" for p in pods)
    assert {p["spec"]["nodeName"] for p in pods} <= {"worker-1", "worker-2"}
    assert "worker-3" not in c.nodes
    with pytest.raises(errors.NotFound):
        c.get("node", "worker-3")


def test_node_actions_on_unknown_or_duplicate_names_are_clear_errors(cluster):
    with pytest.raises(errors.NodeError, match='node "worker-9" not found'):
        cluster.fail_node("worker-9")
    with pytest.raises(errors.NodeError, match='node "worker-1" already exists'):
        cluster.add_node("worker-1")


def test_node_view_shows_its_pods(cluster):
    cluster.apply(nginx_deployment(3))
    cluster.run()
    view = cluster.node("worker-1")
    names = sorted(p["metadata"]["name"] for p in view.pods)
    # one nginx replica, the node's kube-proxy, and one of the two CoreDNS replicas
    assert [n.split("-")[0] for n in names] == ["coredns", "kube", "web"]
    assert "kube-proxy-worker-1" in names
    assert repr(view) == "Node(worker-1, Ready, 3 pods)"
    assert {p["spec"]["nodeName"] for p in view.pods} == {"worker-1"}


def test_cluster_repr_and_step():
    c = k8slab.Cluster(workers=2, seed=0)
    # 4 control-plane pods, a kube-proxy per node, 2 CoreDNS replicas (Ready after their first
    # readiness probe succeeds, 10 s in)
    assert repr(c) == "Cluster(3 nodes, 9 pods, t=10.5s)"
    c.apply(nginx_deployment(1))
    ev = c.step()
    assert repr(ev).startswith("Event(t=")
    assert "⇒" in repr(ev)
