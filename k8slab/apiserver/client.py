"""The client every component uses to talk to the API server (the simulated client-go).

Each method builds one REST-shaped :class:`~k8slab.apiserver.request.Request`
and hands it to the API server, which records it in the trace. Failures raise
:class:`k8slab.api.errors.ApiError` (``NotFound``, ``Conflict``, ``Invalid`` ...).

Objects returned by ``get``/``list`` are private copies; objects delivered by
watches and held in informer caches are shared and must not be changed in place.

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
>>> c = api.client("kubectl")
>>> _ = c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
>>> c.get("namespaces", "default")["metadata"]["resourceVersion"]
'2'
"""

from __future__ import annotations

from k8slab.api.kinds import Kind
from k8slab.api.objects import clone
from k8slab.apiserver.request import Request


class Client:
    def __init__(self, server, actor: str, token: str, *, shared_results: bool = False):
        self.server = server
        self.actor = actor
        self.token = token
        # Built-in components read results without changing them (as they treat informer
        # caches); everyone else gets a private copy, as over HTTP.
        self.shared_results = shared_results

    def __repr__(self) -> str:
        return f"Client({self.actor})"

    def _do(self, verb, resource, namespace=None, name=None, subresource=None, body=None, **options):
        opts = {k: v for k, v in options.items() if v is not None}
        result = self.server.handle(
            Request(verb, resource, namespace, name, subresource, body, self.token, self.actor, opts))
        if self.shared_results or not isinstance(result, dict):
            return result
        return clone(result)

    def _kind(self, resource: str) -> Kind | None:
        return self.server.kinds.resolve(resource)

    def resource_of(self, obj: dict) -> str:
        k = self.server.kinds.for_object(obj.get("apiVersion", ""), obj.get("kind", ""))
        return k.group_resource if k else (obj.get("kind", "").lower() + "s")

    # -- verbs ------------------------------------------------------------------
    def get(self, resource: str, name: str, namespace: str | None = None, subresource: str | None = None) -> dict:
        return self._do("get", resource, namespace, name, subresource)

    def list(self, resource: str, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None) -> dict:
        return self._do("list", resource, namespace, labelSelector=label_selector, fieldSelector=field_selector)

    def create(self, obj: dict, namespace: str | None = None, *, dry_run: bool = False,
               subresource: str | None = None, name: str | None = None, resource: str | None = None,
               background: bool = False, hand_over: bool = False) -> dict:
        """Create ``obj``. With ``hand_over`` the caller gives ``obj`` away (it was built for this
        request and is never touched again), so the API server need not copy it first."""
        resource = resource or self.resource_of(obj)
        ns = namespace or (obj.get("metadata") or {}).get("namespace")
        k = self._kind(resource)
        if k is not None and k.namespaced and not ns:
            ns = "default"
        return self._do("create", resource, ns if (k is None or k.namespaced) else None, name, subresource, obj,
                        dryRun=dry_run or None, background=background or None, handOver=hand_over or None)

    def update(self, obj: dict, subresource: str | None = None, *, background: bool = False) -> dict:
        m = obj.get("metadata") or {}
        return self._do("update", self.resource_of(obj), m.get("namespace"), m.get("name"), subresource, obj,
                        background=background or None)

    def update_status(self, obj: dict, *, background: bool = False) -> dict:
        return self.update(obj, "status", background=background)

    def patch(self, resource: str, name: str, patch, namespace: str | None = None, patch_type: str = "merge",
              subresource: str | None = None, *, dry_run: bool = False) -> dict:
        return self._do("patch", resource, namespace, name, subresource, patch, patchType=patch_type,
                        dryRun=dry_run or None)

    def delete(self, resource: str, name: str, namespace: str | None = None, propagation_policy: str | None = None,
               grace_period_seconds: int | None = None, force: bool = False) -> dict:
        return self._do("delete", resource, namespace, name, propagationPolicy=propagation_policy,
                        gracePeriodSeconds=grace_period_seconds, force=force or None)

    def bind(self, pod: dict, node_name: str) -> dict:
        """POST a Binding (pods/binding): how the scheduler assigns a pod to a node."""
        m = pod["metadata"]
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": m["name"], "namespace": m.get("namespace"), "uid": m.get("uid")},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        }
        return self._do("create", "pods", m.get("namespace"), m["name"], "binding", body)

    def evict(self, name: str, namespace: str) -> dict:
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        return self._do("create", "pods", namespace, name, "eviction", body)

    def logs(self, name: str, namespace: str, container: str | None = None, previous: bool = False,
             tail: int | None = None) -> str:
        return self._do("get", "pods", namespace, name, "log", container=container, previous=previous or None,
                        tailLines=tail)

    def exec(self, name: str, namespace: str, command: list[str], container: str | None = None):
        return self._do("get", "pods", namespace, name, "exec", container=container, command=command)

    def watch(self, resource: str, handler, namespace: str | None = None, label_selector: str | None = None,
              field_selector: str | None = None):
        """Open a watch; ``handler(event_type, obj)`` runs for every change, later on the virtual clock."""
        return self.server.watch(self.actor, resource, handler, namespace=namespace, label_selector=label_selector,
                                 field_selector=field_selector, token=self.token)
