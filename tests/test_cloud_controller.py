"""The cloud controller manager with the fake cloud: load balancers and node initialisation."""

from k8slab.apiserver import APIServer
from k8slab.apiserver.services import register
from k8slab.controlplane.cloud import (
    LB_CLEANUP_FINALIZER,
    UNINITIALIZED_TAINT,
    CloudControllerManager,
    FakeCloud,
)
from k8slab.etcd import Etcd
from k8slab.sim import EventLoop, Randomness, Trace


class Harness:
    def __init__(self, delay=3.0):
        self.loop = EventLoop()
        self.rng = Randomness(0)
        self.api = APIServer(Etcd(), self.loop, Trace(), self.rng)
        register(self.api)
        self.admin = self.api.client("kubectl")
        self.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
        self.cloud = FakeCloud(provisioning_delay=delay)
        self.ccm = CloudControllerManager(self.api, self.loop, self.rng, cloud=self.cloud)
        self.ccm.start()

    def run(self, seconds=None):
        if seconds is None:
            self.loop.run_until_settled()
        else:
            self.loop.run_until(self.loop.now + seconds)

    def svc(self, name="web", type_="LoadBalancer"):
        return self.admin.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                                  "spec": {"type": type_, "selector": {"app": name}, "ports": [{"port": 80}]}})

    def get(self, name="web"):
        return self.admin.get("services", name, "default")

    def reasons(self):
        evs = self.admin.list("events", "default")["items"]
        return [(e["reason"], e["message"]) for e in sorted(evs, key=lambda e: e["metadata"]["name"])]


def test_load_balancer_gets_external_ip_after_delay():
    h = Harness(delay=3.0)
    s = h.svc()
    h.run(1.0)
    s = h.get()
    assert s["metadata"]["finalizers"] == [LB_CLEANUP_FINALIZER]
    assert not (s.get("status") or {}).get("loadBalancer", {}).get("ingress")  # EXTERNAL-IP <pending>
    h.run()
    s = h.get()
    assert s["status"]["loadBalancer"] == {"ingress": [{"ip": "203.0.113.1", "ipMode": "VIP"}]}
    assert h.reasons() == [("EnsuringLoadBalancer", "Ensuring load balancer"),
                           ("EnsuredLoadBalancer", "Ensured load balancer")]
    name = "a" + s["metadata"]["uid"].replace("-", "")[:31]
    assert list(h.cloud.load_balancers) == [name]
    assert not h.ccm.failures


def test_delete_waits_for_load_balancer_cleanup():
    h = Harness()
    h.svc()
    h.run()
    h.admin.delete("services", "web", "default")
    h.run()
    assert h.admin.list("services", "default")["items"] == []
    assert h.cloud.load_balancers == {}
    assert ("DeletedLoadBalancer", "Deleted load balancer") in h.reasons()
    # the address is free again
    h.svc("next")
    h.run()
    assert h.get("next")["status"]["loadBalancer"]["ingress"][0]["ip"] == "203.0.113.1"


def test_type_change_deletes_load_balancer():
    h = Harness()
    h.svc()
    h.run()
    s = h.get()
    s["spec"]["type"] = "ClusterIP"
    for p in s["spec"]["ports"]:
        p.pop("nodePort", None)
    s["spec"].pop("externalTrafficPolicy", None)
    s["spec"].pop("allocateLoadBalancerNodePorts", None)
    h.admin.update(s)
    h.run()
    s = h.get()
    assert not s["status"]["loadBalancer"]
    assert "finalizers" not in s["metadata"]
    assert h.cloud.load_balancers == {}
    assert ("Type", "LoadBalancer -> ClusterIP") in h.reasons()


def test_cluster_ip_services_are_left_alone():
    h = Harness()
    h.svc("plain", "ClusterIP")
    h.run()
    assert "finalizers" not in h.get("plain")["metadata"]
    assert h.cloud.load_balancers == {}


def test_cloud_node_initialisation():
    h = Harness()
    h.admin.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-1"},
                    "spec": {"taints": [{"key": UNINITIALIZED_TAINT, "value": "true", "effect": "NoSchedule"},
                                        {"key": "dedicated", "value": "x", "effect": "NoSchedule"}]}})
    h.run()
    node = h.admin.get("nodes", "worker-1")
    assert node["spec"]["providerID"] == "fake://worker-1"
    assert [t["key"] for t in node["spec"]["taints"]] == ["dedicated"]
