"""What the workload controllers share: ownership, expectations, pod writes, delayed wake-ups.

The ReplicaSet, Deployment, StatefulSet, DaemonSet, Job and CronJob controllers
own what they make through *controller references* and react to it in the same
ways. Their common parts live here, as they live in kube-controller-manager's
``pkg/controller/controller_utils.go`` and ``controller_ref_manager.go``:

* informer indexes to find, without scanning everything, what a controller owns
  (:data:`INDEX_CONTROLLER_UID`), the orphans it may adopt (:data:`INDEX_ORPHANS`)
  and the objects of a namespace (:data:`INDEX_NAMESPACE`);
* :class:`WorkloadController`: from an owned object back to its owner
  (:meth:`~WorkloadController.resolve_controller_ref`: same kind, name *and* uid)
  and, for an orphan, to the owners whose selector matches it: which owners
  an added, changed or deleted object wakes up;
* :class:`ControllerRefManager`: *claim* objects: adopt matching orphans (patch an
  ``ownerReference`` in), release owned ones that stopped matching (patch it out);
* :class:`ControllerExpectations`: what a controller still expects its informer to
  show of its own writes, so that a lagging cache does not make it act twice;
* :class:`PodControl`: pod creations and deletions, each recorded as an event on
  the owner (``SuccessfulCreate``, ``FailedCreate``, ``SuccessfulDelete``, ``FailedDelete``);
* :func:`slow_start_batch`: many requests in batches of 1, 2, 4 ...;
* :class:`DelayedRequeue`: ``queue.AddAfter`` with one pending wake-up per key.

Example
-------
>>> from k8slab.sim import EventLoop
>>> exp = ControllerExpectations(EventLoop())
>>> exp.expect_creations("default/web", 2)
>>> exp.satisfied("default/web")
False
>>> exp.creation_observed("default/web"); exp.creation_observed("default/web")
>>> exp.satisfied("default/web")
True
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.objects import (
    clone,
    condition,
    controller_of,
    is_pod_ready,
    object_key,
    owner_reference,
)
from k8slab.api.selectors import LabelSelector
from k8slab.controlplane.controller import Controller
from k8slab.sim.loop import parse_timestamp

#: The first slow-start batch; each successful batch doubles the next.
SLOW_START_INITIAL_BATCH_SIZE = 1
#: Expectations not met after this long are given up on (``ExpectationsTimeout``, 5 minutes).
EXPECTATIONS_TIMEOUT = 300.0

#: Informer index: objects by the uid of their controller (ownerReference with controller: true).
INDEX_CONTROLLER_UID = "controllerUID"
#: Informer index: objects without a controller, by namespace (candidates for adoption).
INDEX_ORPHANS = "orphans"
#: Informer index: objects by namespace (client-go's ``cache.NamespaceIndex``).
INDEX_NAMESPACE = "namespace"


# ---------------------------------------------------------------------------------------
# Informer indexes and selectors
# ---------------------------------------------------------------------------------------
def controller_uid_index(obj: dict) -> list[str]:
    """Index function: the uid of the object's controller, if it has one."""
    ref = controller_of(obj)
    return [ref["uid"]] if ref and ref.get("uid") else []


def orphan_index(obj: dict) -> list[str]:
    """Index function: the namespace of an object that has no controller."""
    if controller_of(obj) is not None:
        return []
    return [obj["metadata"].get("namespace") or ""]


def namespace_index(obj: dict) -> list[str]:
    return [obj["metadata"].get("namespace") or ""]


def add_ownership_indexes(informer) -> None:
    """Let controllers find what they own (and the orphans) without scanning every object."""
    informer.add_index(INDEX_CONTROLLER_UID, controller_uid_index)
    informer.add_index(INDEX_ORPHANS, orphan_index)
    informer.add_index(INDEX_NAMESPACE, namespace_index)


def spec_selector(obj: dict) -> dict | None:
    """``spec.selector`` of a workload (what :class:`SelectorCache` parses by default)."""
    return (obj.get("spec") or {}).get("selector")


class SelectorCache:
    """Parsed label selectors per object uid, re-parsed only when the selector changes.

    ``selector_of`` reads the selector to parse from an object (``spec.selector``
    unless told otherwise).
    """

    def __init__(self, selector_of=spec_selector) -> None:
        self._selector_of = selector_of
        self._cache: dict[str, tuple[dict | None, LabelSelector]] = {}

    def get(self, obj: dict) -> LabelSelector:
        uid = obj["metadata"].get("uid", "")
        raw = self._selector_of(obj)
        hit = self._cache.get(uid)
        if hit is not None and hit[0] == raw:
            return hit[1]
        try:
            sel = LabelSelector.from_dict(raw)
        except TypeError as e:  # a malformed selector (validation should have stopped it)
            raise ValueError(f"invalid label selector: {e}") from None
        self._cache[uid] = (raw, sel)
        return sel

    def forget(self, obj: dict) -> None:
        self._cache.pop(obj["metadata"].get("uid", ""), None)


# ---------------------------------------------------------------------------------------
# Finding owners, and what an owned object's events wake up
# ---------------------------------------------------------------------------------------
class WorkloadController(Controller):
    """A controller of objects (:attr:`kind`) that own others through controller references.

    Its ``setup`` sets ``owner_lister`` (the cache of its own kind) and ``selectors``
    (a :class:`SelectorCache`). The informer handlers of what it owns are
    :meth:`add_owned`, :meth:`update_owned` and :meth:`delete_owned`, or its own
    ones built on :meth:`resolve_controller_ref` and :meth:`owners_selecting`
    where more happens (expectations, say).
    """

    #: The kind of the objects this controller reconciles (owners of what it makes).
    kind = ""

    @staticmethod
    def _key(obj: dict) -> str:
        return object_key(obj)

    def _enqueue(self, obj: dict) -> None:
        self.queue.add(object_key(obj))

    def resolve_controller_ref(self, namespace: str | None, ref: dict) -> dict | None:
        """The owner ``ref`` names, if it is of our kind and still the same object (``resolveControllerRef``).

        The uid must match too: an owner deleted and made again under the same name
        is another object, which does not own what the old one did.
        """
        if ref.get("kind") != self.kind:
            return None
        owner = self.owner_lister.get(ref.get("name", ""), namespace)
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        return owner

    def owner_candidates(self, namespace: str | None) -> list[dict]:
        """The owners of ``namespace`` that may adopt an orphan there (from the namespace index)."""
        return self.owner_lister.by_index(INDEX_NAMESPACE, namespace or "")

    def owners_selecting(self, obj: dict) -> list[dict]:
        """The owners whose (non-empty) selector matches ``obj``'s labels: who may adopt an orphan.

        An owner whose selector does not parse selects nothing.
        """
        labels = obj["metadata"].get("labels")
        if not labels:
            return []
        out = []
        for owner in self.owner_candidates(obj["metadata"].get("namespace")):
            try:
                sel = self.selectors.get(owner)
            except ValueError:
                continue
            if not sel.empty and sel.matches(labels):
                out.append(owner)
        return out

    # -- what an owned object's events wake up (``addPod``, ``updatePod``, ``deletePod``) ------
    def add_owned(self, obj: dict) -> None:
        """A new object wakes its controller; a new orphan, the owners that may adopt it."""
        if obj["metadata"].get("deletionTimestamp"):
            self.delete_owned(obj)
            return
        ref = controller_of(obj)
        if ref is not None:
            owner = self.resolve_controller_ref(obj["metadata"].get("namespace"), ref)
            if owner is not None:
                self._enqueue(owner)
            return
        for owner in self.owners_selecting(obj):
            self._enqueue(owner)

    def update_owned(self, old: dict, cur: dict, *, requeue_when_available: bool = False) -> None:
        """A changed object wakes its controller (and its former one, if that changed); an orphan
        whose labels changed, the owners that may adopt it.

        ``requeue_when_available``: a pod that just became ready wakes its controller again
        ``minReadySeconds`` (+1 s of skew) later, when it counts as available: nothing
        else would happen then.
        """
        om, cm = old["metadata"], cur["metadata"]
        if om.get("resourceVersion") == cm.get("resourceVersion"):
            return
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        if cur_ref != old_ref and old_ref is not None:
            owner = self.resolve_controller_ref(om.get("namespace"), old_ref)
            if owner is not None:
                self._enqueue(owner)
        if cur_ref is not None:
            owner = self.resolve_controller_ref(cm.get("namespace"), cur_ref)
            if owner is None:
                return
            self._enqueue(owner)
            min_ready = (owner.get("spec") or {}).get("minReadySeconds") or 0
            if requeue_when_available and min_ready > 0 and not is_pod_ready(old) and is_pod_ready(cur):
                self.queue.add_after(self._key(owner), min_ready + 1)
            return
        if om.get("labels") != cm.get("labels") or cur_ref != old_ref:
            for owner in self.owners_selecting(cur):
                self._enqueue(owner)

    def delete_owned(self, obj: dict) -> None:
        """A deleted object wakes its controller."""
        ref = controller_of(obj)
        if ref is None:
            return
        owner = self.resolve_controller_ref(obj["metadata"].get("namespace"), ref)
        if owner is not None:
            self._enqueue(owner)


# ---------------------------------------------------------------------------------------
# Expectations (pkg/controller/controller_utils.go)
# ---------------------------------------------------------------------------------------
class _Expectation:
    __slots__ = ("add", "delete", "timestamp")

    def __init__(self, add: int, delete: int, ts: float):
        self.add = add
        self.delete = delete
        self.timestamp = ts

    def __repr__(self) -> str:
        return f"Expectation(add={self.add}, del={self.delete})"


class ControllerExpectations:
    """What a controller expects to see from its informer before it acts again.

    Expectations exist because the informer cache lags behind the API server: just
    after creating 3 pods the cache still shows none, and a second sync would
    create 3 more. The controller records "I expect 3 creations" and waits until
    the informer has delivered them (or 5 minutes have passed). Creations and
    deletions are counted (``ControllerExpectations``).
    """

    def __init__(self, loop, ttl: float = EXPECTATIONS_TIMEOUT):
        self._loop = loop
        self.ttl = ttl
        self._items: dict[str, _Expectation] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._items)} controllers)"

    def get(self, key: str) -> _Expectation | None:
        return self._items.get(key)

    def set(self, key: str, adds: int, deletes: int) -> None:
        """``SetExpectations``: from now on, expect these many creations and deletions."""
        self._items[key] = _Expectation(adds, deletes, self._loop.now)

    def expect_creations(self, key: str, adds: int) -> None:
        self.set(key, adds, 0)

    def lower(self, key: str, adds: int, deletes: int) -> None:
        """``LowerExpectations``: that many fewer to wait for (seen, or never to come)."""
        e = self._items.get(key)
        if e is not None:
            e.add -= adds
            e.delete -= deletes

    def creation_observed(self, key: str) -> None:
        self.lower(key, 1, 0)

    def deletion_observed(self, key: str) -> None:
        self.lower(key, 0, 1)

    def satisfied(self, key: str) -> bool:
        """True when nothing is outstanding (or it is too late to keep waiting)."""
        e = self._items.get(key)
        if e is None:
            return True
        if e.add <= 0 and e.delete <= 0:
            return True
        return self._loop.now - e.timestamp > self.ttl

    def delete(self, key: str) -> None:
        self._items.pop(key, None)


class UIDTrackingControllerExpectations(ControllerExpectations):
    """Expectations whose deletions are tracked by pod key (``UIDTrackingControllerExpectations``).

    A deletion is then counted once, whether it is seen as a ``deletionTimestamp``
    update or as the final delete.
    """

    def __init__(self, loop, ttl: float = EXPECTATIONS_TIMEOUT):
        super().__init__(loop, ttl)
        self._deleting: dict[str, set[str]] = {}

    def expect_deletions(self, key: str, pod_keys: list[str]) -> None:
        self._deleting[key] = set(pod_keys)
        self.set(key, 0, len(pod_keys))

    def deletion_observed(self, key: str, pod_key: str) -> None:
        """Count the deletion of ``pod_key`` if it is one we wait for (``DeletionObserved(key, deleteKey)``)."""
        keys = self._deleting.get(key)
        if keys is not None and pod_key in keys:
            keys.discard(pod_key)
            self.lower(key, 0, 1)

    def delete(self, key: str) -> None:
        super().delete(key)
        self._deleting.pop(key, None)


# ---------------------------------------------------------------------------------------
# Pods: active, available
# ---------------------------------------------------------------------------------------
def is_pod_active(pod: dict) -> bool:
    """Not terminating and not finished (``controller.IsPodActive``)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase != "Succeeded" and phase != "Failed" and not pod["metadata"].get("deletionTimestamp")


def is_pod_available(pod: dict, min_ready_seconds: int, now: float) -> bool:
    """Ready, and ready for longer than ``minReadySeconds`` (``podutil.IsPodAvailable``)."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    ready = condition(pod, "Ready")
    since = ready.get("lastTransitionTime") if ready else None
    return bool(since) and parse_timestamp(since) + min_ready_seconds < now


def max_container_restarts(pod: dict) -> int:
    """The highest ``restartCount`` among the pod's containers (a crash-looping pod goes first)."""
    return max((cs.get("restartCount", 0) for cs in (pod.get("status") or {}).get("containerStatuses") or ()),
               default=0)


# ---------------------------------------------------------------------------------------
# Adoption and release (pkg/controller/controller_ref_manager.go)
# ---------------------------------------------------------------------------------------
class AdoptionError(Exception):
    """The controller may not adopt: it is being deleted, or it was replaced."""


def remove_owner_reference(client, resource: str, obj: dict, owner_uid: str) -> dict | None:
    """Patch ``obj`` so it no longer names ``owner_uid`` among its owners.

    A strategic-merge ``$patch: delete`` when other owners remain; when none
    would, a merge patch (guarded by resourceVersion) that drops the field, so the
    object is left without an empty ``ownerReferences`` list.
    """
    m = obj["metadata"]
    refs = m.get("ownerReferences") or []
    if not any(r.get("uid") == owner_uid for r in refs):
        return None
    if any(r.get("uid") != owner_uid for r in refs):
        body = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}]}}
        return client.patch(resource, m["name"], body, m.get("namespace"), patch_type="strategic")
    body = {"metadata": {"ownerReferences": None, "resourceVersion": m.get("resourceVersion")}}
    return client.patch(resource, m["name"], body, m.get("namespace"), patch_type="merge")


class ControllerRefManager:
    """Claims objects for one controller: adopt matching orphans, release owned mismatches.

    ``can_adopt`` is called (once) before the first adoption: a live GET that makes
    sure the controller is not being deleted (the cache may not know yet).
    """

    def __init__(self, client, controller: dict, selector: LabelSelector, resource: str, can_adopt,
                 match=None):
        self.client = client
        self.controller = controller
        self.selector = selector
        self.resource = resource
        self._can_adopt = can_adopt
        self._adopt_checked: Exception | bool | None = None
        self._match = match or (lambda obj: selector.matches(obj["metadata"].get("labels")))
        self.adopted: list[dict] = []
        self.released: list[dict] = []

    def claim(self, objs: list[dict]) -> tuple[list[dict], list[Exception]]:
        cm = self.controller["metadata"]
        uid = cm["uid"]
        deleting = bool(cm.get("deletionTimestamp"))
        claimed, errs = [], []
        for obj in objs:
            m = obj["metadata"]
            ref = controller_of(obj)
            if ref is not None:
                if ref.get("uid") != uid:
                    continue  # someone else's
                if self._match(obj):
                    claimed.append(obj)
                elif not deleting:
                    try:
                        self._release(obj)
                    except errors.ApiError as e:
                        errs.append(e)
                continue
            # an orphan
            if deleting or not self._match(obj) or m.get("deletionTimestamp"):
                continue
            if cm.get("namespace") and cm.get("namespace") != m.get("namespace"):
                continue
            try:
                adopted = self._adopt(obj)
            except (errors.ApiError, AdoptionError) as e:
                if not isinstance(e, errors.NotFound):
                    errs.append(e)
                continue
            claimed.append(adopted)
        return claimed, errs

    def adoption_patch(self, obj: dict) -> dict:
        """The strategic-merge patch that adopts ``obj``: our controller reference."""
        return {"metadata": {"ownerReferences": [owner_reference(self.controller)]}}

    def _adopt(self, obj: dict) -> dict:
        if self._adopt_checked is None:
            try:
                self._can_adopt()
                self._adopt_checked = True
            except (errors.ApiError, AdoptionError) as e:
                self._adopt_checked = e
        if isinstance(self._adopt_checked, Exception):
            raise self._adopt_checked
        m = obj["metadata"]
        patched = self.client.patch(self.resource, m["name"], self.adoption_patch(obj), m.get("namespace"),
                                    patch_type="strategic")
        self.adopted.append(patched)
        return patched

    def _release(self, obj: dict) -> None:
        try:
            remove_owner_reference(self.client, self.resource, obj, self.controller["metadata"]["uid"])
        except errors.ApiError as e:
            if e.code in (404, 422):
                return  # gone, or recreated under the same name: nothing to release
            raise
        self.released.append(obj)


def recheck_deletion(client, resource: str, obj: dict):
    """The ``canAdopt`` check: a fresh read proves the controller still exists and is not being deleted."""

    def check():
        m = obj["metadata"]
        fresh = client.get(resource, m["name"], m.get("namespace"))
        fm = fresh["metadata"]
        if fm.get("uid") != m.get("uid"):
            raise AdoptionError(f"original {obj.get('kind')} {m.get('namespace')}/{m['name']} is gone: "
                                f"got uid {fm.get('uid')}, wanted {m.get('uid')}")
        if fm.get("deletionTimestamp"):
            raise AdoptionError(f"{m.get('namespace')}/{m['name']} has just been deleted at {fm['deletionTimestamp']}")
        return fresh

    return check


# ---------------------------------------------------------------------------------------
# Writing pods and status
# ---------------------------------------------------------------------------------------
def pod_from_template(owner: dict, template: dict) -> dict:
    """The pod a controller creates from its template (``GetPodFromTemplate``)."""
    tm = template.get("metadata") or {}
    meta: dict = {"generateName": owner["metadata"]["name"] + "-"}
    if tm.get("labels"):
        meta["labels"] = dict(tm["labels"])
    if tm.get("annotations"):
        meta["annotations"] = dict(tm["annotations"])
    if tm.get("finalizers"):
        meta["finalizers"] = list(tm["finalizers"])
    meta["namespace"] = owner["metadata"].get("namespace")
    meta["ownerReferences"] = [owner_reference(owner)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": clone(template.get("spec") or {})}


class PodControl:
    """``RealPodControl``: creates and deletes pods for an owner, recording each as an event on it."""

    def __init__(self, client, recorder):
        self.client = client
        self.recorder = recorder

    def __repr__(self) -> str:
        return f"PodControl({self.recorder.component})"

    def create_pod(self, owner: dict, pod: dict) -> dict:
        """Create ``pod`` (a new object, handed over to the API server) in the owner's namespace."""
        try:
            created = self.client.create(pod, owner["metadata"].get("namespace"), hand_over=True)
        except errors.ApiError as e:
            self.recorder.event(owner, "Warning", "FailedCreate", f"Error creating: {e.message}")
            raise
        self.recorder.event(owner, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        return created

    def delete_pod(self, owner: dict, name: str, namespace: str | None) -> None:
        """Delete a pod; a pod already gone raises NotFound without an event."""
        try:
            self.client.delete("pods", name, namespace)
        except errors.NotFound:
            raise
        except errors.ApiError as e:
            self.recorder.event(owner, "Warning", "FailedDelete", f"Error deleting: {e.message}")
            raise
        self.recorder.event(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")


def slow_start_batch(count: int, initial: int, fn) -> tuple[int, Exception | None]:
    """Call ``fn`` ``count`` times in batches of 1, 2, 4 ...; stop after a batch with a failure.

    Returns the number of successes and the first error. A whole project over its
    quota thus costs one failed request, not hundreds.

    Example
    -------
    >>> calls = []
    >>> slow_start_batch(10, 1, lambda: calls.append(1))
    (10, None)
    """
    remaining, successes = count, 0
    batch = min(remaining, initial)
    while batch > 0:
        first_error = None
        for _ in range(batch):
            try:
                fn()
                successes += 1
            except errors.ApiError as e:
                first_error = first_error or e
        if first_error is not None:
            return successes, first_error
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


def create_in_batches(expectations: ControllerExpectations, key: str, count: int,
                      create) -> tuple[int, Exception | None]:
    """Expect ``count`` creations and make them with ``create()`` in slow-start batches.

    Creations that failed or were never attempted will never be observed: the
    expectations stop waiting for them. Returns the successes and the first error.
    """
    expectations.expect_creations(key, count)
    successes, err = slow_start_batch(count, SLOW_START_INITIAL_BATCH_SIZE, create)
    for _ in range(count - successes):
        expectations.creation_observed(key)
    return successes, err


def update_status_with_retry(client, resource: str, obj: dict) -> dict:
    """PUT ``obj``'s status; after a conflict, once more on a fresh read carrying the same status."""
    try:
        return client.update_status(obj)
    except errors.Conflict:
        m = obj["metadata"]
        fresh = client.get(resource, m["name"], m.get("namespace"))
        fresh["status"] = obj["status"]
        return client.update_status(fresh)


# ---------------------------------------------------------------------------------------
# Waking up later
# ---------------------------------------------------------------------------------------
class DelayedRequeue:
    """``queue.AddAfter``: one pending wake-up per key; an earlier one replaces a later one.

    The work queue's own ``add_after`` does the same for retries; this one can also be
    cancelled (a Job that finished needs no more wake-ups) and may be a background
    event. ``what`` names the wake-up in the event loop (given the key and the delay);
    ``background`` wake-ups do not keep ``Cluster.run()`` going by themselves.
    """

    def __init__(self, controller: Controller, what, *, background: bool = False):
        self._controller = controller
        self._what = what
        self._background = background
        self._timers: dict[str, object] = {}

    def __repr__(self) -> str:
        return f"DelayedRequeue({len(self._timers)} pending)"

    def add_after(self, key: str, delay: float) -> None:
        c = self._controller
        if delay <= 0:
            c.queue.add(key)
            return
        due = c.now + delay
        prev = self._timers.get(key)
        if prev is not None and not prev.cancelled and prev.time <= due:
            return
        c.loop.cancel(prev)
        self._timers[key] = c.loop.call_at(due, self._wake, key, who=c.name, what=self._what(key, delay),
                                           background=self._background)

    def _wake(self, key: str) -> None:
        self._timers.pop(key, None)
        self._controller.queue.add(key)

    def cancel(self, key: str) -> None:
        self._controller.loop.cancel(self._timers.pop(key, None))
