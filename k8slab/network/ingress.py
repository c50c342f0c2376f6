"""Ingress routing: which Service answers a request for ``host`` + ``path``.

An Ingress (``networking.k8s.io/v1``) is only a list of rules; an *ingress
controller* reads every Ingress of its class and turns them into one proxy
configuration. This module is that configuration step for ingress-nginx
(``getBackendServers`` / ``createServers`` in
``internal/ingress/controller/controller.go``, v1.11), kept free of any API
access: Ingresses and Services go in, an :class:`IngressRoutes` table comes out.

How a request is matched, in order:

1. **Host → server.** Each distinct ``host`` of a rule becomes one nginx
   ``server``. An exact host wins; else a wildcard ``*.example.com``, which
   stands for exactly one DNS label (``a.example.com``, never
   ``a.b.example.com`` nor ``example.com``); else the catch-all server ``_``,
   which holds the rules written without a host. A host that has its own
   server is answered only by that server's paths.
2. **Path → location.** ``Exact`` matches the path string exactly (case
   sensitive, ``/foo`` is not ``/foo/``). ``Prefix`` matches element by element
   on ``/``: ``/foo`` matches ``/foo``, ``/foo/`` and ``/foo/bar`` but not
   ``/foobar``, and a trailing slash on either side is ignored.
   ``ImplementationSpecific`` is turned into ``Prefix`` by ingress-nginx. An
   exact match wins; otherwise the longest matching prefix.
3. **Nothing matched** → the server's root location ``/``: the
   ``spec.defaultBackend`` of the Ingress that first defined the host (for
   ``_``: the first Ingress that has a default backend and no rules at all),
   else the controller's own default backend, which answers
   ``404 Not Found`` (:data:`DEFAULT_BACKEND_STATUS`, :func:`nginx_error_page`).

Several Ingresses of one class are merged: they are sorted oldest
``creationTimestamp`` first (equal timestamps: ``namespace/name`` in
*descending* order, as ``sortIngressSlice`` does) and, for a host and path
written twice with the same path type, the first one keeps it — the later one
is listed in :attr:`IngressRoutes.conflicts`. A backend names a Service port by
``number`` or by ``name`` (looked up in the Service's ports); ingress-nginx
skips ``resource`` backends (listed in :attr:`IngressRoutes.ignored`).

Simplified here: no annotations (rewrites, regex paths, canaries, TLS); request
paths are only stripped of their query and merged slashes (no percent-decoding);
a ``Prefix`` path written with a trailing slash (``/foo/``) also matches ``/foo``,
as the Kubernetes specification says (real ingress-nginx answers ``/foo`` from
the root location instead); where real nginx would refuse a configuration with
one location written twice (``Prefix /x`` and ``Prefix /x/``), the first one is kept.

Example
-------
>>> ing = {"metadata": {"name": "shop", "namespace": "default", "creationTimestamp": "2025-01-01T00:00:10Z"},
...        "spec": {"rules": [{"host": "shop.example.com", "http": {"paths": [
...            {"path": "/api", "pathType": "Prefix",
...             "backend": {"service": {"name": "api", "port": {"number": 80}}}},
...            {"path": "/", "pathType": "Prefix",
...             "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}]}}
>>> web = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"name": "http", "port": 8000}]}}
>>> table = IngressRoutes.from_ingresses([ing], [web])
>>> table.route("shop.example.com", "/api/v1/items")
Route(default/shop: shop.example.com/api Prefix -> default/api:80)
>>> table.route("shop.example.com", "/apis").service
'web'
>>> table.route("other.example.com", "/api") is None   # the controller's 404 default backend
True
>>> print(table)
HOST               PATH   PATH TYPE   BACKEND                   INGRESS
shop.example.com   /api   Prefix      default/api:80            default/shop
shop.example.com   /      Prefix      default/web:http (8000)   default/shop
_ (any host)       /      Prefix      default backend (404)     -
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

#: ``spec.ingressClassName``'s predecessor, still honoured by ingress-nginx.
ANNOTATION_INGRESS_CLASS = "kubernetes.io/ingress.class"
#: Marks the IngressClass that the API server writes into Ingresses created without a class.
#: ``spec.controller`` of ingress-nginx's IngressClass (``--controller-class``).
NGINX_CONTROLLER = "k8s.io/ingress-nginx"

EXACT = "Exact"
PREFIX = "Prefix"
IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"

#: nginx's name of the catch-all server (``defServerName``): requests for any other host land here.
CATCH_ALL = "_"
#: The upstream of the controller's own default backend (``defUpstreamName``).
DEFAULT_UPSTREAM = "upstream-default-backend"
#: What the controller's default backend answers (nginx's ``return 404``).
DEFAULT_BACKEND_STATUS = 404
#: What nginx answers when a location's upstream has no ready endpoint.
NO_ENDPOINTS_STATUS = 503

_REASONS = {404: "Not Found", 502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


def nginx_error_page(status: int) -> str:
    """The error page ingress-nginx's nginx serves (``server_tokens off``: no version shown).

    >>> for line in nginx_error_page(404).splitlines():
    ...     print(line)
    <html>
    <head><title>404 Not Found</title></head>
    <body>
    <center><h1>404 Not Found</h1></center>
    <hr><center>nginx</center>
    </body>
    </html>
    """
    title = f"{status} {_REASONS.get(status, '')}".rstrip()
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


# ---------------------------------------------------------------------------------------------
# Matching, one piece at a time
# ---------------------------------------------------------------------------------------------
def normalize_host(host: str) -> str:
    """The host nginx matches server names against: lower case, without port or final dot.

    >>> normalize_host("Shop.Example.com:8080")
    'shop.example.com'
    """
    host = (host or "").strip().lower()
    if host.startswith("["):  # an IPv6 literal keeps its colons
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0].rstrip(".")


_SLASHES = re.compile("/{2,}")


def normalize_path(path: str) -> str:
    """The request path without query string or fragment, repeated slashes merged (nginx ``merge_slashes``).

    >>> normalize_path("//api//v1?x=1")
    '/api/v1'
    """
    path = (path or "/").split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):
        path = "/" + path
    return _SLASHES.sub("/", path)


def path_elements(path: str) -> tuple[str, ...]:
    """The ``/``-separated elements of a path; empty ones (trailing slash) do not count.

    >>> path_elements("/foo/bar/"), path_elements("/")
    (('foo', 'bar'), ())
    """
    return tuple(e for e in path.split("/") if e)


def host_matches(pattern: str, host: str) -> bool:
    """Whether an Ingress rule's ``host`` matches a request's host.

    A wildcard stands for exactly one DNS label; an empty pattern matches every host.

    >>> host_matches("*.example.com", "a.example.com"), host_matches("*.example.com", "a.b.example.com")
    (True, False)
    >>> host_matches("*.example.com", "example.com"), host_matches("", "anything")
    (False, True)
    """
    host = normalize_host(host)
    if not pattern:
        return True
    if pattern.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(label) and bool(dot) and rest == pattern[2:]
    return host == pattern


def effective_path_type(path_type: str | None) -> str:
    """The path type ingress-nginx works with: ``ImplementationSpecific`` and unset become ``Prefix``."""
    return EXACT if path_type == EXACT else PREFIX


def path_matches(path_type: str | None, path: str, request_path: str) -> bool:
    """Whether an Ingress path of ``path_type`` matches ``request_path`` (the spec's table).

    >>> [path_matches("Prefix", "/foo", p) for p in ("/foo", "/foo/", "/foo/bar", "/foobar")]
    [True, True, True, False]
    >>> path_matches("Prefix", "/aaa/bbb/", "/aaa/bbb"), path_matches("Exact", "/foo", "/foo/")
    (True, False)
    """
    request_path = normalize_path(request_path)
    if effective_path_type(path_type) == EXACT:
        return request_path == path
    want = path_elements(path)
    return path_elements(request_path)[: len(want)] == want


# ---------------------------------------------------------------------------------------------
# IngressClass
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngressClassFilter:
    """Which Ingresses one ingress-nginx instance handles (``GetIngressClass`` of its store).

    Parameters mirror the controller's flags: ``controller`` (``--controller-class``),
    ``ingress_class`` (``--ingress-class``, the value the old annotation must have),
    ``watch_without_class`` (``--watch-ingress-without-class``) and ``by_name``
    (``--ingress-class-by-name``).

    >>> f = IngressClassFilter()
    >>> nginx = {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}
    >>> classes = {c["metadata"]["name"]: c for c in [nginx] if f.owns(c)}
    >>> f.class_of({"metadata": {}, "spec": {"ingressClassName": "nginx"}}, classes)
    ('nginx', '')
    >>> f.class_of({"metadata": {}, "spec": {}}, classes)
    (None, 'ingress does not contain a valid IngressClass')
    """

    controller: str = NGINX_CONTROLLER
    ingress_class: str = "nginx"
    watch_without_class: bool = False
    by_name: bool = False

    def owns(self, ingress_class: dict) -> bool:
        """Whether the controller keeps this IngressClass in its store."""
        if self.by_name and ingress_class["metadata"]["name"] == self.ingress_class:
            return True
        return (ingress_class.get("spec") or {}).get("controller") == self.controller

    def class_of(self, ingress: dict, classes: Mapping[str, dict]) -> tuple[str | None, str]:
        """``(class name, "")`` if the Ingress is handled, else ``(None, why not)``.

        ``classes`` holds the IngressClasses this controller owns, by name.
        """
        name = (ingress.get("spec") or {}).get("ingressClassName")
        if name is not None:
            if name in classes:
                return name, ""
            return None, f'no object matching key "{name}" in local store'
        annotations = (ingress.get("metadata") or {}).get("annotations") or {}
        if ANNOTATION_INGRESS_CLASS in annotations:
            if annotations[ANNOTATION_INGRESS_CLASS] != self.ingress_class:
                return None, "ingress class annotation is not equal to the expected by Ingress Controller"
            return self.ingress_class, ""
        if self.watch_without_class:
            return CATCH_ALL, ""  # ingress-nginx reserves "_" as the "any class" name
        return None, "ingress does not contain a valid IngressClass"


# ---------------------------------------------------------------------------------------------
# Merging Ingresses
# ---------------------------------------------------------------------------------------------
def sort_ingresses(ingresses: Iterable[dict]) -> list[dict]:
    """ingress-nginx's ``sortIngressSlice``: oldest first; equal timestamps by ``namespace/name`` descending.

    >>> ings = [{"metadata": {"name": n, "namespace": "default", "creationTimestamp": "2025-01-01T00:00:00Z"}}
    ...         for n in ("a", "b")]
    >>> [i["metadata"]["name"] for i in sort_ingresses(ings)]
    ['b', 'a']
    """
    def key_name(ing):
        m = ing["metadata"]
        return f"{m.get('namespace', '')}/{m['name']}"

    out = sorted(ingresses, key=key_name, reverse=True)
    # RFC 3339 timestamps of one format sort as strings; the sort is stable
    out.sort(key=lambda ing: ing["metadata"].get("creationTimestamp") or "")
    return out


def upstream_name(namespace: str, service: str, port: int | str) -> str:
    """ingress-nginx's name of the upstream (nginx's pool of endpoints) for a Service port.

    >>> upstream_name("default", "web", 80), upstream_name("default", "web", "http")
    ('default-web-80', 'default-web-http')
    """
    return f"{namespace}-{service}-{port}"


@dataclass(frozen=True)
class Route:
    """Where one location of the proxy sends its requests.

    ``port`` is the Service port number (a port given by name is looked up in the
    Service; ``None`` if it cannot be); ``port_name`` is that name, ``""`` when
    the Ingress gave a number. ``path_type`` is as written in the Ingress.
    ``default_backend`` marks the route of an Ingress's ``spec.defaultBackend``.
    """

    ingress: str
    namespace: str
    service: str
    port: int | None
    path: str
    path_type: str
    host: str = ""
    port_name: str = ""
    default_backend: bool = False

    @property
    def upstream(self) -> str:
        """The upstream's name, e.g. ``default-web-80``."""
        return upstream_name(self.namespace, self.service, self.port_name or self.port)

    @property
    def backend(self) -> str:
        """``namespace/service:port`` (``:name (number)`` for a named port)."""
        if self.port_name:
            number = f" ({self.port})" if self.port is not None else ""
            return f"{self.namespace}/{self.service}:{self.port_name}{number}"
        return f"{self.namespace}/{self.service}:{self.port}"

    def __repr__(self) -> str:
        where = "defaultBackend" if self.default_backend else f"{self.host}{self.path} {self.path_type}"
        return f"Route({self.namespace}/{self.ingress}: {where} -> {self.backend})"


@dataclass(frozen=True)
class Endpoint:
    """One address of an upstream: a pod's ``ip:port``, and whether it is ready."""

    ip: str
    port: int
    ready: bool = True
    node: str = ""
    pod: str = ""

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def __repr__(self) -> str:
        return f"Endpoint({self.address}{'' if self.ready else ' not ready'})"


@dataclass
class Server:
    """One nginx ``server``: a host name and its locations.

    ``root`` is the location ``/`` created with the server: the default backend of the
    Ingress that defined the host, or ``None`` for the controller's own (404).
    """

    hostname: str
    root: Route | None = None
    # the root came from a defaultBackend (or the controller): a path "/" may replace it
    root_replaceable: bool = True
    exact: dict[str, Route] = field(default_factory=dict)
    prefix: dict[tuple[str, ...], Route] = field(default_factory=dict)

    def match(self, path: str) -> Route | None:
        """The route for a (normalized) request path: exact first, then the longest prefix, then root."""
        found = self.exact.get(path)
        if found is not None:
            return found
        elements = path_elements(path)
        for n in range(len(elements), 0, -1):
            found = self.prefix.get(elements[:n])
            if found is not None:
                return found
        return self.prefix.get((), self.root)

    def locations(self) -> list[Route | None]:
        """Every location, as ingress-nginx orders them: longest path first, exact before prefix."""
        locs: list[tuple[str, int, Route | None]] = [(r.path, 0, r) for r in self.exact.values()]
        locs += [(r.path, 1, r) for r in self.prefix.values()]
        if () not in self.prefix:
            locs.append(("/", 1, self.root))
        locs.sort(key=lambda t: (-len(t[0]), t[0], t[1]))
        return [r for _p, _k, r in locs]


class IngressRoutes:
    """The merged routing table of every Ingress one controller handles (see the module docstring)."""

    def __init__(self) -> None:
        self.servers: dict[str, Server] = {CATCH_ALL: Server(CATCH_ALL)}
        #: Paths ingress-nginx skips, with its log message.
        self.ignored: list[str] = []
        #: Paths another (older) Ingress already holds, with ingress-nginx's log message.
        self.conflicts: list[str] = []
        self.ingresses: list[str] = []

    def __repr__(self) -> str:
        n = sum(len(s.exact) + len(s.prefix) for s in self.servers.values())
        return f"IngressRoutes({len(self.ingresses)} ingresses, {len(self.servers)} servers, {n} paths)"

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def from_ingresses(cls, ingresses: Iterable[dict], services=None) -> IngressRoutes:
        """Merge ``ingresses`` (all of one class) into one table.

        ``services`` (Service dicts, or a mapping ``"namespace/name" -> Service``) is used to
        resolve ports given by name; without it named ports stay unresolved (``port=None``).
        """
        lookup = _service_lookup(services)
        table = cls()
        ordered = sort_ingresses(ingresses)
        table.ingresses = [_key(i) for i in ordered]
        # 1. servers, each with its root location (createServers)
        for ing in ordered:
            spec = ing.get("spec") or {}
            ns = ing["metadata"].get("namespace") or "default"
            rules = spec.get("rules") or []
            default = spec.get("defaultBackend")
            default_route = None
            if default and default.get("service"):
                default_route = _route(ing, ns, default["service"], "/", PREFIX, "", lookup, default_backend=True)
                catch_all = table.servers[CATCH_ALL]
                if catch_all.root_replaceable and not rules:
                    # an Ingress with a backend and no rule configures the catch-all server
                    catch_all.root = default_route
                    catch_all.root_replaceable = False
            elif default:
                table.ignored.append(f'Ingress "{_key(ing)}" defaultBackend does not contain a service backend, '
                                     "using default backend")
            for rule in rules:
                host = rule.get("host") or CATCH_ALL
                if host not in table.servers:
                    root = default_route
                    if root is not None:
                        root = Route(root.ingress, root.namespace, root.service, root.port, "/", PREFIX,
                                     rule.get("host") or "", root.port_name, True)
                    table.servers[host] = Server(host, root)
        # 2. locations (getBackendServers)
        for ing in ordered:
            ns = ing["metadata"].get("namespace") or "default"
            for rule in (ing.get("spec") or {}).get("rules") or []:
                host = rule.get("host") or ""
                server = table.servers[host or CATCH_ALL]
                for p in (rule.get("http") or {}).get("paths") or []:
                    path = p.get("path") or "/"
                    svc = (p.get("backend") or {}).get("service")
                    if not svc:
                        table.ignored.append(f'Ingress "{_key(ing)}" and path "{path}" does not contain a service '
                                             "backend, using default backend")
                        continue
                    path_type = p.get("pathType") or PREFIX
                    route = _route(ing, ns, svc, path, path_type, host, lookup)
                    table._add_location(server, route)
        return table

    def _add_location(self, server: Server, route: Route) -> None:
        if effective_path_type(route.path_type) == EXACT:
            index, key = server.exact, route.path
        else:
            index, key = server.prefix, path_elements(route.path)
        held = index.get(key)
        if held is None and key == () and index is server.prefix and not server.root_replaceable:
            held = server.root  # the catch-all Ingress already owns "/"
        if held is None:
            index[key] = route
            return
        self.conflicts.append(f'Location "{route.path}" already configured for server "{server.hostname}" with '
                              f'upstream "{held.upstream}" (Ingress "{held.namespace}/{held.ingress}")')

    # -- looking up -------------------------------------------------------------------------
    def server_for(self, host: str) -> Server:
        """The server nginx picks for ``host``: exact name, else one-label wildcard, else ``_``."""
        host = normalize_host(host)
        found = self.servers.get(host)
        if found is None and "." in host:
            found = self.servers.get("*." + host.split(".", 1)[1])
        return found if found is not None else self.servers[CATCH_ALL]

    def route(self, host: str, path: str) -> Route | None:
        """The route for a request; ``None`` means the controller's default backend answers 404."""
        return self.server_for(host).match(normalize_path(path))

    @property
    def routes(self) -> list[Route]:
        """Every route of the table (default backends included), in :meth:`__str__` order."""
        return [r for s in self._servers_in_order() for r in s.locations() if r is not None]

    def upstreams(self) -> dict[str, Route]:
        """One route per upstream name (what the controller resolves to endpoints)."""
        out: dict[str, Route] = {}
        for r in self.routes:
            out.setdefault(r.upstream, r)
        return out

    def signature(self) -> tuple:
        """What nginx.conf depends on (servers, locations, upstreams): equal signatures need no reload."""
        return tuple((s.hostname, tuple((r.path, r.path_type, r.upstream, r.default_backend) if r else None
                                        for r in s.locations()))
                     for s in self._servers_in_order())

    # -- showing ----------------------------------------------------------------------------
    def _servers_in_order(self) -> list[Server]:
        # by host name, as ingress-nginx writes them; the catch-all last, where a reader looks for it
        named = sorted((s for h, s in self.servers.items() if h != CATCH_ALL), key=lambda s: s.hostname)
        return named + [self.servers[CATCH_ALL]]

    def format(self, endpoints: Callable[[Route], Iterable[Endpoint]] | None = None) -> str:
        """The table as text; with ``endpoints(route)`` an ENDPOINTS column is added."""
        header = ["HOST", "PATH", "PATH TYPE", "BACKEND", "INGRESS"] + (["ENDPOINTS"] if endpoints else [])
        rows = [header]
        for server in self._servers_in_order():
            host = "_ (any host)" if server.hostname == CATCH_ALL else server.hostname
            for r in server.locations():
                if r is None:
                    row = [host, "/", PREFIX, f"default backend ({DEFAULT_BACKEND_STATUS})", "-"]
                    if endpoints:
                        row.append("-")
                else:
                    backend = r.backend + (" [defaultBackend]" if r.default_backend else "")
                    row = [host, r.path, r.path_type, backend, f"{r.namespace}/{r.ingress}"]
                    if endpoints:
                        row.append(_endpoint_text(endpoints(r)))
                rows.append(row)
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _endpoint_text(endpoints: Iterable[Endpoint]) -> str:
    parts = [e.address + ("" if e.ready else " (not ready)") for e in endpoints]
    return ", ".join(parts) if parts else "<none>"


def _key(ing: dict) -> str:
    m = ing["metadata"]
    return f"{m.get('namespace') or 'default'}/{m['name']}"


def _service_lookup(services) -> Callable[[str], dict | None]:
    if services is None:
        return lambda key: None
    if hasattr(services, "get") and not isinstance(services, (list, tuple)):
        return services.get
    by_key = {f"{s['metadata'].get('namespace') or 'default'}/{s['metadata']['name']}": s for s in services}
    return by_key.get


def _route(ing: dict, ns: str, svc: dict, path: str, path_type: str, host: str, lookup,
           default_backend: bool = False) -> Route:
    port = svc.get("port") or {}
    name = port.get("name") or ""
    number = port.get("number")
    if name:
        sp = service_port(lookup(f"{ns}/{svc.get('name')}"), name)
        number = sp.get("port") if sp is not None else None
    return Route(ing["metadata"]["name"], ns, svc.get("name") or "", number, path, path_type, host, name,
                 default_backend)


# ---------------------------------------------------------------------------------------------
# From a Service port to endpoints
# ---------------------------------------------------------------------------------------------
def service_port(service: dict | None, backend_port: int | str | None) -> dict | None:
    """The Service port an Ingress backend means (``serviceEndpoints``): the first whose port
    number, ``targetPort`` or name equals what the Ingress wrote.

    >>> svc = {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
    >>> service_port(svc, "http")["port"], service_port(svc, 8080)["port"], service_port(svc, 81)
    (80, 80, None)
    """
    if service is None or backend_port in (None, ""):
        return None
    want = str(backend_port)
    for sp in (service.get("spec") or {}).get("ports") or ():
        if str(sp.get("port")) == want or str(sp.get("targetPort", "")) == want or sp.get("name") == want:
            return sp
    return None


def upstream_endpoints(service: dict | None, port: dict | None, slices: Iterable[dict]) -> list[Endpoint]:
    """The endpoints of one Service port, from its EndpointSlices (``getEndpointsFromSlices``).

    Every endpoint is kept with its ``ready`` condition (ingress-nginx sends traffic only to
    ready ones); duplicates of one ``ip:port`` are dropped; sorted by address. An
    ``ExternalName`` Service gives one endpoint, its external name.

    >>> svc = {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": "web"}]}}
    >>> es = {"ports": [{"name": "http", "port": 8080, "protocol": "TCP"}], "endpoints": [
    ...     {"addresses": ["10.244.1.5"], "conditions": {"ready": True}},
    ...     {"addresses": ["10.244.2.7"], "conditions": {"ready": False}}]}
    >>> upstream_endpoints(svc, svc["spec"]["ports"][0], [es])
    [Endpoint(10.244.1.5:8080), Endpoint(10.244.2.7:8080 not ready)]
    """
    if service is None or port is None:
        return []
    spec = service.get("spec") or {}
    target = port.get("targetPort", port.get("port"))
    if spec.get("type") == "ExternalName":
        return [Endpoint(spec.get("externalName") or "", int(target) if str(target).isdigit() else 0)]
    numeric_target = target if isinstance(target, int) else None
    seen: dict[str, Endpoint] = {}
    for es in slices:
        slice_ports = es.get("ports") or []
        ports: list[int] = []
        if not slice_ports and numeric_target is not None:
            ports.append(numeric_target)
        for ep_port in slice_ports:
            if (ep_port.get("protocol") or "TCP") != "TCP":
                continue
            number = 0
            if not port.get("name") or port.get("name") == (ep_port.get("name") or ""):
                number = ep_port.get("port") or 0
            if not number and numeric_target is not None:
                number = numeric_target  # ingress-nginx#7390: fall back to a numeric targetPort
            if number:
                ports.append(number)
        for ep in es.get("endpoints") or ():
            ready = (ep.get("conditions") or {}).get("ready") is not False
            meta = ep.get("targetRef") or {}
            for number in ports:
                for ip in ep.get("addresses") or ():
                    found = Endpoint(ip, int(number), ready, ep.get("nodeName") or "", meta.get("name") or "")
                    seen.setdefault(found.address, found)
    return sorted(seen.values(), key=lambda e: (_ip_key(e.ip), e.port))


def _ip_key(ip: str):
    parts = ip.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return (0, tuple(int(p) for p in parts), "")
    return (1, (), ip)
