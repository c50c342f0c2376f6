"""The apiextensions controllers: how a CustomResourceDefinition becomes a kind the cluster serves.

They run inside kube-apiserver (its ``apiextensions-apiserver`` part), each with
its informer on CRDs and its work queue, and write through the API server's
loopback client (user ``system:apiserver``), as in
``staging/src/k8s.io/apiextensions-apiserver/pkg/controller``:

* :class:`NamingConditionController` checks the requested names against the
  other CRDs of the group, copies them to ``status.acceptedNames`` and sets
  ``NamesAccepted`` (``NoConflicts``, or ``PluralConflict``...), with
  ``Established=False`` (``Installing``);
* :class:`EstablishingController` then sets ``Established=True``
  (``InitialNamesAccepted``);
* :class:`DiscoveryController` serves the kind once the CRD is Established: it
  registers it with the API server, so that requests for it stop failing with
  404 ``the server could not find the requested resource`` and ``kubectl
  api-resources`` / ``kubectl get <plural>`` know it;
* :class:`CRDFinalizer` runs when a CRD is deleted: it deletes every object of
  the kind, then removes the ``customresourcecleanup.apiextensions.k8s.io``
  finalizer so the CRD can go.

What the API server does with each request for the new kind (pruning,
defaulting, schema validation) is in :mod:`k8slab.apiserver.crd`.

k8slab simplifies: no mutation cache in the naming controller (names are
reserved one CRD at a time); the finalizer deletes objects one by one, not by
collection, and removes its finalizer with a patch instead of the status update;
discovery and the custom resource handler are one step (the kind registry).

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> ext = APIExtensionsServer(c.api, c.loop, c.rng); ext.start()
>>> sorted(ext.controllers)
['CRDFinalizer', 'DiscoveryController', 'EstablishingController', 'NamingConditionController']
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.objects import clone
from k8slab.apiserver import crd as crd_mod
from k8slab.apiserver.informer import SharedInformerFactory
from k8slab.apiserver.request import UserInfo
from k8slab.apiserver.workqueue import WorkQueue
from k8slab.controlplane.controller import Controller
from k8slab.controlplane.manager import ControllerManager
from k8slab.sim.loop import timestamp

#: Who the API server is when it calls itself (its loopback client).
LOOPBACK_USER = UserInfo("system:apiserver", ("system:masters", "system:authenticated"))

CRDS = "customresourcedefinitions.apiextensions.k8s.io"


def _names(crd: dict) -> dict:
    return (crd.get("spec") or {}).get("names") or {}


def _accepted(crd: dict) -> dict:
    return (crd.get("status") or {}).get("acceptedNames") or {}


class _CRDController(Controller):
    """A controller of CRDs: an informer on them, a named work queue keyed by CRD name."""

    queue_name = "crd"

    def setup(self) -> None:
        self.queue = WorkQueue(self.loop, self.queue_name, self._sync, who=self.name, on_error=self._failed)
        self.crds = self.informers.informer(CRDS)
        self.lister = self.crds.lister

    def _now(self) -> str:
        return timestamp(self.loop.now)

    def _update_status(self, crd: dict) -> dict | None:
        """UpdateStatus; ``None`` when the CRD was deleted or changed meanwhile (we get called again)."""
        try:
            return self.client.update_status(crd)
        except (errors.NotFound, errors.Conflict):
            return None


class NamingConditionController(_CRDController):
    """Reserves a CRD's names within its group and sets ``NamesAccepted``."""

    name = "NamingConditionController"
    queue_name = "crd_naming_condition_controller"

    def setup(self) -> None:
        super().setup()
        self.crds.add_event_handler(
            lambda crd: self.queue.add(crd["metadata"]["name"]),
            lambda old, new: self.queue.add(new["metadata"]["name"]),
            lambda crd: self.queue.add(crd["metadata"]["name"]),
        )

    def _names_in_use(self, group: str) -> tuple[set, set]:
        resources: set[str] = set()
        kinds: set[str] = set()
        for other in self.lister.list():
            if (other.get("spec") or {}).get("group") != group:
                continue
            names = _accepted(other)
            resources.update((names.get("plural", ""), names.get("singular", ""), *(names.get("shortNames") or ())))
            kinds.update((names.get("kind", ""), names.get("listKind", "")))
        return resources, kinds

    def calculate(self, crd: dict) -> tuple[dict, dict, dict]:
        """``calculateNamesAndConditions``: (accepted names, NamesAccepted, Established)."""
        resources, kinds = self._names_in_use((crd.get("spec") or {}).get("group"))
        requested, accepted = _names(crd), _accepted(crd)
        new = dict(accepted)
        problem: tuple[str, str] | None = None

        def take(key: str, reason: str, used: set) -> None:
            nonlocal problem
            want, have = requested.get(key, ""), accepted.get(key, "")
            if want == have or want not in used:
                if want:
                    new[key] = want
            else:
                problem = (reason, f'"{want}" is already in use')

        take("plural", "PluralConflict", resources)
        take("singular", "SingularConflict", resources)
        wanted_short = list(requested.get("shortNames") or ())
        if wanted_short != list(accepted.get("shortNames") or ()):
            have = set(accepted.get("shortNames") or ())
            clashes = [f'"{s}" is already in use' for s in wanted_short
                       if s not in have and s not in (accepted.get("plural"), accepted.get("singular"))
                       and s in resources]
            if clashes:
                problem = ("ShortNamesConflict",
                           clashes[0] if len(clashes) == 1 else "[" + ", ".join(clashes) + "]")
            elif wanted_short:
                new["shortNames"] = wanted_short
            else:
                new.pop("shortNames", None)
        take("kind", "KindConflict", kinds)
        take("listKind", "ListKindConflict", kinds)
        if requested.get("categories"):
            new["categories"] = list(requested["categories"])
        else:
            new.pop("categories", None)
        # the Go struct's order; plural and kind are always written, the others only when set
        order = ("plural", "singular", "shortNames", "kind", "listKind", "categories")
        new = {k: new.get(k, "") for k in order if new.get(k) or k in ("plural", "kind")}
        if problem is None:
            named = {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"}
        else:
            named = {"type": "NamesAccepted", "status": "False", "reason": problem[0], "message": problem[1]}
        established = {"type": "Established", "status": "False", "reason": "NotAccepted",
                       "message": "not all names are accepted"}
        old = next((c for c in (crd.get("status") or {}).get("conditions") or () if c.get("type") == "Established"),
                   None)
        if old is not None:
            established = {k: old.get(k) for k in ("type", "status", "reason", "message")}
        if established["status"] != "True" and named["status"] == "True":
            established = {"type": "Established", "status": "False", "reason": "Installing",
                           "message": "the initial names have been accepted"}
        return new, named, established

    def sync(self, key: str) -> None:
        crd = self.lister.get(key)
        if crd is None:
            self._requeue_group(key)  # its names are free again
            return
        if _names(crd) == _accepted(crd):
            return
        accepted, named, established = self.calculate(crd)
        current = next((c for c in (crd.get("status") or {}).get("conditions") or ()
                        if c.get("type") == "NamesAccepted"), None)
        if _accepted(crd) == accepted and current is not None and all(
                current.get(k) == named[k] for k in ("status", "reason", "message")):
            return
        new = clone(crd)
        new.setdefault("status", {})["acceptedNames"] = accepted
        now = self._now()
        for c in (named, established):
            crd_mod.set_condition(new, c["type"], c["status"], c["reason"], c["message"], now)
        if self._update_status(new) is not None:
            self._requeue_group(key)  # we may have released a name

    def _requeue_group(self, name: str) -> None:
        group = name.partition(".")[2]
        for other in self.lister.list():
            if (other.get("spec") or {}).get("group") == group and other["metadata"]["name"] != name:
                self.queue.add(other["metadata"]["name"])


class EstablishingController(_CRDController):
    """Turns a CRD whose names were accepted into an Established one."""

    name = "EstablishingController"
    queue_name = "crdEstablishing"

    def setup(self) -> None:
        super().setup()
        # the custom resource handler queues a CRD here once its names are accepted (at once with
        # one API server; after 5 s with several, to let every server catch up)
        self.crds.add_event_handler(self._maybe_queue, lambda old, new: self._maybe_queue(new))

    def _maybe_queue(self, crd: dict) -> None:
        if crd_mod.is_condition_true(crd, "NamesAccepted") and not crd_mod.is_condition_true(crd, "Established"):
            self.queue.add(crd["metadata"]["name"])

    def sync(self, key: str) -> None:
        crd = self.lister.get(key)
        if crd is None or not crd_mod.is_condition_true(crd, "NamesAccepted") or crd_mod.is_condition_true(
                crd, "Established"):
            return
        new = clone(crd)
        crd_mod.set_condition(new, "Established", "True", "InitialNamesAccepted",
                              "the initial names have been accepted", self._now())
        self._update_status(new)


class DiscoveryController(_CRDController):
    """Serves the kind of every Established CRD (discovery, and the custom resource handler).

    Registering the kind with the API server is what makes ``apply``, ``get`` and
    ``kubectl api-resources`` know it; it is withdrawn when the CRD is gone.
    """

    name = "DiscoveryController"
    queue_name = "DiscoveryController"

    def setup(self) -> None:
        super().setup()
        self.api = self.manager.api
        self.served: dict[str, object] = {}  # CRD name -> the Kind served for it
        self._watched: set[str] = set()  # etcd prefixes the API server already fans out
        self._left_behind: dict[str, object] = {}
        self.crds.add_event_handler(self._refresh, lambda old, new: self._refresh(new), self._gone)

    def _refresh(self, crd: dict) -> None:
        name = crd["metadata"]["name"]
        kind = crd_mod.kind_of(crd) if crd_mod.is_condition_true(crd, "Established") else None
        old = self.served.get(name)
        if kind == old:
            return
        if old is not None:
            self.api.kinds.unregister(old)
            del self.served[name]
        if kind is not None:
            if kind.etcd_prefix in self._watched:
                self.api.kinds.register(kind)  # the store's watch for this prefix is still open
            else:
                self.api.register_kind(kind)
                self._watched.add(kind.etcd_prefix)
            self.served[name] = kind

    def _gone(self, crd: dict) -> None:
        name = crd["metadata"]["name"]
        kind = self.served.get(name)
        if kind is None:
            return
        if not crd["metadata"].get("deletionTimestamp"):
            # Removed without the cleanup finalizer (an API server that does not run
            # crd.begin_deletion): delete what the CRD finalizer would have, then stop serving.
            self._left_behind[name] = kind
            self.queue.add(name)
            return
        self.api.kinds.unregister(kind)
        del self.served[name]

    def sync(self, key: str) -> None:
        kind = self._left_behind.get(key)
        if kind is None:
            return
        for obj in self.client.list(kind.group_resource)["items"]:
            m = obj["metadata"]
            try:
                self.client.delete(kind.group_resource, m["name"], m.get("namespace"))
            except errors.NotFound:
                pass
        del self._left_behind[key]
        if self.served.get(key) is kind:
            self.api.kinds.unregister(kind)
            del self.served[key]


def _without_terminating(crd: dict) -> dict:
    c = clone(crd)
    c["metadata"].pop("resourceVersion", None)
    status = c.get("status") or {}
    if status.get("conditions"):
        status["conditions"] = [x for x in status["conditions"] if x.get("type") != "Terminating"]
    return c


class CRDFinalizer(_CRDController):
    """Deletes every object of a CRD being deleted, then lets the CRD go."""

    name = "CRDFinalizer"
    queue_name = "crd_finalizer"
    #: How often the finalizer checks that the objects are gone (``wait.PollImmediate(5*time.Second, ...)``).
    poll_interval = 5.0

    def setup(self) -> None:
        super().setup()
        self.crds.add_event_handler(self._on_add, self._on_update)

    @staticmethod
    def _finalizing(crd: dict) -> bool:
        m = crd["metadata"]
        return bool(m.get("deletionTimestamp")) and crd_mod.CLEANUP_FINALIZER in (m.get("finalizers") or ())

    def _on_add(self, crd: dict) -> None:
        if self._finalizing(crd):
            self.queue.add(crd["metadata"]["name"])

    def _on_update(self, old: dict, new: dict) -> None:
        # a change of the Terminating condition alone is our own doing: no need to look again
        if self._finalizing(new) and _without_terminating(old) != _without_terminating(new):
            self.queue.add(new["metadata"]["name"])

    def sync(self, key: str) -> None:
        cached = self.lister.get(key)
        if cached is None or not self._finalizing(cached):
            return
        crd = clone(cached)
        crd_mod.set_condition(crd, "Terminating", "True", "InstanceDeletionInProgress",
                              "CustomResource deletion is in progress", self._now())
        crd = self._update_status(crd)
        if crd is None:
            return
        crd = clone(crd)
        if crd_mod.is_condition_true(crd, "Established"):
            kind = crd_mod.kind_of(crd)
            left = self._delete_instances(kind)
            if left:
                self.queue.add_after(key, self.poll_interval)  # look again until they are gone
                return
            crd_mod.set_condition(crd, "Terminating", "False", "InstanceDeletionCompleted", "removed all instances",
                                  self._now())
        else:
            crd_mod.set_condition(crd, "Terminating", "False", "NeverEstablished", "resource was never established",
                                  self._now())
        crd = self._update_status(crd)
        if crd is None:
            return
        rest = [f for f in crd["metadata"].get("finalizers") or () if f != crd_mod.CLEANUP_FINALIZER]
        try:
            self.client.patch(CRDS, key, {"metadata": {"finalizers": rest or None,
                                                       "resourceVersion": crd["metadata"]["resourceVersion"]}})
        except (errors.NotFound, errors.Conflict):
            pass

    def _delete_instances(self, kind) -> int:
        """Delete every object of ``kind``; returns how many are still there (being finalized)."""
        for obj in self.client.list(kind.group_resource)["items"]:
            m = obj["metadata"]
            if m.get("deletionTimestamp"):
                continue
            try:
                self.client.delete(kind.group_resource, m["name"], m.get("namespace"))
            except errors.NotFound:
                pass
        return len(self.client.list(kind.group_resource)["items"])


#: The controllers of apiextensions-apiserver that k8slab runs.
CONTROLLERS = [NamingConditionController, EstablishingController, DiscoveryController, CRDFinalizer]


class APIExtensionsServer(ControllerManager):
    """The apiextensions part of kube-apiserver: CRD controllers, and the custom resource steps of its
    request pipeline (:func:`k8slab.apiserver.crd.install`)."""

    name = "kube-apiserver"

    def __init__(self, api, loop, rng):
        super().__init__(api, loop, rng, CONTROLLERS, events=False)
        # its informers and controllers use the loopback client, not the controller manager's identity
        self.informers = SharedInformerFactory(api.client(self.name, user=LOOPBACK_USER, shared_results=True))

    def client_for(self, name: str):
        return self.api.client(name, user=LOOPBACK_USER, shared_results=True)

    def start(self) -> None:
        crd_mod.install(self.api)
        super().start()

    def __repr__(self) -> str:
        served = self.controllers.get("DiscoveryController")
        n = len(served.served) if served is not None else 0
        return f"APIExtensionsServer({n} custom kinds served)"


__all__ = [
    "APIExtensionsServer",
    "CONTROLLERS",
    "CRDFinalizer",
    "DiscoveryController",
    "EstablishingController",
    "LOOPBACK_USER",
    "NamingConditionController",
]
