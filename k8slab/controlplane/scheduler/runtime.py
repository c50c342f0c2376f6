"""The framework runtime: runs a profile's plugins over all nodes at once.

This is ``frameworkImpl`` of ``pkg/scheduler/framework/runtime``: PreFilter,
Filter, PreScore, Score, NormalizeScore and the weighting, in the order the
plugins are listed. Two speed-ups keep big clusters fast and change nothing in
the result:

* plugins evaluate **all nodes in one numpy operation** (``filter_nodes`` /
  ``score_nodes``) where they can;
* a *static* plugin (its verdict depends only on the pod's spec and the Node
  object: taints, labels, cordon) is evaluated once per distinct pod *shape*
  (e.g. once for all the replicas of a Deployment) and the cached per-node
  results are patched when a node changes.

Example
-------
>>> fit_error_message(4, {"Insufficient cpu": 3,
...     "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }": 1})
'0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu.'
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from k8slab.controlplane.scheduler.framework import (
    SKIP,
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    CycleState,
    FilterPlugin,
    NodeInfo,
    PodInfo,
    Rejections,
    ScorePlugin,
    Status,
    as_status,
)

#: How many (plugin, pod shape) results the static caches keep.
MAX_STATIC_ENTRIES = 2048


def fit_error_message(num_nodes: int, histogram: dict[str, int], pre_filter_msg: str = "",
                      post_filter_msg: str = "") -> str:
    """``FitError.Error()``: ``0/N nodes are available: <count> <reason>, ... .`` with reasons sorted as text."""
    msg = f"0/{num_nodes} nodes are available:"
    if pre_filter_msg:
        msg += f" {pre_filter_msg}."
    else:
        items = sorted(f"{count} {reason}" for reason, count in histogram.items() if count)
        if items:
            msg += " " + ", ".join(items) + "."
    if post_filter_msg:
        # v1.30 appends the PostFilter text as is (it already ends with a period).
        msg += f" {post_filter_msg}"
    return msg


class _StaticFilter:
    """Cached per-slot verdicts of one static filter plugin for one pod shape."""

    __slots__ = ("pod", "ids", "table", "index", "_rejections")

    def __init__(self, pod: PodInfo, capacity: int):
        self.pod = pod
        self.ids = np.zeros(capacity, dtype=np.int32)  # 0: fits; k: table[k - 1]
        self.table: list[Status] = []
        self.index: dict[Status, int] = {}
        self._rejections: Rejections | None = None

    def set(self, slot: int, status: Status | None) -> None:
        if status is None:
            self.ids[slot] = 0
        else:
            k = self.index.get(status)
            if k is None:
                self.table.append(status)
                k = self.index[status] = len(self.table)
            self.ids[slot] = k
        self._rejections = None

    def rejections(self) -> Rejections:
        if self._rejections is None:
            mask = self.ids > 0
            reasons = []
            for k, st in enumerate(self.table, start=1):
                m = self.ids == k
                if m.any():
                    reasons.extend((r, st.code, m) for r in st.reasons)
            self._rejections = Rejections(mask, reasons)
        return self._rejections


class FilterResult:
    """What the Filter phase found: the feasible node slots and each plugin's rejections."""

    __slots__ = ("feasible", "rejections", "pre_filter_status", "num_nodes")

    def __init__(self, feasible, rejections, pre_filter_status=None, num_nodes=0):
        self.feasible = feasible  # bool over slots
        self.rejections: list[tuple[FilterPlugin | str, Rejections]] = rejections
        self.pre_filter_status: Status | None = pre_filter_status
        self.num_nodes = num_nodes

    def status_of(self, slot: int) -> tuple[str, Status] | None:
        """The first plugin (in order) that rejected node ``slot``, and its status."""
        if self.pre_filter_status is not None:
            return self.pre_filter_status.plugin or "", self.pre_filter_status
        for plugin, rej in self.rejections:
            st = rej.status_of(slot)
            if st is not None:
                return (plugin if isinstance(plugin, str) else plugin.name), st
        return None

    def diagnose(self, slots: np.ndarray) -> tuple[dict[str, int], set[str], np.ndarray]:
        """Reasons histogram over ``slots``, the rejecting plugins, and which of them are unresolvable.

        Each node counts with the reasons of the *first* plugin that rejected it
        (the framework stops at the first failing filter).
        """
        hist: dict[str, int] = {}
        plugins: set[str] = set()
        unresolvable = np.zeros(len(slots), dtype=bool)
        if self.pre_filter_status is not None:
            unresolvable[:] = True
            return hist, {self.pre_filter_status.plugin or ""}, unresolvable
        remaining = np.ones(len(slots), dtype=bool)
        for plugin, rej in self.rejections:
            mask = rej.mask[slots]
            hit = mask & remaining
            if hit.any():
                plugins.add(plugin if isinstance(plugin, str) else plugin.name)
                for reason, code, m in rej.reasons:
                    rm = m[slots] & hit
                    n = int(np.count_nonzero(rm))
                    if n:
                        hist[reason] = hist.get(reason, 0) + n
                        if code == UNSCHEDULABLE_AND_UNRESOLVABLE:
                            unresolvable |= rm
            remaining &= ~mask
        return hist, plugins, unresolvable


class Framework:
    """One scheduling profile: its plugins, in order, run against a :class:`SchedulerCache`."""

    def __init__(self, plugins: list, cache, handle=None):
        self.cache = cache
        self.handle = handle
        self.plugins: list = []
        self._lists = None
        self._static_filters: OrderedDict[tuple, _StaticFilter] = OrderedDict()
        self._static_scores: OrderedDict[tuple, tuple[PodInfo, np.ndarray]] = OrderedDict()
        self._static_nonzero: dict[tuple, bool] = {}
        cache.node_listeners.append(self._node_changed)
        for p in plugins:
            self.add_plugin(p)

    def __repr__(self) -> str:
        return f"Framework({', '.join(p.name for p in self.plugins)})"

    # -- plugins ----------------------------------------------------------------------
    def add_plugin(self, plugin, *, before: str | None = None) -> None:
        """Add a plugin (at the end, or before the plugin named ``before``)."""
        if any(p.name == plugin.name for p in self.plugins):
            raise ValueError(f"a plugin named {plugin.name!r} is already registered")
        if self.handle is not None:
            plugin.setup(self.handle)
        if before is None:
            self.plugins.append(plugin)
        else:
            i = next(i for i, p in enumerate(self.plugins) if p.name == before)
            self.plugins.insert(i, plugin)
        self._lists = None

    def remove_plugin(self, name: str) -> None:
        self.plugins = [p for p in self.plugins if p.name != name]
        self._lists = None

    def plugin(self, name: str):
        for p in self.plugins:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def filter_plugins(self) -> list[FilterPlugin]:
        if self._lists is None:
            self._refresh_lists()
        return self._lists[0]

    @property
    def score_plugins(self) -> list[ScorePlugin]:
        """Score plugins with a weight (a weight of 0 switches a plugin's score off)."""
        if self._lists is None:
            self._refresh_lists()
        return [p for p in self._lists[1] if p.weight]

    def _refresh_lists(self) -> None:
        self._lists = ([p for p in self.plugins if isinstance(p, FilterPlugin)],
                       [p for p in self.plugins if isinstance(p, ScorePlugin)])

    # -- static caches --------------------------------------------------------------------
    def _light_node(self, slot: int) -> NodeInfo:
        c = self.cache
        return NodeInfo(c.nodes[slot], {}, {}, {}, [], set(), {}, c.num_nodes)

    def static_rejections(self, name: str, pod: PodInfo, plugin=None) -> Rejections:
        """The cached verdicts of static filter plugin ``name`` for ``pod``'s shape, over all slots."""
        memo = pod.memo.get(("static", name))
        if memo is not None and memo[0] is self and memo[1] is self._static_filters.get(memo[2]):
            entry = memo[1]
            if entry.ids.shape[0] == self.cache.capacity:
                return entry.rejections()
        plugin = plugin or self.plugin(name)
        key = (name, plugin.static_key(pod))
        entry = self._static_filters.get(key)
        cap = self.cache.capacity
        if entry is None:
            entry = _StaticFilter(pod, cap)
            state = CycleState()
            for slot in self.cache.order:
                entry.set(int(slot), as_status(plugin.filter(state, pod, self._light_node(slot))))
            self._static_filters[key] = entry
            if len(self._static_filters) > MAX_STATIC_ENTRIES:
                self._static_filters.popitem(last=False)
        else:
            self._static_filters.move_to_end(key)
            if entry.ids.shape[0] < cap:
                entry.ids = np.pad(entry.ids, (0, cap - entry.ids.shape[0]))
                entry._rejections = None
        pod.memo[("static", name)] = (self, entry, key)
        return entry.rejections()

    def static_scores(self, plugin: ScorePlugin, pod: PodInfo, slots: np.ndarray):
        """The plugin's cached raw scores of ``slots`` (a 0-d zero when every node scores 0)."""
        arr = self._static_score_array(plugin, pod)
        key = (plugin.name, plugin.static_key(pod))
        nonzero = self._static_nonzero.get(key)
        if nonzero is None:
            nonzero = self._static_nonzero[key] = bool(arr.any())
        return arr[slots] if nonzero else np.int64(0)

    def _static_score_array(self, plugin: ScorePlugin, pod: PodInfo) -> np.ndarray:
        key = (plugin.name, plugin.static_key(pod))
        entry = self._static_scores.get(key)
        cap = self.cache.capacity
        if entry is None:
            arr = np.zeros(cap, dtype=np.int64)
            state = CycleState()
            for slot in self.cache.order:
                arr[slot] = plugin.score(state, pod, self._light_node(slot))
            entry = self._static_scores[key] = (pod, arr)
            if len(self._static_scores) > MAX_STATIC_ENTRIES:
                old_key, _old = self._static_scores.popitem(last=False)
                self._static_nonzero.pop(old_key, None)
        else:
            self._static_scores.move_to_end(key)
            if entry[1].shape[0] < cap:
                entry = self._static_scores[key] = (entry[0], np.pad(entry[1], (0, cap - entry[1].shape[0])))
        return entry[1]

    def _node_changed(self, slot: int) -> None:
        # A node's labels/taints/spec changed: re-evaluate just that node in every cached shape.
        cap = self.cache.capacity
        present = bool(self.cache.present[slot]) if slot < cap else False
        state = CycleState()
        node = self._light_node(slot) if present else None
        for (name, _k), entry in self._static_filters.items():
            if entry.ids.shape[0] < cap:
                entry.ids = np.pad(entry.ids, (0, cap - entry.ids.shape[0]))
            entry.set(slot, as_status(self.plugin(name).filter(state, entry.pod, node)) if present else None)
        for key, (pod, arr) in list(self._static_scores.items()):
            if arr.shape[0] < cap:
                arr = np.pad(arr, (0, cap - arr.shape[0]))
                self._static_scores[key] = (pod, arr)
            arr[slot] = self.plugin(key[0]).score(state, pod, node) if present else 0
        self._static_nonzero.clear()

    # -- Filter --------------------------------------------------------------------------------
    def _rejections(self, plugin: FilterPlugin, state: CycleState, pod: PodInfo, alive: np.ndarray) -> Rejections:
        if plugin.static:
            return self.static_rejections(plugin.name, pod, plugin)
        rej = plugin.filter_nodes(state, pod, self.cache)
        if rej is not None:
            return rej
        # A plugin without a vectorised filter: ask it node by node (only nodes still in the race).
        cap = self.cache.capacity
        mask = np.zeros(cap, dtype=bool)
        by_reason: dict[tuple[str, str], np.ndarray] = {}
        for slot in self.cache.order:
            if not alive[slot]:
                continue
            st = as_status(plugin.filter(state, pod, self.cache.node_info(slot)))
            if st is None:
                continue
            mask[slot] = True
            code = st.code if st.code in (UNSCHEDULABLE, UNSCHEDULABLE_AND_UNRESOLVABLE) else UNSCHEDULABLE
            for r in st.reasons or (plugin.name,):
                m = by_reason.get((r, code))
                if m is None:
                    m = by_reason[(r, code)] = np.zeros(cap, dtype=bool)
                m[slot] = True
        return Rejections(mask, [(r, c, m) for (r, c), m in by_reason.items()])

    def run_filters(self, state: CycleState, pod: PodInfo) -> FilterResult:
        """PreFilter then Filter for every node; returns the feasible mask and the rejections."""
        cache = self.cache
        allowed: set[str] | None = None
        narrowing: list[str] = []
        filters = self.filter_plugins
        for p in filters:
            r = p.pre_filter(state, pod)
            if r is None:
                continue
            if isinstance(r, Status):
                if r.code == SKIP:
                    state.skip_filter.add(p.name)
                    continue
                r.plugin = p.name
                return FilterResult(np.zeros(cache.capacity, dtype=bool), [], r, cache.num_nodes)
            allowed = set(r) if allowed is None else allowed & set(r)
            narrowing.append(p.name)
        feasible = cache.present.copy()
        rejections: list = []

        if allowed is not None:
            mask = cache.present.copy()
            for name in allowed:
                slot = cache.slot_of.get(name)
                if slot is not None:
                    mask[slot] = False
            reason = f"node(s) didn't satisfy plugin(s) [{' '.join(narrowing)}]"
            rejections.append((narrowing[0], Rejections.uniform(mask, reason, UNSCHEDULABLE_AND_UNRESOLVABLE)))
            feasible &= ~mask
        for p in filters:
            if p.name in state.skip_filter:
                continue
            rej = self._rejections(p, state, pod, feasible)
            rejections.append((p, rej))
            feasible &= rej.ok
        return FilterResult(feasible, rejections, None, cache.num_nodes)

    # -- Score ----------------------------------------------------------------------------------
    def run_scores(self, state: CycleState, pod: PodInfo, slots: np.ndarray):
        """PreScore, Score, NormalizeScore for ``slots``.

        Returns ``[(plugin, raw, normalized) ...]`` (``None`` arrays for plugins that
        skipped this pod) and the weighted total per slot.
        """
        plugins = self.score_plugins
        active = []
        for p in plugins:
            st = p.pre_score(state, pod, slots)
            active.append(not (st is not None and st.code == SKIP))
        out = []
        total = None
        constant = 0
        for p, on in zip(plugins, active, strict=True):
            if not on:
                out.append((p, None, None))
                continue
            if p.static:
                raw = self.static_scores(p, pod, slots)
            else:
                raw = p.score_nodes(state, pod, self.cache, slots)
                if raw is None:
                    raw = np.array([p.score(state, pod, self.cache.node_info(s)) for s in slots], dtype=np.int64)
            norm = p.normalize(state, pod, raw)
            out.append((p, raw, norm))
            if type(norm) is not np.ndarray or norm.ndim == 0:
                constant += int(norm) * p.weight  # the same for every node: add it once at the end
                continue
            weighted = norm if p.weight == 1 else norm * p.weight
            if total is None:
                total = weighted.astype(np.float64)  # whole numbers; float keeps the sums cheap
            else:
                total += weighted
        if total is None:
            total = np.zeros(len(slots), dtype=np.float64)
        if constant:
            total += constant
        return out, total
