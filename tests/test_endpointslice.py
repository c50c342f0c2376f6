"""The EndpointSlice and Endpoints controllers on their own; the test plays kubelet."""

from k8slab.apiserver import APIServer
from k8slab.apiserver.services import register
from k8slab.controlplane.endpointslice import (
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    MAX_ENDPOINTS_PER_SLICE,
    EndpointsController,
    EndpointSliceController,
)
from k8slab.controlplane.manager import ControllerManager
from k8slab.etcd import Etcd
from k8slab.sim import EventLoop, Randomness, Trace


class Harness:
    def __init__(self, controllers=(EndpointSliceController, EndpointsController), seed=0):
        self.loop = EventLoop()
        self.rng = Randomness(seed)
        self.api = APIServer(Etcd(), self.loop, Trace(), self.rng)
        register(self.api)
        self.admin = self.api.client("kubectl")
        self.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
        self.cm = ControllerManager(self.api, self.loop, self.rng, list(controllers))
        self.cm.start()

    def run(self, max_events=50_000):
        for _ in range(max_events):
            if self.loop.settled() or self.loop.step() is None:
                return self
        raise AssertionError("not settled")

    def pod(self, name, ip=None, ready=True, labels=None, node="worker-1", ports=None, **spec):
        body = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "default", "labels": labels or {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx",
                                         "ports": ports or [{"name": "http", "containerPort": 8080}]}], **spec}}
        p = self.admin.create(body)
        if node:
            self.admin.bind(p, node)
        if ip:
            self.set_status(name, ip, ready)
        return p

    def set_status(self, name, ip, ready=True):
        p = self.admin.get("pods", name, "default")
        p["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
        self.admin.update_status(p)

    def service(self, name="web", **spec):
        spec.setdefault("selector", {"app": "web"})
        spec.setdefault("ports", [{"name": "http", "port": 80, "targetPort": "http"}])
        return self.admin.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})

    def slices(self, svc="web"):
        return self.admin.list("endpointslices", "default", label_selector=f"{LABEL_SERVICE_NAME}={svc}")["items"]

    def endpoints(self, svc="web"):
        return self.admin.get("endpoints", svc, "default")


def _eps(slices):
    return sorted((ep for s in slices for ep in s.get("endpoints") or ()), key=lambda e: e["targetRef"]["name"])


def test_slice_for_ready_pods():
    h = Harness()
    svc = h.service()
    h.pod("web-1", "10.244.1.5")
    h.pod("web-2", "10.244.2.7", ready=False)
    h.pod("web-3")  # no IP yet: not an endpoint
    h.pod("other", "10.244.1.9", labels={"app": "other"})
    h.run()
    [s] = h.slices()
    m = s["metadata"]
    assert m["name"].startswith("web-") and len(m["name"]) == len("web-") + 5
    assert m["labels"] == {LABEL_SERVICE_NAME: "web", LABEL_MANAGED_BY: "endpointslice-controller.k8s.io"}
    assert m["ownerReferences"][0]["kind"] == "Service" and m["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
    assert s["addressType"] == "IPv4"
    assert s["ports"] == [{"name": "http", "protocol": "TCP", "port": 8080}]
    e1, e2 = _eps([s])
    assert e1["addresses"] == ["10.244.1.5"]
    assert e1["conditions"] == {"ready": True, "serving": True, "terminating": False}
    assert e2["conditions"] == {"ready": False, "serving": False, "terminating": False}
    assert e1["nodeName"] == "worker-1"
    assert e1["targetRef"]["kind"] == "Pod" and e1["targetRef"]["name"] == "web-1"
    ep = h.endpoints()
    assert ep["subsets"] == [{
        "addresses": [{"ip": "10.244.1.5", "nodeName": "worker-1",
                       "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "default",
                                     "uid": ep["subsets"][0]["addresses"][0]["targetRef"]["uid"]}}],
        "notReadyAddresses": [{"ip": "10.244.2.7", "nodeName": "worker-1",
                               "targetRef": {"kind": "Pod", "name": "web-2", "namespace": "default",
                                             "uid": ep["subsets"][0]["notReadyAddresses"][0]["targetRef"]["uid"]}}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }]
    assert ep["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}


def test_pod_changes_follow():
    h = Harness()
    h.service()
    h.pod("web-1", "10.244.1.5", ready=False)
    h.run()
    assert [e["conditions"]["ready"] for e in _eps(h.slices())] == [False]
    h.set_status("web-1", "10.244.1.5", ready=True)
    h.run()
    assert [e["conditions"]["ready"] for e in _eps(h.slices())] == [True]
    # relabel out of the selector: gone from both
    p = h.admin.get("pods", "web-1", "default")
    p["metadata"]["labels"] = {"app": "nope"}
    h.admin.update(p)
    h.run()
    [s] = h.slices()
    assert not s.get("endpoints") and not s.get("ports")  # the placeholder slice
    assert "subsets" not in h.endpoints()


def test_terminating_pod_is_serving_not_ready():
    h = Harness()
    h.service()
    h.pod("web-1", "10.244.1.5")
    h.run()
    h.admin.delete("pods", "web-1", "default")  # graceful: deletionTimestamp set
    h.run()
    [e] = _eps(h.slices())
    assert e["conditions"] == {"ready": False, "serving": True, "terminating": True}
    assert "subsets" not in h.endpoints()  # Endpoints drop terminating pods


def test_publish_not_ready_addresses():
    h = Harness()
    h.service(publishNotReadyAddresses=True)
    h.pod("web-1", "10.244.1.5", ready=False)
    h.run()
    [e] = _eps(h.slices())
    assert e["conditions"]["ready"] is True and e["conditions"]["serving"] is False
    assert [a["ip"] for a in h.endpoints()["subsets"][0]["addresses"]] == ["10.244.1.5"]


def test_named_target_port_resolved_per_pod():
    h = Harness()
    h.service()
    h.pod("web-1", "10.244.1.5", ports=[{"name": "http", "containerPort": 8080}])
    h.pod("web-2", "10.244.1.6", ports=[{"name": "http", "containerPort": 9090}])
    h.run()
    by_port = {s["ports"][0]["port"]: [e["targetRef"]["name"] for e in s["endpoints"]] for s in h.slices()}
    assert by_port == {8080: ["web-1"], 9090: ["web-2"]}
    subsets = h.endpoints()["subsets"]
    assert len(subsets) == 2


def test_hostname_and_zone():
    h = Harness()
    h.admin.create({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": "worker-1", "labels": {"topology.kubernetes.io/zone": "zone-a"}}})
    h.service("nginx", clusterIP="None")
    h.pod("web-0", "10.244.1.5", hostname="web-0", subdomain="nginx")
    h.run()
    [e] = _eps(h.slices("nginx"))
    assert e["hostname"] == "web-0" and e["zone"] == "zone-a"
    assert h.slices("nginx")[0]["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    assert h.endpoints("nginx")["subsets"][0]["addresses"][0]["hostname"] == "web-0"


def test_at_most_100_endpoints_per_slice():
    h = Harness()
    h.service()
    for i in range(MAX_ENDPOINTS_PER_SLICE + 30):
        h.pod(f"web-{i:03d}", f"10.244.{1 + i // 200}.{1 + i % 200}")
    h.run()
    sizes = sorted(len(s["endpoints"]) for s in h.slices())
    assert sizes == [30, 100]
    assert len({e["targetRef"]["name"] for e in _eps(h.slices())}) == 130


def test_service_deleted_removes_endpoints_and_no_rescans():
    h = Harness()
    h.service()
    h.pod("web-1", "10.244.1.5")
    h.run()
    ctrl = h.cm.controllers["endpointslice-controller"]
    assert ctrl.pods_of(h.admin.get("services", "web", "default"))[0]["metadata"]["name"] == "web-1"
    h.admin.delete("services", "web", "default")
    h.run()
    assert not h.admin.list("endpoints", "default")["items"]
    assert not h.cm.failures


def test_deterministic():
    names = []
    for _ in range(2):
        h = Harness(seed=3)
        h.service()
        h.pod("web-1", "10.244.1.5")
        h.run()
        names.append([s["metadata"]["name"] for s in h.slices()])
    assert names[0] == names[1]
