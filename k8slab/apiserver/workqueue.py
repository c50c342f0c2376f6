"""The work queue: keys of objects that need reconciling, each key at most once.

As in client-go: a key added while already queued is not queued twice (the
*dirty* set); a key added while being processed is queued again only after the
worker is done with it (the *processing* set), so one object is never reconciled
by two workers at once. Failures are retried with exponential back-off
(5 ms doubling up to 1000 s, client-go's default item rate limiter).

Each processed key is one event on the virtual clock, so a learner can step
through a controller's work one reconcile at a time.

Example
-------
>>> from k8slab.sim import EventLoop
>>> loop = EventLoop(); done = []
>>> q = WorkQueue(loop, "demo", done.append)
>>> q.add("default/web"); q.add("default/web"); q.add("default/db")
>>> len(q)
2
>>> _ = loop.run_until_settled(); done
['default/web', 'default/db']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

BASE_DELAY = 0.005
MAX_DELAY = 1000.0
# back-off from which a retry is a background event (see add_rate_limited)
SETTLED_RETRY_DELAY = 1.0


class WorkQueue:
    def __init__(self, loop, name: str, process: Callable[[str], None], *, who: str | None = None,
                 on_error: Callable[[str, Exception], None] | None = None):
        self.loop = loop
        self.name = name
        self.who = who or name
        self.process = process
        self.on_error = on_error
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._failures: dict[str, int] = {}
        self._scheduled = None
        self._waiting: dict[str, object] = {}
        self.processed = 0
        self.paused = False

    def __repr__(self) -> str:
        return f"WorkQueue({self.name}: {len(self)} queued)"

    def __len__(self) -> int:
        return len(self._queue)

    def keys(self) -> list[str]:
        return list(self._queue)

    def add(self, key: str) -> None:
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)
        self._kick()

    def add_after(self, key: str, delay: float, *, background: bool = False) -> None:
        """Add ``key`` after ``delay`` virtual seconds (a later add_after for the same key wins if sooner).

        A ``background`` wake-up still happens when time passes, but does not by itself
        keep ``Cluster.run()`` going.
        """
        if delay <= 0:
            self.add(key)
            return
        due = self.loop.now + delay
        prev = self._waiting.get(key)
        if prev is not None and prev.time <= due:
            return
        if prev is not None:
            self.loop.cancel(prev)
        self._waiting[key] = self.loop.call_at(due, self._add_waited, key, who=self.who,
                                               what=f"requeue {key} after {delay:g}s", background=background)

    def _add_waited(self, key: str) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: str) -> float:
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        delay = min(BASE_DELAY * (2**n), MAX_DELAY)
        # A key that keeps failing (a quota, an admission hook, a learner's buggy operator) retries for
        # ever, as on a real cluster; once its back-off reaches a second, the retries no longer keep
        # Cluster.run() from settling, so run() returns instead of spending an hour of virtual time.
        self.add_after(key, delay, background=delay >= SETTLED_RETRY_DELAY)
        return delay

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        return self._failures.get(key, 0)

    def _kick(self) -> None:
        if self._scheduled is None and self._queue and not self.paused:
            self._scheduled = self.loop.call_soon(self._work, who=self.who, what=self._describe_next)

    def _describe_next(self) -> str:
        return f"sync {self._queue[0]}" if self._queue else "sync"

    def _work(self) -> None:
        self._scheduled = None
        if not self._queue:
            return
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        try:
            self.process(key)
        except Exception as exc:
            if self.on_error is None:
                raise
            self.on_error(key, exc)
        finally:
            self._processing.discard(key)
            self.processed += 1
            if key in self._dirty:
                self._queue.append(key)
            self._kick()
