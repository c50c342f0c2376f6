"""What one request did on its way: the hops, the answer, and the tally of many requests.

A request in k8slab is followed the way a packet is in a real cluster: a DNS
lookup (the pod's resolver asks CoreDNS through the ``kube-dns`` Service), then
the first packet of the connection goes through the netfilter rules of the node
it starts on (kube-proxy's ``KUBE-SERVICES`` → ``KUBE-SVC-…`` → ``KUBE-SEP-…``
DNAT), is routed to the node that owns the destination pod's ``/24`` and is
delivered to the process listening in that pod. Each of these is a :class:`Hop`.

Example
-------
>>> r = Response("http://web/", status=200, body="hello\\n", pod="web-1", node="worker-1",
...              hops=[Hop("dns", "client", "web.default.svc.cluster.local. → 10.96.0.20")])
>>> r
<Response [200 OK] from pod web-1 on worker-1>
>>> print(r.path())
1. dns       client: web.default.svc.cluster.local. → 10.96.0.20
>>> parse_url("web.default:8080/api?x=1")
('http', 'web.default', 8080, '/api?x=1')
"""

from __future__ import annotations

from dataclasses import dataclass, field

_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 403: "Forbidden", 404: "Not Found",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def parse_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path)`` of ``url``, with curl's defaults (``http``, port 80 or 443, ``/``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "http", url
    scheme = scheme.lower()
    hostport, slash, path = rest.partition("/")
    path = "/" + path if slash else "/"
    if "?" in hostport:  # "host?x=1"
        hostport, _, query = hostport.partition("?")
        path = "/?" + query
    host, colon, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    if not colon:
        host = hostport
    default = 443 if scheme == "https" else 80
    try:
        number = int(port) if port else default
    except ValueError:
        number = -1
    return scheme, host, number, path


@dataclass
class Hop:
    """One step of a request: what happened (``kind``), on which node or component, in words.

    ``rules`` holds the netfilter rules that matched, in ``iptables-save`` form.
    """

    kind: str  # dns, lb, iptables, route, ingress, pod, error
    where: str
    text: str
    rules: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.kind:<9} {self.where}: {self.text}"


@dataclass
class Response:
    """The outcome of one request, as ``curl`` would report it, plus the path it took.

    ``status`` is ``None`` when no HTTP answer came back; then ``error`` holds curl's
    message (``curl: (6) Could not resolve host: web``) and ``exit_code`` its exit code.
    """

    url: str
    status: int | None = None
    body: str = ""
    reason: str = ""
    pod: str | None = None
    namespace: str | None = None
    pod_ip: str | None = None
    node: str | None = None
    hops: list[Hop] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0

    def __post_init__(self):
        if self.status is not None and not self.reason:
            self.reason = _REASONS.get(self.status, "")

    @property
    def ok(self) -> bool:
        """An HTTP answer below 400 arrived."""
        return self.error is None and self.status is not None and self.status < 400

    def path(self) -> str:
        """The hops, numbered, one per line."""
        return "\n".join(f"{i}. {h}" for i, h in enumerate(self.hops, 1))

    def __str__(self) -> str:
        # what curl prints: the body, or its error message
        return self.error if self.error is not None else self.body

    def __repr__(self) -> str:
        if self.error is not None:
            return f"<Response failed: {self.error}>"
        where = f" from pod {self.pod}" if self.pod else ""
        if self.node:
            where += f" on {self.node}"
        return f"<Response [{self.status} {self.reason}]{where}>"


class Traffic(dict):
    """Requests per backend pod (``{pod name: count}``, sorted by name), from :meth:`Cluster.traffic`.

    ``failed`` counts requests that got no answer, by curl's error; ``nodes`` says
    where each pod runs.

    Example
    -------
    >>> t = Traffic("web", 4, {"web-b": 1, "web-a": 3}, nodes={"web-a": "worker-1", "web-b": "worker-2"})
    >>> t
    4 requests to web
    POD     NODE       REQUESTS   SHARE
    web-a   worker-1   3          75.0%
    web-b   worker-2   1          25.0%
    >>> t.share("web-a")
    0.75
    """

    def __init__(self, service: str, requests: int, counts: dict[str, int], *, nodes: dict[str, str] | None = None,
                 failed: dict[str, int] | None = None, source: str = ""):
        super().__init__(sorted(counts.items()))
        self.service = service
        self.requests = requests
        self.nodes = dict(nodes or {})
        self.failed = dict(failed or {})
        self.source = source

    def share(self, pod: str) -> float:
        """The fraction of all requests ``pod`` answered."""
        return self.get(pod, 0) / self.requests if self.requests else 0.0

    def __repr__(self) -> str:
        head = f"{self.requests} requests to {self.service}" + (f" from {self.source}" if self.source else "")
        rows = [("POD", "NODE", "REQUESTS", "SHARE")]
        rows += [(pod, self.nodes.get(pod, ""), str(n), f"{100 * self.share(pod):.1f}%") for pod, n in self.items()]
        rows += [(f"({err})", "", str(n), f"{100 * n / self.requests:.1f}%") for err, n in sorted(self.failed.items())]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        # kubectl-style columns: three spaces between them
        lines = ["   ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
        return "\n".join([head] + lines)
