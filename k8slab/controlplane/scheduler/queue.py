"""The scheduling queue: which pending pod the scheduler tries next, and when failed ones come back.

kube-scheduler's ``PriorityQueue`` (``pkg/scheduler/internal/queue``) has three parts:

* **activeQ** — pods ready to be tried, highest ``spec.priority`` first, then
  the one queued earliest (the ``PrioritySort`` plugin; ties by arrival order);
* **backoffQ** — pods that failed recently and wait out a back-off of 1 s,
  doubling per attempt up to 10 s (``podInitialBackoffDuration``,
  ``podMaxBackoffDuration``), flushed to activeQ by a 1-second ticker;
* **unschedulablePods** — pods no node could take. They stay until a *cluster
  event* that one of the plugins which rejected them cares about (a node added
  or changed, a pod deleted ...) moves them back — or, as a safety net, until
  they have waited 5 minutes (``podMaxInUnschedulablePodsDuration``, checked
  every 30 s).

As in kube-scheduler v1.30 (queueing hints are off by default in 1.30), an
event moves a pod when any plugin that rejected it registered for that event;
a node event also checks the pod would pass the basic checks on that node first.

Example
-------
>>> from k8slab.sim import EventLoop
>>> from k8slab.controlplane.scheduler.framework import PodInfo
>>> loop = EventLoop()
>>> q = SchedulingQueue(loop)
>>> q.add(PodInfo({"metadata": {"name": "low", "namespace": "default"}, "spec": {"priority": 0}}))
>>> q.add(PodInfo({"metadata": {"name": "high", "namespace": "default"}, "spec": {"priority": 1000}}))
>>> q.pop().key
'default/high'
>>> backoff_duration(1), backoff_duration(3), backoff_duration(9)
(1.0, 4.0, 10.0)
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from k8slab.controlplane.scheduler.framework import UNSCHEDULABLE_TIMEOUT, ClusterEvent, PodInfo

#: First back-off after a failed attempt (``podInitialBackoffDuration``).
POD_INITIAL_BACKOFF = 1.0
#: Longest back-off (``podMaxBackoffDuration``).
POD_MAX_BACKOFF = 10.0
#: After this long in unschedulablePods a pod is retried anyway (``podMaxInUnschedulablePodsDuration``).
POD_MAX_IN_UNSCHEDULABLE_PODS = 300.0
#: Period of ``flushBackoffQCompleted``.
BACKOFF_FLUSH_PERIOD = 1.0
#: Period of ``flushUnschedulablePodsLeftover``.
UNSCHEDULABLE_FLUSH_PERIOD = 30.0


def backoff_duration(attempts: int) -> float:
    """``calculateBackoffDuration``: 1 s, doubled for each attempt after the first, at most 10 s."""
    d = POD_INITIAL_BACKOFF
    for _ in range(1, attempts):
        if d > POD_MAX_BACKOFF - d:
            return POD_MAX_BACKOFF
        d += d
    return d


def is_pod_updated(old: dict, new: dict) -> bool:
    """Whether a pod changed in something other than status and bookkeeping (``isPodUpdated``)."""

    def strip(p: dict) -> dict:
        m = dict(p.get("metadata") or {})
        for k in ("resourceVersion", "generation", "managedFields"):
            m.pop(k, None)
        return {k: (m if k == "metadata" else v) for k, v in p.items() if k != "status"} | {"metadata": m}

    return strip(old) != strip(new)


def _requires_pod_affinity(info: PodInfo) -> bool:
    return bool((info.affinity.get("podAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution"))


class QueuedPodInfo:
    """A pod in the queue with its scheduling history (``framework.QueuedPodInfo``)."""

    __slots__ = ("info", "timestamp", "initial_attempt", "attempts", "unschedulable_plugins", "gated", "seq")

    def __init__(self, info: PodInfo, now: float):
        self.info = info
        self.timestamp = now  # when it was (re)queued: the PrioritySort tie-break and back-off start
        self.initial_attempt: float | None = None
        self.attempts = 0
        self.unschedulable_plugins: set[str] = set()
        self.gated = bool((info.spec or {}).get("schedulingGates"))
        self.seq = 0

    @property
    def key(self) -> str:
        return self.info.key

    def __repr__(self) -> str:
        return f"QueuedPodInfo({self.key}, attempts={self.attempts})"


class SchedulingQueue:
    """activeQ + backoffQ + unschedulablePods, with their timers on the virtual clock."""

    def __init__(self, loop, *, who: str = "kube-scheduler", on_active: Callable[[], None] | None = None,
                 plugin_events: Callable[[], dict[str, tuple[ClusterEvent, ...]]] | None = None):
        self.loop = loop
        self.who = who
        self.on_active = on_active or (lambda: None)
        self.plugin_events = plugin_events or dict
        self.start = loop.now
        self._active: dict[str, QueuedPodInfo] = {}
        self._active_heap: list[tuple] = []
        self._backoff: dict[str, QueuedPodInfo] = {}
        self._backoff_heap: list[tuple] = []
        self.unschedulable: dict[str, QueuedPodInfo] = {}
        # keys of unschedulable pods with required pod affinity (cleaned lazily): what
        # AssignedPodAdded looks at, so a bound pod costs nothing when none waits
        self._affinity_waiting: dict[str, None] = {}
        self._seq = 0
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self._backoff_timer = None
        self._leftover_timer = None

    def __repr__(self) -> str:
        return (f"SchedulingQueue(activeQ={len(self._active)}, backoffQ={len(self._backoff)}, "
                f"unschedulablePods={len(self.unschedulable)})")

    def __len__(self) -> int:
        return len(self._active) + len(self._backoff) + len(self.unschedulable)

    def __contains__(self, key: str) -> bool:
        return key in self._active or key in self._backoff or key in self.unschedulable

    def pending_pods(self) -> dict[str, list[str]]:
        """Keys of the pods in each part of the queue (activeQ in pop order)."""
        return {
            "activeQ": [k for *_x, k in sorted(e for e in self._active_heap if self._live(e))],
            "backoffQ": [k for _t, _s, k in sorted(self._backoff_heap) if k in self._backoff],
            "unschedulablePods": list(self.unschedulable),
        }

    # -- helpers -----------------------------------------------------------------------------
    def _live(self, entry) -> bool:
        q = self._active.get(entry[-1])
        return q is not None and q.seq == entry[2]

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def backoff_expiry(self, q: QueuedPodInfo) -> float:
        return q.timestamp + backoff_duration(q.attempts)

    def is_backing_off(self, q: QueuedPodInfo) -> bool:
        return self.backoff_expiry(q) > self.loop.now

    def _to_active(self, q: QueuedPodInfo) -> None:
        q.seq = self._next_seq()
        self._active[q.key] = q
        heapq.heappush(self._active_heap, (-q.info.priority, q.timestamp, q.seq, q.key))
        self.on_active()

    def _to_backoff(self, q: QueuedPodInfo) -> None:
        q.seq = self._next_seq()
        self._backoff[q.key] = q
        expiry = self.backoff_expiry(q)
        heapq.heappush(self._backoff_heap, (expiry, q.seq, q.key))
        self._arm_backoff_timer(expiry)

    def _to_unschedulable(self, q: QueuedPodInfo) -> None:
        self.unschedulable[q.key] = q
        if _requires_pod_affinity(q.info):
            self._affinity_waiting[q.key] = None
        if not q.gated:
            self._arm_leftover_timer(q.timestamp + POD_MAX_IN_UNSCHEDULABLE_PODS)

    def _remove(self, key: str) -> QueuedPodInfo | None:
        return self._active.pop(key, None) or self._backoff.pop(key, None) or self.unschedulable.pop(key, None)

    # -- timers ----------------------------------------------------------------------------------
    def _tick_after(self, t: float, period: float, strictly: bool) -> float:
        # the tickers started with the scheduler: they fire at start + k * period
        k = (t - self.start) / period
        k = math.floor(k) + 1 if strictly else math.ceil(k - 1e-9)
        return self.start + max(k, 0) * period

    def _arm_backoff_timer(self, expiry: float) -> None:
        due = self._tick_after(expiry, BACKOFF_FLUSH_PERIOD, strictly=False)
        t = self._backoff_timer
        if t is not None and not t.cancelled and t.time <= due:
            return
        self.loop.cancel(t)
        self._backoff_timer = self.loop.call_at(due, self.flush_backoff_completed, who=self.who,
                                                what="flushBackoffQCompleted")

    def _arm_leftover_timer(self, after: float) -> None:
        due = self._tick_after(after, UNSCHEDULABLE_FLUSH_PERIOD, strictly=True)
        t = self._leftover_timer
        if t is not None and not t.cancelled and t.time <= due:
            return
        self.loop.cancel(t)
        # background: a pod that cannot be placed must not keep the cluster from settling
        self._leftover_timer = self.loop.call_at(due, self.flush_unschedulable_leftover, who=self.who,
                                                 what="flushUnschedulablePodsLeftover", background=True)

    def flush_backoff_completed(self) -> None:
        """Move the pods whose back-off has expired to activeQ."""
        self._backoff_timer = None
        now = self.loop.now
        while self._backoff_heap:
            expiry, seq, key = self._backoff_heap[0]
            q = self._backoff.get(key)
            if q is None or q.seq != seq:
                heapq.heappop(self._backoff_heap)
                continue
            if expiry > now:
                self._arm_backoff_timer(expiry)
                break
            heapq.heappop(self._backoff_heap)
            del self._backoff[key]
            self._to_active(q)

    def flush_unschedulable_leftover(self) -> None:
        """Retry the pods that stayed in unschedulablePods longer than 5 minutes."""
        self._leftover_timer = None
        now = self.loop.now
        stale = [q for q in self.unschedulable.values()
                 if not q.gated and now - q.timestamp > POD_MAX_IN_UNSCHEDULABLE_PODS]
        if stale:
            self._move(stale, UNSCHEDULABLE_TIMEOUT)
        rest = [q.timestamp for q in self.unschedulable.values() if not q.gated]
        if rest:
            self._arm_leftover_timer(min(rest) + POD_MAX_IN_UNSCHEDULABLE_PODS)

    def close(self) -> None:
        """Stop the tickers (the scheduler's process is gone)."""
        self.loop.cancel(self._backoff_timer)
        self.loop.cancel(self._leftover_timer)
        self._backoff_timer = self._leftover_timer = None

    # -- queue operations ------------------------------------------------------------------------
    def add(self, info: PodInfo) -> None:
        """A new pending pod (``Add``): to activeQ, or held while it has scheduling gates."""
        self._remove(info.key)
        q = QueuedPodInfo(info, self.loop.now)
        if q.gated:
            self._to_unschedulable(q)
        else:
            self._to_active(q)

    def update(self, old: dict, info: PodInfo) -> None:
        """The pending pod changed (``Update``)."""
        key = info.key
        for part in (self._active, self._backoff):
            q = part.get(key)
            if q is not None:
                q.info = info
                return
        q = self.unschedulable.get(key)
        if q is None:
            self.add(info)
            return
        q.info = info
        if is_pod_updated(old, info.obj):
            was_gated = q.gated
            q.gated = bool((info.spec or {}).get("schedulingGates"))
            if q.gated:
                return
            del self.unschedulable[key]
            if was_gated:
                q.timestamp = self.loop.now
            if self.is_backing_off(q) and not was_gated:
                self._to_backoff(q)
            else:
                self._to_active(q)

    def delete(self, key: str) -> None:
        self._remove(key)

    def pop(self) -> QueuedPodInfo | None:
        """The next pod to try (``Pop``); counts an attempt."""
        while self._active_heap:
            entry = heapq.heappop(self._active_heap)
            if not self._live(entry):
                continue
            q = self._active.pop(entry[-1])
            q.attempts += 1
            if q.initial_attempt is None:
                q.initial_attempt = self.loop.now
            self.scheduling_cycle += 1
            return q
        return None

    def peek_key(self) -> str | None:
        while self._active_heap and not self._live(self._active_heap[0]):
            heapq.heappop(self._active_heap)
        return self._active_heap[0][-1] if self._active_heap else None

    def add_unschedulable_if_not_present(self, q: QueuedPodInfo, cycle: int) -> None:
        """A failed pod comes back (``AddUnschedulableIfNotPresent``): unschedulablePods, or backoffQ
        when nothing specific rejected it (an error) or the cluster changed while it was tried."""
        if q.key in self:
            return
        q.timestamp = self.loop.now
        if not q.unschedulable_plugins or self.move_request_cycle >= cycle:
            self._to_backoff(q)
        else:
            self._to_unschedulable(q)

    def _worth_requeuing(self, q: QueuedPodInfo, event: ClusterEvent, interest: dict) -> bool:
        if event is UNSCHEDULABLE_TIMEOUT or not q.unschedulable_plugins:
            return True
        return any(reg.matches(event) for name in q.unschedulable_plugins for reg in interest.get(name, ()))

    def _move(self, pods: list[QueuedPodInfo], event: ClusterEvent) -> int:
        interest = self.plugin_events()
        moved = 0
        for q in pods:
            if q.gated or not self._worth_requeuing(q, event, interest):
                continue
            del self.unschedulable[q.key]
            if self.is_backing_off(q):
                self._to_backoff(q)
            else:
                self._to_active(q)
            moved += 1
        self.move_request_cycle = self.scheduling_cycle
        return moved

    def waiting_for_pod_affinity(self) -> list[QueuedPodInfo]:
        """The unschedulable pods with required pod affinity, in the order they came."""
        out = []
        for key in list(self._affinity_waiting):
            q = self.unschedulable.get(key)
            if q is None or not _requires_pod_affinity(q.info):
                del self._affinity_waiting[key]
                continue
            out.append(q)
        return out

    def move_pods(self, pods: list[QueuedPodInfo], event: ClusterEvent) -> int:
        """Move some unschedulable pods (``movePodsToActiveOrBackoffQueue``), e.g. ``AssignedPodAdded``'s."""
        return self._move([q for q in pods if self.unschedulable.get(q.key) is q], event)

    def move_all_to_active_or_backoff(self, event: ClusterEvent,
                                      pre_check: Callable[[PodInfo], bool] | None = None) -> int:
        """A cluster event happened (``MoveAllToActiveOrBackoffQueue``); returns how many pods moved."""
        if not self.unschedulable:
            self.move_request_cycle = self.scheduling_cycle
            return 0
        interest = self.plugin_events()
        if event is not UNSCHEDULABLE_TIMEOUT and not any(
                reg.matches(event) for regs in interest.values() for reg in regs):
            return 0  # no plugin cares about this kind of event
        pods = [q for q in self.unschedulable.values() if pre_check is None or pre_check(q.info)]
        return self._move(pods, event)
