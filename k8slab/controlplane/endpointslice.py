"""Which pods back a Service: the EndpointSlice and Endpoints controllers.

A Service with a ``selector`` does not route anything itself. Two controllers of
kube-controller-manager watch Services and Pods and write down, for each
Service, the addresses of the pods its selector matches:

- ``endpointslice-controller`` keeps ``EndpointSlice`` objects
  (``discovery.k8s.io/v1``, named ``<service>-<5 chars>``, labelled
  ``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by:
  endpointslice-controller.k8s.io``, owned by the Service). Each endpoint has
  the pod's IP, ``conditions`` (``ready``, ``serving``, ``terminating``), the
  pod's ``nodeName``, ``zone`` and a ``targetRef``; a slice holds at most 100
  endpoints that share one list of resolved ports (a named ``targetPort`` is
  looked up in each pod's ``containerPorts``). kube-proxy and CoreDNS read these.
- ``endpoint-controller`` keeps the legacy ``Endpoints`` object of the same
  name as the Service: ``subsets`` of ``addresses`` (ready) and
  ``notReadyAddresses``.

Only pods with an IP and not finished count. A pod is *ready* when its ``Ready``
condition is ``True``; a terminating pod (``deletionTimestamp`` set) stays in
the slices as ``serving`` (if still ready) and ``terminating``, but never
``ready`` — unless the Service sets ``publishNotReadyAddresses``, which makes
every endpoint ready. The Endpoints object drops terminating pods (again unless
``publishNotReadyAddresses``).

Pods are matched to Services through informer indexes on ``namespace/label=value``
pairs (pods by their labels, Services by their selector), so a pod event costs
the few Services that could select it, never a scan of the cluster.

k8slab simplifies: no topology hints, no ``last-change-trigger-time``
annotation, no over-capacity truncation of Endpoints; the Endpoints object's
ports are sorted by name and port (the real one sorts by a hash).

Example
-------
>>> pod = {"metadata": {"name": "web-1", "namespace": "default", "uid": "u1"},
...        "spec": {"nodeName": "worker-1", "containers": [{"name": "c", "ports": [
...            {"name": "http", "containerPort": 8080}]}]},
...        "status": {"podIP": "10.244.1.5", "conditions": [{"type": "Ready", "status": "True"}]}}
>>> svc = {"metadata": {"name": "web", "namespace": "default"},
...        "spec": {"ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"}]}}
>>> endpoint_ports(svc, pod)
[{'name': '', 'protocol': 'TCP', 'port': 8080}]
>>> pod_to_endpoint(pod, svc)["conditions"]
{'ready': True, 'serving': True, 'terminating': False}
"""

from __future__ import annotations

import ipaddress
import json
import re

from k8slab.api import errors
from k8slab.api.objects import clone, is_pod_ready, owner_reference
from k8slab.controlplane.controller import Controller

#: At most this many endpoints per EndpointSlice (``--max-endpoints-per-slice`` default).
MAX_ENDPOINTS_PER_SLICE = 100
LABEL_SERVICE_NAME = "kubernetes.io/service-name"
LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
LABEL_HEADLESS = "service.kubernetes.io/headless"
LABEL_SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
LABEL_ZONE = "topology.kubernetes.io/zone"

#: Informer index of pods by ``namespace/key=value`` of each label.
INDEX_POD_LABELS = "labelPairs"
#: Informer index of Services by ``namespace/key=value`` of each selector entry.
INDEX_SERVICE_SELECTOR = "selectorPairs"
#: Informer index of EndpointSlices by the ``namespace/name`` of their Service.
INDEX_SLICE_SERVICE = "serviceKey"


# ---------------------------------------------------------------------------------------
# What an endpoint looks like (pkg/controller/endpointslice/util, endpointutil)
# ---------------------------------------------------------------------------------------
def pod_label_pairs(pod: dict) -> list[str]:
    m = pod["metadata"]
    ns = m.get("namespace") or ""
    return [f"{ns}/{k}={v}" for k, v in (m.get("labels") or {}).items()]


def service_selector_pairs(svc: dict) -> list[str]:
    sel = (svc.get("spec") or {}).get("selector") or {}
    ns = svc["metadata"].get("namespace") or ""
    return [f"{ns}/{k}={v}" for k, v in sel.items()]


def slice_service_key(eps: dict) -> list[str]:
    labels = eps["metadata"].get("labels") or {}
    if labels.get(LABEL_MANAGED_BY) != MANAGED_BY or not labels.get(LABEL_SERVICE_NAME):
        return []
    return [f"{eps['metadata'].get('namespace')}/{labels[LABEL_SERVICE_NAME]}"]


def selects(svc: dict, pod: dict) -> bool:
    """True when the Service's (non-empty) selector matches the pod's labels."""
    sel = (svc.get("spec") or {}).get("selector") or {}
    if not sel or svc["metadata"].get("namespace") != pod["metadata"].get("namespace"):
        return False
    labels = pod["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in sel.items())


def pod_ips(pod: dict) -> list[str]:
    status = pod.get("status") or {}
    ips = [p.get("ip") for p in status.get("podIPs") or () if p.get("ip")]
    if not ips and status.get("podIP"):
        ips = [status["podIP"]]
    return ips


def should_pod_be_in_endpoints(pod: dict, include_terminating: bool) -> bool:
    """``endpointutil.ShouldPodBeInEndpoints``: has an IP, not finished, (not terminating)."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    if not pod_ips(pod):
        return False
    if not include_terminating and pod["metadata"].get("deletionTimestamp"):
        return False
    return True


def should_set_hostname(pod: dict, svc: dict) -> bool:
    """A pod gets a DNS hostname under the Service whose name is its ``subdomain``."""
    spec = pod.get("spec") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == svc["metadata"]["name"] and \
        svc["metadata"].get("namespace") == pod["metadata"].get("namespace")


def find_port(pod: dict, service_port: dict) -> int | None:
    """``podutil.FindPort``: the container port a Service port's ``targetPort`` means for this pod."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol", "TCP")
    for c in (pod.get("spec") or {}).get("containers") or ():
        for p in c.get("ports") or ():
            if p.get("name") == target and p.get("protocol", "TCP") == protocol:
                return p.get("containerPort")
    return None


def endpoint_ports(svc: dict, pod: dict) -> list[dict]:
    """The EndpointSlice ports of one pod: each Service port resolved (skipped if it can't be)."""
    out = []
    for sp in (svc.get("spec") or {}).get("ports") or ():
        number = find_port(pod, sp)
        if number is None:
            continue
        port = {"name": sp.get("name", ""), "protocol": sp.get("protocol", "TCP"), "port": number}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return out


def _target_ref(pod: dict) -> dict:
    m = pod["metadata"]
    return {"kind": "Pod", "name": m["name"], "namespace": m.get("namespace"), "uid": m.get("uid")}


def pod_to_endpoint(pod: dict, svc: dict, zone: str | None = None) -> dict:
    """``podToEndpoint``: one EndpointSlice endpoint for ``pod``."""
    serving = is_pod_ready(pod)
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    # ready is never true for a terminating pod, unless publishNotReadyAddresses
    ready = bool((svc.get("spec") or {}).get("publishNotReadyAddresses")) or (serving and not terminating)
    # keys in the order of the Go struct (what a real API server serialises)
    ep = {
        "addresses": [ip for ip in pod_ips(pod) if _is_ipv4(ip)][:1] or pod_ips(pod)[:1],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
    }
    if should_set_hostname(pod, svc):
        ep["hostname"] = pod["spec"]["hostname"]
    ep["targetRef"] = _target_ref(pod)
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        ep["nodeName"] = node
    if zone:
        ep["zone"] = zone
    return ep


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _is_ipv4(ip: str) -> bool:
    """Is ``ip`` an IPv4 address (as ``ipaddress`` parses it: four decimal octets, no leading zeros)?

    >>> _is_ipv4("10.244.1.5"), _is_ipv4("10.244.01.5"), _is_ipv4("fd00::1")
    (True, False, False)
    """
    if type(ip) is str:
        # the common case, without building an address object (this runs for every endpoint)
        return _IPV4.fullmatch(ip) is not None
    try:
        return isinstance(ipaddress.ip_address(ip), ipaddress.IPv4Address)
    except ValueError:
        return False


def _ports_key(ports) -> str:
    return json.dumps(sorted((p.get("name", ""), p.get("port"), p.get("protocol", "TCP")) for p in ports or ()))


def _ref_key(ep: dict) -> str:
    ref = ep.get("targetRef") or {}
    return f"{ref.get('namespace')}/{ref.get('name')}" if ref else ",".join(ep.get("addresses") or ())


# ---------------------------------------------------------------------------------------
# The shared part: Services and the pods they select
# ---------------------------------------------------------------------------------------
class _ServicePodController(Controller):
    """Watches Services and Pods; a change of either queues the Services concerned."""

    def setup(self) -> None:
        self.services = self.informers.informer("services")
        self.pods = self.informers.informer("pods")
        self.services.add_index(INDEX_SERVICE_SELECTOR, service_selector_pairs)
        self.pods.add_index(INDEX_POD_LABELS, pod_label_pairs)
        self.services.add_event_handler(
            on_add=self._service_changed,
            on_update=lambda old, new: self._service_changed(new),
            on_delete=self._service_changed,
        )
        self.pods.add_event_handler(on_add=self._pod_added, on_update=self._pod_updated,
                                    on_delete=self._pod_added)

    def _service_changed(self, svc: dict) -> None:
        m = svc["metadata"]
        self.queue.add(f"{m.get('namespace')}/{m['name']}")

    def services_of(self, pod: dict) -> list[dict]:
        """The Services whose selector matches ``pod`` (looked up by its label pairs)."""
        seen: dict[str, dict] = {}
        for pair in pod_label_pairs(pod):
            for svc in self.services.lister.by_index(INDEX_SERVICE_SELECTOR, pair):
                m = svc["metadata"]
                key = f"{m.get('namespace')}/{m['name']}"
                if key not in seen and selects(svc, pod):
                    seen[key] = svc
        return [seen[k] for k in sorted(seen)]

    def pods_of(self, svc: dict) -> list[dict]:
        """The pods ``svc`` selects, by name."""
        pairs = service_selector_pairs(svc)
        if not pairs:
            return []
        # the smallest index bucket of the selector's pairs, then the full match
        candidates = min((self.pods.lister.by_index(INDEX_POD_LABELS, p) for p in pairs), key=len)
        pods = [p for p in candidates if selects(svc, p)]
        pods.sort(key=lambda p: p["metadata"]["name"])
        return pods

    def _enqueue_services(self, pod: dict) -> None:
        for svc in self.services_of(pod):
            self._service_changed(svc)

    def _pod_added(self, pod: dict) -> None:
        self._enqueue_services(pod)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if (old["metadata"].get("labels") or {}) != (new["metadata"].get("labels") or {}):
            keys = {}
            for svc in self.services_of(old) + self.services_of(new):
                keys[f"{svc['metadata'].get('namespace')}/{svc['metadata']['name']}"] = svc
            for k in sorted(keys):
                self.queue.add(k)
        elif _endpoint_view(old) != _endpoint_view(new):
            self._enqueue_services(new)


def _endpoint_view(pod: dict) -> tuple:
    # what an endpoint is made of; other pod changes (container statuses...) don't matter
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    return (tuple(pod_ips(pod)), spec.get("nodeName"), is_pod_ready(pod), status.get("phase") in ("Succeeded", "Failed"),
            bool(pod["metadata"].get("deletionTimestamp")), spec.get("hostname"), spec.get("subdomain"))


# ---------------------------------------------------------------------------------------
# EndpointSlice controller
# ---------------------------------------------------------------------------------------
class EndpointSliceController(_ServicePodController):
    """Keeps the EndpointSlices of every Service with a selector (see module docstring)."""

    name = "endpointslice-controller"

    def setup(self) -> None:
        super().setup()
        self.slices = self.informers.informer("endpointslices")
        self.slices.add_index(INDEX_SLICE_SERVICE, slice_service_key)
        self.nodes = self.informers.informer("nodes")
        self.slices.add_event_handler(on_add=self._slice_seen, on_update=lambda o, n: self._slice_seen(n),
                                      on_delete=self._slice_deleted)
        # our own writes the cache has not shown yet: service key -> {slice name: rv or None}
        self._unseen: dict[str, dict[str, int | None]] = {}

    def _slice_seen(self, eps: dict) -> None:
        for key in slice_service_key(eps):
            waiting = self._unseen.get(key)
            name = eps["metadata"]["name"]
            if waiting and name in waiting:
                rv = waiting[name]
                if rv is not None and int(eps["metadata"].get("resourceVersion") or 0) >= rv:
                    del waiting[name]
            if waiting is not None and not waiting:
                del self._unseen[key]
            self.queue.add(key)

    def _slice_deleted(self, eps: dict) -> None:
        for key in slice_service_key(eps):
            waiting = self._unseen.get(key)
            if waiting is not None:
                waiting.pop(eps["metadata"]["name"], None)
                if not waiting:
                    del self._unseen[key]
            self.queue.add(key)

    def _zone(self, node_name: str | None) -> str | None:
        if not node_name:
            return None
        node = self.nodes.lister.get(node_name)
        return ((node or {}).get("metadata", {}).get("labels") or {}).get(LABEL_ZONE) if node else None

    def sync(self, key: str) -> None:
        ns, name = key.split("/", 1)
        svc = self.services.lister.get(name, ns)
        if svc is None or not (svc.get("spec") or {}).get("selector"):
            # the garbage collector removes the slices of a deleted Service (owner reference)
            return
        if svc["metadata"].get("deletionTimestamp"):
            return
        if self._unseen.get(key):
            # the cache does not show our last writes yet: their watch events queue us again
            return
        # desired endpoints, grouped by their resolved ports
        desired: dict[str, tuple[list, dict[str, dict]]] = {}
        for pod in self.pods_of(svc):
            if not should_pod_be_in_endpoints(pod, True):
                continue
            ports = endpoint_ports(svc, pod)
            group = desired.setdefault(_ports_key(ports), (ports, {}))
            ep = pod_to_endpoint(pod, svc, self._zone((pod.get("spec") or {}).get("nodeName")))
            group[1][_ref_key(ep)] = ep
        existing = sorted(self.slices.lister.by_index(INDEX_SLICE_SERVICE, key), key=lambda s: s["metadata"]["name"])
        by_ports: dict[str, list[dict]] = {}
        for s in existing:
            by_ports.setdefault(_ports_key(s.get("ports")), []).append(s)

        creates: list[dict] = []
        updates: list[dict] = []
        deletes: list[dict] = []
        labels = self._slice_labels(svc)
        for pkey, (ports, eps) in desired.items():
            remaining = dict(eps)
            plan = []  # (slice, endpoints, changed)
            for s in by_ports.pop(pkey, []):
                kept = []
                changed = False
                for ep in s.get("endpoints") or ():
                    want = remaining.pop(_ref_key(ep), None)
                    if want is None:
                        changed = True
                    else:
                        kept.append(want)
                        changed = changed or want != ep
                plan.append([s, kept, changed])
            order = [k for k in remaining]
            # 1. fill the slices that change anyway
            for item in plan:
                if item[2]:
                    while order and len(item[1]) < MAX_ENDPOINTS_PER_SLICE:
                        item[1].append(remaining[order.pop(0)])
            # 2. new slices for full batches; a last partial batch goes to a slice with room
            while order:
                batch = [remaining[k] for k in order[:MAX_ENDPOINTS_PER_SLICE]]
                del order[:MAX_ENDPOINTS_PER_SLICE]
                room = None
                if len(batch) < MAX_ENDPOINTS_PER_SLICE:
                    fits = [it for it in plan if not it[2] and len(it[1]) + len(batch) <= MAX_ENDPOINTS_PER_SLICE]
                    room = max(fits, key=lambda it: len(it[1]), default=None)
                if room is not None:
                    room[1].extend(batch)
                    room[2] = True
                else:
                    creates.append(self._new_slice(svc, ports, batch, labels))
            for s, kept, changed in plan:
                if not kept:
                    deletes.append(s)
                elif changed or s["metadata"].get("labels") != labels:
                    new = clone(s)
                    new["endpoints"] = kept
                    new["metadata"]["labels"] = labels
                    updates.append(new)
        # slices whose ports no longer occur
        leftovers = [s for group in by_ports.values() for s in group]
        if not desired:
            # a Service that selects nothing keeps one empty placeholder slice
            placeholder = next((s for s in leftovers if not s.get("ports") and not s.get("endpoints")), None)
            if placeholder is None:
                creates.append(self._new_slice(svc, None, None, labels))
            else:
                leftovers.remove(placeholder)
                if placeholder["metadata"].get("labels") != labels:
                    new = clone(placeholder)
                    new["metadata"]["labels"] = labels
                    updates.append(new)
        for s in leftovers:
            if creates and not s.get("ports") and not s.get("endpoints"):
                # reuse the placeholder for the first new slice rather than delete and create
                new = clone(s)
                first = creates.pop(0)
                new["ports"], new["endpoints"] = first["ports"], first["endpoints"]
                new["metadata"]["labels"] = labels
                updates.append(new)
            else:
                deletes.append(s)
        waiting = self._unseen.setdefault(key, {})
        try:
            for s in deletes:
                try:
                    self.client.delete("endpointslices", s["metadata"]["name"], ns)
                    waiting[s["metadata"]["name"]] = None
                except errors.NotFound:
                    pass
            for s in updates:
                stored = self.client.update(s)
                if stored["metadata"].get("resourceVersion") != s["metadata"].get("resourceVersion"):
                    waiting[s["metadata"]["name"]] = int(stored["metadata"]["resourceVersion"])
            for s in creates:
                stored = self.client.create(s)
                waiting[stored["metadata"]["name"]] = int(stored["metadata"]["resourceVersion"])
        finally:
            if not waiting:
                self._unseen.pop(key, None)

    def _slice_labels(self, svc: dict) -> dict:
        labels = {k: v for k, v in (svc["metadata"].get("labels") or {}).items()
                  if k not in (LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS)}
        if (svc.get("spec") or {}).get("clusterIP") == "None":
            labels[LABEL_HEADLESS] = ""
        labels[LABEL_SERVICE_NAME] = svc["metadata"]["name"]
        labels[LABEL_MANAGED_BY] = MANAGED_BY
        return dict(sorted(labels.items()))

    def _new_slice(self, svc: dict, ports, endpoints, labels: dict) -> dict:
        m = svc["metadata"]
        return {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "generateName": f"{m['name']}-",
                "namespace": m.get("namespace"),
                "labels": dict(labels),
                "ownerReferences": [owner_reference(dict(svc, apiVersion="v1", kind="Service"))],
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": ports,
        }


# ---------------------------------------------------------------------------------------
# Endpoints controller (the legacy API)
# ---------------------------------------------------------------------------------------
class EndpointsController(_ServicePodController):
    """Keeps the ``Endpoints`` object of every Service with a selector (see module docstring)."""

    name = "endpoint-controller"

    def setup(self) -> None:
        super().setup()
        self.endpoints = self.informers.informer("endpoints")
        self.endpoints.add_event_handler(on_delete=self._endpoints_deleted)

    def _endpoints_deleted(self, ep: dict) -> None:
        # someone deleted an Endpoints object we keep: make it again
        m = ep["metadata"]
        if self.services.lister.get(m["name"], m.get("namespace")) is not None:
            self.queue.add(f"{m.get('namespace')}/{m['name']}")

    def sync(self, key: str) -> None:
        ns, name = key.split("/", 1)
        svc = self.services.lister.get(name, ns)
        current = self.endpoints.lister.get(name, ns)
        if svc is None:
            # Endpoints carry no owner reference: the controller deletes them itself
            if current is not None:
                try:
                    self.client.delete("endpoints", name, ns)
                except errors.NotFound:
                    pass
            return
        spec = svc.get("spec") or {}
        if not spec.get("selector"):
            return  # user-managed Endpoints
        tolerate_unready = bool(spec.get("publishNotReadyAddresses"))
        groups: dict[str, tuple[list, list, list]] = {}
        for pod in self.pods_of(svc):
            if not should_pod_be_in_endpoints(pod, tolerate_unready):
                continue
            # core/v1 EndpointPort field order: name (omitted when empty), port, protocol, appProtocol
            ports = [{k: p[k] for k in ("name", "port", "protocol", "appProtocol") if k in p}
                     for p in endpoint_ports(svc, pod)] if spec.get("ports") else []
            if spec.get("ports") and not ports:
                continue  # no port of this pod matches: it can't serve the Service
            addr = {"ip": pod_ips(pod)[0]}
            if should_set_hostname(pod, svc):
                addr["hostname"] = pod["spec"]["hostname"]
            if (pod.get("spec") or {}).get("nodeName"):
                addr["nodeName"] = pod["spec"]["nodeName"]
            addr["targetRef"] = _target_ref(pod)
            for p in ports:
                if not p.get("name"):
                    p.pop("name")
            ports.sort(key=lambda p: (p.get("name", ""), p["port"], p["protocol"]))
            g = groups.setdefault(_ports_key(ports), (ports, [], []))
            (g[1] if tolerate_unready or is_pod_ready(pod) else g[2]).append(addr)
        subsets = []
        for pkey in sorted(groups):
            ports, ready, not_ready = groups[pkey]
            subset: dict = {}
            if ready:
                subset["addresses"] = sorted(ready, key=_addr_order)
            if not_ready:
                subset["notReadyAddresses"] = sorted(not_ready, key=_addr_order)
            if ports:
                subset["ports"] = ports
            subsets.append(subset)
        labels = {k: v for k, v in (svc["metadata"].get("labels") or {}).items()}
        labels[LABEL_SKIP_MIRROR] = "true"
        if spec.get("clusterIP") == "None":
            labels[LABEL_HEADLESS] = ""
        labels = dict(sorted(labels.items()))
        if current is None:
            body = {"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": name, "namespace": ns, "labels": labels}}
            if subsets:
                body["subsets"] = subsets
            try:
                self.client.create(body)
            except errors.AlreadyExists:
                raise errors.Conflict("endpoints", name, "the cache has not seen the Endpoints yet") from None
            return
        if (current.get("subsets") or []) == subsets and (current["metadata"].get("labels") or {}) == labels:
            return
        new = clone(current)
        new["metadata"]["labels"] = labels
        if subsets:
            new["subsets"] = subsets
        else:
            new.pop("subsets", None)
        self.client.update(new)


def _addr_order(addr: dict) -> tuple:
    try:
        ip = int(ipaddress.ip_address(addr["ip"]))
    except ValueError:
        ip = 0
    return ip, (addr.get("targetRef") or {}).get("uid") or ""
