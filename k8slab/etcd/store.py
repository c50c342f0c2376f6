"""etcd: a multi-version key-value store with revisions, watches and compare-and-swap.

Only the API server talks to it. Every write bumps one global ``revision``; each
key remembers its ``create_revision``, ``mod_revision`` and ``version`` (writes
since creation). The API server hands ``mod_revision`` to clients as the object's
``metadata.resourceVersion``, and an update that names an older one fails the
compare and becomes a 409 Conflict — optimistic concurrency.

Values are the stored objects (plain dicts). They are never mutated after a put:
a new write stores a new dict, so history keeps every version.

Example
-------
>>> db = Etcd()
>>> db.put("/registry/pods/default/web", {"a": 1}).mod_revision
2
>>> db.put("/registry/pods/default/web", {"a": 2}, expect_mod_revision=2).version
2
>>> db.put("/registry/pods/default/web", {"a": 3}, expect_mod_revision=2)
Traceback (most recent call last):
...
k8slab.etcd.store.CompareFailed: /registry/pods/default/web: mod_revision is 3, not 2
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Callable
from typing import NamedTuple


class CompareFailed(Exception):
    """A transaction's compare did not hold (the key changed since it was read)."""


class Compacted(Exception):
    """A watch or read asked for a revision older than the compacted one."""


class Unavailable(Exception):
    """The store cannot serve the request (no quorum)."""


class KeyValue(NamedTuple):
    """One version of a key (immutable; a tuple, so made cheaply on every write)."""

    key: str
    value: dict
    create_revision: int
    mod_revision: int
    version: int

    def __repr__(self) -> str:
        return (
            f"KeyValue({self.key!r}, create_revision={self.create_revision}, "
            f"mod_revision={self.mod_revision}, version={self.version})"
        )


class WatchEvent(NamedTuple):
    type: str  # "PUT" or "DELETE"
    kv: KeyValue  # for DELETE: the last value, with mod_revision = the delete's revision
    prev: KeyValue | None


def _bucket(key: str) -> str:
    # "/registry/pods/default/web" -> "/registry/pods/": one bucket per resource type,
    # so listing pods never scans nodes or events.
    # (the same as f"/{parts[1]}/{parts[2]}/" of key.split("/", 3), found without splitting)
    a = key.find("/")
    if a < 0:
        return key
    b = key.find("/", a + 1)
    if b < 0:
        return key
    c = key.find("/", b + 1)
    if c < 0:
        return key
    return key[: c + 1] if a == 0 else "/" + key[a + 1 : c + 1]


#: Stores that check their values are never changed in place (see :meth:`Etcd.changed_in_place`).
CHECKED_STORES: weakref.WeakSet = weakref.WeakSet()


class Etcd:
    """A single-member etcd. Revision 1 is the empty store, as in real etcd.

    With ``check_immutable`` (or the environment variable ``K8SLAB_CHECK_IMMUTABLE=1``,
    which the test suite sets) every value is fingerprinted when written, so a component
    that changes a shared object in place instead of copying it is caught.
    """

    def __init__(self, keep_history: bool = True, check_immutable: bool | None = None) -> None:
        self.revision = 1
        self.compact_revision = 0
        self.keep_history = keep_history
        self._buckets: dict[str, dict[str, KeyValue]] = {}
        self._history: dict[str, list[tuple[int, str, KeyValue]]] = {}
        # watchers by the bucket of their prefix, so a write only looks at its own resource's watchers
        self._watchers: dict[str, list[tuple[str, Callable[[WatchEvent], None]]]] = {}
        self.writes = 0
        if check_immutable is None:
            check_immutable = os.environ.get("K8SLAB_CHECK_IMMUTABLE") == "1"
        self._fingerprints: dict[str, str] | None = {} if check_immutable else None
        if check_immutable:
            CHECKED_STORES.add(self)

    def _fingerprint(self, key: str, value: dict) -> None:
        if self._fingerprints is not None:
            self._fingerprints[key] = json.dumps(value, sort_keys=True, default=str)

    def changed_in_place(self) -> list[str]:
        """Keys whose live value differs from what was written (always empty unless checking)."""
        if self._fingerprints is None:
            return []
        out = []
        for bucket in self._buckets.values():
            for key, kv in bucket.items():
                if json.dumps(kv.value, sort_keys=True, default=str) != self._fingerprints.get(key):
                    out.append(key)
        return sorted(out)

    # -- reads ----------------------------------------------------------------
    def get(self, key: str) -> KeyValue | None:
        return self._buckets.get(_bucket(key), {}).get(key)

    def range(self, prefix: str) -> list[KeyValue]:
        """Every live key starting with ``prefix``, sorted by key (as etcd returns them)."""
        b = _bucket(prefix)
        if prefix.count("/") >= 3 and b in self._buckets and len(prefix) >= len(b):
            items = self._buckets[b]
            keys = sorted(k for k in items if k.startswith(prefix))
            return [items[k] for k in keys]
        out = []
        for bname, items in self._buckets.items():
            if bname.startswith(prefix) or prefix.startswith(bname):
                out.extend(kv for k, kv in items.items() if k.startswith(prefix))
        out.sort(key=lambda kv: kv.key)
        return out

    def count(self, prefix: str) -> int:
        b = self._buckets.get(_bucket(prefix))
        if b is not None and prefix == _bucket(prefix):
            return len(b)
        return len(self.range(prefix))

    def keys(self, prefix: str = "/") -> list[str]:
        return [kv.key for kv in self.range(prefix)]

    def history(self, key: str) -> list[tuple[int, str, KeyValue]]:
        """Every change of ``key`` still kept: ``(revision, "PUT"|"DELETE", KeyValue)``."""
        return list(self._history.get(key, ()))

    # -- writes ---------------------------------------------------------------
    def _check(self, key: str, current: KeyValue | None, expect_mod_revision: int | None) -> None:
        if expect_mod_revision is None:
            return
        have = current.mod_revision if current else 0
        if have != expect_mod_revision:
            raise CompareFailed(f"{key}: mod_revision is {have}, not {expect_mod_revision}")

    def put(self, key: str, value: dict, expect_mod_revision: int | None = None) -> KeyValue:
        """Store ``value`` at ``key``; with ``expect_mod_revision`` only if the key is at that revision
        (0 means "must not exist")."""
        bucket = self._buckets.get(_bucket(key))
        if bucket is None:
            bucket = self._buckets[_bucket(key)] = {}
        prev = bucket.get(key)
        if expect_mod_revision is not None:
            self._check(key, prev, expect_mod_revision)
        rev = self.revision = self.revision + 1
        self.writes += 1
        if prev is None:
            kv = KeyValue(key, value, rev, rev, 1)
        else:
            kv = KeyValue(key, value, prev.create_revision, rev, prev.version + 1)
        bucket[key] = kv
        if self._fingerprints is not None:
            self._fingerprint(key, value)
        if self.keep_history:
            hist = self._history.get(key)
            if hist is None:
                self._history[key] = [(rev, "PUT", kv)]
            else:
                hist.append((rev, "PUT", kv))
        self._notify(WatchEvent("PUT", kv, prev))
        return kv

    def delete(self, key: str, expect_mod_revision: int | None = None) -> KeyValue | None:
        bucket = self._buckets.get(_bucket(key), {})
        prev = bucket.get(key)
        if prev is None:
            return None
        self._check(key, prev, expect_mod_revision)
        self.revision += 1
        self.writes += 1
        del bucket[key]
        tomb = KeyValue(key, prev.value, prev.create_revision, self.revision, 0)
        if self.keep_history:
            self._history.setdefault(key, []).append((self.revision, "DELETE", tomb))
        self._notify(WatchEvent("DELETE", tomb, prev))
        return prev

    def compact(self, revision: int) -> int:
        """Forget history older than ``revision`` (the latest version of a live key is kept)."""
        revision = min(revision, self.revision)
        for key, hist in list(self._history.items()):
            kept = [h for h in hist if h[0] >= revision]
            if not kept and self.get(key) is not None:
                kept = hist[-1:]
            if kept:
                self._history[key] = kept
            else:
                del self._history[key]
        self.compact_revision = revision
        return revision

    # -- watch ------------------------------------------------------------------
    def watch(self, prefix: str, callback: Callable[[WatchEvent], None],
              from_revision: int | None = None) -> Callable[[], None]:
        """Call ``callback`` with each :class:`WatchEvent` under ``prefix``; returns a cancel function.

        With ``from_revision``, the changes stored since that revision are replayed first
        (in revision order), as ``etcdctl watch --rev`` does; a revision older than the
        last compaction raises :class:`Compacted`.
        """
        if from_revision is not None:
            for ev in self.changes_since(prefix, from_revision):
                callback(ev)
        entry = (prefix, callback)
        group = _bucket(prefix) if prefix.count("/") >= 3 else ""
        self._watchers.setdefault(group, []).append(entry)

        def cancel() -> None:
            entries = self._watchers.get(group, [])
            if entry in entries:
                entries.remove(entry)

        return cancel

    def changes_since(self, prefix: str, revision: int) -> list[WatchEvent]:
        """The kept changes under ``prefix`` at or after ``revision``, oldest first."""
        if revision < self.compact_revision:
            raise Compacted(f"required revision {revision} has been compacted (compacted to {self.compact_revision})")
        found = []
        for key, hist in self._history.items():
            if not key.startswith(prefix):
                continue
            prev = None
            for rev, etype, kv in hist:
                if rev >= revision:
                    found.append(WatchEvent(etype, kv, prev))
                prev = kv if etype == "PUT" else None
        found.sort(key=lambda ev: ev.kv.mod_revision)
        return found

    def _notify(self, ev: WatchEvent) -> None:
        key = ev.kv.key
        watchers = self._watchers
        for group in (_bucket(key), ""):
            entries = watchers.get(group)
            if entries:
                for prefix, cb in entries:
                    if key.startswith(prefix):
                        cb(ev)

    # -- display ----------------------------------------------------------------
    def dump(self, key: str) -> str:
        """The value at ``key`` as JSON text, as ``etcdctl get`` would print it."""
        kv = self.get(key)
        return "" if kv is None else json.dumps(kv.value, indent=2)

    def __len__(self) -> int:
        return sum(len(b) for b in self._buckets.values())

    def __repr__(self) -> str:
        return f"Etcd({len(self)} keys, revision={self.revision})"
