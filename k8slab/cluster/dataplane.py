"""The cluster's data plane: a request followed from a name to a container, hop by hop.

Who is where:

- every pod has an IP from its node's ``/24`` (``10.244.N.0/24``); host-network pods
  (kube-proxy, the control plane) use the node's own IP (``172.18.0.X``);
- a packet leaves a pod through its veth into the node's bridge; the node's
  netfilter rules (written by its kube-proxy) may rewrite the destination (DNAT
  from a Service's ClusterIP, NodePort or load-balancer IP to one endpoint pod);
- the node then routes it: to a pod of its own over the bridge, or to the node that
  owns the destination ``/24`` (one route per node, as kindnet writes them);
- the process listening in the destination pod answers (nginx serves its page,
  ``k8slab/echo`` says which pod it is), or nothing listens and the connection is
  refused; a packet for a node that is down, or for an address nobody has, is lost
  and the client times out.

DNS goes the same way: a pod's resolver sends its queries to the nameserver in its
``/etc/resolv.conf`` (``10.96.0.10``, the ``kube-dns`` Service), which kube-proxy
DNATs to a CoreDNS pod.

k8slab simplifies: requests take no virtual time (``c.curl`` looks at the data
plane as it is at that instant), every connection is a new one (no keep-alive),
and the outside world is one client at ``192.0.2.10`` that can reach node IPs and
load-balancer IPs only.
"""

from __future__ import annotations

import ipaddress

from k8slab.api import errors
from k8slab.apiserver.services import SERVICE_CIDR
from k8slab.network.dns import (
    DNS_SERVICE_IP,
    LookupResult,
    Resolver,
    parse_resolv_conf,
    resolv_conf,
)
from k8slab.network.packet import Packet, Walk
from k8slab.network.request import Hop, Response, Traffic, parse_url
from k8slab.node.coredns import CoreDNS

#: The client "outside the cluster" (an address from TEST-NET-1, RFC 5737).
OUTSIDE_IP = "192.0.2.10"

#: How long curl waits for a connection before giving up (its ``--connect-timeout``-like limit here).
CONNECT_TIMEOUT_MS = 10001

_LB_EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


class _Fail(Exception):
    """A request that got no HTTP answer: curl's exit code and message, and the socket error."""

    def __init__(self, code: int, message: str, kind: str, ip: str = "", hop: Hop | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind  # resolve, refused, timeout, empty
        self.ip = ip
        self.hop = hop  # a hop to record before failing (a DNS lookup nobody answered)


class _Source:
    """Where a request starts: a pod, a node, or the outside world."""

    def __init__(self, kind: str, label: str, ip: str, kubelet=None, pod: dict | None = None):
        self.kind = kind
        self.label = label
        self.ip = ip
        self.kubelet = kubelet
        self.pod = pod

    @property
    def host_network(self) -> bool:
        return self.kind == "node" or bool(self.pod and (self.pod.get("spec") or {}).get("hostNetwork"))

    @property
    def namespace(self) -> str:
        return (self.pod or {}).get("metadata", {}).get("namespace") or "default"


class DataPlane:
    """Follows requests through the cluster (see module docstring). The cluster owns one: ``c.dataplane``."""

    def __init__(self, cluster):
        self.c = cluster
        self.random = cluster.rng.stream("dataplane")
        self.coredns = CoreDNS(cluster.api)
        self.ingress = IngressControllers(cluster)  # ingress-nginx, once installed
        self.upstream = Resolver()  # the world's DNS as a node sees it: knows no cluster names

    # -- hooks for programs in pods (nslookup, wget, curl) -------------------------------------
    def resolve(self, name: str, pod: dict):
        """``(fqdn, [ips])`` for a program in ``pod``, or ``None`` (NXDOMAIN or no DNS server)."""
        src = self._pod_source_of(pod)
        try:
            result, _hop = self._lookup(src, name)
        except _Fail:
            return None
        if not result.addresses:
            return None
        return result.answers[0].name.rstrip("."), result.addresses

    def http(self, url: str, pod: dict, headers: dict | None = None):
        """An HTTP GET from a program in ``pod`` (raises ``LookupError`` / ``ConnectionError`` / ``TimeoutError``)."""
        resp = self.request(url, self._pod_source_of(pod), headers=headers)
        if resp.error is None:
            from k8slab.node.apps import HttpResponse

            return HttpResponse(resp.status, resp.body, resp.reason, pod=resp.pod or "", ip=resp.pod_ip or "")
        kind = resp.exit_code
        if kind == 6:
            raise LookupError(url)
        if kind == 28:
            raise TimeoutError(url)
        raise ConnectionRefusedError(self._failed_ip or url)

    # -- sources -----------------------------------------------------------------------------------
    def source(self, *, from_pod: str | None = None, from_node: str | None = None, from_outside: bool = False,
               namespace: str = "default") -> _Source:
        given = [x for x in (from_pod, from_node, from_outside or None) if x is not None]
        if len(given) != 1:
            raise errors.K8sLabError("say where the request comes from: from_pod=NAME, from_node=NAME "
                                     "or from_outside=True (exactly one)")
        if from_outside:
            return _Source("outside", "outside", OUTSIDE_IP)
        if from_node is not None:
            k = self.c._kubelet(from_node)
            if not k.running:
                raise errors.NodeError(f'node "{from_node}" is down: nothing runs on it')
            return _Source("node", from_node, k.internal_ip, k)
        ns, _, name = from_pod.rpartition("/")
        ns = ns or namespace
        try:
            pod = self.c.admin.get("pods", name, ns)
        except errors.NotFound:
            raise errors.K8sLabError(f'pod "{name}" not found in namespace "{ns}"') from None
        return self._pod_source_of(pod, check=True)

    def _pod_source_of(self, pod: dict, check: bool = False) -> _Source:
        m, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        k = self.c.kubelets.get(spec.get("nodeName") or "")
        if check:
            if k is None or status.get("phase") != "Running" or not status.get("podIP"):
                raise errors.K8sLabError(f'pod "{m["name"]}" is not running (phase {status.get("phase", "Pending")}): '
                                         "it cannot send requests")
            if not k.running:
                raise errors.NodeError(f'pod "{m["name"]}" is on node "{k.name}", which is down')
        ip = status.get("podIP") or (k.internal_ip if k and spec.get("hostNetwork") else "")
        return _Source("pod", m["name"], ip, k, pod)

    # -- DNS ------------------------------------------------------------------------------------------
    def resolv_conf(self, src: _Source) -> str:
        if src.kind == "pod":
            return resolv_conf(src.pod)
        return "nameserver 8.8.8.8\n"  # a node (or the outside): the world's DNS, no cluster names

    def _lookup(self, src: _Source, name: str) -> tuple[LookupResult, Hop]:
        """Resolve ``name`` from ``src`` the way its resolver would; raises _Fail when no server answers."""
        text = self.resolv_conf(src)
        nameservers, _search, _ndots = parse_resolv_conf(text)
        server = nameservers[0] if nameservers else DNS_SERVICE_IP
        if src.kind == "outside":
            return self._outside_lookup(name)
        if server != DNS_SERVICE_IP:
            result = self.upstream.lookup(name, src.namespace, resolv=text)
            answer = ", ".join(result.addresses) or result.rcode
            return result, Hop("dns", src.label, f"{name} → asked {server} (outside the cluster): {answer}")
        # the query is a UDP packet to kube-dns, DNATed by the node's rules to a CoreDNS pod
        k = src.kubelet
        walk = self._walk(k, Packet(src.ip, server, 53, "udp"), src.host_network)
        target = self._owner(walk.packet.dst) if walk.verdict == "ACCEPT" else None
        rules = [str(s) for s in walk.steps if s.rule is not None]
        if target is None or not target[0].running or not target[0].runtime.listening(walk.packet.dst, 53):
            hop = Hop("dns", src.label, f"{name}: no answer from {server} (kube-dns has no reachable CoreDNS pod)",
                      rules)
            raise _Fail(6, f"curl: (6) Could not resolve host: {name}", "resolve", hop=hop)
        result = self.coredns.lookup(name, src.namespace, resolv=text)
        pod = target[1].pod_name if target[1] else walk.packet.dst
        by = f"asked kube-dns {server}, answered by {pod} on {target[0].name}"
        if result.addresses:
            text = f"{name} → {result.answers[0].name} {', '.join(result.addresses)} ({by})"
        else:
            tried = ", ".join(q for q, _rc in result.queries)
            text = f"{name}: {result.rcode} for every name tried: {tried} ({by})"
        hop = Hop("dns", src.label, text, rules)
        return result, hop

    def _outside_lookup(self, name: str) -> tuple[LookupResult, Hop]:
        """The outside world's DNS: public names of Ingresses point at the ingress controller's address."""
        result = LookupResult(name)
        address = self.ingress.address_of(name)
        fq = name.rstrip(".") + "."
        result.queries.append((fq, "NOERROR" if address else "NXDOMAIN"))
        if address:
            from k8slab.network.dns import NOERROR, Record

            result.answers = [Record(fq, "A", address)]
            result.rcode = NOERROR
            return result, Hop("dns", "outside", f"{name} → {address} (public DNS points the Ingress host at the "
                                                 "ingress controller's load balancer)")
        return result, Hop("dns", "outside", f"{name} → NXDOMAIN")

    # -- requests -------------------------------------------------------------------------------------
    def request(self, url: str, src: _Source, *, headers: dict | None = None) -> Response:
        """Send one HTTP GET from ``src`` and follow it (see module docstring)."""
        scheme, host, port, path = parse_url(url)
        resp = Response(url)
        self._failed_ip = None
        try:
            if port < 1 or port > 65535:
                raise _Fail(3, "curl: (3) URL rejected: Port number was not a decimal number between 0 and 65535",
                            "url")
            ip = host
            if host in ("localhost", "127.0.0.1"):
                ip = "127.0.0.1"
            elif not _is_ip(host):
                try:
                    result, hop = self._lookup(src, host)
                except _Fail as f:
                    if f.hop is not None:
                        resp.hops.append(f.hop)
                    raise
                resp.hops.append(hop)
                if not result.addresses:
                    raise _Fail(6, f"curl: (6) Could not resolve host: {host}", "resolve")
                ip = result.addresses[0]
            host_header = host if port in (80, 443) else f"{host}:{port}"
            # curl -H "Host: shop.example.com": the header names the virtual host, the URL only where to connect
            for name, value in (headers or {}).items():
                if name.lower() == "host":
                    host_header = value
            self._deliver(resp, src, ip, port, path, host_header, headers, display=host)
        except _Fail as f:
            resp.error, resp.exit_code = f.message, f.code
            resp.reason = {"resolve": "Could not resolve host", "refused": "Connection refused",
                           "timeout": "Connection timed out", "empty": "Empty reply from server"}.get(f.kind, "")
            self._failed_ip = f.ip or None
        return resp

    def _deliver(self, resp: Response, src: _Source, ip: str, port: int, path: str, host_header: str,
                 headers: dict | None, *, display: str) -> None:
        """Connect from ``src`` to ``ip:port``, follow the packet, and ask the server."""
        if ip == "127.0.0.1":
            if src.kind == "outside":
                raise _Fail(7, f"curl: (7) Failed to connect to {display} port {port} after 0 ms: "
                               "Couldn't connect to server", "refused", ip)
            k, dst_ip, client_ip = src.kubelet, (src.ip if not src.host_network else "127.0.0.1"), "127.0.0.1"
            resp.hops.append(Hop("route", src.label, f"{ip}:{port} is the loopback interface of {src.label}"))
            self._answer(resp, k, dst_ip if dst_ip != "127.0.0.1" else k.internal_ip, port, path, host_header,
                         headers, client_ip, display, port)
            return
        packet = Packet(src.ip, ip, port, "tcp")
        if src.kind == "outside":
            k = self._first_node(resp, ip)
        else:
            k = src.kubelet
        walk = self._walk(k, packet, src.host_network)
        resp.hops.append(_iptables_hop(k.name, walk))
        if walk.verdict == "REJECT":
            raise _Fail(7, f"curl: (7) Failed to connect to {display} port {port} after 1 ms: "
                           "Couldn't connect to server", "refused", ip)
        if walk.verdict == "DROP":
            raise self._timeout(resp, k.name, "the packet was dropped", display, port)
        dst, dport, client = walk.packet.dst, walk.packet.dport, walk.packet.src
        target = self._owner(dst)
        if target is None:
            why = f"no node or pod has the address {dst}"
            if _in_cidr(dst, SERVICE_CIDR):
                why = (f"{dst} is a Service IP: only kube-proxy's rules know it, and none matched port {dport}, "
                       "so the packet goes nowhere")
            raise self._timeout(resp, k.name, why, display, port)
        tk = target[0]
        if tk is not k:
            if src.kind == "outside" and not walk.steps and _in_cidr(dst, self.c.controller_manager.cluster_cidr):
                raise self._timeout(resp, "outside", f"pod IPs like {dst} are not routable from outside the cluster",
                                    display, port)
            resp.hops.append(Hop("route", k.name, f"{dst} → {tk.name} ({_route_text(tk, dst)})"))
        elif target[1] is not None:
            resp.hops.append(Hop("route", k.name, f"{dst} is a local pod: over the bridge to its veth"))
        if not tk.running:
            raise self._timeout(resp, tk.name, f"node {tk.name} is down: nothing answers", display, port)
        self._answer(resp, tk, dst, dport, path, host_header, headers, client, display, port)

    def _answer(self, resp, k, ip, port, path, host_header, headers, client_ip, display, asked) -> None:
        """Hand the connection to whatever listens on ``ip:port`` of node ``k`` (``asked``: the client's port)."""
        sandbox = k.runtime.sandbox_by_ip(ip)
        if ip not in (k.internal_ip, "127.0.0.1") and sandbox is None:
            raise self._timeout(resp, k.name, f"no pod has the address {ip}", display, asked)
        where = sandbox.pod_name if sandbox is not None and not sandbox.host_network else k.name
        if sandbox is not None and self.ingress.serves(sandbox, port):
            self.ingress.forward(self, resp, k, sandbox, port, path, host_header, headers, client_ip)
            return
        try:
            answer = k.runtime.http(ip, port, path, host=host_header, client_ip=client_ip, headers=headers)
        except ConnectionRefusedError:
            resp.hops.append(Hop("pod", k.name, f"nothing listens on {ip}:{port} in {where}: connection refused"))
            raise _Fail(7, f"curl: (7) Failed to connect to {display} port {asked} after 1 ms: "
                           "Couldn't connect to server", "refused", ip) from None
        if answer.status == 0:
            resp.hops.append(Hop("pod", k.name, f"{where} ({ip}:{port}) accepted, but does not speak HTTP"))
            raise _Fail(52, "curl: (52) Empty reply from server", "empty", ip)
        resp.status, resp.reason, resp.body = answer.status, answer.reason, answer.body
        resp.node, resp.pod_ip = k.name, ip
        if sandbox is not None and not sandbox.host_network:
            resp.pod, resp.namespace = sandbox.pod_name, sandbox.namespace
        elif answer.pod:  # a host-network pod (the API server, kube-proxy) answered on the node's IP
            where = f"{answer.pod} on the host network"
            resp.pod, resp.namespace = answer.pod, sandbox.namespace if sandbox is not None else None
        resp.hops.append(Hop("pod", k.name, f"{where} ({ip}:{port}) answered {answer.status} {answer.reason}"))

    def _timeout(self, resp: Response, where: str, why: str, display: str, port: int) -> _Fail:
        resp.hops.append(Hop("error", where, why))
        return _Fail(28, f"curl: (28) Failed to connect to {display} port {port} after {CONNECT_TIMEOUT_MS} ms: "
                         "Timeout was reached", "timeout")

    def _first_node(self, resp: Response, ip: str):
        """The node an outside packet for ``ip`` reaches: the node itself, or one behind a load balancer."""
        for k in self.c.kubelets.values():
            if k.internal_ip == ip:
                resp.hops.append(Hop("route", "outside", f"{ip} is node {k.name}"))
                return k
        svc = self._load_balancer_service(ip)
        if svc is None:
            resp.hops.append(Hop("error", "outside", f"{ip} is not reachable from outside the cluster"))
            raise _Fail(28, f"curl: (28) Failed to connect to {ip} port {resp.url and parse_url(resp.url)[2]} after "
                            f"{CONNECT_TIMEOUT_MS} ms: Timeout was reached", "timeout")
        # the cloud's load balancer spreads connections over the cluster's ready nodes; with
        # externalTrafficPolicy Local its health checks (spec.healthCheckNodePort) pass only on nodes
        # that have a ready endpoint of the Service
        allowed = self._lb_nodes()
        local = (svc.get("spec") or {}).get("externalTrafficPolicy") == "Local"
        if local:
            allowed &= self._nodes_with_ready_endpoints(svc)
        targets = [k for name, k in sorted(self.c.kubelets.items()) if k.running and name in allowed]
        if not targets:
            resp.hops.append(Hop("error", "outside", f"load balancer {ip} has no healthy node behind it"))
            raise _Fail(28, f"curl: (28) Failed to connect to {ip} port 80 after {CONNECT_TIMEOUT_MS} ms: "
                            "Timeout was reached", "timeout")
        k = targets[self.random.randrange(len(targets))]
        m = svc["metadata"]
        note = " (externalTrafficPolicy Local: only nodes whose health check passes)" if local else ""
        resp.hops.append(Hop("lb", "cloud", f"load balancer {ip} of service {m['namespace']}/{m['name']} → node "
                                            f"{k.name} ({k.internal_ip}){note}"))
        return k

    def _lb_nodes(self) -> set[str]:
        nodes = self.c.admin.list("nodes")["items"]
        return {n["metadata"]["name"] for n in nodes
                if _LB_EXCLUDE_LABEL not in (n["metadata"].get("labels") or {})}

    def _nodes_with_ready_endpoints(self, svc: dict) -> set[str]:
        m = svc["metadata"]
        slices = self.c.admin.list("endpointslices", m["namespace"],
                                   label_selector=f"kubernetes.io/service-name={m['name']}")["items"]
        return {e.get("nodeName") for es in slices for e in es.get("endpoints") or ()
                if (e.get("conditions") or {}).get("ready") and e.get("nodeName")}

    def _load_balancer_service(self, ip: str) -> dict | None:
        for svc in self.c.admin.list("services", None)["items"]:
            for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ():
                if ing.get("ip") == ip:
                    return svc
        return None

    # -- where things are --------------------------------------------------------------------------
    def _walk(self, k, packet: Packet, from_host: bool) -> Walk:
        proxy = k.proxy
        if proxy is None:
            from k8slab.network.iptables import Tables

            return Tables(local_ips=[k.internal_ip]).walk(packet, self.random, from_host=from_host)
        return proxy.walk(packet, self.random, from_host=from_host)

    def _owner(self, ip: str):
        """``(kubelet, sandbox or None)`` of the node or pod with address ``ip``, or ``None``."""
        for k in self.c.kubelets.values():
            if k.internal_ip == ip:
                return k, None
        for k in self.c.kubelets.values():
            if k.pod_cidr and _in_cidr(ip, k.pod_cidr):
                return k, k.runtime.sandbox_by_ip(ip)
        return None

    # -- many requests --------------------------------------------------------------------------------
    def traffic(self, service: str, requests: int, src: _Source, *, namespace: str = "default",
                port: int | str | None = None, path: str = "/") -> Traffic:
        """Send ``requests`` requests to a Service's ClusterIP and count which pod answered each."""
        try:
            svc = self.c.admin.get("services", service, namespace)
        except errors.NotFound:
            raise errors.K8sLabError(f'service "{service}" not found in namespace "{namespace}"') from None
        spec = svc.get("spec") or {}
        ports = spec.get("ports") or []
        chosen = ports[0] if ports else None
        if port is not None:
            chosen = next((p for p in ports if port in (p.get("port"), p.get("name"))), None)
        if chosen is None:
            raise errors.K8sLabError(f'service "{service}" has no port {port if port is not None else ""}'.rstrip())
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            raise errors.K8sLabError(f'service "{service}" is headless: it has no ClusterIP to send traffic to')
        counts: dict[str, int] = {}
        nodes: dict[str, str] = {}
        failed: dict[str, int] = {}
        url = f"http://{ip}:{chosen['port']}{path}"
        for _ in range(requests):
            resp = self.request(url, src)
            if resp.error is not None:
                key = resp.reason or resp.error
                failed[key] = failed.get(key, 0) + 1
                continue
            name = resp.pod or resp.node or "?"
            counts[name] = counts.get(name, 0) + 1
            nodes[name] = resp.node or ""
        return Traffic(service, requests, counts, nodes=nodes, failed=failed, source=src.label)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _in_cidr(ip: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _route_text(k, dst: str) -> str:
    if k.pod_cidr and _in_cidr(dst, k.pod_cidr):
        return f"route {k.pod_cidr} via {k.internal_ip}"
    return f"{k.internal_ip} is on the nodes' network"


def _iptables_hop(node: str, walk: Walk) -> Hop:
    """Summarise a rule walk: the kube-proxy chains the packet went through and what they did to it."""
    rules = [str(s) for s in walk.steps if s.rule is not None]
    chains: list[str] = []
    for s in walk.steps:
        if s.rule is None:
            continue
        # the nat chains that choose the endpoint; a filter chain only where it rejected or dropped
        interesting = s.table == "nat" and s.chain not in ("PREROUTING", "OUTPUT", "POSTROUTING", "KUBE-POSTROUTING")
        target = s.rule.target
        verdict = getattr(target, "kind", None) == "reject" or getattr(target, "name", None) == "DROP"
        if (interesting or verdict) and s.chain not in chains and s.chain != "KUBE-MARK-MASQ":
            chains.append(s.chain)
    original, final = walk.original, walk.packet
    if walk.verdict == "REJECT":
        outcome = "REJECT: the Service has no ready endpoints (icmp-port-unreachable)"
    elif walk.verdict == "DROP":
        outcome = "DROP"
    elif (final.dst, final.dport) != (original.dst, original.dport):
        outcome = f"DNAT {original.dst}:{original.dport} → {final.dst}:{final.dport}"
    else:
        outcome = f"no rule matched {original.dst}:{original.dport}: routed as it is"
    if final.src != original.src:
        outcome += f", then SNAT (masquerade) {original.src} → {final.src}"
    path = " → ".join(chains)
    return Hop("iptables", node, f"{path}: {outcome}" if path else outcome, rules)


INGRESS_NGINX_IMAGE = "registry.k8s.io/ingress-nginx/controller"


class IngressControllers:
    """The ingress-nginx controllers running in the cluster: one per controller container.

    The controller's process lives in its container: it starts when the container
    starts, stops when it exits (gracefully: it clears the Ingress status if it is the
    last one), and stops abruptly when its node fails.
    """

    def __init__(self, cluster):
        self.c = cluster
        self.running: dict[str, tuple] = {}  # container id -> (kubelet, sandbox, controller)

    def __repr__(self) -> str:
        return f"IngressControllers({len(self.running)} running)"

    def watch(self, kubelet) -> None:
        kubelet.runtime.lifecycle_hooks.append(lambda event, container: self._on(kubelet, event, container))

    def _on(self, k, event: str, container) -> None:
        if container.image.repository != INGRESS_NGINX_IMAGE:
            return
        from k8slab.node.ingress_nginx import IngressNginxController

        entry = self.running.get(container.id)
        if event in ("start", "thaw") and (entry is None or not entry[2].running):
            sandbox = k.runtime.sandboxes.get(container.sandbox_id)
            ctl = entry[2] if entry is not None else IngressNginxController(
                self.c.api, self.c.loop, self.c.rng, pod_name=sandbox.pod_name, pod_namespace=sandbox.namespace,
                events=self.c.events_enabled)
            self.running[container.id] = (k, sandbox, ctl)
            ctl.start()
        elif event in ("exit", "freeze") and entry is not None:
            entry[2].stop(graceful=event == "exit")
            if event == "exit":
                del self.running[container.id]

    def _active(self):
        return [(k, sb, ctl) for k, sb, ctl in self.running.values() if ctl.running and k.running]

    def address_of(self, host: str) -> str | None:
        for _k, _sb, ctl in self._active():
            address = ctl.address_of(host)
            if address:
                return address
        return None

    def serves(self, sandbox, port: int) -> bool:
        return port in (80, 443) and any(sb is sandbox for _k, sb, _c in self._active())

    def forward(self, dp: DataPlane, resp: Response, k, sandbox, port: int, path: str, host_header: str,
                headers, client_ip: str) -> None:
        """nginx in the controller pod picks a route and proxies to one endpoint pod directly."""
        from k8slab.network.ingress import nginx_error_page

        ctl = next(c for _k, sb, c in self._active() if sb is sandbox)
        host = host_header.rsplit(":", 1)[0] if ":" in host_header else host_header
        pick = ctl.pick_backend(host, path, rng=dp.random)
        me = sandbox.pod_name
        if pick is None or pick[1] is None:
            status = 404 if pick is None else 503
            why = (f"no Ingress rule for host {host} path {path}: the default backend answers"
                   if pick is None else f"{pick[0].backend} has no ready endpoint")
            resp.hops.append(Hop("ingress", k.name, f"{me}: {why} ({status})"))
            resp.status, resp.body = status, nginx_error_page(status)
            resp.reason = {404: "Not Found", 503: "Service Temporarily Unavailable"}[status]
            resp.node, resp.pod, resp.namespace, resp.pod_ip = k.name, me, sandbox.namespace, sandbox.ip
            return
        route, endpoint = pick
        where = f"{route.path} ({route.path_type})" if route.path else "default backend"
        host_text = route.host or "*"
        resp.hops.append(Hop("ingress", k.name, f"{me}: host {host_text} path {where} of ingress {route.namespace}/"
                                                f"{route.ingress} → {route.backend} → endpoint {endpoint}"))
        pod = {"metadata": {"name": me, "namespace": sandbox.namespace}, "spec": {}}
        src = _Source("pod", me, sandbox.ip, k, pod)
        ip, _, ep_port = endpoint.rpartition(":")
        try:
            dp._deliver(resp, src, ip, int(ep_port), path, host_header, headers, display=host)
        except _Fail as f:
            # nginx answers for an upstream it could not reach: 502 when refused, 504 when it timed out
            status = 504 if f.kind == "timeout" else 502
            reason = {502: "Bad Gateway", 504: "Gateway Time-out"}[status]
            why = ("upstream timed out (110: Connection timed out)" if status == 504
                   else "connect() failed (111: Connection refused)")  # nginx's error log words
            resp.hops.append(Hop("ingress", k.name, f"{me}: {why} while connecting to upstream {endpoint} "
                                                    f"({status})"))
            resp.status, resp.body, resp.reason = status, nginx_error_page(status), reason
            resp.node, resp.pod, resp.namespace, resp.pod_ip = k.name, me, sandbox.namespace, sandbox.ip


class DNSView:
    """``c.dns``: ask the cluster's DNS as a pod (or a node) would."""

    def __init__(self, cluster):
        self.c = cluster
        self.dp = cluster.dataplane

    def __repr__(self) -> str:
        return f"<cluster DNS: kube-dns {DNS_SERVICE_IP}, {self.dp.coredns!r}>"

    def resolve(self, name: str, *, from_pod: str | None = None, from_node: str | None = None,
                namespace: str = "default", qtype: str = "A") -> LookupResult:
        """Resolve ``name`` through the source's ``/etc/resolv.conf`` (search list, ``ndots:5``).

        Without ``from_pod`` / ``from_node``, as a ``ClusterFirst`` pod in ``namespace`` would.
        The result lists each query tried with its answer code, then the records.
        """
        if from_pod is None and from_node is None:
            pod = {"metadata": {"name": "(a pod)", "namespace": namespace}, "spec": {}}
            src = _Source("pod", "(a pod)", "", None, pod)
            return self.dp.coredns.lookup(name, src.namespace, qtype, resolv=self.dp.resolv_conf(src))
        src = self.dp.source(from_pod=from_pod, from_node=from_node, namespace=namespace)
        try:
            result, _hop = self.dp._lookup(src, name)
        except _Fail:
            result = LookupResult(name)
            result.rcode = "TIMEOUT"  # nslookup: ";; connection timed out; no servers could be reached"
        if qtype != "A" and result.rcode != "TIMEOUT" and src.kind == "pod":
            result = self.dp.coredns.lookup(name, src.namespace, qtype, resolv=self.dp.resolv_conf(src))
        return result

    def resolv_conf(self, *, from_pod: str, namespace: str = "default") -> str:
        """The ``/etc/resolv.conf`` the kubelet wrote for the pod."""
        return self.dp.resolv_conf(self.dp.source(from_pod=from_pod, namespace=namespace))
