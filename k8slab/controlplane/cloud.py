"""The cloud controller manager: what a cloud does for a cluster, with a fake cloud behind it.

On a real cloud, ``cloud-controller-manager`` runs the loops that need the
cloud's API: ``service-lb-controller`` gives each ``type: LoadBalancer`` Service
a load balancer and writes its address to ``status.loadBalancer.ingress`` (until
then ``kubectl get svc`` shows ``EXTERNAL-IP <pending>``), and
``cloud-node-controller`` initialises new nodes (``spec.providerID``, removing the
``node.cloudprovider.kubernetes.io/uninitialized`` taint the kubelet sets when
started with ``--cloud-provider=external``).

The provider is pluggable (:class:`CloudProvider`); k8slab ships :class:`FakeCloud`,
a fake provider — nothing leaves the simulation: its load balancers are addresses
from ``203.0.113.0/24`` (TEST-NET-3, reserved for documentation) that take a few
virtual seconds to provision.

As in the real service controller, a LoadBalancer Service first gets the
finalizer ``service.kubernetes.io/load-balancer-cleanup``, so that deleting the
Service waits until its load balancer is gone. Events: ``EnsuringLoadBalancer``
("Ensuring load balancer"), ``EnsuredLoadBalancer`` ("Ensured load balancer"),
``DeletingLoadBalancer`` / ``DeletedLoadBalancer``, and ``Type`` ("ClusterIP ->
LoadBalancer") when a Service changes type. k8slab simplifies: no node-set
updates of load balancers, no routes controller.

Example
-------
>>> cloud = FakeCloud(provisioning_delay=2.0)
>>> svc = {"metadata": {"name": "web", "namespace": "default", "uid": "0b2e6c4e-8d1c-4f6a-9a0e-3f5e1c2d7b9a"}}
>>> name = cloud.load_balancer_name(svc)
>>> name
'a0b2e6c4e8d1c4f6a9a0e3f5e1c2d7b9'
>>> cloud.ensure_load_balancer(name, svc, now=10.0)
12.0
>>> cloud.load_balancer_status(name, now=11.0) is None
True
>>> cloud.load_balancer_status(name, now=12.0)
{'ingress': [{'ip': '203.0.113.1', 'ipMode': 'VIP'}]}
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from k8slab.api import errors
from k8slab.api.objects import clone
from k8slab.controlplane.controller import Controller
from k8slab.controlplane.manager import ControllerManager

#: The finalizer that keeps a LoadBalancer Service until its load balancer is deleted.
LB_CLEANUP_FINALIZER = "service.kubernetes.io/load-balancer-cleanup"
#: The taint a kubelet with ``--cloud-provider=external`` puts on its node until the cloud initialises it.
UNINITIALIZED_TAINT = "node.cloudprovider.kubernetes.io/uninitialized"


class CloudProvider:
    """What the cloud controllers need from a cloud (a small part of ``cloudprovider.Interface``)."""

    name = "cloud"

    def load_balancer_name(self, svc: dict) -> str:
        """``cloudprovider.DefaultLoadBalancerName``: ``"a"`` + the uid without dashes, at most 32 chars."""
        return ("a" + (svc["metadata"].get("uid") or "").replace("-", ""))[:32]

    def ensure_load_balancer(self, name: str, svc: dict, now: float) -> float:
        """Create (or keep) the load balancer; returns the virtual time it is ready."""
        raise NotImplementedError

    def load_balancer_status(self, name: str, now: float) -> dict | None:
        """``status.loadBalancer`` once the load balancer is ready, else ``None``."""
        raise NotImplementedError

    def has_load_balancer(self, name: str) -> bool:
        raise NotImplementedError

    def delete_load_balancer(self, name: str) -> None:
        raise NotImplementedError

    def instance_provider_id(self, node_name: str) -> str:
        return f"{self.name}://{node_name}"


@dataclass
class FakeLoadBalancer:
    name: str
    service: str
    ip: str
    ready_at: float


class FakeCloud(CloudProvider):
    """A fake cloud: load balancers are addresses from TEST-NET-3, ready after a delay.

    Parameters
    ----------
    cidr : str
        Where external IPs come from; the lowest free address is handed out (deterministic).
    provisioning_delay : float
        Virtual seconds between asking for a load balancer and getting its address.
    """

    name = "fake"

    def __init__(self, cidr: str = "203.0.113.0/24", provisioning_delay: float = 3.0):
        self.net = ipaddress.IPv4Network(cidr)
        self.provisioning_delay = provisioning_delay
        self.load_balancers: dict[str, FakeLoadBalancer] = {}
        self._used: set[str] = set()

    def __repr__(self) -> str:
        return f"FakeCloud({len(self.load_balancers)} load balancers)"

    def _next_ip(self) -> str:
        for addr in self.net.hosts():
            ip = str(addr)
            if ip not in self._used:
                return ip
        raise RuntimeError(f"no free external IP left in {self.net}")

    def ensure_load_balancer(self, name: str, svc: dict, now: float) -> float:
        lb = self.load_balancers.get(name)
        if lb is None:
            m = svc["metadata"]
            lb = FakeLoadBalancer(name, f"{m.get('namespace')}/{m.get('name')}", self._next_ip(),
                                  now + self.provisioning_delay)
            self._used.add(lb.ip)
            self.load_balancers[name] = lb
        return lb.ready_at

    def load_balancer_status(self, name: str, now: float) -> dict | None:
        lb = self.load_balancers.get(name)
        if lb is None or now < lb.ready_at:
            return None
        return {"ingress": [{"ip": lb.ip, "ipMode": "VIP"}]}

    def has_load_balancer(self, name: str) -> bool:
        return name in self.load_balancers

    def delete_load_balancer(self, name: str) -> None:
        lb = self.load_balancers.pop(name, None)
        if lb is not None:
            self._used.discard(lb.ip)


def cloud_of(manager) -> CloudProvider:
    """The manager's cloud provider (a :class:`FakeCloud` unless one was given)."""
    cloud = getattr(manager, "cloud", None)
    if cloud is None:
        cloud = FakeCloud()
        manager.cloud = cloud
    return cloud


class ServiceLBController(Controller):
    """Gives ``type: LoadBalancer`` Services a load balancer from the cloud (see module docstring)."""

    name = "service-lb-controller"

    def setup(self) -> None:
        self.cloud = cloud_of(self.manager)
        self.services = self.informers.informer("services")
        self.services.add_event_handler(on_add=self._enqueue, on_update=self._updated, on_delete=self._enqueue)
        # service key -> name of its load balancer (to clean up after a delete we did not hold up)
        self._lb_of: dict[str, str] = {}

    def _enqueue(self, svc: dict) -> None:
        m = svc["metadata"]
        if svc.get("spec", {}).get("type") == "LoadBalancer" or f"{m.get('namespace')}/{m['name']}" in self._lb_of \
                or LB_CLEANUP_FINALIZER in (m.get("finalizers") or ()):
            self.queue.add(f"{m.get('namespace')}/{m['name']}")

    def _updated(self, old: dict, new: dict) -> None:
        old_type, new_type = (old.get("spec") or {}).get("type"), (new.get("spec") or {}).get("type")
        if old_type != new_type and "LoadBalancer" in (old_type, new_type):
            self.recorder.event(new, "Normal", "Type", f"{old_type} -> {new_type}")
        self._enqueue(new)

    def sync(self, key: str) -> None:
        ns, name = key.split("/", 1)
        svc = self.services.lister.get(name, ns)
        if svc is None:
            lb = self._lb_of.pop(key, None)
            if lb is not None and self.cloud.has_load_balancer(lb):
                self.cloud.delete_load_balancer(lb)
            return
        lb_name = self.cloud.load_balancer_name(svc)
        wants = (svc.get("spec") or {}).get("type") == "LoadBalancer" and not svc["metadata"].get("deletionTimestamp")
        if not wants:
            self._cleanup(key, svc, lb_name)
            return
        if LB_CLEANUP_FINALIZER not in (svc["metadata"].get("finalizers") or ()):
            new = clone(svc)
            new["metadata"]["finalizers"] = list(new["metadata"].get("finalizers") or ()) + [LB_CLEANUP_FINALIZER]
            svc = self.client.update(new)
        if not self.cloud.has_load_balancer(lb_name):
            self.recorder.event(svc, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer")
        ready_at = self.cloud.ensure_load_balancer(lb_name, svc, self.now)
        self._lb_of[key] = lb_name
        status = self.cloud.load_balancer_status(lb_name, self.now)
        if status is None:
            # provisioning: come back when the cloud says it is done
            self.queue.add_after(key, max(ready_at - self.now, 0.001))
            return
        current = (svc.get("status") or {}).get("loadBalancer") or {}
        if current != status:
            new = clone(svc)
            new.setdefault("status", {})["loadBalancer"] = status
            self.client.update_status(new)
            self.recorder.event(svc, "Normal", "EnsuredLoadBalancer", "Ensured load balancer")

    def _cleanup(self, key: str, svc: dict, lb_name: str) -> None:
        if self.cloud.has_load_balancer(lb_name):
            self.recorder.event(svc, "Normal", "DeletingLoadBalancer", "Deleting load balancer")
            self.cloud.delete_load_balancer(lb_name)
            self.recorder.event(svc, "Normal", "DeletedLoadBalancer", "Deleted load balancer")
        self._lb_of.pop(key, None)
        if (svc.get("status") or {}).get("loadBalancer"):
            new = clone(svc)
            new["status"]["loadBalancer"] = {}
            try:
                svc = self.client.update_status(new)
            except errors.NotFound:
                return
        finalizers = svc["metadata"].get("finalizers") or []
        if LB_CLEANUP_FINALIZER in finalizers:
            new = clone(svc)
            new["metadata"]["finalizers"] = [f for f in finalizers if f != LB_CLEANUP_FINALIZER]
            if not new["metadata"]["finalizers"]:
                del new["metadata"]["finalizers"]
            try:
                self.client.update(new)
            except errors.NotFound:
                pass


class CloudNodeController(Controller):
    """Initialises nodes from the cloud: ``spec.providerID`` and away with the uninitialized taint."""

    name = "cloud-node-controller"

    def setup(self) -> None:
        self.cloud = cloud_of(self.manager)
        self.nodes = self.informers.informer("nodes")
        self.nodes.add_event_handler(on_add=self._enqueue, on_update=lambda old, new: self._enqueue(new))

    def _enqueue(self, node: dict) -> None:
        if self._needs_init(node):
            self.queue.add(node["metadata"]["name"])

    def _needs_init(self, node: dict) -> bool:
        spec = node.get("spec") or {}
        return not spec.get("providerID") or any(t.get("key") == UNINITIALIZED_TAINT for t in spec.get("taints") or ())

    def sync(self, key: str) -> None:
        node = self.nodes.lister.get(key)
        if node is None or not self._needs_init(node):
            return
        new = clone(node)
        spec = new.setdefault("spec", {})
        spec.setdefault("providerID", self.cloud.instance_provider_id(key))
        taints = [t for t in spec.get("taints") or () if t.get("key") != UNINITIALIZED_TAINT]
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)
        self.client.update(new)


class CloudControllerManager(ControllerManager):
    """``cloud-controller-manager``: the cloud loops in a process of their own, with a provider."""

    name = "cloud-controller-manager"

    def __init__(self, api, loop, rng, controllers=None, *, cloud: CloudProvider | None = None, events: bool = True):
        super().__init__(api, loop, rng, controllers if controllers is not None else CLOUD_CONTROLLERS, events=events)
        self.cloud = cloud or FakeCloud()


CLOUD_CONTROLLERS = [CloudNodeController, ServiceLBController]
