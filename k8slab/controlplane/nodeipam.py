"""The node IPAM controller: gives each new Node its slice of the pod network (``spec.podCIDR``).

kube-controller-manager's range allocator (``--allocate-node-cidrs``): the
cluster CIDR (``10.244.0.0/16`` in kind and kubeadm's usual setup) is cut into
``/24`` blocks; each Node, in the order they appear, gets the next free one —
``10.244.0.0/24`` for the control plane, ``10.244.1.0/24`` for the first worker
... — written to ``spec.podCIDR`` and ``spec.podCIDRs``. A deleted Node's block
is freed. The kubelet waits for its block before starting pods that need a pod IP.
When no block is left the Node gets none and an event says ``CIDRNotAvailable``.

A ControllerManager may set ``cluster_cidr`` / ``node_cidr_mask_size`` attributes
(``--cluster-cidr``, ``--node-cidr-mask-size``) before starting: a /16 holds 256 nodes.

Example
-------
>>> s = CIDRSet("10.244.0.0/16", 24)
>>> s.allocate(), s.allocate(), s.capacity
('10.244.0.0/24', '10.244.1.0/24', 256)
"""

from __future__ import annotations

import ipaddress

from k8slab.api import errors
from k8slab.apiserver.events import EventRecorder
from k8slab.controlplane.controller import Controller

CLUSTER_CIDR = "10.244.0.0/16"
NODE_CIDR_MASK_SIZE = 24


class CIDRSet:
    """The blocks of a cluster CIDR: allocate the next free one (round robin), occupy, release."""

    def __init__(self, cluster_cidr: str, mask: int):
        self.network = ipaddress.ip_network(cluster_cidr, strict=False)
        if mask < self.network.prefixlen:
            raise ValueError(f"node CIDR mask /{mask} is larger than the cluster CIDR {cluster_cidr}")
        self.mask = mask
        self.capacity = 2 ** (mask - self.network.prefixlen)
        self._step = 2 ** (self.network.max_prefixlen - mask)
        self._used: set[int] = set()
        self._next = 0

    def _cidr(self, index: int) -> str:
        base = int(self.network.network_address) + index * self._step
        return f"{ipaddress.ip_address(base)}/{self.mask}"

    def _index(self, cidr: str) -> int | None:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        if net.prefixlen != self.mask or not net.subnet_of(self.network):
            return None
        return (int(net.network_address) - int(self.network.network_address)) // self._step

    def allocate(self) -> str | None:
        for k in range(self.capacity):
            idx = (self._next + k) % self.capacity
            if idx not in self._used:
                self._used.add(idx)
                self._next = (idx + 1) % self.capacity
                return self._cidr(idx)
        return None

    def occupy(self, cidr: str) -> None:
        idx = self._index(cidr)
        if idx is not None:
            self._used.add(idx)

    def release(self, cidr: str) -> None:
        idx = self._index(cidr)
        if idx is not None:
            self._used.discard(idx)

    def __len__(self) -> int:
        return len(self._used)


class NodeIpamController(Controller):
    """Allocates ``spec.podCIDR`` to Nodes (see module docstring)."""

    name = "node-ipam-controller"

    def __init__(self, manager):
        super().__init__(manager)
        self.cluster_cidr = getattr(manager, "cluster_cidr", CLUSTER_CIDR)
        self.mask = getattr(manager, "node_cidr_mask_size", NODE_CIDR_MASK_SIZE)
        self.cidrs = CIDRSet(self.cluster_cidr, self.mask)
        # the range allocator records its events as "cidrAllocator"
        self.recorder = EventRecorder(self.client, "cidrAllocator", enabled=manager.events_enabled)
        # Event names are <object>.<nanoseconds + recorder sequence>: two recorders writing about one
        # object at the same instant would pick the same name; start this one's sequence elsewhere.
        self.assigned: dict[str, str] = {}  # node -> CIDR we patched in (before our informer shows it)

    def setup(self) -> None:
        self.nodes = self.informers.informer("nodes")
        self.nodes.add_event_handler(on_add=self._node_added, on_update=lambda old, new: self._node_added(new),
                                     on_delete=self._node_deleted)

    def _node_added(self, node: dict) -> None:
        name = node["metadata"]["name"]
        cidr = (node.get("spec") or {}).get("podCIDR")
        if cidr:
            if self.assigned.get(name) != cidr:
                self.cidrs.occupy(cidr)
                self.assigned[name] = cidr
            return
        self.queue.add(name)

    def _node_deleted(self, node: dict) -> None:
        name = node["metadata"]["name"]
        cidr = self.assigned.pop(name, None) or (node.get("spec") or {}).get("podCIDR")
        if cidr:
            self.cidrs.release(cidr)

    def sync(self, key: str) -> None:
        node = self.nodes.lister.get(key)
        if node is None or (node.get("spec") or {}).get("podCIDR"):
            return
        cidr = self.assigned.get(key)
        if cidr is None:
            cidr = self.cidrs.allocate()
            if cidr is None:
                ref = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": key, "uid": node["metadata"]["uid"]}}
                self.recorder.event(ref, "Normal", "CIDRNotAvailable", f"Node {key} status is now: CIDRNotAvailable")
                return
            self.assigned[key] = cidr
        try:
            self.client.patch("nodes", key, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}})
        except errors.NotFound:
            self.cidrs.release(cidr)
            self.assigned.pop(key, None)
