"""The virtual clock and the deterministic event loop every component runs on.

Nothing in k8slab reads the wall clock. Components ask the loop to call them at
a virtual time (``loop.call_later(10, renew_lease, who="kubelet/worker-1", ...)``);
the loop runs events in ``(time, sequence)`` order, so two events due at the same
instant always run in the order they were scheduled — the root of reproducible
output (the same idea as simpy's event heap).

Events marked ``background`` (lease heartbeats, periodic resyncs) keep the
cluster alive but are not "work": :meth:`EventLoop.run_until_settled` stops
when only background events remain.

Example
-------
>>> loop = EventLoop()
>>> seen = []
>>> _ = loop.call_later(2.0, lambda: seen.append("b"), who="demo", what="second")
>>> _ = loop.call_later(1.0, lambda: seen.append("a"), who="demo", what="first")
>>> loop.step()
Event(t=1.000s demo: first)
>>> _ = loop.run_until_settled(); seen
['a', 'b']
"""

from __future__ import annotations

import contextlib
import functools
import gc
import heapq
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

#: The virtual clock's zero: a cluster "starts" at this instant, so timestamps are stable.
EPOCH = datetime(2025, 1, 1, 0, 0, 0, tzinfo=timezone.utc)


def timestamp(t: float) -> str:
    """RFC 3339 timestamp (seconds precision) of virtual time ``t``, as Kubernetes stores it.

    >>> timestamp(35.7)
    '2025-01-01T00:00:35Z'
    """
    return _timestamp_of_second(int(t))


@functools.lru_cache(maxsize=4096)
def _timestamp_of_second(s: int) -> str:
    # many objects are stamped within the same virtual second: format each second once
    return (EPOCH + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def timestamp_micro(t: float) -> str:
    """RFC 3339 timestamp with microseconds (the format of Lease renewTime).

    >>> timestamp_micro(10.5)
    '2025-01-01T00:00:10.500000Z'
    """
    return (EPOCH + timedelta(seconds=round(t, 6))).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> float:
    """Virtual seconds of an RFC 3339 timestamp written by :func:`timestamp`."""
    text = text.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in text else "%Y-%m-%dT%H:%M:%S"
    dt = datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
    return (dt - EPOCH).total_seconds()


#: A generation-2 threshold no run reaches: full collections wait until the run is over.
_NO_FULL_COLLECTION = 1 << 30


@contextlib.contextmanager
def young_collections_only():
    """While running events, let the garbage collector scan only young objects.

    A simulated cluster keeps every stored object (and its history) alive, so each full
    collection would walk the whole, ever-growing heap again; cyclic garbage is nearly all
    young (a timer and its closure) and young collections still find it. The thresholds are
    restored afterwards, so the next full collection happens as usual once the run is over.
    """
    old = gc.get_threshold()
    if old[2] >= _NO_FULL_COLLECTION:  # already inside a run
        yield
        return
    gc.set_threshold(old[0], old[1], _NO_FULL_COLLECTION)
    try:
        yield
    finally:
        gc.set_threshold(*old)


class Event:
    """One scheduled call: when, by whom, doing what. Its repr is a line of the story."""

    __slots__ = ("time", "seq", "fn", "args", "who", "what", "background", "cancelled")

    def __init__(self, time, seq, fn, args, who, what, background):
        self.time = time
        self.seq = seq
        self.fn = fn
        self.args = args
        self.who = who
        self.what = what
        self.background = background
        self.cancelled = False

    def cancel(self) -> None:
        """Make the event a no-op (it stays in the heap but will be skipped)."""
        self.cancelled = True

    def describe(self) -> str:
        what = self.what() if callable(self.what) else self.what
        return f"{self.who}: {what}"

    def __repr__(self) -> str:
        return f"Event(t={self.time:.3f}s {self.describe()})"


class EventLoop:
    """A heap of :class:`Event` ordered by ``(time, sequence number)``."""

    def __init__(self) -> None:
        self.now: float = 0.0
        self._heap: list[tuple[float, int, Event]] = []
        self._seq = 0
        self._foreground = 0  # live (not cancelled) foreground events in the heap
        self.horizon: float = 0.0  # run_until_settled keeps going at least until here
        self.on_error: Callable[[Event, BaseException], None] | None = None
        self.events_run = 0
        self.current: Event | None = None  # the event being run right now

    # -- scheduling -------------------------------------------------------
    def call_at(
        self,
        time: float,
        fn: Callable,
        *args,
        who: str = "?",
        what: str | Callable[[], str] = "",
        background: bool = False,
    ) -> Event:
        """Schedule ``fn(*args)`` at virtual ``time`` (never in the past)."""
        if time < self.now:
            time = self.now
        seq = self._seq = self._seq + 1
        ev = Event(time, seq, fn, args, who, what, background)
        # (time, seq) tuples compare in C; the sequence number breaks ties in scheduling order
        heapq.heappush(self._heap, (time, seq, ev))
        if not background:
            self._foreground += 1
        return ev

    def call_later(self, delay: float, fn: Callable, *args, **kw) -> Event:
        """Schedule ``fn(*args)`` ``delay`` virtual seconds from now."""
        return self.call_at(self.now + delay, fn, *args, **kw)

    def call_soon(self, fn: Callable, *args, **kw) -> Event:
        """Schedule ``fn(*args)`` now, after everything already due now."""
        return self.call_at(self.now, fn, *args, **kw)

    def cancel(self, ev: Event | None) -> None:
        if ev is not None and not ev.cancelled:
            ev.cancelled = True
            if not ev.background:
                self._foreground -= 1

    def extend_horizon(self, t: float) -> None:
        """Ask :meth:`run_until_settled` not to stop before virtual time ``t``.

        Used where a reaction is due later but nothing is queued for it yet (a node
        has stopped heart-beating; the node controller will notice only later).
        """
        self.horizon = max(self.horizon, t)

    # -- running ------------------------------------------------------------
    def peek(self) -> Event | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][2] if heap else None

    def step(self) -> Event | None:
        """Run the next event and return it (``None`` when nothing is scheduled)."""
        ev = self.peek()
        if ev is None:
            return None
        heapq.heappop(self._heap)
        self._run(ev)
        return ev

    def _run(self, ev: Event) -> None:
        # ev has just been popped from the top of the heap
        if not ev.background:
            self._foreground -= 1
        self.now = ev.time
        self.events_run += 1
        self.current = ev
        try:
            ev.fn(*ev.args)
        except Exception as exc:  # a component's failure must not stop the cluster
            if self.on_error is None:
                raise
            self.on_error(ev, exc)
        finally:
            self.current = None

    def settled(self) -> bool:
        return self._foreground <= 0 and self.now >= self.horizon

    def run_until(self, t: float) -> int:
        """Run every event due up to virtual time ``t``, then set the clock to ``t``."""
        n = 0
        with young_collections_only():
            while True:
                ev = self.peek()
                if ev is None or ev.time > t:
                    break
                self.step()
                n += 1
        self.now = max(self.now, t)
        return n

    def run_until_settled(self, limit: float = 3600.0) -> int:
        """Run until only background events remain (and the horizon is reached).

        ``limit`` bounds the virtual seconds spent, so a cluster that never settles
        (a crash-looping pod keeps restarting) still returns.
        """
        with young_collections_only():
            return self._run_until_settled(limit)

    def _run_until_settled(self, limit: float) -> int:
        deadline = self.now + limit
        n = 0
        heap, heappop, run = self._heap, heapq.heappop, self._run
        while True:
            if self._foreground <= 0:
                if self.now >= self.horizon:
                    break
                nxt = self.peek()
                if nxt is None or nxt.time > self.horizon:
                    self.now = min(self.horizon, deadline)
                    if self.now >= self.horizon:
                        break
            ev = self.peek()
            if ev is None or ev.time > deadline:
                break
            heappop(heap)  # ev, as self.step() would
            run(ev)
            n += 1
        return n

    def pending(self, include_background: bool = False) -> list[Event]:
        """The scheduled events, in the order they will run."""
        evs = [e for _t, _s, e in sorted(self._heap) if not e.cancelled]
        return evs if include_background else [e for e in evs if not e.background]

    def __len__(self) -> int:
        return sum(1 for _t, _s, e in self._heap if not e.cancelled)
