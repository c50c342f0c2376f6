"""The garbage collector: deletes what nobody owns any more, following ``ownerReferences``.

As ``pkg/controller/garbagecollector``: a *graph builder* keeps, from informer
events, a graph of every object (uid → node) with its owners and dependents,
updated incrementally. Two work queues act on it:

* **attemptToDelete** — an object whose owners may be gone: it reads the object
  live, looks each owner up live (``GET``; absent owners are remembered in a
  small cache), and

  - keeps it if one owner still exists (dropping references to gone owners),
  - deletes it in *Foreground* if an owner waits for its dependents and it has
    dependents of its own,
  - otherwise deletes it (Background, or as its own finalizers ask);

  an owner being deleted in the foreground (``foregroundDeletion`` finalizer)
  gets the finalizer removed once no ``blockOwnerDeletion`` dependent is left,
  and the API server then removes it.
* **attemptToOrphan** — an owner deleted with ``propagationPolicy: Orphan``
  (``orphan`` finalizer): remove its reference from every dependent, then the
  finalizer.

So ``kubectl delete deployment web`` (Background) deletes the Deployment at
once; the collector then deletes its ReplicaSets, and then their pods.

An owner named by a reference but never seen is a *virtual* node, checked with
a live ``GET``. Kinds outside :attr:`GarbageCollector.resources` are not watched:
their existence is checked once, their own deletion noticed only through their
dependents.

Example
-------
>>> GarbageCollector.name, GarbageCollector.service_account
('garbage-collector-controller', 'generic-garbage-collector')
>>> "pods" in GarbageCollector.resources and "deployments" in GarbageCollector.resources
True
"""

from __future__ import annotations

from collections import OrderedDict

from k8slab.api import errors
from k8slab.apiserver.crd import is_custom
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.workqueue import WorkQueue
from k8slab.controlplane.controller import Controller
from k8slab.controlplane.workload import remove_owner_reference

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
#: How many absent owners the collector remembers, to spare a GET per dependent.
ABSENT_OWNER_CACHE_SIZE = 500

_REQUEUE = "requeue"


class _Node:
    """One object in the dependency graph (a *virtual* node: known only from a reference)."""

    __slots__ = ("uid", "api_version", "kind", "namespace", "name", "owners", "dependents", "being_deleted",
                 "deleting_dependents", "virtual", "resource_version")

    def __init__(self, uid, api_version, kind, namespace, name, owners=(), virtual=False):
        self.uid = uid
        self.api_version = api_version
        self.kind = kind
        self.namespace = namespace or ""
        self.name = name
        self.owners: list[dict] = list(owners)
        self.dependents: dict[str, _Node] = {}
        self.being_deleted = False
        self.deleting_dependents = False
        self.virtual = virtual
        self.resource_version = ""

    @property
    def identity(self) -> tuple:
        return (self.api_version, self.kind, self.namespace, self.name, self.uid)

    @property
    def key(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where} {self.uid}"

    def ref_to(self, owner_uid: str) -> dict | None:
        for r in self.owners:
            if r.get("uid") == owner_uid:
                return r
        return None

    def blocking_dependents(self) -> list[_Node]:
        out = []
        for dep in self.dependents.values():
            ref = dep.ref_to(self.uid)
            if ref is not None and ref.get("blockOwnerDeletion"):
                out.append(dep)
        return out

    def __repr__(self) -> str:
        flags = "".join(f" {f}" for f, on in (("virtual", self.virtual), ("beingDeleted", self.being_deleted),
                                                ("deletingDependents", self.deleting_dependents)) if on)
        return f"Node({self.key}, {len(self.dependents)} dependents{flags})"


def _ref_matches(ref: dict, node: _Node) -> bool:
    return (ref.get("uid") == node.uid and ref.get("name") == node.name and ref.get("kind") == node.kind
            and ref.get("apiVersion") == node.api_version)


def _has_finalizer(obj: dict | None, finalizer: str) -> bool:
    return obj is not None and finalizer in (obj["metadata"].get("finalizers") or ())


def _starts_waiting(old: dict | None, new: dict, finalizer: str) -> bool:
    """The object just began a deletion that waits on ``finalizer`` (orphan / foregroundDeletion)."""
    if not new["metadata"].get("deletionTimestamp") or not _has_finalizer(new, finalizer):
        return False
    return old is None or not old["metadata"].get("deletionTimestamp") or not _has_finalizer(old, finalizer)


class GarbageCollector(Controller):
    """Owner-reference garbage collection (see the module docstring)."""

    name = "garbage-collector-controller"
    #: kube-controller-manager runs the collector with this service account's credentials.
    service_account = "generic-garbage-collector"
    #: The resources whose objects enter the graph (add later kinds here).
    resources: tuple[str, ...] = (
        "pods",
        "replicasets",
        "deployments",
        "statefulsets",
        "daemonsets",
        "controllerrevisions",
        "jobs",
        "cronjobs",
        "services",
        "endpointslices",
        "persistentvolumeclaims",
        "configmaps",
        "secrets",
        "nodes",
        "leases",
    )

    def setup(self) -> None:
        self.client = self.manager.client_for(self.service_account)
        self.recorder = EventRecorder(self.client, self.name, enabled=self.manager.events_enabled)
        self.kinds = self.client.server.kinds  # discovery: the kinds the API server serves
        self.graph: dict[str, _Node] = {}
        self.absent_owners: OrderedDict[tuple, None] = OrderedDict()
        self.orphan_queue = WorkQueue(self.loop, "garbage_collector_attempt_to_orphan", self._orphan_sync,
                                      who=self.name, on_error=self._orphan_failed)
        self.monitored: set[tuple[str, str]] = set()
        for resource in self.resources:
            kind = self.kinds.resolve(resource)
            if kind is not None:
                self._monitor(kind)
        # Custom kinds come and go with their CRDs (the real collector re-reads discovery every 30 s):
        # look again whenever a CRD changes, once the API server has had the same delivery.
        crds = self.informers.informer("customresourcedefinitions.apiextensions.k8s.io")
        crds.add_event_handler(self._crd_changed, lambda old, new: self._crd_changed(new))

    def _monitor(self, kind) -> None:
        self.monitored.add((kind.group, kind.kind))
        inf = self.informers.informer(kind.group_resource)
        inf.add_event_handler(
            lambda obj: self._graph_change("add", None, obj),
            lambda old, new: self._graph_change("update", old, new),
            lambda obj: self._graph_change("delete", None, obj),
        )

    def _crd_changed(self, crd: dict) -> None:
        self.loop.call_soon(self._sync_monitors, who=self.name, what="resync monitors from discovery")

    def _sync_monitors(self) -> None:
        new = [k for k in self.kinds.all() if (k.group, k.kind) not in self.monitored and is_custom(k)]
        for kind in new:
            self._monitor(kind)
        if new and self.manager.started:
            self.informers.start()

    def __repr__(self) -> str:
        return f"GarbageCollector({len(self.graph)} nodes, {len(self.queue)} to delete, {len(self.orphan_queue)} to orphan)"

    # -- kinds -----------------------------------------------------------------------------------
    def _kind(self, api_version: str, kind: str):
        return self.kinds.for_object(api_version, kind)

    def _is_monitored(self, node: _Node) -> bool:
        k = self._kind(node.api_version, node.kind)
        return k is not None and (k.group, k.kind) in self.monitored

    # -- the graph builder -----------------------------------------------------------------------
    def attempt_to_delete(self, node: _Node) -> None:
        self.queue.add(node.key)

    def _graph_change(self, event: str, old: dict | None, obj: dict) -> None:
        m = obj["metadata"]
        uid = m.get("uid")
        if not uid:
            return
        node = self.graph.get(uid)
        if event == "delete":
            if node is not None:
                self._remove(node, (obj.get("apiVersion"), obj.get("kind"), m.get("namespace") or "", m.get("name"), uid))
            return
        owners = m.get("ownerReferences") or []
        if node is not None and node.virtual:
            # a node known only from references has now been seen for real
            self._observe(node, obj)
        if node is None:
            node = _Node(uid, obj.get("apiVersion"), obj.get("kind"), m.get("namespace"), m.get("name"), owners)
            node.being_deleted = bool(m.get("deletionTimestamp"))
            node.deleting_dependents = node.being_deleted and _has_finalizer(obj, FOREGROUND)
            node.resource_version = m.get("resourceVersion", "")
            self.graph[uid] = node
            self._add_dependent_to_owners(node, owners)
        else:
            node.resource_version = m.get("resourceVersion", "")
            if node.owners != owners:
                self._owners_changed(node, owners)
            if m.get("deletionTimestamp"):
                node.being_deleted = True
        self._process_transitions(old, obj, node)

    def _observe(self, node: _Node, obj: dict) -> None:
        m = obj["metadata"]
        node.virtual = False
        seen = (obj.get("apiVersion"), obj.get("kind"), m.get("namespace") or "", m.get("name"), m.get("uid"))
        if seen != node.identity:
            node.api_version, node.kind, node.namespace, node.name = seen[:4]
            # dependents that named this owner by other coordinates may point at nothing
            for dep in list(node.dependents.values()):
                ref = dep.ref_to(node.uid)
                if ref is None or not _ref_matches(ref, node):
                    self.attempt_to_delete(dep)

    def _owners_changed(self, node: _Node, owners: list[dict]) -> None:
        old_by = {r.get("uid"): r for r in node.owners}
        new_by = {r.get("uid"): r for r in owners}
        added = [r for u, r in new_by.items() if u not in old_by]
        removed = [r for u, r in old_by.items() if u not in new_by]
        changed = [(old_by[u], new_by[u]) for u in new_by if u in old_by and old_by[u] != new_by[u]]
        # an owner waiting for its blocking dependents may have just been unblocked
        for ref in removed:
            if ref.get("blockOwnerDeletion"):
                self._wake_waiting_owner(ref.get("uid"))
        for before, after in changed:
            if before.get("blockOwnerDeletion") and not after.get("blockOwnerDeletion"):
                self._wake_waiting_owner(after.get("uid"))
        node.owners = list(owners)
        self._add_dependent_to_owners(node, added)
        for ref in removed:
            owner = self.graph.get(ref.get("uid"))
            if owner is not None:
                owner.dependents.pop(node.uid, None)

    def _wake_waiting_owner(self, uid: str | None) -> None:
        owner = self.graph.get(uid or "")
        if owner is not None and owner.deleting_dependents:
            self.attempt_to_delete(owner)

    def _add_dependent_to_owners(self, node: _Node, refs: list[dict]) -> None:
        for ref in refs:
            uid = ref.get("uid")
            if not uid:
                continue
            owner = self.graph.get(uid)
            if owner is None:
                k = self._kind(ref.get("apiVersion", ""), ref.get("kind", ""))
                namespace = node.namespace if (k is None or k.namespaced) else ""
                owner = _Node(uid, ref.get("apiVersion"), ref.get("kind"), namespace, ref.get("name"), virtual=True)
                self.graph[uid] = owner
                owner.dependents[node.uid] = node
                # is the owner really there? attemptToDelete will look it up
                self.attempt_to_delete(owner)
            else:
                owner.dependents[node.uid] = node

    def _process_transitions(self, old: dict | None, obj: dict, node: _Node) -> None:
        if _starts_waiting(old, obj, ORPHAN):
            self.orphan_queue.add(node.key)
            return
        if _starts_waiting(old, obj, FOREGROUND):
            node.deleting_dependents = True
            for dep in list(node.dependents.values()):
                self.attempt_to_delete(dep)
            self.attempt_to_delete(node)

    def _remove(self, node: _Node, deleted: tuple) -> None:
        """A delete event (observed, or *virtual*: a GET found the object gone)."""
        if node.virtual:
            matching = [d for d in node.dependents.values() if _ref_matches(d.ref_to(node.uid) or {}, node)]
            other = [d for d in node.dependents.values() if d not in matching]
            if other:
                # dependents disagree on this owner's coordinates: only those naming the gone one lose it
                self._remember_absent(deleted)
                for dep in matching:
                    self.attempt_to_delete(dep)
                ref = other[0].ref_to(node.uid) or {}
                node.api_version, node.kind, node.name = ref.get("apiVersion"), ref.get("kind"), ref.get("name")
                self.queue.add_rate_limited(node.key)
                return
        elif node.identity != deleted:
            return
        del self.graph[node.uid]
        for ref in node.owners:
            owner = self.graph.get(ref.get("uid"))
            if owner is not None:
                owner.dependents.pop(node.uid, None)
        if node.dependents:
            self._remember_absent(deleted)
        for dep in list(node.dependents.values()):
            self.attempt_to_delete(dep)
        for ref in node.owners:
            # an owner deleting in the foreground may now have no blocking dependent left
            self._wake_waiting_owner(ref.get("uid"))

    def _remember_absent(self, identity: tuple) -> None:
        api_version, kind, namespace, name, uid = identity
        self.absent_owners[(api_version, kind, name, uid, namespace)] = None
        self.absent_owners.move_to_end((api_version, kind, name, uid, namespace))
        while len(self.absent_owners) > ABSENT_OWNER_CACHE_SIZE:
            self.absent_owners.popitem(last=False)

    # -- attemptToDelete -------------------------------------------------------------------------
    def _sync(self, key: str) -> None:
        if not self.manager.is_leader:
            return
        if self.sync(key) == _REQUEUE:
            self.queue.add_rate_limited(key)
        else:
            self.queue.forget(key)

    def sync(self, key: str):
        """``attemptToDeleteItem`` for the node ``key`` (``Kind namespace/name uid``)."""
        node = self.graph.get(key.rsplit(" ", 1)[-1])
        if node is None:
            return None
        if node.being_deleted and not node.deleting_dependents:
            return None  # already on its way: its dependents are handled when it is gone
        k = self._kind(node.api_version, node.kind)
        if k is None:
            return None  # a kind the API server does not serve: nothing to read or delete
        try:
            latest = self.client.get(k.group_resource, node.name, node.namespace or None)
        except errors.NotFound:
            latest = None
        if latest is None or latest["metadata"].get("uid") != node.uid:
            self._remove(node, node.identity)
            return None
        if node.virtual and not self._is_monitored(node):
            node.virtual = False  # it exists; no informer will tell us more about it
        if node.deleting_dependents:
            self._process_deleting_dependents(node)
            return None
        refs = latest["metadata"].get("ownerReferences") or []
        if refs:
            self._collect(node, k, latest, refs)
        return _REQUEUE if node.virtual else None

    def _collect(self, node: _Node, kind, latest: dict, refs: list[dict]) -> None:
        solid, dangling, waiting = self._classify(node, refs)
        m = latest["metadata"]
        if solid:
            if not dangling and not waiting:
                return
            # references to gone owners, or to owners waiting on us, must go, or they block forever
            gone = list(dict.fromkeys(r.get("uid") for r in dangling + waiting))
            for uid in gone:
                latest = remove_owner_reference(self.client, kind.group_resource, latest, uid) or latest
            return
        if waiting and node.dependents:
            if any(dep.deleting_dependents for dep in node.dependents.values()):
                # a dependent waits on us while we wait on our owner: unblock to avoid a cycle
                unblocked = [dict(r, blockOwnerDeletion=False) if r.get("blockOwnerDeletion") else r for r in refs]
                self.client.patch(kind.group_resource, m["name"], {"metadata": {"ownerReferences": unblocked}},
                                  m.get("namespace"), patch_type="strategic")
            self._delete(kind, m, "Foreground")
            return
        policy = "Background"
        if _has_finalizer(latest, ORPHAN):
            policy = "Orphan"
        elif _has_finalizer(latest, FOREGROUND):
            policy = "Foreground"
        self._delete(kind, m, policy)

    def _delete(self, kind, m: dict, policy: str) -> None:
        try:
            self.client.delete(kind.group_resource, m["name"], m.get("namespace"), propagation_policy=policy)
        except errors.NotFound:
            pass

    def _classify(self, node: _Node, refs: list[dict]):
        """Split owner references into solid (owner exists), dangling (gone) and waiting (foreground)."""
        solid, dangling, waiting = [], [], []
        for ref in refs:
            gone, owner = self._is_dangling(ref, node)
            if gone:
                dangling.append(ref)
            elif owner is not None and owner["metadata"].get("deletionTimestamp") and _has_finalizer(owner, FOREGROUND):
                waiting.append(ref)
            else:
                solid.append(ref)
        return solid, dangling, waiting

    def _is_dangling(self, ref: dict, item: _Node) -> tuple[bool, dict | None]:
        coords = (ref.get("apiVersion"), ref.get("kind"), ref.get("name"), ref.get("uid"))
        if (*coords, "") in self.absent_owners or (*coords, item.namespace) in self.absent_owners:
            return True, None
        k = self._kind(ref.get("apiVersion", ""), ref.get("kind", ""))
        if k is None or (k.namespaced and not item.namespace):
            # an unknown kind, or a cluster-scoped object naming a namespaced owner: never collect on it
            return False, None
        namespace = item.namespace if k.namespaced else ""
        try:
            owner = self.client.get(k.group_resource, ref.get("name", ""), namespace or None)
        except errors.NotFound:
            self._remember_absent((ref.get("apiVersion"), ref.get("kind"), namespace, ref.get("name"), ref.get("uid")))
            return True, None
        if owner["metadata"].get("uid") != ref.get("uid"):
            self._remember_absent((ref.get("apiVersion"), ref.get("kind"), namespace, ref.get("name"), ref.get("uid")))
            return True, None
        return False, owner

    def _process_deleting_dependents(self, node: _Node) -> None:
        blocking = node.blocking_dependents()
        if not blocking:
            self._remove_finalizer(node, FOREGROUND)
            return
        for dep in blocking:
            if not dep.deleting_dependents:
                self.attempt_to_delete(dep)

    def _remove_finalizer(self, node: _Node, finalizer: str) -> None:
        k = self._kind(node.api_version, node.kind)
        if k is None:
            return
        for _attempt in range(5):
            try:
                latest = self.client.get(k.group_resource, node.name, node.namespace or None)
            except errors.NotFound:
                return
            m = latest["metadata"]
            finalizers = m.get("finalizers") or []
            if finalizer not in finalizers:
                return
            rest = [f for f in finalizers if f != finalizer]
            body = {"metadata": {"finalizers": rest or None, "resourceVersion": m.get("resourceVersion")}}
            try:
                self.client.patch(k.group_resource, m["name"], body, m.get("namespace"), patch_type="merge")
                return
            except errors.Conflict:
                continue
            except errors.NotFound:
                return
        raise errors.Conflict(k.group_resource, node.name)

    # -- attemptToOrphan -------------------------------------------------------------------------
    def _orphan_sync(self, key: str) -> None:
        if not self.manager.is_leader:
            return
        node = self.graph.get(key.rsplit(" ", 1)[-1])
        if node is None:
            return
        for dep in list(node.dependents.values()):
            k = self._kind(dep.api_version, dep.kind)
            if k is None:
                continue
            view = {"metadata": {"name": dep.name, "namespace": dep.namespace or None, "ownerReferences": dep.owners,
                                 "resourceVersion": dep.resource_version}}
            try:
                remove_owner_reference(self.client, k.group_resource, view, node.uid)
            except errors.NotFound:
                continue
        self._remove_finalizer(node, ORPHAN)
        self.orphan_queue.forget(key)

    def _orphan_failed(self, key: str, exc: Exception) -> None:
        self.record_failure(key, exc)
        self.orphan_queue.add_rate_limited(key)

    # -- views -----------------------------------------------------------------------------------
    def dependents_of(self, uid: str) -> list[str]:
        """Keys of the objects that name ``uid`` as an owner (what deleting it would collect)."""
        node = self.graph.get(uid)
        return [d.key for d in node.dependents.values()] if node is not None else []


__all__ = ["GarbageCollector"]
