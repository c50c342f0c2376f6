"""A small cluster for node tests: API server + controller manager (IPAM, lifecycle) + kubelets.

No scheduler: tests bind pods themselves with ``client.bind``, as the scheduler would.
"""

from __future__ import annotations

from k8slab.apiserver.server import APIServer
from k8slab.controlplane.manager import ControllerManager
from k8slab.controlplane.nodeipam import NodeIpamController
from k8slab.controlplane.nodelifecycle import NodeLifecycleController
from k8slab.etcd import Etcd
from k8slab.node.kubelet import Kubelet
from k8slab.sim import EventLoop, Randomness, Trace

NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


class Harness:
    def __init__(self, workers: int = 2, seed: int = 0, *, ipam: bool = True, static: dict | None = None,
                 runtime: str = "containerd", manager_attrs: dict | None = None, zones: dict | None = None):
        self.loop = EventLoop()
        self.rng = Randomness(seed)
        self.trace = Trace()
        self.api = APIServer(Etcd(), self.loop, self.trace, self.rng)
        self.admin = self.api.client("kubectl")
        for ns in NAMESPACES:
            self.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        controllers = ([NodeIpamController] if ipam else []) + [NodeLifecycleController]
        self.cm = ControllerManager(self.api, self.loop, self.rng, controllers)
        for k, v in (manager_attrs or {}).items():
            setattr(self.cm, k, v)
        self.kubelets: dict[str, Kubelet] = {}
        for i in range(workers):
            name = f"worker-{i + 1}"
            self.add_kubelet(name, static=(static or {}).get(name), runtime=runtime,
                             labels=(zones or {}).get(name))
        self.cm.start()
        self.loop.run_until_settled()

    def add_kubelet(self, name: str, static=None, runtime="containerd", labels=None) -> Kubelet:
        k = Kubelet(self.api, self.loop, self.rng, name, cpu="4", memory="8Gi", pods=110, labels=labels or {},
                    taints=[], internal_ip=f"172.18.0.{len(self.kubelets) + 3}", static_pods=static or [],
                    events=True, runtime=runtime)
        self.kubelets[name] = k
        k.start()
        return k

    @property
    def lifecycle(self) -> NodeLifecycleController:
        return self.cm.controllers["node-lifecycle-controller"]

    # -- pods ---------------------------------------------------------------------------------------
    def pod(self, name: str, containers: list[dict] | None = None, node: str = "worker-1", *, image: str = "nginx:1.27",
            bind: bool = True, **spec) -> dict:
        if containers is None:
            containers = [{"name": "nginx", "image": image}]
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                "spec": {"containers": containers, **spec}}
        created = self.admin.create(body)
        if bind:
            self.admin.bind(created, node)
        return created

    def get(self, name: str) -> dict:
        return self.admin.get("pods", name, "default")

    def status(self, name: str, container: int = 0) -> dict:
        return self.get(name)["status"]["containerStatuses"][container]

    def state(self, name: str) -> str:
        """``Running``, ``CrashLoopBackOff``, ``ContainerCreating`` ... the first container's state as kubectl shows."""
        cs = self.status(name)
        state = cs["state"]
        if "running" in state:
            return "Running"
        if "waiting" in state:
            return state["waiting"]["reason"]
        return state["terminated"]["reason"]

    def events(self, name: str | None = None, kind: str = "Pod") -> list[dict]:
        items = self.admin.list("events", None)["items"]
        out = [e for e in items if e["involvedObject"]["kind"] == kind
               and (name is None or e["involvedObject"]["name"] == name)]
        return sorted(out, key=lambda e: (e["firstTimestamp"], e["metadata"]["name"]))

    def reasons(self, name: str, kind: str = "Pod") -> list[str]:
        return [e["reason"] for e in self.events(name, kind)]

    def requests(self, actor: str | None = None, resource: str | None = None, verb: str | None = None):
        return [e for e in self.trace if e.type == "request" and (actor is None or e.actor == actor)
                and (resource is None or e.resource == resource) and (verb is None or e.verb == verb)]

    def run(self, seconds: float | None = None) -> None:
        if seconds is None:
            self.loop.run_until_settled()
        else:
            self.loop.run_until(self.loop.now + seconds)

    def run_until(self, predicate, limit: float = 3600.0, step: float = 0.5) -> float:
        end = self.loop.now + limit
        while not predicate():
            if self.loop.now >= end:
                raise AssertionError("condition not reached in time")
            self.loop.run_until(self.loop.now + step)
        return self.loop.now


def test_harness_boots_two_ready_nodes_with_pod_cidrs():
    h = Harness(2)
    nodes = {n["metadata"]["name"]: n for n in h.admin.list("nodes")["items"]}
    assert sorted(nodes) == ["worker-1", "worker-2"]
    assert [nodes[n]["spec"]["podCIDR"] for n in sorted(nodes)] == ["10.244.0.0/24", "10.244.1.0/24"]
    assert h.loop.settled()
