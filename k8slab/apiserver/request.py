"""What travels to the API server: a REST-shaped request and the identity behind it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserInfo:
    """Who is asking (what authentication found): ``kubernetes-admin``, ``system:node:worker-1``, ..."""

    name: str
    groups: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.name


@dataclass
class Request:
    """One API request, as the REST path and query would carry it.

    ``verb`` is the Kubernetes verb (get, list, watch, create, update, patch, delete);
    ``resource`` the plural (``pods``), ``subresource`` e.g. ``status`` or ``binding``.
    """

    verb: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    body: dict | None = None
    token: str | None = None
    actor: str = "?"
    options: dict = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The REST path this request would use (``/api/v1/namespaces/default/pods/web``)."""
        from k8slab.api.kinds import resolve

        k = resolve(self.resource)
        base = f"/apis/{k.group}/{k.version}" if k and k.group else "/api/v1"
        plural = k.plural if k else self.resource
        p = base
        if self.namespace and (k is None or k.namespaced):
            p += f"/namespaces/{self.namespace}"
        p += f"/{plural}"
        if self.name:
            p += f"/{self.name}"
        if self.subresource:
            p += f"/{self.subresource}"
        return p

    @property
    def http_method(self) -> str:
        return {
            "get": "GET",
            "list": "GET",
            "watch": "GET",
            "create": "POST",
            "update": "PUT",
            "patch": "PATCH",
            "delete": "DELETE",
            "deletecollection": "DELETE",
        }.get(self.verb, "GET")
