"""CoreDNS's ``kubernetes`` plugin as a running component: it watches the API, answers queries.

The CoreDNS pods (Deployment ``coredns`` in ``kube-system``, behind the
``kube-dns`` Service at ``10.96.0.10``) each run the ``kubernetes`` plugin, which
lists and watches Services, EndpointSlices and Namespaces and answers from that
cache (the records are described in :mod:`k8slab.network.dns`). A change becomes
visible in DNS only once CoreDNS's watch has delivered it, like every other
component's view of the cluster.

k8slab simplifies: all CoreDNS replicas share one cache (they would hold the
same data anyway), and the ``cache 30`` plugin (answers kept for 30 s) is left out.

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
>>> kubectl = api.client("kubectl")
>>> _ = kubectl.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
>>> dns = CoreDNS(api)
>>> dns.start()
>>> _ = kubectl.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
...                     "spec": {"clusterIP": "10.96.7.7", "ports": [{"port": 80}]}})
>>> dns.lookup("web").addresses          # the watch has not delivered the Service yet
[]
>>> _ = api.loop.run_until_settled()
>>> dns.lookup("web").addresses
['10.96.7.7']
"""

from __future__ import annotations

from k8slab.apiserver.informer import Informer
from k8slab.apiserver.request import UserInfo
from k8slab.network.dns import CLUSTER_DOMAIN, LookupResult, Resolver

#: The user CoreDNS's ServiceAccount token authenticates as.
COREDNS_USER = UserInfo("system:serviceaccount:kube-system:coredns",
                        ("system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"))


class CoreDNS:
    """The ``kubernetes`` plugin's cache of the cluster, and answers from it."""

    def __init__(self, api, *, cluster_domain: str = CLUSTER_DOMAIN, upstream: dict[str, str] | None = None):
        self.api = api
        self.domain = cluster_domain
        self.upstream = dict(upstream or {})
        self.client = api.client("coredns", user=COREDNS_USER, shared_results=True)
        self.informers: dict[str, Informer] = {}
        self._resolver: Resolver | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        services = len(self.informers["services"].indexer) if self.informers else 0
        return f"CoreDNS({state}, {services} services)"

    @property
    def running(self) -> bool:
        return bool(self.informers) and self.informers["services"].running

    def start(self) -> None:
        """List and watch Services, EndpointSlices and Namespaces."""
        if self.running:
            return
        for resource in ("services", "endpointslices", "namespaces"):
            inf = Informer(self.client, resource)
            inf.add_event_handler(self._changed, lambda old, new: self._changed(new), self._changed)
            self.informers[resource] = inf
            inf.start()
        self._resolver = None

    def stop(self) -> None:
        for inf in self.informers.values():
            inf.stop()

    def _changed(self, _obj) -> None:
        self._resolver = None  # rebuild the zone at the next query

    @property
    def resolver(self) -> Resolver:
        """A :class:`~k8slab.network.dns.Resolver` over what CoreDNS has seen so far."""
        if self._resolver is None:
            lists = {r: inf.indexer.list() for r, inf in self.informers.items()}
            self._resolver = Resolver(services=lists.get("services", []), endpointslices=lists.get("endpointslices", []),
                                      namespaces=lists.get("namespaces", []), cluster_domain=self.domain,
                                      upstream=self.upstream)
        return self._resolver

    def lookup(self, name: str, from_namespace: str = "default", qtype: str = "A", *,
               resolv: str | None = None) -> LookupResult:
        """Resolve ``name`` as a pod's stub resolver would, asking this CoreDNS."""
        return self.resolver.lookup(name, from_namespace, qtype, resolv=resolv)
