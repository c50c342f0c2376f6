"""kube-proxy in iptables mode: it turns Services and EndpointSlices into one node's netfilter rules.

One kube-proxy runs on every node. It watches Services and EndpointSlices (two
informers, through its own client, like any component) and, after a change,
rewrites the node's rules — but not more often than ``minSyncPeriod`` (1 s by
default), so a burst of endpoint changes becomes one ``sync proxy rules`` event
on the loop. Until that event runs, the node keeps its old rules: that is the
window in which a real cluster still sends traffic to a pod that is gone.

What the rules look like (``iptables-save``): ``KUBE-SERVICES`` has one rule per
service port and address (ClusterIP, external IPs, load-balancer IPs) jumping to
``KUBE-SVC-<hash>``; that chain picks an endpoint with ``-m statistic`` rules of
probability 1/n, 1/(n-1), ... and jumps to ``KUBE-SEP-<hash>``, which DNATs to
the pod. NodePorts go through ``KUBE-NODEPORTS`` → ``KUBE-EXT-<hash>`` (mark for
masquerade) → ``KUBE-SVC-<hash>``. A service port with no endpoints gets a
``REJECT`` in the filter table. The code follows ``syncProxyRules`` of
``pkg/proxy/iptables/proxier.go`` (v1.30).

A node's rules are built when someone looks at them (``tables``, ``iptables()``,
``walk()``), from the state of its last sync. Nodes that synced the same objects
write the same rules for them, so the chains of each service port are built once
and shared, read-only, by every node's tables (a table copies a chain before
changing it).

Simplified here: service ports are written in order of their names (Go map
order in the real thing); no conntrack, topology hints, health-check node ports,
nfacct counters or mangle table; one IP family (IPv4).

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> loop = EventLoop(); api = APIServer(Etcd(), loop, Trace(), Randomness(0))
>>> proxy = KubeProxy(api, loop, Randomness(0), "worker-1", "172.18.0.3")
>>> proxy.start(); _ = loop.run_until_settled()
>>> print(proxy.iptables(table="nat").splitlines()[-2])
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
"""

from __future__ import annotations

from k8slab.api.objects import object_key
from k8slab.apiserver.informer import Informer
from k8slab.apiserver.request import UserInfo
from k8slab.network.iptables import (
    DNAT,
    AddrType,
    Comment,
    Conntrack,
    Jump,
    MarkMatch,
    Masquerade,
    PortMatch,
    Recent,
    Reject,
    Rule,
    SetMark,
    Statistic,
    Tables,
    Verdict,
    endpoint_chain_name,
    external_chain_name,
    firewall_chain_name,
    in_cidr,
    merge_chains,
    probability_text,
    service_chain_name,
    service_local_chain_name,
)
from k8slab.network.packet import Packet, Walk

#: ``1 << masqueradeBit`` (14 by default): packets carrying it are SNATed in POSTROUTING.
MASQ_MARK = 0x4000
#: ``sessionAffinityConfig.clientIP.timeoutSeconds`` default (3 hours).
DEFAULT_STICKY_SECONDS = 10800
#: Beyond this many endpoints kube-proxy drops per-endpoint comments ("large cluster mode").
LARGE_CLUSTER_ENDPOINTS = 1000
#: kube-proxy ignores Services (and their slices) asking for another proxy, and headless ones.
PROXY_SELECTOR = "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


class ServicePortInfo:
    """What kube-proxy keeps of one port of a Service (``servicePortInfo``)."""

    __slots__ = ("service", "name", "protocol", "proto", "cluster_ip", "port", "node_port",
                 "external_ips", "lb_ips", "lb_source_ranges", "sticky_seconds", "internal_local",
                 "external_local", "svc_chain", "svl_chain", "ext_chain", "fw_chain", "ident", "port_key",
                 "node_specific", "fragments")

    def __init__(self, svc: dict, port: dict):
        meta, spec = svc["metadata"], svc.get("spec") or {}
        self.service = f"{meta.get('namespace', '')}/{meta['name']}"
        port_name = port.get("name") or ""
        # ServicePortName.String(): "namespace/name:port", or "namespace/name" for an unnamed port
        self.name = f"{self.service}:{port_name}" if port_name else self.service
        self.protocol = port.get("protocol") or "TCP"
        self.proto = self.protocol.lower()
        self.cluster_ip = spec.get("clusterIP")
        self.port = int(port.get("port") or 0)
        self.node_port = int(port.get("nodePort") or 0)
        self.external_ips = tuple(ip for ip in spec.get("externalIPs") or () if ":" not in ip)
        lb_ips: tuple[str, ...] = ()
        ranges: tuple[str, ...] = ()
        stype = spec.get("type") or "ClusterIP"
        if stype == "LoadBalancer":
            ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
            # ipMode Proxy: the load balancer proxies itself, kube-proxy must not capture the VIP
            lb_ips = tuple(i["ip"] for i in ingress if i.get("ip") and i.get("ipMode") != "Proxy")
            ranges = tuple(spec.get("loadBalancerSourceRanges") or ())
        self.lb_ips = lb_ips
        self.lb_source_ranges = ranges
        self.sticky_seconds = None
        if spec.get("sessionAffinity") == "ClientIP":
            cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
            self.sticky_seconds = int(cfg.get("timeoutSeconds") or DEFAULT_STICKY_SECONDS)
        externally_accessible_type = stype in ("NodePort", "LoadBalancer") or bool(self.external_ips)
        self.internal_local = spec.get("internalTrafficPolicy") == "Local"
        self.external_local = externally_accessible_type and spec.get("externalTrafficPolicy") == "Local"
        self.svc_chain = service_chain_name(self.name, self.proto)
        self.svl_chain = service_local_chain_name(self.name, self.proto)
        self.ext_chain = external_chain_name(self.name, self.proto)
        self.fw_chain = firewall_chain_name(self.name, self.proto)
        self.ident = (self.name, self.protocol, self.cluster_ip, self.port, self.node_port, self.external_ips,
                      self.lb_ips, self.lb_source_ranges, self.sticky_seconds, self.internal_local,
                      self.external_local)
        # how its endpoints are filed (endpoints_by_port)
        self.port_key = (port_name, self.protocol)
        # whether its rules differ from node to node, and the rules it writes: see KubeProxy._fragment
        self.node_specific = self.uses_local_endpoints or bool(self.lb_source_ranges)
        self.fragments: dict[int, tuple[tuple, dict]] = {}

    def __repr__(self) -> str:
        return f"ServicePortInfo({self.name}/{self.protocol} {self.cluster_ip}:{self.port})"

    @property
    def externally_accessible(self) -> bool:
        return bool(self.node_port or self.lb_ips or self.external_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        # even with externalTrafficPolicy Local, short-circuited pod traffic needs the cluster chain
        return not self.internal_local or self.externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_local or (self.external_local and self.externally_accessible)


def _same_ports(a: tuple[ServicePortInfo, ...], b: tuple[ServicePortInfo, ...]) -> bool:
    # the same tuple when derived from the same stored object (the common case): no comparison
    return a is b or [p.ident for p in a] == [p.ident for p in b]


def service_ports(svc: dict) -> tuple[ServicePortInfo, ...]:
    """The ports kube-proxy proxies for ``svc``: none for headless or ExternalName Services."""
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName" or spec.get("clusterIP") in (None, "", "None"):
        return ()
    return tuple(ServicePortInfo(svc, p) for p in spec.get("ports") or ())


class EndpointInfo:
    """One endpoint of one service port: ``ip:port``, where it runs, its conditions."""

    __slots__ = ("ip", "port", "node_name", "ready", "serving", "terminating", "string", "chain")

    def __init__(self, ip, port, node_name, ready, serving, terminating, spn, proto):
        self.ip = ip
        self.port = port
        self.node_name = node_name
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
        self.string = f"{ip}:{port}"
        self.chain = endpoint_chain_name(spn, proto, self.string)

    def __repr__(self) -> str:
        return f"EndpointInfo({self.string}{'' if self.ready else ' not ready'})"


def slice_info(es: dict) -> tuple:
    """The part of an EndpointSlice kube-proxy looks at (``endpointSliceInfo``), hashable.

    Ports as ``(name, port, protocol)`` sorted by port; endpoints as
    ``(address, nodeName, ready, serving, terminating)`` sorted by address. A missing
    condition counts as true for ready/serving and false for terminating.
    """
    ports = []
    for p in es.get("ports") or ():
        ports.append((p.get("name") or "", p.get("port"), p.get("protocol") or "TCP"))
    ports.sort(key=lambda p: p[1] or 0)
    eps = []
    for ep in es.get("endpoints") or ():
        addrs = ep.get("addresses") or ()
        if not addrs:
            continue
        c = ep.get("conditions") or {}
        eps.append((addrs[0], ep.get("nodeName"), c.get("ready") is not False, c.get("serving") is not False,
                    c.get("terminating") is True))
    eps.sort()
    return tuple(ports), tuple(eps)


def _slice_key(es: dict) -> tuple[str, str] | None:
    """(service ``namespace/name``, slice name) of an EndpointSlice, from its service-name label."""
    m = es["metadata"]
    svc = (m.get("labels") or {}).get(SERVICE_NAME_LABEL)
    if not svc:
        return None  # not a Service's slice: kube-proxy cannot tell which service it belongs to
    return f"{m.get('namespace', '')}/{svc}", m["name"]


def _slice_entry(es: dict) -> tuple:
    key = _slice_key(es)
    return key, (slice_info(es) if key is not None else None)


def _service_entry(svc: dict) -> tuple[str, tuple[ServicePortInfo, ...]]:
    return f"{svc['metadata'].get('namespace', '')}/{svc['metadata']['name']}", service_ports(svc)


# Every node's kube-proxy sees the same stored objects (shared watch results): what they derive
# from them is the same too, so it is computed once for all nodes. The object caches are keyed by
# identity (holding the object, so its id is not reused); each cache is cleared when it outgrows
# a few times what a proxy knows.
_CACHE_LIMIT = 8192
_service_cache: dict = {}
_slice_cache: dict = {}
_endpoints_cache: dict = {}
# The rules are shared the same way: each service port keeps the chains it writes for its last
# few endpoints versions, and the merged chains of all ports are kept for the last few states.
#: How many endpoints versions of one service port keep their rules (see ``KubeProxy._fragment``).
_FRAGMENT_VERSIONS = 4
#: How many merged service sections are kept (see ``_section``): nodes in step share one.
_SECTIONS_KEPT = 8
_sections: dict[tuple[int, ...], tuple] = {}


def _section(fragments: list[tuple[tuple, tuple]]) -> tuple[dict, dict]:
    """The chains of all service ports of a node, merged (filter, nat), shared by nodes in step.

    Nodes that have synced the same state have the very same fragments, in the same order,
    so the merge is done once for them all. Keyed by the fragments' identities (the entry
    holds them, so the ids are not reused); the most recently used sections are kept.
    """
    key = tuple(map(id, fragments))
    entry = _sections.pop(key, None)
    if entry is None:
        entry = (fragments, merge_chains(f[0] for f in fragments), merge_chains(f[1] for f in fragments))
        if len(_sections) >= _SECTIONS_KEPT:
            del _sections[next(iter(_sections))]
    _sections[key] = entry
    return entry[1], entry[2]


def _cache_limit(proxy: KubeProxy) -> int:
    # room for every object the proxy knows and their recent versions, at least _CACHE_LIMIT
    return max(_CACHE_LIMIT, 4 * (len(proxy._svc_ports) + len(proxy._slices)))


def _derived(cache: dict, obj: dict, compute, proxy: KubeProxy):
    entry = cache.get(id(obj))
    if entry is not None and entry[0] is obj:
        return entry[1]
    if len(cache) >= _cache_limit(proxy):
        cache.clear()
    value = compute(obj)
    cache[id(obj)] = (obj, value)
    return value


def endpoints_by_port(svc: str, slices: dict[str, tuple]) -> dict[tuple[str, str], list[EndpointInfo]]:
    """Endpoints of service ``svc`` by (port name, protocol), deduplicated by ``ip:port``, sorted by it.

    ``slices`` maps slice name to :func:`slice_info`; the result is shared by every node.
    """
    by_port: dict[tuple[str, str], dict[str, EndpointInfo]] = {}
    for name in sorted(slices):
        ports, eps = slices[name]
        for port_name, port, protocol in ports:
            if not port:
                continue
            spn = f"{svc}:{port_name}" if port_name else svc
            found = by_port.setdefault((port_name, protocol), {})
            for ip, node, ready, serving, terminating in eps:
                ep = EndpointInfo(ip, port, node, ready, serving, terminating, spn, protocol.lower())
                found.setdefault(ep.string, ep)
    return {k: sorted(v.values(), key=lambda e: e.string) for k, v in by_port.items() if v}


class KubeProxy:
    """The kube-proxy of one node (see module docstring).

    ``rng`` is the cluster's :class:`~k8slab.sim.Randomness`; ``walk`` uses a stream of
    it when no ``random.Random`` is given.
    """

    def __init__(self, api, loop, rng, node_name: str, node_ip: str, *, cluster_cidr: str = "10.244.0.0/16",
                 sync_period_min: float = 1.0):
        self.api = api
        self.loop = loop
        self.node_name = node_name
        self.node_ip = node_ip
        self.cluster_cidr = cluster_cidr
        self.min_sync_period = sync_period_min
        self.actor = f"kube-proxy/{node_name}"
        self.client = api.client(self.actor, user=UserInfo("system:kube-proxy", ("system:authenticated",)),
                                 shared_results=True)
        self.random = rng.stream(f"kube-proxy/{node_name}") if hasattr(rng, "stream") else rng
        self.services: Informer | None = None
        self.endpointslices: Informer | None = None
        self.running = False
        self._need_full_sync = True
        self.initialized = False
        # pending changes (seen by the informers, not yet in the rules) and applied state
        self._pending_services: dict[str, tuple] = {}
        self._pending_slices: dict[tuple[str, str], tuple | None] = {}
        self._svc_ports: dict[str, tuple[ServicePortInfo, ...]] = {}
        self._slices: dict[str, dict[str, tuple]] = {}
        self._endpoints: dict[str, dict[tuple[str, str], list[EndpointInfo]]] = {}
        self._sync_event = None
        # BoundedFrequencyRunner: a token bucket of burst 2 refilled once per minSyncPeriod
        self._tokens = 2.0
        self._tokens_at = 0.0
        self.syncs = 0
        self.last_sync: float | None = None
        self._generation = 0
        self._built: tuple[int, Tables] | None = None
        self._recent: dict[str, dict[str, float]] = {}

    def __repr__(self) -> str:
        return f"KubeProxy({self.node_name}, {len(self._svc_ports)} services, {self.syncs} syncs)"

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the informers; the first sync runs once both have listed (as a loop event)."""
        if self.running:
            return
        self.running = True
        self._tokens, self._tokens_at = 2.0, self.loop.now
        # a (re)started kube-proxy lists everything afresh and rewrites all its rules (a full sync)
        self.services = Informer(self.client, "services", label_selector=PROXY_SELECTOR)
        self.endpointslices = Informer(self.client, "endpointslices", label_selector=PROXY_SELECTOR)
        self.services.add_event_handler(self._on_service, lambda old, new: self._on_service(new),
                                        self._on_service_delete)
        self.endpointslices.add_event_handler(self._on_slice, lambda old, new: self._on_slice(new),
                                              self._on_slice_delete)
        self._need_full_sync = True
        self.services.start()
        self.endpointslices.start()
        self.initialized = True
        # OnServiceSynced / OnEndpointSlicesSynced: one unconditional sync, not rate limited
        self._sync_event = self.loop.call_soon(self._sync, who=self.actor, what="sync proxy rules")

    def stop(self) -> None:
        """Stop watching; the rules already written stay in the node's tables, as on a real node."""
        self.running = False
        self.initialized = False
        if self.services is not None:
            self.services.stop()
            self.endpointslices.stop()
        self.loop.cancel(self._sync_event)
        self._sync_event = None

    # -- informer handlers (ServiceChangeTracker / EndpointSliceCache) ---------------------------
    def _on_service(self, svc: dict) -> None:
        self._service_changed(*_derived(_service_cache, svc, _service_entry, self))

    def _on_service_delete(self, svc: dict) -> None:
        self._service_changed(f"{svc['metadata'].get('namespace', '')}/{svc['metadata']['name']}", ())

    def _service_changed(self, key: str, ports: tuple[ServicePortInfo, ...]) -> None:
        if _same_ports(ports, self._svc_ports.get(key, ())):
            changed = self._pending_services.pop(key, None) is not None
        else:
            current = self._pending_services.get(key)
            changed = current is None or not _same_ports(ports, current)
            self._pending_services[key] = ports
        if changed:
            self._request_sync()

    def _on_slice(self, es: dict) -> None:
        key, info = _derived(_slice_cache, es, _slice_entry, self)
        if key is not None:
            self._slice_changed(key, info)

    def _on_slice_delete(self, es: dict) -> None:
        key = _slice_key(es)
        if key is not None:
            self._slice_changed(key, None)

    def _slice_changed(self, key: tuple[str, str], info: tuple | None) -> None:
        applied = self._slices.get(key[0], {}).get(key[1])
        if key in self._pending_slices:
            if self._pending_slices[key] == info:
                return
        elif applied == info:
            return
        self._pending_slices[key] = info
        self._request_sync()

    # -- the sync runner ----------------------------------------------------------------------------
    def _request_sync(self) -> None:
        """``proxier.Sync()``: run soon, but at most ``burst`` times per ``minSyncPeriod``."""
        if not self.initialized or self._sync_event is not None:
            return
        now = self.loop.now
        rate = 1.0 / self.min_sync_period if self.min_sync_period > 0 else float("inf")
        tokens = min(2.0, self._tokens + (now - self._tokens_at) * rate)
        self._tokens, self._tokens_at = tokens, now
        when = now
        if tokens < 1.0:
            # BoundedFrequencyRunner.tryRun: retry minInterval after the last run (and not before a token)
            when = max(now + (1.0 - tokens) / rate, (self.last_sync or 0.0) + self.min_sync_period)
        self._sync_event = self.loop.call_at(when, self._rate_limited_sync, who=self.actor,
                                             what="sync proxy rules")

    def _rate_limited_sync(self) -> None:
        now = self.loop.now
        rate = 1.0 / self.min_sync_period if self.min_sync_period > 0 else float("inf")
        self._tokens = min(2.0, self._tokens + (now - self._tokens_at) * rate) - 1.0
        self._tokens_at = now
        self._sync()

    def _sync(self) -> None:
        """``syncProxyRules``: apply the pending changes; the rules are rebuilt from them."""
        self._sync_event = None
        # the services whose slices changed: their endpoints are worked out again (they depend on
        # the slices only, so a service change alone does not touch them)
        changed: set[str] = set()
        if self._need_full_sync and self.services is not None:
            # after a (re)start: everything from the informers' caches, nothing kept from before
            self._need_full_sync = False
            changed.update(self._slices)
            self._svc_ports, self._slices = {}, {}
            for svc in self.services.indexer.list():
                ports = _derived(_service_cache, svc, _service_entry, self)[1]
                if ports:
                    self._svc_ports[object_key(svc)] = ports
            for es in self.endpointslices.indexer.list():
                key, info = _derived(_slice_cache, es, _slice_entry, self)
                if key is not None:
                    self._slices.setdefault(key[0], {})[key[1]] = info
            changed.update(self._slices)
            self._pending_services.clear()
            self._pending_slices.clear()
        for key, ports in self._pending_services.items():
            if ports:
                self._svc_ports[key] = ports
            else:
                self._svc_ports.pop(key, None)
        for (svc, name), info in self._pending_slices.items():
            slices = self._slices.setdefault(svc, {})
            if info is None:
                slices.pop(name, None)
                if not slices:
                    del self._slices[svc]
            else:
                slices[name] = info
            changed.add(svc)
        self._pending_services.clear()
        self._pending_slices.clear()
        for svc in changed:
            self._endpoints[svc] = self._endpoints_of(svc)
            if not self._endpoints[svc]:
                del self._endpoints[svc]
        self.syncs += 1
        self.last_sync = self.loop.now
        self._generation += 1

    def _endpoints_of(self, svc: str) -> dict[tuple[str, str], list[EndpointInfo]]:
        slices = self._slices.get(svc, {})
        # keyed by the identity of the (shared) slice infos: hashing their contents would cost
        # as much as the endpoints; the entry holds the infos, so their ids are not reused
        items = tuple(sorted(slices.items())) if len(slices) > 1 else tuple(slices.items())
        key = (svc, *[(name, id(info)) for name, info in items])
        entry = _endpoints_cache.get(key)
        if entry is None:
            if len(_endpoints_cache) >= _cache_limit(self):
                _endpoints_cache.clear()
            entry = _endpoints_cache[key] = (items, endpoints_by_port(svc, slices))
        return entry[1]

    # -- what a learner looks at ---------------------------------------------------------------------
    @property
    def tables(self) -> Tables:
        """The node's netfilter tables as of the last sync."""
        if self._built is None or self._built[0] != self._generation:
            self._built = (self._generation, self._build())
        return self._built[1]

    def iptables(self, table: str | None = None, *, header: bool = False) -> str:
        """``iptables-save`` on this node (``table="nat"`` for ``-t nat``)."""
        return self.tables.save(table, now=self.loop.now if header else None)

    def walk(self, packet: Packet, rng=None, *, from_host: bool = False) -> Walk:
        """Trace one packet through this node's rules (see :mod:`k8slab.network.packet`)."""
        return self.tables.walk(packet, rng if rng is not None else self.random, from_host=from_host,
                                now=self.loop.now)

    # -- building the rules (syncProxyRules) ----------------------------------------------------------
    def _build(self) -> Tables:
        t = Tables(local_ips=[self.node_ip])
        t.recent = self._recent
        flt, nat = t.filter, t.nat
        # what the kubelet set up before kube-proxy started (kubelet_network_linux.go)
        for table in (flt, nat):
            table.ensure_chain("KUBE-KUBELET-CANARY")
        localnet = Rule("KUBE-FIREWALL", Verdict("DROP"), src="127.0.0.0/8", src_invert=True, dst="127.0.0.0/8",
                        matches=[Comment("block incoming localnet connections"),
                                 Conntrack("RELATED,ESTABLISHED,DNAT", invert=True)])
        flt.append(localnet)
        flt.append(Rule("INPUT", Jump("KUBE-FIREWALL")))
        flt.append(Rule("OUTPUT", Jump("KUBE-FIREWALL")))
        # kube-proxy's own top-level chains and the jumps to them (EnsureRule Prepend, in this order)
        for name in ("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-NODEPORTS",
                     "KUBE-PROXY-FIREWALL", "KUBE-PROXY-CANARY"):
            flt.ensure_chain(name)
        for name in ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ", "KUBE-PROXY-CANARY"):
            nat.ensure_chain(name)
        new = [Conntrack("NEW")]
        for table, dst, src, comment, extra in (
            (flt, "KUBE-EXTERNAL-SERVICES", "INPUT", "kubernetes externally-visible service portals", new),
            (flt, "KUBE-EXTERNAL-SERVICES", "FORWARD", "kubernetes externally-visible service portals", new),
            (flt, "KUBE-NODEPORTS", "INPUT", "kubernetes health check service ports", []),
            (flt, "KUBE-SERVICES", "FORWARD", "kubernetes service portals", new),
            (flt, "KUBE-SERVICES", "OUTPUT", "kubernetes service portals", new),
            (flt, "KUBE-FORWARD", "FORWARD", "kubernetes forwarding rules", []),
            (flt, "KUBE-PROXY-FIREWALL", "INPUT", "kubernetes load balancer firewall", new),
            (flt, "KUBE-PROXY-FIREWALL", "OUTPUT", "kubernetes load balancer firewall", new),
            (flt, "KUBE-PROXY-FIREWALL", "FORWARD", "kubernetes load balancer firewall", new),
            (nat, "KUBE-SERVICES", "OUTPUT", "kubernetes service portals", []),
            (nat, "KUBE-SERVICES", "PREROUTING", "kubernetes service portals", []),
            (nat, "KUBE-POSTROUTING", "POSTROUTING", "kubernetes postrouting rules", []),
        ):
            table.ensure_rule_first(Rule(src, Jump(dst), matches=[*extra, Comment(comment)]))
        # SNAT of marked packets on the way out, and the chain that marks them
        nat.append(Rule("KUBE-POSTROUTING", Verdict("RETURN"), matches=[MarkMatch(MASQ_MARK, MASQ_MARK, invert=True)]))
        nat.append(Rule("KUBE-POSTROUTING", SetMark(MASQ_MARK, 0)))  # --xor-mark: clear it
        nat.append(Rule("KUBE-POSTROUTING", Masquerade(),
                        matches=[Comment("kubernetes service traffic requiring SNAT")]))
        nat.append(Rule("KUBE-MARK-MASQ", SetMark(MASQ_MARK, MASQ_MARK)))  # --or-mark

        ports = sorted((p for ps in self._svc_ports.values() for p in ps), key=lambda p: (p.name, p.protocol))
        endpoints = [self._port_endpoints(p) for p in ports]
        large = sum(map(len, endpoints)) > LARGE_CLUSTER_ENDPOINTS
        filter_chains, nat_chains = _section([self._fragment(p, eps, large)
                                              for p, eps in zip(ports, endpoints, strict=True)])
        flt.adopt(filter_chains)
        nat.adopt(nat_chains)

        nat.append(Rule("KUBE-SERVICES", Jump("KUBE-NODEPORTS"), matches=[
            Comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain"),
            AddrType(dst_type="LOCAL")]))
        flt.append(Rule("KUBE-FORWARD", Verdict("DROP"), matches=[Conntrack("INVALID")]))
        flt.append(Rule("KUBE-FORWARD", Verdict("ACCEPT"), matches=[
            Comment("kubernetes forwarding rules"), MarkMatch(MASQ_MARK, MASQ_MARK)]))
        flt.append(Rule("KUBE-FORWARD", Verdict("ACCEPT"), matches=[
            Comment("kubernetes forwarding conntrack rule"), Conntrack("RELATED,ESTABLISHED")]))
        return t

    def _port_endpoints(self, p: ServicePortInfo) -> list[EndpointInfo] | tuple:
        by_port = self._endpoints.get(p.service)
        # the one empty tuple when there are none: the same object every time (see _fragment)
        return by_port.get(p.port_key, ()) if by_port else ()

    def _fragment(self, p: ServicePortInfo, endpoints, large: bool) -> tuple[tuple, tuple]:
        """The chains service port ``p`` writes (filter, nat), frozen: made once, shared by every node.

        What a port writes depends on the port, its endpoints, large-cluster mode and the
        cluster CIDR, and on the node only through local endpoints (traffic policy Local) and
        the node IP (loadBalancerSourceRanges). Every node holds the same ``p`` and endpoints
        objects (derived once for all, see ``_derived``), so the rules are kept on ``p`` by
        the endpoints object; the last few endpoints versions are kept, for nodes that lag.
        """
        versions = p.fragments
        entry = versions.get(id(endpoints))
        if entry is None or entry[0] is not endpoints:
            if len(versions) >= _FRAGMENT_VERSIONS:
                del versions[next(iter(versions))]
            entry = versions[id(endpoints)] = (endpoints, {})
        key = (large, self.cluster_cidr)
        if p.node_specific:
            key += (self.node_name if p.uses_local_endpoints else None,
                    self.node_ip if p.lb_source_ranges else None)
        fragment = entry[1].get(key)
        if fragment is None:
            scratch = Tables(local_ips=[self.node_ip])
            self._write_service_port(scratch, p, endpoints, large)
            fragment = entry[1][key] = (scratch.filter.frozen_chains(), scratch.nat.frozen_chains())
        return fragment

    def _categorize(self, p: ServicePortInfo, endpoints: list[EndpointInfo]):
        """``CategorizeEndpoints``: ready endpoints, else serving-and-terminating ones (graceful drain)."""
        cluster: list[EndpointInfo] = []
        local: list[EndpointInfo] = []
        has_any = False
        if p.uses_cluster_endpoints:
            cluster = [e for e in endpoints if e.ready] or [e for e in endpoints if e.serving and e.terminating]
            has_any = bool(cluster)
        if not p.uses_local_endpoints:
            return cluster, local, cluster, has_any
        node = self.node_name
        local = [e for e in endpoints if e.ready and e.node_name == node] or [
            e for e in endpoints if e.serving and e.terminating and e.node_name == node]
        has_any = has_any or bool(local) or any(e.ready for e in endpoints)
        if not p.uses_cluster_endpoints:
            return cluster, local, local, has_any
        reachable = {e.string: e for e in cluster}
        reachable.update({e.string: e for e in local})
        return cluster, local, sorted(reachable.values(), key=lambda e: e.string), has_any

    def _write_service_port(self, t: Tables, p: ServicePortInfo, endpoints: list[EndpointInfo],
                            large: bool) -> None:
        flt, nat = t.filter, t.nat
        proto, name = p.proto, p.name
        cluster_eps, local_eps, reachable, has_endpoints = self._categorize(p, endpoints)
        uses_cluster_chain = bool(cluster_eps) and p.uses_cluster_endpoints
        uses_local_chain = bool(local_eps) and p.uses_local_endpoints
        internal_chain, has_internal = p.svc_chain, has_endpoints
        if p.internal_local:
            internal_chain, has_internal = p.svl_chain, has_endpoints and bool(local_eps)
        external_policy_chain, has_external = p.svc_chain, has_endpoints
        if p.external_local:
            external_policy_chain, has_external = p.svl_chain, has_endpoints and bool(local_eps)
        ext_chain = p.ext_chain
        uses_ext_chain = has_endpoints and p.externally_accessible
        uses_fw = has_endpoints and bool(p.lb_ips) and bool(p.lb_source_ranges)
        lb_chain = p.fw_chain if uses_fw else ext_chain

        if not has_endpoints:
            int_target = ext_target = "REJECT"
            int_comment = ext_comment = f"{name} has no endpoints"
        else:
            int_target = ext_target = int_comment = ext_comment = None
            if not has_internal:
                int_target, int_comment = "DROP", f"{name} has no local endpoints"
            if not has_external:
                ext_target, ext_comment = "DROP", f"{name} has no local endpoints"

        def portal(chain, target, dst, comment, dport=p.port, extra=()):
            return Rule(chain, target, dst=dst, proto=proto,
                        matches=[Comment(comment), *extra, PortMatch(proto, dport)])

        def filter_target(name_):
            return Reject() if name_ == "REJECT" else Verdict(name_)

        # capture the cluster IP
        if has_internal:
            nat.append(portal("KUBE-SERVICES", Jump(internal_chain), p.cluster_ip, f"{name} cluster IP"))
        else:
            flt.append(portal("KUBE-SERVICES", filter_target(int_target), p.cluster_ip, int_comment))
        # external IPs
        for ip in p.external_ips:
            if has_endpoints:
                nat.append(portal("KUBE-SERVICES", Jump(ext_chain), ip, f"{name} external IP"))
            if not has_external:
                flt.append(portal("KUBE-EXTERNAL-SERVICES", filter_target(ext_target), ip, ext_comment))
        # load-balancer ingress IPs
        for ip in p.lb_ips:
            if has_endpoints:
                nat.append(portal("KUBE-SERVICES", Jump(lb_chain), ip, f"{name} loadbalancer IP"))
            if uses_fw:
                flt.append(portal("KUBE-PROXY-FIREWALL", Verdict("DROP"), ip,
                                  f"{name} traffic not accepted by {p.fw_chain}"))
        if not has_external:
            for ip in p.lb_ips:
                flt.append(portal("KUBE-EXTERNAL-SERVICES", filter_target(ext_target), ip, ext_comment))
        # node ports (on every node address: -m addrtype --dst-type LOCAL sends them here)
        if p.node_port:
            if has_endpoints:
                nat.append(portal("KUBE-NODEPORTS", Jump(ext_chain), None, name, dport=p.node_port))
            if not has_external:
                flt.append(portal("KUBE-EXTERNAL-SERVICES", filter_target(ext_target), None, ext_comment,
                                  dport=p.node_port, extra=[AddrType(dst_type="LOCAL")]))

        # traffic from outside the pod network to a cluster IP is masqueraded (it may leave the node)
        if has_internal:
            nat.ensure_chain(internal_chain)
            nat.append(Rule(internal_chain, Jump("KUBE-MARK-MASQ"), src=self.cluster_cidr, src_invert=True,
                            dst=p.cluster_ip, proto=proto,
                            matches=[Comment(f"{name} cluster IP"), PortMatch(proto, p.port)]))
        if uses_ext_chain:
            nat.ensure_chain(ext_chain)
            if not p.external_local:
                nat.append(Rule(ext_chain, Jump("KUBE-MARK-MASQ"), matches=[
                    Comment(f"masquerade traffic for {name} external destinations")]))
            else:
                nat.append(Rule(ext_chain, Jump(p.svc_chain), src=self.cluster_cidr, matches=[
                    Comment(f"pod traffic for {name} external destinations")]))
                nat.append(Rule(ext_chain, Jump("KUBE-MARK-MASQ"), matches=[
                    Comment(f"masquerade LOCAL traffic for {name} external destinations"),
                    AddrType(src_type="LOCAL")]))
                nat.append(Rule(ext_chain, Jump(p.svc_chain), matches=[
                    Comment(f"route LOCAL traffic for {name} external destinations"), AddrType(src_type="LOCAL")]))
            if has_external:
                nat.append(Rule(ext_chain, Jump(external_policy_chain)))
        if uses_fw:
            nat.ensure_chain(p.fw_chain)
            allow_from_node = False
            for cidr in p.lb_source_ranges:
                nat.append(Rule(p.fw_chain, Jump(ext_chain), src=cidr,
                                matches=[Comment(f"{name} loadbalancer IP")]))
                if in_cidr(self.node_ip, cidr):
                    allow_from_node = True
            if allow_from_node:
                for ip in p.lb_ips:
                    nat.append(Rule(p.fw_chain, Jump(ext_chain), src=ip, matches=[Comment(f"{name} loadbalancer IP")]))
            nat.append(Rule(p.fw_chain, None, matches=[
                Comment(f"other traffic to {name} will be dropped by KUBE-PROXY-FIREWALL")]))
        if uses_cluster_chain:
            nat.ensure_chain(p.svc_chain)
            self._write_endpoint_rules(nat, p, p.svc_chain, cluster_eps, large)
        if uses_local_chain:
            nat.ensure_chain(p.svl_chain)
            self._write_endpoint_rules(nat, p, p.svl_chain, local_eps, large)
        # one chain per endpoint: hairpin masquerade, then the DNAT itself
        for ep in reachable:
            comment = [] if large else [Comment(name)]
            nat.ensure_chain(ep.chain)
            nat.append(Rule(ep.chain, Jump("KUBE-MARK-MASQ"), src=ep.ip, matches=comment))
            affinity = [Recent(ep.chain, set=True)] if p.sticky_seconds else []
            nat.append(Rule(ep.chain, DNAT(ep.string), proto=proto,
                            matches=[*comment, *affinity, PortMatch(proto)]))

    def _write_endpoint_rules(self, nat, p: ServicePortInfo, chain: str, endpoints: list[EndpointInfo],
                              large: bool) -> None:
        """``writeServiceToEndpointRules``: affinity checks first, then 1/n, 1/(n-1), ... to the last."""
        if p.sticky_seconds:
            for ep in endpoints:
                comment = [] if large else [Comment(f"{p.name} -> {ep.string}")]
                nat.append(Rule(chain, Jump(ep.chain),
                                matches=[*comment, Recent(ep.chain, seconds=p.sticky_seconds)]))
        n = len(endpoints)
        for i, ep in enumerate(endpoints):
            matches = [] if large else [Comment(f"{p.name} -> {ep.string}")]
            if i < n - 1:
                matches.append(Statistic(probability_text(n - i)))
            nat.append(Rule(chain, Jump(ep.chain), matches=matches))

