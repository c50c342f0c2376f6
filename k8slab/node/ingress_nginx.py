"""ingress-nginx: the ingress controller that turns Ingresses into one nginx configuration.

An Ingress does nothing by itself. An *ingress controller* — here ingress-nginx,
installed with ``kubectl apply -f .../deploy.yaml`` (:func:`ingress_nginx_manifests`)
and running as the pod ``ingress-nginx-controller-…`` — watches Ingresses,
IngressClasses, Services and EndpointSlices through its own client, and:

- keeps only the Ingresses of its class (``spec.ingressClassName`` naming an
  IngressClass whose ``spec.controller`` is ``k8s.io/ingress-nginx``, or the old
  annotation ``kubernetes.io/ingress.class: nginx``) and records the event
  ``Sync`` / ``Scheduled for sync`` on each one it picks up or sees change;
- merges them into one routing table (:class:`~k8slab.network.ingress.IngressRoutes`,
  :attr:`IngressNginxController.routes`) and resolves each backend Service port
  to the addresses of its endpoints, read from EndpointSlices: nginx proxies
  straight to pod IPs, never through the ClusterIP, and only to *ready* ones;
- syncs at most ``--sync-rate-limit`` (0.3) times per second; a change of hosts,
  paths or backends needs an nginx *reload* (event ``RELOAD`` on the controller's
  pod: "NGINX reload triggered due to a change in configuration"), a change of
  endpoints alone is applied without one (ingress-nginx's Lua balancer);
- every 60 s copies the address of its ``--publish-service`` (the
  ``ingress-nginx-controller`` LoadBalancer Service) into each Ingress's
  ``status.loadBalancer.ingress`` — the ADDRESS column of ``kubectl get ingress``
  — and clears it again when it shuts down as the only controller pod;
- balances the requests of one upstream over its ready endpoints round robin
  (ingress-nginx's default ``load-balance: round_robin``), starting at a random one.

It follows ``internal/ingress/controller`` (``store``, ``controller.go``,
``nginx.go``) and ``internal/ingress/status`` of ingress-nginx v1.11.

Why a component of its own and not a :class:`~k8slab.controlplane.controller.Controller`:
ingress-nginx is a separate process in a pod, with its own service account,
informers and event source (``nginx-ingress-controller``), started and stopped
with that pod; a ControllerManager shares kube-controller-manager's informers
and identity and has no stop.

As in ingress-nginx, an Ingress seen before the IngressClass it names stays ignored
until it changes (the real store checks the class only when an Ingress event arrives).

Simplified here: one nginx worker and one controller replica (always the leader:
no ``ingress-nginx-leader`` Lease); no annotations, TLS, admission webhook,
ConfigMap settings or TCP/UDP services; the balancer's endpoint order is by address.

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> loop = EventLoop(); api = APIServer(Etcd(), loop, Trace(), Randomness(0))
>>> ctl = IngressNginxController(api, loop, Randomness(0))
>>> ctl.start(); _ = loop.run_until_settled()
>>> ctl
IngressNginxController(nginx, 0 ingresses, 1 syncs, 1 reloads)
>>> print(ctl.routes)
HOST           PATH   PATH TYPE   BACKEND                 INGRESS
_ (any host)   /      Prefix      default backend (404)   -
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.defaults import ANNOTATION_IS_DEFAULT_CLASS
from k8slab.api.objects import clone, object_key
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.informer import Informer
from k8slab.apiserver.request import UserInfo
from k8slab.network.ingress import (
    NGINX_CONTROLLER,
    Endpoint,
    IngressClassFilter,
    IngressRoutes,
    Route,
    host_matches,
    service_port,
    sort_ingresses,
    upstream_endpoints,
)

#: The event source of ingress-nginx (its recorder's component name).
COMPONENT = "nginx-ingress-controller"
#: ``--sync-rate-limit``: configuration syncs per second at most.
SYNC_RATE_LIMIT = 0.3
#: ``status.UpdateInterval``: seconds between two updates of the Ingresses' status.
STATUS_UPDATE_INTERVAL = 60.0
#: The version ``kubectl apply -f .../controller-v1.11.2/deploy/static/provider/cloud/deploy.yaml`` installs.
DEFAULT_VERSION = "v1.11.2"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
_INDEX_SLICE_SERVICE = "serviceKey"


class _RoundRobin:
    """One upstream's balancer: its ready peers and the next one to use (random at first)."""

    __slots__ = ("peers", "next")

    def __init__(self, peers: tuple[str, ...]):
        self.peers = peers
        self.next: int | None = None

    def pick(self, rng) -> str:
        if self.next is None:
            # lua-resty-balancer starts each round robin at a random node
            self.next = rng.randrange(len(self.peers))
        peer = self.peers[self.next]
        self.next = (self.next + 1) % len(self.peers)
        return peer


class IngressNginxController:
    """One ingress-nginx controller (see the module docstring).

    Parameters
    ----------
    api, loop, rng
        The API server (the controller makes its own client), the event loop and the
        cluster's :class:`~k8slab.sim.Randomness`.
    ingress_class : str
        ``--ingress-class``: the value the ``kubernetes.io/ingress.class`` annotation must have.
    controller_class : str
        ``--controller-class``: the ``spec.controller`` of the IngressClasses this controller owns.
    publish_service : str
        ``--publish-service`` (``namespace/name``): whose address goes into the Ingresses' status.
    pod_name, pod_namespace : str
        The controller's own pod (``POD_NAME`` / ``POD_NAMESPACE``); ``RELOAD`` events go to it.
    watch_ingress_without_class : bool
        ``--watch-ingress-without-class``: also handle Ingresses that name no class.
    update_status_on_shutdown : bool
        ``--update-status-on-shutdown``: clear the status when the last controller pod stops.
    events : bool
        Whether to record Events.
    """

    def __init__(self, api, loop, rng, *, ingress_class: str = "nginx", controller_class: str = NGINX_CONTROLLER,
                 publish_service: str = "ingress-nginx/ingress-nginx-controller", pod_name: str | None = None,
                 pod_namespace: str = "ingress-nginx", watch_ingress_without_class: bool = False,
                 update_status_on_shutdown: bool = True, sync_rate_limit: float = SYNC_RATE_LIMIT,
                 status_update_interval: float = STATUS_UPDATE_INTERVAL, events: bool = True):
        self.api = api
        self.loop = loop
        self.class_filter = IngressClassFilter(controller_class, ingress_class, watch_ingress_without_class)
        self.publish_service = publish_service
        self.pod_name = pod_name
        self.pod_namespace = pod_namespace
        self.update_status_on_shutdown = update_status_on_shutdown
        self.sync_rate_limit = sync_rate_limit
        self.status_update_interval = status_update_interval
        self.actor = f"{COMPONENT}/{pod_name}" if pod_name else COMPONENT
        sa = pod_namespace or "ingress-nginx"
        self.client = api.client(self.actor, user=UserInfo(
            f"system:serviceaccount:{sa}:ingress-nginx",
            ("system:serviceaccounts", f"system:serviceaccounts:{sa}", "system:authenticated")),
            shared_results=True)
        self.events_enabled = events
        self.recorder = EventRecorder(self.client, COMPONENT, enabled=events)
        self.random = rng.stream(f"ingress-nginx/{pod_name or 'controller'}") if hasattr(rng, "stream") else rng
        self.running = False
        self.syncs = 0
        self.reloads = 0
        self._informers: list[Informer] = []
        self._sync_event = None
        self._status_event = None
        self._reset()

    def _reset(self) -> None:
        # what a freshly started process knows: nothing
        self.routes = IngressRoutes()
        self.ignored: dict[str, str] = {}  # Ingresses of another class: key -> why
        self._classes: dict[str, dict] = {}
        self._ingresses: dict[str, dict] = {}
        self._referenced: set[str] = set()
        self._endpoints: dict[str, tuple[Endpoint, ...]] = {}
        self._balancers: dict[str, _RoundRobin] = {}
        self._structure: tuple | None = None
        self._pod: dict | None = None
        self._tokens = 1.0
        self._tokens_at = self.loop.now
        self._next_status_at = self.loop.now

    def __repr__(self) -> str:
        return (f"IngressNginxController({self.class_filter.ingress_class}, {len(self._ingresses)} ingresses, "
                f"{self.syncs} syncs, {self.reloads} reloads)")

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start as a new controller process: list and watch, then sync and update status."""
        if self.running:
            return
        self.running = True
        self._reset()
        # a new process: its event recorder does not know the events the last one wrote
        self.recorder = EventRecorder(self.client, COMPONENT, enabled=self.events_enabled)
        if self.pod_name:
            try:
                # GetIngressPod: the pod is the object RELOAD events are about
                self._pod = self.client.get("pods", self.pod_name, self.pod_namespace)
            except errors.ApiError:
                self._pod = None
        self.ingressclasses = Informer(self.client, "ingressclasses")
        self.services = Informer(self.client, "services")
        self.endpointslices = Informer(self.client, "endpointslices")
        self.endpointslices.add_index(_INDEX_SLICE_SERVICE, _slice_service)
        self.ingresses = Informer(self.client, "ingresses")
        self.ingressclasses.add_event_handler(self._on_class_add, self._on_class_update, self._on_class_delete)
        self.services.add_event_handler(self._on_service_add, self._on_service_update, self._on_service_delete)
        self.endpointslices.add_event_handler(self._on_slice, self._on_slice_update, self._on_slice)
        self.ingresses.add_event_handler(self._on_ingress_add, self._on_ingress_update, self._on_ingress_delete)
        self._informers = [self.ingressclasses, self.services, self.endpointslices, self.ingresses]
        # the store starts the Ingress informer last: its rules need the other caches
        for inf in self._informers:
            inf.start()
        self._request_sync()  # the initial sync, even with no Ingress at all
        self._status_event = self.loop.call_soon(self._status_tick, who=self.actor, what="sync status",
                                                 background=True)

    def stop(self, *, graceful: bool = True) -> None:
        """Stop the process; ``graceful`` (a pod being deleted, not a node failing) may clear the status.

        :attr:`routes` keeps the last configuration; whether a stopped controller still
        answers is for the caller to decide (its pod is gone: nothing listens).
        """
        if not self.running:
            return
        if graceful and self.update_status_on_shutdown:
            self._shutdown_status()
        self.running = False
        for inf in self._informers:
            inf.stop()
        self.loop.cancel(self._sync_event)
        self.loop.cancel(self._status_event)
        self._sync_event = self._status_event = None

    # -- what the store hears ---------------------------------------------------------------------
    def _on_class_add(self, ic: dict) -> None:
        if not self.class_filter.owns(ic):
            return  # "ignoring ingressclass as the spec.controller is not the same of this ingress"
        self._classes[ic["metadata"]["name"]] = ic
        self._request_sync()

    def _on_class_update(self, old: dict, new: dict) -> None:
        if self.class_filter.owns(new):
            self._classes[new["metadata"]["name"]] = new

    def _on_class_delete(self, ic: dict) -> None:
        if self._classes.pop(ic["metadata"]["name"], None) is not None:
            self._request_sync()

    def _on_ingress_add(self, ing: dict) -> None:
        key = object_key(ing)
        cls, why = self.class_filter.class_of(ing, self._classes)
        if cls is None:
            self.ignored[key] = why  # "Ignoring ingress because of error while validating ingress class"
            return
        self.ignored.pop(key, None)
        self.recorder.event(ing, "Normal", "Sync", "Scheduled for sync")
        self._ingresses[key] = ing
        self._ingresses_changed()

    def _on_ingress_update(self, old: dict, new: dict) -> None:
        key = object_key(new)
        was = self.class_filter.class_of(old, self._classes)[0] is not None
        cls, why = self.class_filter.class_of(new, self._classes)
        if cls is None:
            self.ignored[key] = why
            if was and self._ingresses.pop(key, None) is not None:
                self._ingresses_changed()  # "removing ingress because of unknown ingressclass"
            return
        self.ignored.pop(key, None)
        if was and old == new:
            return
        # every change counts, a status update too: ingress-nginx compares whole objects
        self.recorder.event(new, "Normal", "Sync", "Scheduled for sync")
        self._ingresses[key] = new
        self._ingresses_changed()

    def _on_ingress_delete(self, ing: dict) -> None:
        key = object_key(ing)
        self.ignored.pop(key, None)
        if self._ingresses.pop(key, None) is not None:
            self._ingresses_changed()

    def _ingresses_changed(self) -> None:
        refs: set[str] = set()
        for ing in self._ingresses.values():
            ns = ing["metadata"].get("namespace") or "default"
            spec = ing.get("spec") or {}
            backends = [spec.get("defaultBackend") or {}]
            for rule in spec.get("rules") or ():
                backends += [p.get("backend") or {} for p in (rule.get("http") or {}).get("paths") or ()]
            refs.update(f"{ns}/{b['service'].get('name')}" for b in backends if b.get("service"))
        self._referenced = refs
        self._request_sync()
        self._check_status()

    def _on_service_add(self, svc: dict) -> None:
        key = object_key(svc)
        if (svc.get("spec") or {}).get("type") == "ExternalName" or key in self._referenced:
            self._request_sync()
        if key == self.publish_service:
            self._check_status()

    def _on_service_update(self, old: dict, new: dict) -> None:
        key = object_key(new)
        # the real store resyncs on any Service change; only the Services its Ingresses use can matter
        if key in self._referenced and old != new:
            self._request_sync()
        if key == self.publish_service:
            self._check_status()

    def _on_service_delete(self, svc: dict) -> None:
        if object_key(svc) in self._referenced:
            self._request_sync()

    def _on_slice(self, es: dict) -> None:
        if _slice_service(es)[0] in self._referenced:
            self._request_sync()

    def _on_slice_update(self, old: dict, new: dict) -> None:
        if old.get("endpoints") != new.get("endpoints") or old.get("ports") != new.get("ports"):
            self._on_slice(new)

    # -- syncing ----------------------------------------------------------------------------------
    def _refill(self) -> float:
        now = self.loop.now
        self._tokens = min(1.0, self._tokens + (now - self._tokens_at) * self.sync_rate_limit)
        self._tokens_at = now
        return self._tokens

    def _request_sync(self) -> None:
        """Queue one sync; a token bucket (``--sync-rate-limit``, burst 1) spaces them out."""
        if not self.running or self._sync_event is not None:
            return
        tokens = self._refill()
        when = self.loop.now
        if tokens < 1.0:
            when += (1.0 - tokens) / self.sync_rate_limit
        self._sync_event = self.loop.call_at(when, self._sync, who=self.actor, what="sync ingress")

    def _sync(self) -> None:
        """``syncIngress``: rebuild the configuration; reload nginx only if more than endpoints changed."""
        self._sync_event = None
        if not self.running:
            return
        self._refill()
        self._tokens -= 1.0
        table = IngressRoutes.from_ingresses(self._ingresses.values(), self.services.indexer)
        endpoints: dict[str, tuple[Endpoint, ...]] = {}
        for name, route in table.upstreams().items():
            key = f"{route.namespace}/{route.service}"
            svc = self.services.indexer.get(key)
            sp = service_port(svc, route.port_name or route.port)
            slices = self.endpointslices.indexer.by_index(_INDEX_SLICE_SERVICE, key) if sp else []
            endpoints[name] = tuple(upstream_endpoints(svc, sp, slices))
        structure = table.signature()
        if structure != self._structure:
            self._structure = structure
            self.reloads += 1
            if self._pod is not None:
                self.recorder.event(self._pod, "Normal", "RELOAD",
                                    "NGINX reload triggered due to a change in configuration")
        # configureDynamically: the balancers learn the new endpoints without a reload
        balancers: dict[str, _RoundRobin] = {}
        for name, eps in endpoints.items():
            peers = tuple(e.address for e in eps if e.ready)
            old = self._balancers.get(name)
            balancers[name] = old if old is not None and old.peers == peers else _RoundRobin(peers)
        self.routes, self._endpoints, self._balancers = table, endpoints, balancers
        self.syncs += 1
        self._check_status()

    # -- answering requests -----------------------------------------------------------------------
    def backends(self, route: Route | None) -> tuple[Endpoint, ...]:
        """Every endpoint of the route's upstream, ready or not, as of the last sync."""
        if route is None:
            return ()
        return self._endpoints.get(route.upstream, ())

    def pick_backend(self, host: str, path: str, rng=None) -> tuple[Route, str | None] | None:
        """Where nginx sends one request: ``(route, "ip:port")``.

        ``None``: no location matched and the controller's default backend answers
        ``404 Not Found``; ``(route, None)``: the route's upstream has no ready endpoint
        and nginx answers ``503 Service Temporarily Unavailable``. ``rng`` (a
        ``random.Random``) only sets where a new round robin starts.
        """
        route = self.routes.route(host, path)
        if route is None:
            return None
        balancer = self._balancers.get(route.upstream)
        if balancer is None or not balancer.peers:
            return route, None
        return route, balancer.pick(rng or self.random)

    def describe(self) -> str:
        """The routing table with each route's endpoints (``(not ready)`` ones get no traffic)."""
        return self.routes.format(endpoints=self.backends)

    def address_of(self, host: str) -> str | None:
        """The address public DNS would give ``host``: the first address in the status of the
        (oldest) handled Ingress with a rule for that host — an exact host before a wildcard."""
        ordered = sort_ingresses(self._ingresses.values())
        for exact in (True, False):
            for ing in ordered:
                hosts = [r.get("host") or "" for r in (ing.get("spec") or {}).get("rules") or ()]
                if any(h and h.startswith("*.") != exact and host_matches(h, host) for h in hosts):
                    for a in _lb_of(ing):
                        if a.get("ip") or a.get("hostname"):
                            return a.get("ip") or a.get("hostname")
        return None

    @property
    def handled(self) -> list[str]:
        """The Ingresses this controller serves (``namespace/name``), in merge order."""
        return [object_key(i) for i in sort_ingresses(self._ingresses.values())]

    # -- status -----------------------------------------------------------------------------------
    def _status_tick(self) -> None:
        self._status_event = None
        if not self.running:
            return
        self._sync_status()
        self._next_status_at = self.loop.now + self.status_update_interval
        self._status_event = self.loop.call_at(self._next_status_at, self._status_tick, who=self.actor,
                                               what="sync status", background=True)

    def _running_addresses(self) -> list[dict] | None:
        ns, _, name = self.publish_service.partition("/")
        try:
            svc = self.client.get("services", name, ns)
        except errors.ApiError:
            return None
        return publish_addresses(svc)

    def _sync_status(self) -> None:
        addrs = self._running_addresses()
        if addrs is not None:
            self._update_status(addrs)

    def _update_status(self, addrs: list[dict]) -> None:
        for ing in sort_ingresses(self._ingresses.values()):
            if _lb_equal(_lb_of(ing), addrs):
                continue  # "skipping update of Ingress (no change)"
            m = ing["metadata"]
            try:
                current = clone(self.client.get("ingresses", m["name"], m.get("namespace")))
                current.setdefault("status", {})["loadBalancer"] = {"ingress": addrs} if addrs else {}
                self.client.update_status(current)
            except errors.ApiError:
                continue  # "error updating ingress rule": the next round tries again

    def _check_status(self) -> None:
        """If the next status round will change an Ingress, keep the loop running until then."""
        if not self.running or self._status_event is None:
            return
        svc = self.services.indexer.get(self.publish_service)
        if svc is None:
            return
        addrs = publish_addresses(svc)
        if any(not _lb_equal(_lb_of(ing), addrs) for ing in self._ingresses.values()):
            self.loop.extend_horizon(self._next_status_at)

    def _shutdown_status(self) -> None:
        addrs = self._running_addresses()
        if addrs is None or len(addrs) > 1:
            return  # "leaving status update for next leader"
        labels = ((self._pod or {}).get("metadata") or {}).get("labels") or {}
        if labels:
            selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
            try:
                pods = self.client.list("pods", self.pod_namespace, label_selector=selector)["items"]
            except errors.ApiError:
                pods = []
            if len(pods) > 1:
                return  # another controller pod will keep the status
        self._update_status([])

    # -- a table for the learner ------------------------------------------------------------------
    def __str__(self) -> str:
        return self.describe()


def publish_addresses(svc: dict) -> list[dict]:
    """The addresses ``--publish-service`` gives the Ingresses (``statusAddressFromService``).

    A LoadBalancer Service gives its load balancer's IPs (or host names) and external
    IPs; a NodePort its external IPs, else its ClusterIP; a ClusterIP Service its ClusterIP.

    >>> publish_addresses({"spec": {"type": "LoadBalancer"},
    ...                    "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1", "ipMode": "VIP"}]}}})
    [{'ip': '203.0.113.1'}]
    """
    spec = svc.get("spec") or {}
    stype = spec.get("type") or "ClusterIP"
    if stype == "ExternalName":
        out = [{"hostname": spec.get("externalName") or ""}]
    elif stype == "ClusterIP" or (stype == "NodePort" and not spec.get("externalIPs")):
        out = [{"ip": spec.get("clusterIP") or ""}]
    elif stype == "NodePort":
        out = [{"ip": ip} for ip in spec["externalIPs"]]
    else:
        out = [{"ip": i["ip"]} if i.get("ip") else {"hostname": i.get("hostname") or ""}
               for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()]
        for ip in spec.get("externalIPs") or ():
            if not any(ip in (a.get("ip"), a.get("hostname")) for a in out):
                out.append({"ip": ip})
    # standardizeLoadBalancerIngresses / lessLoadBalancerIngress: by host name, then IP
    out.sort(key=lambda a: (a.get("hostname", ""), a.get("ip", "")))
    return out


def _lb_of(ing: dict) -> list[dict]:
    return (((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress")) or []


def _lb_equal(current: list[dict], want: list[dict]) -> bool:
    def ident(addrs):
        return sorted((a.get("hostname", ""), a.get("ip", "")) for a in addrs)

    return ident(current) == ident(want)


def _slice_service(es: dict) -> list[str]:
    m = es["metadata"]
    svc = (m.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{m.get('namespace') or ''}/{svc}"] if svc else [""]


# -------------------------------------------------------------------------------------------------
# The API server's side: DefaultIngressClass admission
# -------------------------------------------------------------------------------------------------
# -------------------------------------------------------------------------------------------------
# What `kubectl apply -f deploy.yaml` installs
# -------------------------------------------------------------------------------------------------
def ingress_nginx_manifests(version: str = DEFAULT_VERSION, *, default_class: bool = True) -> list[dict]:
    """The objects of ingress-nginx's ``deploy/static/provider/cloud/deploy.yaml``, trimmed.

    Kept: the ``ingress-nginx`` Namespace, the controller's ServiceAccount, the
    IngressClass ``nginx``, the Deployment ``ingress-nginx-controller`` and its
    LoadBalancer Service. Left out: RBAC, the ConfigMap and the admission webhook
    (its Jobs, Service, certificate Secret and ValidatingWebhookConfiguration).
    ``default_class`` adds the ``is-default-class`` annotation to the IngressClass
    (the static manifest leaves it out; Helm's ``controller.ingressClassResource.default``
    and minikube's addon set it), so Ingresses without a class are served too.

    >>> [f"{o['kind']}/{o['metadata']['name']}" for o in ingress_nginx_manifests()]
    ['Namespace/ingress-nginx', 'ServiceAccount/ingress-nginx', 'Service/ingress-nginx-controller', \
'Deployment/ingress-nginx-controller', 'IngressClass/nginx']
    """
    ns = "ingress-nginx"
    app = version.lstrip("v")
    selector = {"app.kubernetes.io/component": "controller", "app.kubernetes.io/instance": "ingress-nginx",
                "app.kubernetes.io/name": "ingress-nginx"}
    labels = {**selector, "app.kubernetes.io/part-of": "ingress-nginx", "app.kubernetes.io/version": app}
    ingress_class: dict = {
        "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"labels": dict(labels), "name": "nginx"},
        "spec": {"controller": NGINX_CONTROLLER},
    }
    if default_class:
        ingress_class["metadata"]["annotations"] = {ANNOTATION_IS_DEFAULT_CLASS: "true"}
    probe = {"failureThreshold": 3, "httpGet": {"path": "/healthz", "port": 10254, "scheme": "HTTP"},
             "initialDelaySeconds": 10, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1}
    container = {
        "name": "controller",
        "image": f"registry.k8s.io/ingress-nginx/controller:{version}",
        "imagePullPolicy": "IfNotPresent",
        "args": ["/nginx-ingress-controller", "--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller",
                 "--election-id=ingress-nginx-leader", f"--controller-class={NGINX_CONTROLLER}",
                 "--ingress-class=nginx", "--enable-metrics=false"],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "LD_PRELOAD", "value": "/usr/local/lib/libmimalloc.so"}],
        "lifecycle": {"preStop": {"exec": {"command": ["/wait-shutdown"]}}},
        "livenessProbe": dict(probe, failureThreshold=5),
        "readinessProbe": probe,
        "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"},
                  {"containerPort": 443, "name": "https", "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "90Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False,
                            "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                            "readOnlyRootFilesystem": False, "runAsNonRoot": True, "runAsUser": 101,
                            "seccompProfile": {"type": "RuntimeDefault"}},
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"labels": {"app.kubernetes.io/instance": "ingress-nginx",
                                         "app.kubernetes.io/name": "ingress-nginx"}, "name": ns}}
    service_account = {"apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": True,
                       "metadata": {"labels": dict(labels), "name": "ingress-nginx", "namespace": ns}}
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"labels": dict(labels), "name": "ingress-nginx-controller", "namespace": ns},
        "spec": {"externalTrafficPolicy": "Local", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                 "ports": [{"appProtocol": "http", "name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
                           {"appProtocol": "https", "name": "https", "port": 443, "protocol": "TCP",
                            "targetPort": "https"}],
                 "selector": dict(selector), "type": "LoadBalancer"},
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"labels": dict(labels), "name": "ingress-nginx-controller", "namespace": ns},
        # no replicas: the manifest leaves it to the default, 1
        "spec": {"minReadySeconds": 0, "revisionHistoryLimit": 10, "selector": {"matchLabels": dict(selector)},
                 "strategy": {"rollingUpdate": {"maxUnavailable": 1}, "type": "RollingUpdate"},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": [container], "dnsPolicy": "ClusterFirst",
                                       "nodeSelector": {"kubernetes.io/os": "linux"},
                                       "serviceAccountName": "ingress-nginx",
                                       "terminationGracePeriodSeconds": 300}}},
    }
    # in the order of deploy.yaml
    return [namespace, service_account, service, deployment, ingress_class]
