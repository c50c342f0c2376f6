"""The trace: every API request and every watch delivery, in the order they happened.

Each entry is a :class:`TraceEntry`. A request reads as
``12.004s kube-scheduler → apiserver: create pods/binding default/web-x → 201``
and a delivery as ``12.009s apiserver ⇒ kubelet/worker-1: watch MODIFIED pods default/web-x``.
The trace can be bounded (keeps the most recent entries) or switched off for large runs.

Example
-------
>>> t = Trace(limit=2)
>>> t.record_request(1.0, "kubectl", "create", "deployments", "default", "web", 201, 5)
>>> len(t)
1
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TraceEntry:
    time: float
    seq: int
    type: str  # "request" or "watch"
    actor: str  # who sent the request, or who received the watch event
    verb: str  # get/list/create/update/patch/delete/watch, or ADDED/MODIFIED/DELETED for deliveries
    resource: str  # plural resource, with "/subresource" when there is one
    namespace: str | None
    name: str | None
    code: int | None = None
    revision: int | None = None
    dry_run: bool = False  # ?dryRun=All: checked completely by the API server, never stored

    @property
    def object_ref(self) -> str:
        # a list of a namespace names only the namespace
        if self.namespace and self.name:
            return f"{self.namespace}/{self.name}"
        return self.namespace or self.name or ""

    def __str__(self) -> str:
        if self.type == "request":
            return (
                f"{self.time:9.3f}s {self.actor} → apiserver: {self.verb} {self.resource} "
                f"{self.object_ref}{' (dry run)' if self.dry_run else ''} → {self.code}"
            ).rstrip()
        return (
            f"{self.time:9.3f}s apiserver ⇒ {self.actor}: watch {self.verb} {self.resource} "
            f"{self.object_ref}"
        ).rstrip()

    def __repr__(self) -> str:
        return f"TraceEntry({str(self).strip()})"


class Trace:
    """Bounded record of requests and watch deliveries.

    ``limit=None`` keeps everything, ``limit=N`` keeps the last N, ``enabled=False`` keeps nothing.
    """

    def __init__(self, limit: int | None = None, enabled: bool = True):
        self.enabled = enabled
        self.limit = limit
        self._entries: deque[TraceEntry] = deque(maxlen=limit)
        self._seq = 0

    def _add(self, entry_args) -> None:
        self._seq += 1
        self._entries.append(TraceEntry(entry_args[0], self._seq, *entry_args[1:]))

    def record_request(self, time, actor, verb, resource, namespace, name, code, revision=None, dry_run=False):
        if self.enabled:
            self._add((time, "request", actor, verb, resource, namespace, name, code, revision, dry_run))

    def record_watch(self, time, actor, event_type, resource, namespace, name, revision=None):
        if self.enabled:
            self._add((time, "watch", actor, event_type, resource, namespace, name, None, revision))

    @property
    def total(self) -> int:
        """How many entries were ever recorded (including those the bound dropped)."""
        return self._seq

    def mark(self) -> int:
        """A position to slice from later: ``trace.since(m)`` gives what happened after."""
        return self._seq

    def since(self, mark: int) -> list[TraceEntry]:
        return [e for e in self._entries if e.seq > mark]

    def filter(self, *, actor=None, resource=None, name=None, type=None, verb=None) -> list[TraceEntry]:
        """Entries matching every given criterion (``resource`` matches with or without a subresource)."""
        out = []
        for e in self._entries:
            if actor is not None and e.actor != actor:
                continue
            if resource is not None and e.resource.split("/")[0] != resource and e.resource != resource:
                continue
            if name is not None and e.name != name:
                continue
            if type is not None and e.type != type:
                continue
            if verb is not None and e.verb != verb:
                continue
            out.append(e)
        return out

    def clear(self) -> None:
        self._entries.clear()

    def __iter__(self):
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(self._entries)[i]
        return self._entries[i]

    def __repr__(self) -> str:
        state = "off" if not self.enabled else f"{len(self)} entries"
        return f"Trace({state})"

    def _repr_pretty_(self, p, cycle):
        p.text(self.format())

    def format(self, entries=None, limit: int = 50) -> str:
        entries = list(self._entries) if entries is None else list(entries)
        lines = [str(e) for e in entries[:limit]]
        if len(entries) > limit:
            lines.append(f"... ({len(entries) - limit} more)")
        return "\n".join(lines)
