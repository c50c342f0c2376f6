"""Cluster DNS: CoreDNS's ``kubernetes`` plugin and the resolver inside each pod.

CoreDNS (the ``kube-dns`` Service, ``10.96.0.10``) answers for the cluster
domain ``cluster.local`` from what it watches — Services, EndpointSlices — with
these records (the Kubernetes DNS specification):

- ``<svc>.<ns>.svc.cluster.local`` A → the Service's ClusterIP; for a headless
  Service (``clusterIP: None``) the addresses of its *ready* endpoints; for an
  ``ExternalName`` Service a CNAME to the external name;
- ``<hostname>.<svc>.<ns>.svc.cluster.local`` A → an endpoint of a headless
  Service, named by the pod's ``hostname`` (StatefulSet pods ``web-0`` with
  ``subdomain`` = the Service) or else by its dashed IP (``10-244-1-5``);
- ``_<port>._<proto>.<svc>.<ns>.svc.cluster.local`` SRV → one record per
  named port (a headless Service: one per endpoint);
- ``1-2-3-4.<ns>.pod.cluster.local`` A → ``1.2.3.4`` (kubeadm's Corefile says
  ``pods insecure``: the IP is answered without looking the pod up);
- anything else in the cluster domain: ``NXDOMAIN``.

A pod does not ask for ``web.default.svc.cluster.local`` itself: its C library
reads ``/etc/resolv.conf`` — written by the kubelet from the pod's
``dnsPolicy`` — and, for a name with fewer dots than ``ndots`` (5), tries each
``search`` suffix first and the name as given last. That is why ``web`` works
from a pod in ``default`` (the first query, ``web.default.svc.cluster.local``,
answers) and why ``example.com`` costs four queries before the real one.

k8slab simplifies: names outside the cluster domain are answered only from the
``upstream`` table given to :class:`Resolver` (else ``NXDOMAIN``); no PTR records.

Example
-------
>>> svc = {"metadata": {"name": "web", "namespace": "default"},
...        "spec": {"clusterIP": "10.96.12.34", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}
>>> r = Resolver(services=[svc])
>>> res = r.lookup("web", from_namespace="default")
>>> res.rcode, [a.data for a in res.answers]
('NOERROR', ['10.96.12.34'])
>>> res.queries
[('web.default.svc.cluster.local.', 'NOERROR')]
>>> [q for q, _ in r.lookup("web.default", from_namespace="kube-system").queries]
['web.default.kube-system.svc.cluster.local.', 'web.default.svc.cluster.local.']
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

CLUSTER_DOMAIN = "cluster.local"
#: kubeadm's kube-dns ClusterIP (the tenth address of the service CIDR).
DNS_SERVICE_IP = "10.96.0.10"
#: The TTL of kubeadm's Corefile (``ttl 30``).
TTL = 30
#: What a pod with ``dnsPolicy: Default`` inherits from its node.
HOST_NAMESERVERS = ("8.8.8.8",)

NOERROR = "NOERROR"
NXDOMAIN = "NXDOMAIN"


@dataclass(frozen=True)
class Record:
    """One answer: ``name TTL IN type data`` as ``dig`` prints it."""

    name: str
    type: str
    data: str
    ttl: int = TTL

    def __str__(self) -> str:
        return f"{self.name}\t{self.ttl}\tIN\t{self.type}\t{self.data}"


@dataclass
class LookupResult:
    """What a pod's resolver did: each query tried with its rcode, and the final answer."""

    name: str
    queries: list[tuple[str, str]] = field(default_factory=list)
    answers: list[Record] = field(default_factory=list)
    rcode: str = NXDOMAIN

    @property
    def addresses(self) -> list[str]:
        return [a.data for a in self.answers if a.type == "A"]

    def __repr__(self) -> str:  # a notebook shows what dig would print
        return str(self)

    def __str__(self) -> str:
        if self.rcode == "TIMEOUT":
            return ";; connection timed out; no servers could be reached"
        lines = [f";; {q}\t{rc}" for q, rc in self.queries]
        lines += [str(a) for a in self.answers]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# resolv.conf
# ---------------------------------------------------------------------------------------
def search_domains(namespace: str, cluster_domain: str = CLUSTER_DOMAIN) -> list[str]:
    return [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain]


def resolv_conf(pod: dict, cluster_domain: str = CLUSTER_DOMAIN, dns_ip: str = DNS_SERVICE_IP,
                host_nameservers=HOST_NAMESERVERS, host_searches=()) -> str:
    """The ``/etc/resolv.conf`` the kubelet writes for ``pod`` (from ``dnsPolicy`` and ``dnsConfig``).

    Example
    -------
    >>> print(resolv_conf({"metadata": {"namespace": "default"}, "spec": {}}), end="")
    search default.svc.cluster.local svc.cluster.local cluster.local
    nameserver 10.96.0.10
    options ndots:5
    """
    spec = pod.get("spec") or {}
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"  # a host-network pod with ClusterFirst gets its node's DNS
    nameservers: list[str] = []
    searches: list[str] = []
    options: dict[str, str | None] = {}
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        nameservers = [dns_ip]
        searches = search_domains(ns, cluster_domain) + list(host_searches)
        options = {"ndots": "5"}
    elif policy == "Default":
        nameservers = list(host_nameservers)
        searches = list(host_searches)
    config = spec.get("dnsConfig") or {}
    for s in config.get("nameservers") or ():
        if s not in nameservers:
            nameservers.append(s)
    for s in config.get("searches") or ():
        if s not in searches:
            searches.append(s)
    for opt in config.get("options") or ():
        options[opt.get("name")] = opt.get("value")
    lines = []
    if searches:
        lines.append("search " + " ".join(searches))
    for s in nameservers[:3]:  # the C library reads at most three
        lines.append(f"nameserver {s}")
    if options:
        lines.append("options " + " ".join(k if v is None else f"{k}:{v}" for k, v in options.items()))
    return "".join(line + "\n" for line in lines)


def parse_resolv_conf(text: str) -> tuple[list[str], list[str], int]:
    """``(nameservers, search list, ndots)`` of a resolv.conf text."""
    nameservers: list[str] = []
    search: list[str] = []
    ndots = 1
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "nameserver" and len(parts) > 1:
            nameservers.append(parts[1])
        elif parts[0] in ("search", "domain"):
            search = parts[1:]
        elif parts[0] == "options":
            for opt in parts[1:]:
                if opt.startswith("ndots:"):
                    ndots = min(int(opt[6:]), 15)
    return nameservers, search, ndots


def candidate_names(name: str, search: list[str], ndots: int) -> list[str]:
    """The fully qualified names a stub resolver tries, in order (glibc's ``res_search``).

    Example
    -------
    >>> candidate_names("web", ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], 5)
    ['web.default.svc.cluster.local.', 'web.svc.cluster.local.', 'web.cluster.local.', 'web.']
    """
    if name.endswith("."):
        return [name]
    suffixed = [f"{name}.{s.rstrip('.')}." for s in search]
    if name.count(".") >= ndots:
        return [name + "."] + suffixed
    return suffixed + [name + "."]


# ---------------------------------------------------------------------------------------
# CoreDNS kubernetes plugin
# ---------------------------------------------------------------------------------------
def _items(source) -> list[dict]:
    if source is None:
        return []
    if callable(source):
        source = source()
    if hasattr(source, "list"):
        return list(source.list())
    if isinstance(source, dict) and "items" in source:
        return list(source["items"])
    return list(source)


def _dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


class Resolver:
    """CoreDNS's answers for the cluster domain, and a pod's stub resolver in front of them.

    Parameters
    ----------
    services, endpointslices, pods : list of dict, or a lister / callable giving them
        What CoreDNS watches. Lists are indexed once; listers and callables are read
        on every lookup (so the answers follow the cluster).
    cluster_domain : str
    upstream : dict, optional
        Names outside the cluster domain and their addresses (the forward plugin's world).
    """

    def __init__(self, services=None, endpointslices=None, pods=None, *, cluster_domain: str = CLUSTER_DOMAIN,
                 upstream: dict[str, str] | None = None, namespaces=None):
        self._sources = (services, endpointslices, namespaces)
        self.pods = pods
        self.domain = cluster_domain.strip(".")
        self.upstream = {k.rstrip(".") + ".": v for k, v in (upstream or {}).items()}
        self._live = any(s is not None and not isinstance(s, list) for s in self._sources)
        self._index = None

    def refresh(self) -> None:
        """Forget the indexed records (after the lists given changed)."""
        self._index = None

    # -- building the zone -------------------------------------------------------------
    def _build(self) -> dict:
        services, slices, namespaces = (_items(s) for s in self._sources)
        by_svc: dict[tuple[str, str], list[dict]] = {}
        for s in slices:
            labels = s["metadata"].get("labels") or {}
            svc_name = labels.get("kubernetes.io/service-name")
            if svc_name:
                by_svc.setdefault((s["metadata"].get("namespace"), svc_name), []).append(s)
        zone: dict[str, list[Record]] = {}
        names: set[str] = set()
        d = self.domain

        def add(name: str, rtype: str, data: str) -> None:
            zone.setdefault(name, []).append(Record(name, rtype, data))

        for ns_obj in namespaces:
            names.add(f"{ns_obj['metadata']['name']}.svc.{d}.")
        for svc in sorted(services, key=lambda s: (s["metadata"].get("namespace"), s["metadata"]["name"])):
            m, spec = svc["metadata"], svc.get("spec") or {}
            ns = m.get("namespace")
            base = f"{m['name']}.{ns}.svc.{d}."
            names.add(f"{ns}.svc.{d}.")
            names.add(base)
            if spec.get("type") == "ExternalName":
                add(base, "CNAME", spec.get("externalName", "").rstrip(".") + ".")
                continue
            ports = [p for p in spec.get("ports") or () if p.get("name")]
            if spec.get("clusterIP") and spec["clusterIP"] != "None":
                for ip in spec.get("clusterIPs") or [spec["clusterIP"]]:
                    if ip != "None":
                        add(base, "A" if ":" not in ip else "AAAA", ip)
                for p in ports:
                    add(f"_{p['name']}._{p.get('protocol', 'TCP').lower()}.{base}", "SRV",
                        f"0 100 {p['port']} {base}")
                continue
            # headless: the ready endpoints
            endpoints = []
            for s in by_svc.get((ns, m["name"]), ()):
                for ep in s.get("endpoints") or ():
                    if (ep.get("conditions") or {}).get("ready") is False:
                        continue
                    for ip in ep.get("addresses") or ():
                        endpoints.append((ip, ep.get("hostname") or _dashed(ip), s.get("ports") or []))
            endpoints.sort(key=lambda e: _ip_order(e[0]))
            for ip, host, _ports in endpoints:
                add(base, "A", ip)
                add(f"{host}.{base}", "A", ip)
            for p in ports:
                srv = f"_{p['name']}._{p.get('protocol', 'TCP').lower()}.{base}"
                targets = [(host, ep_port["port"]) for _ip, host, eps in endpoints for ep_port in eps
                           if ep_port.get("name") == p["name"]]
                weight = 100 // len(targets) if targets else 100
                for host, port in targets:
                    add(srv, "SRV", f"0 {weight} {port} {host}.{base}")
        # every suffix of a known name exists (empty non-terminals answer NOERROR, no records)
        for n in list(zone) + list(names):
            parts = n.split(".")
            for i in range(1, len(parts)):
                names.add(".".join(parts[i:]))
        return {"zone": zone, "names": names}

    def _zone(self) -> dict:
        if self._index is None or self._live:
            self._index = self._build()
        return self._index

    # -- answering ---------------------------------------------------------------------
    def query(self, fqdn: str, qtype: str = "A") -> tuple[str, list[Record]]:
        """CoreDNS's answer to one fully qualified question: ``(rcode, records)``."""
        fqdn = fqdn.lower()
        if not fqdn.endswith("."):
            fqdn += "."
        suffix = f".{self.domain}."
        if not fqdn.endswith(suffix) and fqdn != self.domain + ".":
            ip = self.upstream.get(fqdn)
            if ip is None:
                return NXDOMAIN, []
            return NOERROR, [Record(fqdn, "A", ip)] if qtype == "A" else []
        pod_suffix = f".pod.{self.domain}."
        if fqdn.endswith(pod_suffix):
            labels = fqdn[: -len(pod_suffix)].split(".")
            if len(labels) == 2:
                try:
                    ip = str(ipaddress.IPv4Address(labels[0].replace("-", ".")))
                except ValueError:
                    return NXDOMAIN, []
                return NOERROR, [Record(fqdn, "A", ip)] if qtype == "A" else []
            return (NOERROR, []) if len(labels) == 1 and labels[0] else (NXDOMAIN, [])
        z = self._zone()
        records = z["zone"].get(fqdn)
        if records is None:
            if fqdn in z["names"] or fqdn == f"pod.{self.domain}.":
                return NOERROR, []
            return NXDOMAIN, []
        cname = [r for r in records if r.type == "CNAME"]
        if cname and qtype != "CNAME":
            target = cname[0].data
            rc, more = (self.query(target, qtype) if target.endswith(suffix)
                        else (NOERROR, [Record(target, "A", self.upstream[target])] if target in self.upstream
                              and qtype == "A" else []))
            return NOERROR, cname + more
        return NOERROR, [r for r in records if r.type == qtype]

    def lookup(self, name: str, from_namespace: str = "default", qtype: str = "A", *,
               resolv: str | None = None) -> LookupResult:
        """Resolve ``name`` as a pod in ``from_namespace`` would (search list and ndots).

        ``resolv`` is the pod's resolv.conf text (default: a ``ClusterFirst`` pod's).
        """
        text = resolv if resolv is not None else resolv_conf(
            {"metadata": {"namespace": from_namespace}, "spec": {}}, cluster_domain=self.domain)
        _nameservers, search, ndots = parse_resolv_conf(text)
        result = LookupResult(name)
        for fqdn in candidate_names(name, search, ndots):
            rcode, answers = self.query(fqdn, qtype)
            result.queries.append((fqdn, rcode))
            if answers:
                result.answers = answers
                result.rcode = NOERROR
                return result
            result.rcode = rcode
        return result

    def resolve(self, name: str, from_namespace: str = "default") -> list[str]:
        """The addresses ``name`` resolves to from a pod in ``from_namespace`` (empty if none)."""
        return self.lookup(name, from_namespace).addresses


def _ip_order(ip: str) -> tuple:
    try:
        a = ipaddress.ip_address(ip)
        return (a.version, int(a))
    except ValueError:
        return (9, 0)
