"""The past of a cluster, read back from etcd: pod phases and node states over virtual time.

etcd keeps every version of every key (``c.etcd.history(key)``, ``changes_since``),
each stamped with the *revision* that wrote it, not with a time. Two sources put
times on revisions:

* the trace: every write request is recorded with its virtual time and the revision
  it produced (exact);
* the objects themselves: a Lease's ``spec.renewTime`` (written every 10 s by each
  kubelet, microseconds) and a new object's ``metadata.creationTimestamp``
  (seconds) — used for revisions the trace does not hold (a bounded or switched-off
  trace).

Between two known revisions the time is interpolated; a revision's time never goes
backwards. :class:`RevisionClock` says which source it used.

k8slab simplification: the history of a compacted store starts at the compaction.

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> clock = RevisionClock(c)
>>> clock.source, clock.time(1) <= clock.time(c.etcd.revision) <= c.now
('trace', True)
>>> stories = pod_stories(c)
>>> sorted({s.spans[-1].state for s in stories})
['Running']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from k8slab.api.objects import condition
from k8slab.sim.loop import EPOCH
from k8slab.viz.ownership import Owner, Ownership


def parse_time(text: str | None) -> float | None:
    """Virtual seconds of an RFC 3339 timestamp (``2025-01-01T00:00:10Z`` → 10.0)."""
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t - EPOCH).total_seconds()


def _changes(c, prefix: str):
    """Every kept change under ``prefix``, oldest first (deleted keys too)."""
    return c.etcd.changes_since(prefix, max(c.etcd.compact_revision, 0))


class RevisionClock:
    """Virtual time of an etcd revision (see the module docstring for where times come from)."""

    def __init__(self, c):
        exact: dict[int, float] = {}
        for e in c.trace:
            if e.type == "request" and e.revision is not None and e.revision not in exact:
                exact[e.revision] = e.time
        estimated: dict[int, float] = {}
        # A bounded trace forgets its oldest entries, a switched-off one has none: below the
        # first revision it knows, the objects' own timestamps say when (a few writes, such as
        # a pods/binding, are traced without their revision: interpolation covers those).
        first = min(exact) if exact else c.etcd.revision + 1
        if first > 2:
            for ev in _changes(c, "/registry/leases/"):
                t = parse_time((ev.kv.value.get("spec") or {}).get("renewTime"))
                if t is not None and ev.type == "PUT" and ev.kv.mod_revision < first:
                    estimated.setdefault(ev.kv.mod_revision, t)
            for ev in _changes(c, "/registry/pods/"):
                if ev.type == "PUT" and ev.kv.version == 1 and ev.kv.mod_revision < first:
                    t = parse_time((ev.kv.value.get("metadata") or {}).get("creationTimestamp"))
                    if t is not None:
                        estimated.setdefault(ev.kv.mod_revision, t)
        anchors = dict(estimated)
        anchors.update(exact)
        anchors.setdefault(1, 0.0)
        revs = sorted(anchors)
        times = np.maximum.accumulate(np.array([anchors[r] for r in revs], dtype=float))
        self._revs = np.array(revs, dtype=float)
        self._times = np.minimum(times, c.now)
        self.exact = exact
        self.source = ("trace" if not estimated else "trace and object timestamps" if exact
                       else "object timestamps")
        self.now = c.now

    def time(self, revision: int) -> float:
        """When ``revision`` was written (interpolated between known revisions)."""
        t = self.exact.get(revision)
        if t is not None:
            return t
        return float(np.interp(revision, self._revs, self._times))

    def describe(self) -> str:
        if self.source == "trace":
            return "times of revisions from the trace"
        if self.exact:
            return "times of revisions from the trace, earlier ones estimated from object timestamps"
        return "times estimated from object timestamps (the trace was off)"


# -- pod states ------------------------------------------------------------------------------------

def pod_state(pod: dict) -> str:
    """What a pod is doing, in the few words the figures use (keys of ``POD_STATE_COLOURS``).

    >>> pod_state({"spec": {}, "status": {"phase": "Pending"}})
    'Pending'
    >>> pod_state({"spec": {"nodeName": "w"}, "status": {"phase": "Pending"}})
    'ContainerCreating'
    """
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        return "Terminating"
    if phase in ("Succeeded", "Failed", "Unknown"):
        return phase
    if not (pod.get("spec") or {}).get("nodeName"):
        return "Pending"
    if phase == "Running":
        ready = condition(pod, "Ready")
        return "Running" if ready and ready.get("status") == "True" else "NotReady"
    return "ContainerCreating"


@dataclass(frozen=True)
class Span:
    """A stretch of virtual time in one state (on one node)."""

    start: float
    end: float
    state: str
    node: str | None = None


@dataclass
class PodStory:
    """One life of one pod: from its creation to its deletion (or now)."""

    namespace: str
    name: str
    owner: Owner
    created_revision: int
    created: float
    deleted: float | None = None
    spans: list[Span] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def state_at(self, t: float) -> Span | None:
        for s in self.spans:
            if s.start <= t < s.end:
                return s
        return None


def pod_stories(c, namespace: str | None = None, clock: RevisionClock | None = None) -> list[PodStory]:
    """Every pod life etcd still remembers, with its states over time, in creation order."""
    changes = _changes(c, "/registry/pods/" + (f"{namespace}/" if namespace else ""))
    clock = clock or RevisionClock(c)
    owners = Ownership(c, history=True)
    lives: dict[tuple[str, int], list] = {}
    for ev in changes:
        lives.setdefault((ev.kv.key, ev.kv.create_revision), []).append(ev)
    stories = []
    for (_key, create_rev), evs in sorted(lives.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        first = evs[0].kv.value
        meta = first.get("metadata") or {}
        story = PodStory(meta.get("namespace", ""), meta.get("name", ""), owners.owner_of(first), create_rev,
                         clock.time(create_rev))
        prev_t, prev_state, prev_node = None, None, None
        for ev in evs:
            t = clock.time(ev.kv.mod_revision)
            if ev.type == "DELETE":
                story.deleted = t
                break
            state = pod_state(ev.kv.value)
            node = (ev.kv.value.get("spec") or {}).get("nodeName")
            if prev_state is not None and (state, node) != (prev_state, prev_node):
                story.spans.append(Span(prev_t, t, prev_state, prev_node))
                prev_t = t
            elif prev_state is None:
                prev_t = t
            prev_state, prev_node = state, node
        if prev_state is not None:
            end = story.deleted if story.deleted is not None else clock.now
            story.spans.append(Span(prev_t, max(end, prev_t), prev_state, prev_node))
        stories.append(story)
    return stories


# -- node states ------------------------------------------------------------------------------------

def node_state(node: dict) -> str:
    """``Ready``, ``NotReady`` (Ready is False or Unknown) or ``SchedulingDisabled`` (cordoned)."""
    ready = condition(node, "Ready")
    if not ready or ready.get("status") != "True":
        return "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        return "SchedulingDisabled"
    return "Ready"


def node_spans(c, clock: RevisionClock | None = None) -> dict[str, list[Span]]:
    """For each node etcd remembers: its states over time (NotReady, cordoned) as spans."""
    clock = clock or RevisionClock(c)
    out: dict[str, list[Span]] = {}
    for ev in _changes(c, "/registry/minions/"):
        name = ev.kv.value["metadata"]["name"]
        spans = out.setdefault(name, [])
        t = clock.time(ev.kv.mod_revision)
        if ev.type == "DELETE":
            if spans:
                last = spans[-1]
                spans[-1] = Span(last.start, t, last.state, name)
            continue
        state = node_state(ev.kv.value)
        if spans and spans[-1].end == float("inf"):
            last = spans[-1]
            if last.state == state:
                continue
            spans[-1] = Span(last.start, t, last.state, name)
        spans.append(Span(t, float("inf"), state, name))
    return {n: [Span(s.start, min(s.end, clock.now), s.state, n) for s in spans] for n, spans in out.items()}


# -- what changed between two versions of an object -----------------------------------------------

_SKIP = {"metadata.resourceVersion", "metadata.managedFields"}


def _flatten(obj, path: str, out: dict) -> None:
    if isinstance(obj, dict):
        if not obj and path:
            out[path] = "{}"
        for k, v in obj.items():
            p = f"{path}.{k}" if path else str(k)
            if p not in _SKIP:
                _flatten(v, p, out)
    elif isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):
        for i, v in enumerate(obj):
            tag = v.get("type") or v.get("name") or str(i)
            _flatten(v, f"{path}[{tag}]", out)
    else:
        out[path] = obj


def _short(value, width: int = 28) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _items(flat: dict) -> dict[str, dict]:
    """List items (paths ending in ``[tag]``) → their direct fields."""
    out: dict[str, dict] = {}
    for path, value in flat.items():
        end = path.rfind("]")
        if end < 0:
            continue
        item, rest = path[: end + 1], path[end + 2:]
        if "." not in rest and "[" not in rest:
            out.setdefault(item, {})[rest] = value
        else:
            out.setdefault(item, {})
    return out


def changed_fields(old: dict | None, new: dict | None) -> list[str]:
    """What changed from ``old`` to ``new``, one ``path: before → after`` per field.

    Times (``…Time``, ``…Timestamp``) come last: they change often and say least.

    >>> changed_fields({"spec": {"a": 1}, "status": {"phase": "Pending"}},
    ...                {"spec": {"a": 1, "nodeName": "w1"}, "status": {"phase": "Running"}})
    ['spec.nodeName: → w1', 'status.phase: Pending → Running']
    """
    a: dict = {}
    b: dict = {}
    _flatten(old or {}, "", a)
    _flatten(new or {}, "", b)
    lines = []
    # a list item (a condition, a container status) that appears or goes whole is one line, not one per field
    items_a, items_b = _items(a), _items(b)
    whole = {}
    for item in sorted(set(items_a) ^ set(items_b)):
        if any(item.startswith(other) and item != other for other in whole):
            continue
        if item in items_b:
            fields = items_b[item]
            summary = ", ".join(f"{k}={_short(fields[k], 20)}" for k in ("status", "reason", "ready") if k in fields)
            whole[item] = f"{item}: added" + (f" ({summary})" if summary else "")
        else:
            whole[item] = f"{item}: removed"
    lines.extend(whole[i] for i in sorted(whole))
    for path in sorted(set(a) | set(b), key=lambda p: (p.endswith(("Time", "Timestamp", "renewTime")), p)):
        if any(path.startswith(item + ".") or path == item for item in whole):
            continue
        if path in a and path in b:
            if a[path] != b[path]:
                lines.append(f"{path}: {_short(a[path])} → {_short(b[path])}")
        elif path in b:
            lines.append(f"{path}: → {_short(b[path])}")
        else:
            lines.append(f"{path}: removed")
    return lines


def sample_times(start: float, end: float, bins: int) -> np.ndarray:
    """``bins`` evenly spaced sample times ending at ``end``."""
    if end <= start:
        return np.array([end])
    return np.linspace(start, end, bins + 1)[1:]


def count_at(starts: list[float], ends: list[float], times) -> np.ndarray:
    """How many half-open intervals ``[start, end)`` hold each time."""
    s = np.sort(np.asarray(starts, dtype=float))
    e = np.sort(np.asarray(ends, dtype=float))
    t = np.asarray(times, dtype=float)
    return np.searchsorted(s, t, side="right") - np.searchsorted(e, t, side="right")
