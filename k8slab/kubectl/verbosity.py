"""``-v=6``: kubectl logs every HTTP request it sends, which shows that kubectl is a REST client.

At verbosity 6 and above, kubectl's ``round_trippers.go`` writes one klog line per
request to stderr: the method, the URL, the status and how long it took::

    I0101 00:00:10.000000    4242 round_trippers.go:553] GET https://127.0.0.1:6443/api/v1/namespaces/default/pods?limit=500 200 OK in 1 milliseconds

k8slab simplifies: the timestamp is the virtual clock, every request takes one
millisecond, the process id is fixed, and higher levels (request headers and
bodies) print the same lines as 6.

Example
-------
>>> verbosity(["get", "pods", "-v=6"]), verbosity(["get", "pods", "--v", "8"]), verbosity(["get", "pods"])
(6, 8, 0)
>>> status_text(404)
'404 Not Found'
"""

from __future__ import annotations

import inspect
from http import HTTPStatus

from k8slab.api.errors import ApiError
from k8slab.kubectl.flags import flag_values

SERVER = "https://127.0.0.1:6443"
PID = 4242
_METHODS = {"get": "GET", "list": "GET", "create": "POST", "update": "PUT", "update_status": "PUT",
            "patch": "PATCH", "delete": "DELETE", "logs": "GET", "bind": "POST"}


def verbosity(args: list[str]) -> int:
    """The value of ``-v`` / ``--v`` in a command line (0 when absent or not a number)."""
    for _flag, value in flag_values(args, ("-v", "--v")):
        return int(value) if value.isdigit() else 0
    return 0


def status_text(code: int) -> str:
    """``200 OK``, ``201 Created``, ``422 Unprocessable Entity``: what Go's http.Status prints."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def request_path(kind, namespace: str | None, name: str | None = None, subresource: str | None = None) -> str:
    """The REST path of a resource: ``/api/v1/…`` for the core group, ``/apis/<group>/<version>/…`` otherwise."""
    root = f"/api/{kind.version}" if not kind.group else f"/apis/{kind.group}/{kind.version}"
    path = root + (f"/namespaces/{namespace}" if kind.namespaced and namespace else "") + f"/{kind.plural}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


class RequestLog:
    """A client that writes kubectl's ``-v=6`` line for every request it passes on."""

    def __init__(self, client, registry, out, now):
        self._client = client
        self._registry = registry
        self._out = out
        self._now = now

    def __getattr__(self, attr):
        inner = getattr(self._client, attr)
        method = _METHODS.get(attr)
        if method is None or not callable(inner):
            return inner

        def logged(*args, **kwargs):
            # the client's own parameter names say what each argument is (resource, name, namespace...)
            call = inspect.signature(inner).bind(*args, **kwargs)
            call.apply_defaults()
            url = self._url(attr, call.arguments)
            try:
                result = inner(*args, **kwargs)
            except ApiError as e:
                self._line(method, url, e.code)
                raise
            self._line(method, url, 201 if attr == "create" else 200)
            return result

        return logged

    def _url(self, verb: str, a: dict) -> str:
        query = []
        if verb in ("create", "update", "update_status"):
            obj = a["obj"]
            kind = self._registry.for_object(obj.get("apiVersion", ""), obj.get("kind", ""))
            meta = obj.get("metadata") or {}
            ns = a.get("namespace") or meta.get("namespace")
            name = None if verb == "create" else meta.get("name")
            sub = "status" if verb == "update_status" else a.get("subresource")
            path = request_path(kind, ns, name, sub) if kind else "/"
            if verb == "create":
                query += ["fieldManager=kubectl-create", "fieldValidation=Strict"]
        elif verb == "logs":
            path = f"/api/v1/namespaces/{a['namespace']}/pods/{a['name']}/log"
            if a.get("container"):
                query.append(f"container={a['container']}")
        else:
            kind = self._registry.resolve(a["resource"])
            if kind is None:
                path = "/" + a["resource"]
            elif verb == "list":
                path = request_path(kind, a.get("namespace"))
                query.append("limit=500")
                if a.get("label_selector"):
                    query.append("labelSelector=" + a["label_selector"].replace("=", "%3D").replace(",", "%2C"))
            else:
                path = request_path(kind, a.get("namespace"), a.get("name"), a.get("subresource"))
                if verb == "patch":
                    query.append("fieldManager=kubectl-patch")
        if a.get("dry_run"):
            query.append("dryRun=All")
        return SERVER + path + ("?" + "&".join(query) if query else "")

    def _line(self, method: str, url: str, code: int) -> None:
        t = self._now()
        stamp = f"I{t:%m%d} {t:%H:%M:%S}.{t.microsecond:06d}"
        self._out.warn(f"{stamp}    {PID} round_trippers.go:553] {method} {url} {status_text(code)} in 1 milliseconds")
