"""Operators: controllers a learner writes in a notebook and runs inside the simulated cluster.

An operator is a control loop for a kind (usually a custom one, from a
CustomResourceDefinition): whenever an object of that kind — or an object it
owns — changes, its *reconcile* function is called with the object as it is now,
and makes the world match it through the API server. Two ways to write one::

    @c.controller("websites.example.com", owns=["deployments", "services"])
    def website(obj, client):          # obj: a copy of the Website, or None once it is deleted
        client.apply({...})            # create or update a Deployment (owned by obj)
        return None                    # done; or Requeue(after=30) to look again later

    class WebsiteController(Operator):
        resource = "websites.example.com"
        owns = ["deployments", "services"]
        def reconcile(self, key, obj):  # key: "namespace/name"; self.client talks to the API server
            ...
    op = c.controller(WebsiteController)

Under the hood it is built like the controllers of kube-controller-manager
(:class:`~k8slab.controlplane.controller.Controller`): an **informer** lists and
watches the kind and keeps a local cache (``op.informer.lister.list()``); its
event handlers put object keys on a **work queue** (``op.queue``); each key taken
from the queue is one reconcile, one event on the virtual clock. Changes of owned
objects enqueue their owner (their ``ownerReferences`` entry with
``controller: true``). If reconcile raises, the failure is kept in
``op.failures`` (time, key, error), a ``Warning`` event ``ReconcileError`` is
recorded on the object, and the key is retried with exponential back-off (5 ms
doubling up to 1000 s, client-go's default) — the cluster itself keeps running.
The operator's API requests appear in ``c.trace`` under its own name.

Its identity: user ``k8slab:operator:<name>`` in group ``k8slab:operators``, which
every cluster binds to ``cluster-admin`` (ClusterRoleBinding ``k8slab:operators``):
the rights of the admin kubeconfig ``kopf run`` or ``make run`` would use from a
laptop, under a name of its own that the trace shows (``kubectl auth can-i ...
--as k8slab:operator:<name> --as-group k8slab:operators`` asks what it may do). To practise least privilege, delete that binding and
bind a narrower ClusterRole to the user instead.

k8slab simplifies: the operator runs as a process outside the cluster, one
worker per operator, and it starts watching a custom kind only once its CRD is
Established. ``ReconcileError`` is k8slab's reason (controller-runtime records no
event of its own).

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> @controller(c, "configmaps")
... def count_keys(cm, client):
...     if cm is None or cm["metadata"]["namespace"] != "default":
...         return None
...     cm["metadata"]["labels"] = {"keys": str(len(cm.get("data") or {}))}
...     client.update(cm)
>>> c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}})
['configmap/cfg created']
>>> _ = c.run(); c.get("configmap", "cfg")["metadata"]["labels"]
{'keys': '1'}
>>> count_keys.name, count_keys.failures
('configmaps-controller', [])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from k8slab.api import errors
from k8slab.api.objects import clone, controller_of, owner_reference
from k8slab.apiserver.informer import Informer, SharedInformerFactory
from k8slab.apiserver.request import UserInfo
from k8slab.apiserver.workqueue import WorkQueue
from k8slab.cluster.bootstrap import OPERATORS_GROUP
from k8slab.controlplane.controller import Controller, ControllerFailure

__all__ = [
    "Informer",
    "Operator",
    "OperatorClient",
    "OperatorFailure",
    "Requeue",
    "WorkQueue",
    "controller",
    "run",
]

#: The reason of the Warning event recorded on an object whose reconcile failed.
RECONCILE_ERROR = "ReconcileError"


@dataclass(frozen=True)
class Requeue:
    """What reconcile returns to be called again: ``after`` seconds from now, or (without) with back-off.

    A requeue ``after`` a delay is a periodic look, not pending work: ``c.run()``
    does not wait for it, ``c.run(seconds=...)`` lets it happen.

    Example
    -------
    >>> Requeue(after=30), Requeue()
    (Requeue(after=30), Requeue(after=None))
    """

    after: float | None = None


@dataclass(frozen=True)
class OperatorFailure(ControllerFailure):
    """One failed reconcile: when, which key, the error; ``exception`` holds the exception itself."""

    exception: BaseException | None = field(default=None, repr=False, compare=False)


def _is_subset(desired, live) -> bool:
    """Whether every field ``desired`` sets has the same value in ``live`` (server defaults aside)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(k in live and _is_subset(v, live[k]) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(desired) == len(live) and all(
            _is_subset(d, x) for d, x in zip(desired, live, strict=True))
    return desired == live


_ADOPT = object()  # apply()'s default owner: the object being reconciled


class OperatorClient:
    """The client an operator's reconcile gets: the API verbs, plus :meth:`apply` and :meth:`event`.

    Results are private copies (change them freely). ``namespace`` defaults to the
    namespace of the object being reconciled. ``key`` and ``obj`` name that object.
    """

    def __init__(self, raw, operator: Operator):
        self.raw = raw  # the plain Client underneath
        self.operator = operator
        self.key: str | None = None
        self.obj: dict | None = None

    def __repr__(self) -> str:
        return f"OperatorClient({self.raw.actor})"

    @property
    def now(self) -> float:
        """Virtual seconds since the cluster started."""
        return self.raw.server.loop.now

    def _kind(self, resource: str):
        kind = self.raw.server.kinds.resolve(resource)
        if kind is None:
            raise errors.ApiError(errors.status(404, "NotFound",
                                                f'the server doesn\'t have a resource type "{resource}"'))
        return kind

    def _namespace(self, kind, namespace: str | None) -> str | None:
        if not kind.namespaced:
            return None
        if namespace:
            return namespace
        return ((self.obj or {}).get("metadata") or {}).get("namespace") or _namespace_of_key(self.key) or "default"

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict:
        """GET one object (raises ``NotFound`` when it does not exist)."""
        kind = self._kind(resource)
        return self.raw.get(kind.group_resource, name, self._namespace(kind, namespace))

    def list(self, resource: str, namespace: str | None = None, selector: str | None = None) -> list[dict]:
        """LIST objects (of the current namespace unless told), optionally by label selector."""
        kind = self._kind(resource)
        return self.raw.list(kind.group_resource, self._namespace(kind, namespace), label_selector=selector)["items"]

    def create(self, obj: dict) -> dict:
        kind = self._kind_of(obj)
        return self.raw.create(obj, self._namespace(kind, (obj.get("metadata") or {}).get("namespace")))

    def update(self, obj: dict) -> dict:
        return self.raw.update(obj)

    def update_status(self, obj: dict) -> dict:
        """PUT the ``status`` subresource (the object's other changes are ignored)."""
        return self.raw.update_status(obj)

    def patch(self, resource: str, name: str, patch: dict, namespace: str | None = None,
              patch_type: str = "merge") -> dict:
        kind = self._kind(resource)
        return self.raw.patch(kind.group_resource, name, patch, self._namespace(kind, namespace), patch_type)

    def delete(self, resource: str, name: str, namespace: str | None = None) -> dict:
        kind = self._kind(resource)
        return self.raw.delete(kind.group_resource, name, self._namespace(kind, namespace))

    def _kind_of(self, obj: dict):
        kind = self.raw.server.kinds.for_object(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        if kind is None:
            raise errors.ApiError(errors.status(
                404, "NotFound", f'no matches for kind "{obj.get("kind")}" in version "{obj.get("apiVersion")}"'))
        return kind

    def apply(self, obj: dict, owner=_ADOPT) -> dict:
        """Make ``obj`` exist as given: create it, or change the fields that differ; returns it stored.

        The object being reconciled becomes its owner (an ``ownerReference`` with
        ``controller: true``, so the garbage collector deletes it with its owner);
        pass ``owner=None`` to leave it unowned, or another object to own it. An
        object that already matches is left alone (no request is written).
        """
        desired = clone(obj)
        kind = self._kind_of(desired)
        m = desired.setdefault("metadata", {})
        ns = self._namespace(kind, m.get("namespace"))
        if ns is not None:
            m["namespace"] = ns
        owner = self.obj if owner is _ADOPT else owner
        if owner is not None and controller_of(desired) is None:
            m["ownerReferences"] = [*(m.get("ownerReferences") or ()), owner_reference(owner)]
        try:
            live = self.raw.get(kind.group_resource, m["name"], ns)
        except errors.NotFound:
            return self.raw.create(desired, ns)
        if _is_subset(desired, live):
            return live
        return self.raw.patch(kind.group_resource, m["name"], desired, ns, "merge")

    def event(self, obj: dict, type_: str, reason: str, message: str) -> dict | None:
        """Record an Event about ``obj`` (``type_`` is ``Normal`` or ``Warning``), as ``kubectl describe`` shows."""
        return self.operator.recorder.event(obj, type_, reason, message)


def _namespace_of_key(key: str | None) -> str | None:
    if not key or "/" not in key:
        return None
    return key.partition("/")[0]


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class Operator(Controller):
    """A learner's controller: subclass it, set :attr:`resource` (and :attr:`owns`), write :meth:`reconcile`.

    Attributes a notebook can look at: ``informer`` (its cache: ``informer.lister.list()``),
    ``queue`` (keys waiting: ``queue.keys()``), ``reconciles`` (how many ran), ``failures``.
    """

    #: The kind it reconciles, by any name kubectl accepts (``websites.example.com``, ``website``, ``ws``).
    resource: str = ""
    #: Kinds it creates and owns: a change to one of them reconciles its owner.
    owns: tuple[str, ...] | list[str] = ()
    name: str | None = None

    def __init__(self, manager, *, resource: str | None = None, owns=None, name: str | None = None):
        self.resource = resource or self.resource
        if not self.resource:
            raise ValueError(f"{type(self).__name__}: set `resource` to the kind it reconciles")
        self.owns = tuple(owns if owns is not None else self.owns)
        self.name = name or _name_for(type(self), self.resource)
        super().__init__(manager)
        self.raw_client = self.client
        self.client = OperatorClient(self.raw_client, self)
        self.reconciles = 0
        self.kind = None
        self.informer: Informer | None = None
        self.owned_informers: dict[str, Informer] = {}
        self._timers: dict[str, object] = {}  # key -> its pending Requeue(after=...)

    def __repr__(self) -> str:
        n = len(self.failures)
        return (f"Operator({self.name} on {self.resource}: {self.reconciles} reconciles, "
                f"{n} failure{'' if n == 1 else 's'})")

    # -- what a learner writes ------------------------------------------------------------------
    def reconcile(self, key: str, obj: dict | None):
        """Make the world match ``obj`` (``None`` once deleted); return ``None`` or a :class:`Requeue`."""
        raise NotImplementedError(f"{type(self).__name__}.reconcile(key, obj) is not written yet")

    # -- wiring ---------------------------------------------------------------------------------
    def setup(self) -> None:
        kinds = self.client.raw.server.kinds
        for resource in self.owns:
            if kinds.resolve(resource) is None:
                raise ValueError(f'{self.name}: owns "{resource}", which the server does not serve')
        if not self._watch():
            # its kind is not served yet: wait for its CustomResourceDefinition to be Established
            crds = self.informers.informer("customresourcedefinitions.apiextensions.k8s.io")
            crds.add_event_handler(self._crd_changed, lambda old, new: self._crd_changed(new))

    def _crd_changed(self, crd: dict) -> None:
        if self.informer is None and not self._watch():
            # the API server may start serving it just after this delivery: look again at once
            self.loop.call_soon(self._watch, who=self.name, what="look for its kind again")

    def _watch(self) -> bool:
        """Open the informers once the kind is served; ``False`` while it is not."""
        if self.informer is not None:
            return True
        kinds = self.client.raw.server.kinds
        kind = kinds.resolve(self.resource)
        if kind is None:
            return False
        self.kind = kind
        self.informer = self.informers.informer(kind.group_resource)
        self.informer.add_event_handler(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue)
        for resource in self.owns:
            owned = kinds.resolve(resource)
            inf = self.owned_informers[owned.group_resource] = self.informers.informer(owned.group_resource)
            inf.add_event_handler(self._enqueue_owner, self._owned_changed, self._enqueue_owner)
        if self.manager.started:
            self.informers.start()
        return True

    def _enqueue(self, obj: dict) -> None:
        m = obj["metadata"]
        self.queue.add(f"{m['namespace']}/{m['name']}" if m.get("namespace") else m["name"])

    def _owned_changed(self, old: dict, new: dict) -> None:
        self._enqueue_owner(new)
        if controller_of(old) != controller_of(new):
            self._enqueue_owner(old)

    def _enqueue_owner(self, obj: dict) -> None:
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != self.kind.kind or ref.get("apiVersion", "").rpartition("/")[0] != (
                self.kind.group):
            return
        ns = obj["metadata"].get("namespace")
        self.queue.add(f"{ns}/{ref.get('name')}" if self.kind.namespaced and ns else ref.get("name", ""))

    # -- the loop -------------------------------------------------------------------------------
    @property
    def pending(self) -> list[str]:
        """Keys waiting in the work queue, in order."""
        return self.queue.keys()

    def _sync(self, key: str) -> None:
        if not self.manager.is_leader:
            return
        self.sync(key)

    def sync(self, key: str) -> None:
        cached = self.informer.indexer.get(key) if self.informer is not None else None
        obj = clone(cached) if cached is not None else None  # the learner may change it freely
        self.reconciles += 1
        self.client.key, self.client.obj = key, obj
        try:
            result = self.reconcile(key, obj)
        finally:
            self.client.key = self.client.obj = None
        if result is None or result is False:
            self.queue.forget(key)
        elif isinstance(result, Requeue) and result.after is None or result is True:
            self.queue.add_rate_limited(key)
        elif isinstance(result, Requeue) or isinstance(result, (int, float)):
            after = result.after if isinstance(result, Requeue) else float(result)
            self.queue.forget(key)
            self._requeue_after(key, after)
        else:
            raise TypeError(f"reconcile returned {result!r}; return None, or Requeue(after=seconds)")

    def _requeue_after(self, key: str, after: float) -> None:
        # A periodic look is not work in progress (like a resync): it does not keep c.run() going.
        # As with the work queue's AddAfter, the sooner of two requests for one key wins.
        due = self.loop.now + after
        prev = self._timers.get(key)
        if prev is not None and not prev.cancelled and prev.time <= due:
            return
        self.loop.cancel(prev)
        self._timers[key] = self.loop.call_at(due, self._timer_fired, key, who=self.name,
                                              what=f"requeue {key} after {after:g}s", background=True)

    def _timer_fired(self, key: str) -> None:
        self._timers.pop(key, None)
        self.queue.add(key)

    def _failed(self, key: str, exc: Exception) -> None:
        text = exc.kubectl_message() if isinstance(exc, errors.ApiError) else f"{type(exc).__name__}: {exc}"
        self.failures.append(OperatorFailure(self.loop.now, self.name, key, text, exc))
        del self.failures[:-100]
        cached = self.informer.indexer.get(key) if self.informer is not None else None
        if cached is not None:
            self.recorder.event(cached, "Warning", RECONCILE_ERROR, text)
        self.queue.add_rate_limited(key)


class _FunctionOperator(Operator):
    """An operator whose reconcile is a plain function ``fn(obj, client)``."""

    def __init__(self, manager, fn, **kw):
        self.fn = fn
        super().__init__(manager, **kw)

    def reconcile(self, key: str, obj: dict | None):
        return self.fn(obj, self.client)


def operator_identity(name: str) -> UserInfo:
    """Who a learner's operator authenticates as: ``k8slab:operator:<name>`` in group ``k8slab:operators``.

    Every cluster binds that group to ``cluster-admin`` (ClusterRoleBinding
    ``k8slab:operators``), so an operator may read and write any kind, its own custom
    resources included, as one deployed with a broad ClusterRole could.

    >>> operator_identity("website-controller")
    UserInfo(name='k8slab:operator:website-controller', groups=('k8slab:operators', 'system:authenticated'))
    """
    return UserInfo(f"k8slab:operator:{name}", (OPERATORS_GROUP, "system:authenticated"))


class OperatorManager:
    """The operator's own process: its informers (one watch per kind) and its clients, under its name."""

    def __init__(self, api, loop, rng, name: str, events: bool = True):
        self.api = api
        self.loop = loop
        self.rng = rng
        self.name = name
        self.events_enabled = events
        self.is_leader = True
        self.started = False
        self.user = operator_identity(name)
        self.informers = SharedInformerFactory(api.client(name, user=self.user, shared_results=True))

    def client_for(self, name: str):
        # results are private copies: a learner's code may change what it reads
        return self.api.client(name, user=self.user)

    def start(self) -> None:
        self.informers.start()
        self.started = True

    def __repr__(self) -> str:
        return f"OperatorManager({self.name})"


def _name_for(cls: type, resource: str) -> str:
    """The default name: the class's ``name``, else its name in kebab case, else ``<plural>-controller``."""
    if cls.name:
        return cls.name
    if cls not in (Operator, _FunctionOperator):
        return _kebab(cls.__name__)
    return f"{resource.split('.')[0].lower()}-controller"


def run(cluster, operator, *, name: str | None = None) -> Operator:
    """Start ``operator`` (an :class:`Operator` subclass) in ``cluster``; returns the running operator."""
    if not (isinstance(operator, type) and issubclass(operator, Operator)):
        raise TypeError(f"expected an Operator subclass, got {operator!r}")
    name = name or _name_for(operator, operator.resource)
    return _start(cluster, name, lambda manager: operator(manager, name=name))


def _start(cluster, name: str, make) -> Operator:
    manager = OperatorManager(cluster.api, cluster.loop, cluster.rng, name,
                              events=getattr(cluster, "events_enabled", True))
    op = make(manager)
    op.setup()
    manager.start()
    return op


def controller(cluster, target, *, owns=(), name: str | None = None):
    """Run a learner's operator in ``cluster``.

    ``controller(c, "websites.example.com", owns=[...])`` is a decorator for a
    function ``reconcile(obj, client)``, and returns the running :class:`Operator`;
    ``controller(c, WebsiteController)`` starts an :class:`Operator` subclass.
    """
    if isinstance(target, type):
        return run(cluster, target, name=name)
    name = name or _name_for(_FunctionOperator, target)

    def decorate(fn) -> Operator:
        return _start(cluster, name, lambda manager: _FunctionOperator(manager, fn, resource=target, owns=owns,
                                                                       name=name))

    return decorate
