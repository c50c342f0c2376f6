"""Service allocation: the API server hands out cluster IPs and node ports.

A Service's ``spec.clusterIP`` is not chosen by a controller: kube-apiserver's
service registry allocates it while it stores the Service, from the service
CIDR (``--service-cluster-ip-range``, kubeadm's default ``10.96.0.0/12``), and
``nodePort`` values from ``--service-node-port-range`` (``30000-32767``). Here
that step is an admission-style plugin that runs before validation, as the
registry's ``BeginCreate`` / ``BeginUpdate`` do.

How v1.30 allocates (``pkg/registry/core/service/ipallocator`` and
``portallocator``, bitmaps with a *random scan strategy with offset*, KEP-3070):

- the range is split in two bands; the low band (``min(max(16, size/16), 256)``
  addresses: ``10.96.0.1`` … ``10.96.1.0``) is kept for addresses people ask for
  by hand — ``10.96.0.1`` for ``kubernetes``, ``10.96.0.10`` for ``kube-dns`` —
  so a dynamically chosen IP is a random free one from the upper band;
- node ports likewise: ``min(max(16, size/32), 128)`` = 86 ports
  (30000–30085) are kept back, a dynamic port is random from 30086–32767;
- a requested value is honoured if it is in range and free, otherwise the
  create fails with the registry's 422 ``Invalid`` error.

What a Service gets: ``clusterIP`` / ``clusterIPs``, ``ipFamilies: [IPv4]``,
``ipFamilyPolicy: SingleStack`` (a headless Service without selector gets
``RequireDualStack`` and ``[IPv4, IPv6]``, as on a real single-stack cluster),
``nodePort`` for ``NodePort`` / ``LoadBalancer`` ports and a
``healthCheckNodePort`` for a ``LoadBalancer`` with ``externalTrafficPolicy: Local``.

The allocator's bookkeeping follows what is *stored*: it watches the API
server's own storage of Services, so an allocation is kept only if the write
succeeds and is freed when the Service is finally deleted (the real registry
does the same with transactions and its repair loop). k8slab simplifies: one
IPv4 range only (no dual-stack, no ServiceCIDR objects).

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
>>> alloc = register(api)
>>> kubectl = api.client("kubectl")
>>> _ = kubectl.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
>>> svc = kubectl.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dns"},
...                      "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 53}]}})
>>> svc["spec"]["clusterIPs"], svc["spec"]["ipFamilies"]
(['10.96.0.10'], ['IPv4'])
>>> alloc.is_allocated("10.96.0.10")
True
"""

from __future__ import annotations

import ipaddress

from k8slab.api import errors
from k8slab.api.field_errors import invalid
from k8slab.apiserver.admission import AdmissionPlugin

#: kubeadm's default ``--service-cluster-ip-range``.
SERVICE_CIDR = "10.96.0.0/12"
#: kube-apiserver's default ``--service-node-port-range``.
NODE_PORT_RANGE = (30000, 32767)
#: The address of the ``kubernetes`` Service (the first of the range).
KUBERNETES_SERVICE_IP = "10.96.0.1"
#: The address kubeadm gives ``kube-dns`` (the tenth of the range).
DNS_SERVICE_IP = "10.96.0.10"

_NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


def ip_range_offset(size: int) -> int:
    """Size of the low band kept for static IPs: ``min(max(16, size/16), 256)`` (0 for tiny ranges)."""
    if size <= 16:
        return 0
    return min(max(16, size // 16), 256)


def port_range_offset(size: int) -> int:
    """Size of the low band kept for static node ports: ``min(max(16, size/32), 128)``."""
    if size <= 16:
        return 0
    return min(max(16, size // 32), 128)


class _Bitmap:
    """Offsets ``0..max-1`` of a range, allocated with v1.30's random scan strategy with offset."""

    def __init__(self, size: int, offset: int, rng):
        self.size = size
        self.offset = offset
        self.rng = rng

    def next_free(self, taken) -> int | None:
        # Upper band first, starting at a random point and wrapping; then the low band.
        upper = self.size - self.offset
        if upper > 0:
            start = self.rng.randrange(upper)
            for i in range(upper):
                at = self.offset + (start + i) % upper
                if not taken(at):
                    return at
        if self.offset > 0:
            start = self.rng.randrange(self.offset)
            for i in range(self.offset):
                at = (start + i) % self.offset
                if not taken(at):
                    return at
        return None


def _needs_cluster_ip(spec: dict) -> bool:
    return spec.get("type", "ClusterIP") != "ExternalName"


def _is_headless(spec: dict) -> bool:
    ips = spec.get("clusterIPs") or []
    return spec.get("clusterIP") == "None" or (bool(ips) and ips[0] == "None")


def _needs_health_check(spec: dict) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _node_ports(obj: dict | None) -> set[int]:
    if not obj:
        return set()
    spec = obj.get("spec") or {}
    out = {p["nodePort"] for p in spec.get("ports") or () if isinstance(p, dict) and isinstance(p.get("nodePort"), int)
           and p["nodePort"]}
    if isinstance(spec.get("healthCheckNodePort"), int) and spec["healthCheckNodePort"]:
        out.add(spec["healthCheckNodePort"])
    return out


def _cluster_ips(obj: dict | None) -> set[str]:
    if not obj:
        return set()
    spec = obj.get("spec") or {}
    ips = list(spec.get("clusterIPs") or ())
    if spec.get("clusterIP") and spec["clusterIP"] not in ips:
        ips.append(spec["clusterIP"])
    return {ip for ip in ips if isinstance(ip, str) and ip and ip != "None"}


def _key(obj: dict) -> str:
    m = obj["metadata"]
    return f"{m.get('namespace')}/{m.get('name')}"


class ServiceAllocator(AdmissionPlugin):
    """Allocates cluster IPs and node ports of Services (see module docstring).

    Parameters
    ----------
    rng : random.Random
        The stream dynamic allocations draw from (``server.rng.stream("service-ips")``).
    cidr : str
        The service CIDR.
    node_port_range : tuple of int
        First and last node port.

    Example
    -------
    >>> import random
    >>> a = ServiceAllocator(random.Random(0))
    >>> a.valid_range, a.valid_ports
    ('10.96.0.0/12', '30000-32767')
    """

    name = "ServiceAllocation"

    def __init__(self, rng, cidr: str = SERVICE_CIDR, node_port_range: tuple[int, int] = NODE_PORT_RANGE,
                 port_rng=None):
        self.net = ipaddress.IPv4Network(cidr)
        self.valid_range = str(self.net)
        # usable addresses: not the network address, not the broadcast address
        self._base = int(self.net.network_address) + 1
        self._max = max(0, self.net.num_addresses - 2)
        self.port_low, self.port_high = node_port_range
        self.valid_ports = f"{self.port_low}-{self.port_high}"
        self._ip_bitmap = _Bitmap(self._max, ip_range_offset(self.net.num_addresses), rng)
        nports = self.port_high - self.port_low + 1
        self._port_bitmap = _Bitmap(nports, port_range_offset(nports), port_rng or rng)
        # committed: what stored Services hold (ip -> owner key, port -> owner key)
        self.ips: dict[str, str] = {}
        self.ports: dict[int, str] = {}
        # pending: what the request being admitted took; dropped if it was never stored
        self._pending_ips: dict[str, str] = {}
        self._pending_ports: dict[int, str] = {}
        self._by_owner: dict[str, tuple[set[str], set[int]]] = {}
        self._request_ports: set[int] = set()

    def __repr__(self) -> str:
        return f"ServiceAllocator({self.valid_range}: {len(self.ips)} IPs, {len(self.ports)} node ports)"

    # -- queries -------------------------------------------------------------------
    def is_allocated(self, ip: str) -> bool:
        return ip in self.ips or ip in self._pending_ips

    def is_port_allocated(self, port: int) -> bool:
        return port in self.ports or port in self._pending_ports

    def _ip_owner(self, ip: str) -> str | None:
        return self.ips.get(ip) or self._pending_ips.get(ip)

    def _port_owner(self, port: int) -> str | None:
        return self.ports.get(port) or self._pending_ports.get(port)

    # -- admission -----------------------------------------------------------------
    def admit(self, server, req, kind, user, obj, old):
        if kind.kind != "Service" or req.subresource:
            return
        # Requests are served one at a time: whatever the previous request reserved and
        # did not store (it failed validation, or was a dry run) is free again.
        self._pending_ips.clear()
        self._pending_ports.clear()
        self._request_ports = set()
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        owner = _key(obj)
        old_spec = (old or {}).get("spec") or {}
        if old is not None:
            _patch_allocated_values(spec, old_spec)
        self._init_ip_families(spec, old_spec if old is not None else None)
        causes: list[dict] = []
        self._alloc_cluster_ips(obj, spec, old_spec if old is not None else None, owner, causes)
        if causes:
            raise errors.Invalid("Service", "", obj["metadata"].get("name", ""), causes)
        self._alloc_node_ports(obj, spec, old_spec if old is not None else None, owner)

    def _init_ip_families(self, spec: dict, old_spec: dict | None) -> None:
        if not _needs_cluster_ip(spec):
            return
        if "ipFamilyPolicy" not in spec:
            if old_spec and old_spec.get("ipFamilyPolicy"):
                spec["ipFamilyPolicy"] = old_spec["ipFamilyPolicy"]
            elif _is_headless(spec) and not spec.get("selector"):
                spec["ipFamilyPolicy"] = "RequireDualStack"
            else:
                spec["ipFamilyPolicy"] = "SingleStack"
        if not spec.get("ipFamilies"):
            families = ["IPv4"]
            if _is_headless(spec) and not spec.get("selector") and spec["ipFamilyPolicy"] != "SingleStack":
                families.append("IPv6")
            spec["ipFamilies"] = families

    def _alloc_cluster_ips(self, obj, spec, old_spec, owner, causes) -> None:
        if not _needs_cluster_ip(spec):
            return
        if _is_headless(spec):
            spec["clusterIP"] = "None"
            spec["clusterIPs"] = ["None"]
            return
        requested = spec.get("clusterIP") or ((spec.get("clusterIPs") or [None])[0])
        if old_spec is not None and _needs_cluster_ip(old_spec) and requested and requested in _cluster_ips(
                {"spec": old_spec}):
            # kept from before (immutability is checked by validation)
            spec["clusterIP"] = requested
            spec.setdefault("clusterIPs", [requested])
            return
        if requested:
            ips = list(spec.get("clusterIPs") or [requested])
            try:
                addr = ipaddress.IPv4Address(requested)
            except ValueError:
                return  # not an IP: validation reports it
            index = int(addr) - self._base
            if addr not in self.net or not 0 <= index < self._max:
                err = (f"the provided IP ({requested}) is not in the valid range. The range of valid IPs is "
                       f"{self.valid_range}")
                causes.append(invalid("spec.clusterIPs", ips, f"failed to allocate IP {requested}: {err}"))
                return
            holder = self._ip_owner(requested)
            if holder is not None and holder != owner:
                causes.append(invalid("spec.clusterIPs", ips,
                                      f"failed to allocate IP {requested}: provided IP is already allocated"))
                return
            ip = requested
        else:
            at = self._ip_bitmap.next_free(lambda i: self.is_allocated(str(ipaddress.IPv4Address(self._base + i))))
            if at is None:
                raise errors.InternalError("failed to allocate a serviceIP: range is full")
            ip = str(ipaddress.IPv4Address(self._base + at))
        self._pending_ips[ip] = owner
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]

    def _take_port(self, obj, owner: str, i: int | None, port: int, field: str | None = None) -> None:
        if not self.port_low <= port <= self.port_high:
            msg = f"provided port is not in the valid range. The range of valid ports is {self.valid_ports}"
        else:
            holder = self._port_owner(port)
            if port not in self._request_ports and (holder is None or holder == owner):
                self._pending_ports[port] = owner
                self._request_ports.add(port)
                return
            msg = "provided port is already allocated"
        if field is None:
            raise errors.InternalError(f"failed to allocate requested HealthCheck NodePort {port}: {msg}")
        raise errors.Invalid("Service", "", obj["metadata"].get("name", ""), [invalid(field, port, msg)])

    def _next_port(self) -> int:
        at = self._port_bitmap.next_free(lambda i: self.is_port_allocated(self.port_low + i))
        if at is None:
            raise errors.InternalError("failed to allocate a nodePort: range is full")
        port = self.port_low + at
        return port

    def _alloc_node_ports(self, obj, spec, old_spec, owner) -> None:
        stype = spec.get("type", "ClusterIP")
        ports = [p for p in spec.get("ports") or () if isinstance(p, dict)]
        if stype in _NODE_PORT_TYPES:
            allocate_new = stype == "NodePort" or spec.get("allocateLoadBalancerNodePorts", True) is not False
            by_port: dict = {}
            for i, p in enumerate(ports):
                np = p.get("nodePort")
                if not isinstance(np, int) or isinstance(np, bool):
                    np = 0
                if not np and not allocate_new:
                    continue  # don't allocate, but respect a request
                number = p.get("port")
                shared = by_port.get(number)
                if shared is None:
                    # ports of one number (TCP and UDP 53) share a node port; a requested one wins
                    wanted = np or next((q.get("nodePort") for q in ports if q.get("port") == number
                                         and isinstance(q.get("nodePort"), int) and q.get("nodePort")), 0)
                    if wanted:
                        self._take_port(obj, owner, i, wanted, f"spec.ports[{i}].nodePort")
                    else:
                        wanted = self._next_port()
                        self._pending_ports[wanted] = owner
                        self._request_ports.add(wanted)
                    p["nodePort"] = wanted
                    by_port[number] = wanted
                elif np != shared:
                    if not np:
                        p["nodePort"] = shared
                    else:
                        self._take_port(obj, owner, i, np, f"spec.ports[{i}].nodePort")
        if _needs_health_check(spec):
            hc = spec.get("healthCheckNodePort")
            if isinstance(hc, int) and hc:
                self._take_port(obj, owner, None, hc)
            else:
                hc = self._next_port()
                self._pending_ports[hc] = owner
                self._request_ports.add(hc)
                spec["healthCheckNodePort"] = hc

    # -- bookkeeping from storage ----------------------------------------------------
    def observe(self, obj: dict | None, old: dict | None = None) -> None:
        """Record that ``obj`` is now stored (``None``: ``old`` was deleted)."""
        ref = obj if obj is not None else old
        if ref is None:
            return
        owner = _key(ref)
        ips, ports = _cluster_ips(obj), _node_ports(obj)
        prev_ips, prev_ports = self._by_owner.get(owner, (set(), set()))
        for ip in prev_ips - ips:
            if self.ips.get(ip) == owner:
                del self.ips[ip]
        for port in prev_ports - ports:
            if self.ports.get(port) == owner:
                del self.ports[port]
        for ip in ips:
            self.ips[ip] = owner
            if self._pending_ips.get(ip) == owner:
                del self._pending_ips[ip]
        for port in ports:
            self.ports[port] = owner
            if self._pending_ports.get(port) == owner:
                del self._pending_ports[port]
        if ips or ports:
            self._by_owner[owner] = (ips, ports)
        else:
            self._by_owner.pop(owner, None)

    def release(self, obj: dict) -> None:
        """Free what the Service ``obj`` holds (called when it is deleted)."""
        owner = _key(obj)
        if owner not in self._by_owner:
            return
        self.observe(None, obj)

    def admit_delete(self, server, req, kind, user, obj):
        # Nothing to check: the allocation is released when the Service leaves storage.
        return None

    def _on_store(self, ev) -> None:
        if ev.type == "DELETE":
            self.release(ev.prev.value if ev.prev is not None else ev.kv.value)
        else:
            self.observe(ev.kv.value, ev.prev.value if ev.prev is not None else None)


def _patch_allocated_values(spec: dict, old_spec: dict) -> None:
    # An update (kubectl apply, replace) that leaves allocated fields out keeps the old values
    # (the registry's patchAllocatedValues).
    if _needs_cluster_ip(old_spec) and _needs_cluster_ip(spec):
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        if not spec.get("clusterIPs") and old_spec.get("clusterIPs"):
            spec["clusterIPs"] = list(old_spec["clusterIPs"])
        if "ipFamilies" not in spec and old_spec.get("ipFamilies"):
            spec["ipFamilies"] = list(old_spec["ipFamilies"])
    if old_spec.get("type") in _NODE_PORT_TYPES and spec.get("type") in _NODE_PORT_TYPES:
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                     for p in old_spec.get("ports") or () if isinstance(p, dict)}
        for p in spec.get("ports") or ():
            if isinstance(p, dict) and not p.get("nodePort"):
                np = old_ports.get((p.get("port"), p.get("protocol", "TCP")))
                if np:
                    p["nodePort"] = np
    if _needs_health_check(old_spec) and _needs_health_check(spec) and not spec.get("healthCheckNodePort"):
        if old_spec.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]


def register(server) -> ServiceAllocator:
    """Install the allocator in ``server``: as a mutating admission step and on its Service storage.

    Existing Services are taken into account first (the registry's repair loop).
    """
    kind = server.kinds.resolve("services")
    alloc = ServiceAllocator(server.rng.stream("service-ips"), port_rng=server.rng.stream("service-node-ports"))
    for svc in server.list_objects(kind):
        alloc.observe(svc)
    server.mutating.append(alloc)
    server.etcd.watch(kind.etcd_prefix, alloc._on_store)
    return alloc
