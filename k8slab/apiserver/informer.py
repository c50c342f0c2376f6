"""Informers: how components watch the API server without asking it over and over.

The names are client-go's. A *reflector* lists a resource once and then watches
it; each change goes into a *DeltaFIFO* (a queue of ``Added``/``Updated``/``Deleted``
deltas per object key); popping a delta updates the *indexer* (the local cache
the component reads through a *lister*) and calls the registered event handlers.
Controllers' handlers usually just put the object's key on a work queue.

A :class:`SharedInformerFactory` gives every controller of one process the same
informer per resource, so the controller manager opens one watch on pods, not one
per controller — as the real kube-controller-manager does.

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
>>> inf = Informer(api.client("demo"), "namespaces")
>>> inf.add_event_handler(on_add=lambda obj: print("added", obj["metadata"]["name"]))
>>> inf.start()
>>> _ = api.client("kubectl").create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
>>> _ = api.loop.run_until_settled()
added team-a
>>> inf.lister.get("team-a")["status"]["phase"]
'Active'
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from k8slab.api.objects import object_key

#: The DeltaFIFO delta type of each watch event type.
_DELTA_OF_WATCH_EVENT = {"ADDED": "Added", "MODIFIED": "Updated", "DELETED": "Deleted"}


class Indexer:
    """The informer's local cache: objects by ``namespace/name`` key, plus secondary indexes.

    ``index_funcs`` maps an index name to a function returning the index values of an
    object (e.g. ``"byNode": lambda pod: [pod["spec"].get("nodeName") or ""]``).
    """

    def __init__(self) -> None:
        self._items: dict[str, dict] = {}
        self._index_funcs: dict[str, Callable[[dict], list[str]]] = {}
        self._indexes: dict[str, dict[str, dict[str, dict]]] = {}

    def add_index(self, name: str, fn: Callable[[dict], list[str]]) -> None:
        self._index_funcs[name] = fn
        idx: dict[str, dict[str, dict]] = {}
        for key, obj in self._items.items():
            for v in fn(obj):
                idx.setdefault(v, {})[key] = obj
        self._indexes[name] = idx

    def _unindex(self, key: str, obj: dict) -> None:
        for name, fn in self._index_funcs.items():
            idx = self._indexes[name]
            for v in fn(obj):
                bucket = idx.get(v)
                if bucket is not None:
                    bucket.pop(key, None)
                    if not bucket:
                        del idx[v]

    def _index(self, key: str, obj: dict) -> None:
        for name, fn in self._index_funcs.items():
            idx = self._indexes[name]
            for v in fn(obj):
                idx.setdefault(v, {})[key] = obj

    def upsert(self, obj: dict) -> dict | None:
        key = object_key(obj)
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        self._index(key, obj)
        return old

    def delete(self, obj: dict) -> dict | None:
        key = object_key(obj)
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def get(self, key: str) -> dict | None:
        return self._items.get(key)

    def by_index(self, name: str, value: str) -> list[dict]:
        return list(self._indexes[name].get(value, {}).values())

    def keys(self) -> list[str]:
        return list(self._items)

    def list(self) -> list[dict]:
        return list(self._items.values())

    def __len__(self) -> int:
        return len(self._items)


class Lister:
    """Read-only view of an informer's cache (what a controller reads instead of the API server)."""

    def __init__(self, indexer: Indexer):
        self._indexer = indexer

    def get(self, name: str, namespace: str | None = None) -> dict | None:
        return self._indexer.get(f"{namespace}/{name}" if namespace else name)

    def list(self, namespace: str | None = None, selector=None) -> list[dict]:
        out = []
        for obj in self._indexer.list():
            m = obj["metadata"]
            if namespace is not None and m.get("namespace") != namespace:
                continue
            if selector is not None and not selector.matches(m.get("labels") or {}):
                continue
            out.append(obj)
        return out

    def by_index(self, name: str, value: str) -> list[dict]:
        return self._indexer.by_index(name, value)


class DeltaFIFO:
    """Queue of ``(delta type, object)`` per key, popped in the order keys were first added.

    Several changes of one object before it is popped are kept together, so the
    consumer sees them as one batch — how client-go avoids falling behind.
    """

    def __init__(self) -> None:
        self._items: OrderedDict[str, list[tuple[str, dict]]] = OrderedDict()
        self.pushed = 0

    def add(self, delta_type: str, obj: dict) -> None:
        self.pushed += 1
        self._items.setdefault(object_key(obj), []).append((delta_type, obj))

    def pop(self) -> tuple[str, list[tuple[str, dict]]] | None:
        if not self._items:
            return None
        return self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"DeltaFIFO({len(self)} keys queued)"


class Informer:
    """List, then watch, one resource; keep a local cache; call handlers on changes."""

    def __init__(self, client, resource: str, *, namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None):
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.indexer = Indexer()
        self.lister = Lister(self.indexer)
        self.fifo = DeltaFIFO()
        self._handlers: list[tuple[Callable | None, Callable | None, Callable | None]] = []
        self._watch = None
        self.synced = False
        self.last_resource_version = ""

    def __repr__(self) -> str:
        return f"Informer({self.resource}, {len(self.indexer)} cached)"

    def add_event_handler(self, on_add=None, on_update=None, on_delete=None) -> None:
        """Register callbacks: ``on_add(obj)``, ``on_update(old, new)``, ``on_delete(obj)``.

        A handler added after the informer started is first called with every cached object.
        """
        self._handlers.append((on_add, on_update, on_delete))
        if self.synced and on_add is not None:
            for obj in self.indexer.list():
                on_add(obj)

    def add_index(self, name: str, fn: Callable[[dict], list[str]]) -> None:
        self.indexer.add_index(name, fn)

    def start(self) -> None:
        """The reflector: one LIST to fill the cache, then a WATCH for every later change."""
        if self._watch is not None:
            return
        result = self.client.list(self.resource, self.namespace, self.label_selector, self.field_selector)
        self.last_resource_version = result["metadata"].get("resourceVersion", "")
        for obj in result["items"]:
            self.fifo.add("Sync", obj)
        self._drain()
        self.synced = True
        self._watch = self.client.watch(self.resource, self._on_watch, self.namespace, self.label_selector,
                                        self.field_selector)

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None

    @property
    def running(self) -> bool:
        return self._watch is not None

    def _on_watch(self, event_type: str, obj: dict) -> None:
        self.last_resource_version = obj["metadata"].get("resourceVersion", self.last_resource_version)
        self.fifo.add(_DELTA_OF_WATCH_EVENT[event_type], obj)
        self._drain()

    def _drain(self) -> None:
        while True:
            item = self.fifo.pop()
            if item is None:
                return
            _key, deltas = item
            for delta_type, obj in deltas:
                self._process(delta_type, obj)

    def _process(self, delta_type: str, obj: dict) -> None:
        if delta_type == "Deleted":
            old = self.indexer.delete(obj)
            for _a, _u, on_delete in self._handlers:
                if on_delete is not None:
                    on_delete(old if old is not None else obj)
            return
        old = self.indexer.upsert(obj)
        for on_add, on_update, _d in self._handlers:
            if old is None:
                if on_add is not None:
                    on_add(obj)
            elif on_update is not None:
                on_update(old, obj)


class SharedInformerFactory:
    """One informer per (resource, namespace, selectors) for all the controllers of a process."""

    def __init__(self, client):
        self.client = client
        self._informers: dict[tuple, Informer] = {}

    def informer(self, resource: str, *, namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None) -> Informer:
        # "deployments" and "deployments.apps" are one resource: one watch, as client-go's factory keys by type
        kind = getattr(self.client, "_kind", lambda r: None)(resource)
        key = (kind.group_resource if kind is not None else resource, namespace, label_selector, field_selector)
        inf = self._informers.get(key)
        if inf is None:
            inf = self._informers[key] = Informer(self.client, resource, namespace=namespace,
                                                  label_selector=label_selector, field_selector=field_selector)
        return inf

    def start(self) -> None:
        for inf in self._informers.values():
            inf.start()

    def stop(self) -> None:
        for inf in self._informers.values():
            inf.stop()

    def __iter__(self):
        return iter(self._informers.values())
