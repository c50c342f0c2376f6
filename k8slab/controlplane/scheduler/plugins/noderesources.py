"""NodeResourcesFit and NodeResourcesBalancedAllocation: CPU, memory and pod slots.

**NodeResourcesFit — Filter.** The pod's requests must fit in what the node's
``allocatable`` leaves after the requests of the pods already there (including
pods this scheduler has just *assumed*). Reasons, in this order: ``Too many
pods``, ``Insufficient cpu``, ``Insufficient memory``, ``Insufficient
ephemeral-storage``, ``Insufficient <extended resource>``. A resource the pod
does not request is not checked — a pod without requests always "fits".

**NodeResourcesFit — Score** (weight 1, strategy ``LeastAllocated``): for CPU
and memory, ``(allocatable - requested) * 100 / allocatable`` with ``requested``
including the new pod and counting containers without requests as 100m /
200Mi; the node score is the average. Emptier nodes score higher, which spreads
pods.

**NodeResourcesBalancedAllocation — Score** (weight 1): ``(1 - std) * 100`` of
the CPU and memory *fractions* (requested/allocatable, real requests, capped at
1) — for two resources ``std = |cpu - mem| / 2``. Nodes whose CPU and memory are
used in the same proportion score higher.

Example
-------
>>> least_requested_score(np.array([1000]), np.array([4000])).tolist()
[75]
"""

from __future__ import annotations

import math

import numpy as np

from k8slab.controlplane.scheduler.framework import (
    ASSIGNED_POD_DELETE,
    MAX_NODE_SCORE,
    NODE_ADD,
    NODE_UPDATE,
    UNSCHEDULABLE,
    CodedRejections,
    FilterPlugin,
    Rejections,
    ScorePlugin,
    Status,
)
from k8slab.controlplane.scheduler.resources import CPU, EPHEMERAL_STORAGE, MEMORY, PODS

_FIXED_ORDER = (CPU, MEMORY, EPHEMERAL_STORAGE)


def _checked_resources(pod) -> list[str]:
    names = [r for r in _FIXED_ORDER if pod.requests.get(r, 0) > 0]
    names += sorted(r for r, v in pod.requests.items() if v > 0 and r not in _FIXED_ORDER and r != PODS)
    return names


def least_requested_score(requested: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """``leastRequestedScore`` element-wise: 0 when over capacity or capacity is 0."""
    safe = np.where(capacity > 0, capacity, 1)
    score = (safe - requested) * MAX_NODE_SCORE // safe
    return np.where((capacity == 0) | (requested > capacity), 0, score)


class NodeResourcesFit(FilterPlugin, ScorePlugin):
    """Does the pod fit (filter); prefer the least allocated nodes (score, LeastAllocated)."""

    name = "NodeResourcesFit"
    weight = 1
    events = (ASSIGNED_POD_DELETE, NODE_ADD, NODE_UPDATE)

    def __init__(self):
        # Per pod shape (requests), the verdicts and scores of every node, refreshed only
        # where a node changed since: consecutive pods of one Deployment cost a lookup.
        self._memos: dict[tuple, _FitMemo] = {}

    def filter(self, state, pod, node):
        reasons = []
        if len(node.pods) + 1 > node.allocatable.get(PODS, 0):
            reasons.append("Too many pods")
        for r in _checked_resources(pod):
            if pod.requests[r] > node.allocatable.get(r, 0) - node.requested.get(r, 0):
                reasons.append(f"Insufficient {r}")
        return Status(UNSCHEDULABLE, *reasons) if reasons else None

    def filter_nodes(self, state, pod, cache):
        memo = self._memo(pod, cache)
        return memo.rejections(cache, pod)

    def _memo(self, pod, cache) -> _FitMemo:
        key = pod.memo.get("NodeResourcesFit")
        if key is None:
            key = pod.memo["NodeResourcesFit"] = (tuple(sorted(pod.requests.items())), pod.non_zero)
        memo = self._memos.get(key)
        if memo is None or memo.cap != cache.capacity:
            memo = self._memos[key] = _FitMemo(cache, pod)
            if len(self._memos) > 256:
                self._memos.pop(next(iter(self._memos)))
        return memo

    # LeastAllocated over cpu and memory (weights 1 and 1)
    def score(self, state, pod, node) -> int:
        total = weights = 0
        for i, r in enumerate((CPU, MEMORY)):
            alloc = node.allocatable.get(r, 0)
            if alloc == 0:
                continue
            requested = node.non_zero_requested.get(r, 0) + pod.non_zero[i]
            total += 0 if requested > alloc else (alloc - requested) * MAX_NODE_SCORE // alloc
            weights += 1
        return total // weights if weights else 0

    def score_nodes(self, state, pod, cache, slots):
        if cache.zero_alloc:
            alloc = cache.alloc[:2, slots]
            requested = cache.nz[:, slots] + np.array(pod.non_zero, dtype=np.int64)[:, None]
            per = least_requested_score(requested, alloc)
            weights = (alloc > 0).sum(axis=0)
            return np.where(weights > 0, per.sum(axis=0) // np.maximum(weights, 1), 0)
        return self._memo(pod, cache).least_allocated(cache, pod)[slots]


def _column(pair) -> np.ndarray:
    return np.array(pair, dtype=np.float64).reshape(2, 1)


class NodeResourcesBalancedAllocation(ScorePlugin):
    """Prefer nodes where CPU and memory would be used in the same proportion (weight 1)."""

    name = "NodeResourcesBalancedAllocation"
    weight = 1
    events = (ASSIGNED_POD_DELETE, NODE_ADD, NODE_UPDATE)

    def score(self, state, pod, node) -> int:
        fractions = []
        for r in (CPU, MEMORY):
            alloc = node.allocatable.get(r, 0)
            if alloc == 0:
                continue
            fractions.append(min(1.0, (node.requested.get(r, 0) + pod.requests.get(r, 0)) / alloc))
        std = abs(fractions[0] - fractions[1]) / 2 if len(fractions) == 2 else 0.0
        return int((1 - std) * MAX_NODE_SCORE)

    def score_nodes(self, state, pod, cache, slots):
        if cache.zero_alloc:
            alloc = cache.alloc[:2, slots]
            requested = cache.req[:2, slots] + _column((pod.requests.get(CPU, 0), pod.requests.get(MEMORY, 0)))
            valid = alloc > 0
            frac = np.minimum(1.0, requested / np.where(valid, alloc, 1))
            std = np.where(valid.all(axis=0), np.abs(frac[0] - frac[1]) / 2, 0.0)
            return ((1 - std) * MAX_NODE_SCORE).astype(np.int64)
        return _balanced_memo(self, pod, cache).balanced(cache, pod)[slots]


def _balanced_memo(plugin, pod, cache) -> _FitMemo:
    # Balanced allocation keeps its own memos (same shape key), so it works without NodeResourcesFit.
    memos = plugin.__dict__.setdefault("_memos", {})
    key = pod.memo.get("NodeResourcesFit")
    if key is None:
        key = pod.memo["NodeResourcesFit"] = (tuple(sorted(pod.requests.items())), pod.non_zero)
    memo = memos.get(key)
    if memo is None or memo.cap != cache.capacity:
        memo = memos[key] = _FitMemo(cache, pod)
        if len(memos) > 256:
            memos.pop(next(iter(memos)))
    return memo


class _FitMemo:
    """Verdicts and scores of one pod shape over every node slot, refreshed incrementally.

    ``cache.changes_since`` names the nodes whose numbers changed (a pod placed or removed,
    a node resized); only those are recomputed — one by one in Python when they are few,
    else with numpy. Arrays handed out are never changed afterwards (a recorded decision
    keeps pointing at the filter's): a refresh of the filter writes into copies.
    """

    __slots__ = ("cap", "pos_filter", "pos_la", "pos_ba", "checked", "rows", "reqs", "table", "rej", "la", "ba")

    def __init__(self, cache, pod):
        self.cap = cache.capacity
        self.checked = _checked_resources(pod)
        self.rows = [cache.row(r) for r in self.checked]
        self.reqs = [pod.requests[r] for r in self.checked]
        self.table = [("Too many pods", UNSCHEDULABLE)] + [(f"Insufficient {r}", UNSCHEDULABLE) for r in self.checked]
        self.pos_filter = self.pos_la = self.pos_ba = -1
        self.rej = self.la = self.ba = None

    # -- filter ------------------------------------------------------------------------------
    def rejections(self, cache, pod) -> Rejections:
        changes = cache.changes_since(self.pos_filter) if self.rej is not None else None
        if changes is None or len(set(changes)) > 16:
            codes = (cache.free_pods < 1).astype(np.int32)
            for k, (row, req) in enumerate(zip(self.rows, self.reqs, strict=True), start=1):
                bad = cache.free[row] < req
                codes[bad] |= 1 << k
            self.rej = CodedRejections(codes, self.table)
        elif changes:
            # Copy, then fix the few nodes that changed: a recorded decision may hold the old arrays.
            codes = self.rej.codes.copy()
            ok = self.rej.ok.copy()
            free, free_pods = cache.free, cache.free_pods
            for slot in set(changes):
                code = 1 if free_pods[slot] < 1 else 0
                for k, (row, req) in enumerate(zip(self.rows, self.reqs, strict=True), start=1):
                    if free[row, slot] < req:
                        code |= 1 << k
                codes[slot] = code
                ok[slot] = code == 0
            self.rej = CodedRejections(codes, self.table, ok)
        self.pos_filter = cache.change_position
        return self.rej

    # -- scores ----------------------------------------------------------------------------------
    def least_allocated(self, cache, pod) -> np.ndarray:
        changes = cache.changes_since(self.pos_la) if self.la is not None else None
        if changes is None or len(set(changes)) > 16:
            # (alloc - nonzero requested) * 100 // alloc per resource, averaged. In float64:
            # numerators < 2**53 and quotients <= 100, so floor(n / d) == n // d exactly.
            f = cache.sfeat
            score = None
            for i in (0, 1):
                t = f[4 + i] - pod.non_zero[i]
                t *= MAX_NODE_SCORE
                t /= f[i]
                np.floor(t, out=t)
                np.maximum(t, 0, out=t)
                score = t if score is None else score + t
            score /= 2
            self.la = np.floor(score, out=score)
        elif changes:
            # Only gathered copies leave this memo, so the array can be fixed in place.
            f = cache.sfeat
            la = self.la
            for slot in set(changes):
                total = 0.0
                for i in (0, 1):
                    t = math.floor((float(f[4 + i, slot]) - pod.non_zero[i]) * MAX_NODE_SCORE / float(f[i, slot]))
                    total += max(t, 0)
                la[slot] = math.floor(total / 2)
        self.pos_la = cache.change_position
        return self.la

    def balanced(self, cache, pod) -> np.ndarray:
        changes = cache.changes_since(self.pos_ba) if self.ba is not None else None
        pc, pm = pod.requests.get(CPU, 0), pod.requests.get(MEMORY, 0)
        if changes is None or len(set(changes)) > 16:
            f = cache.sfeat
            fc = f[2] + pc
            fc /= f[0]
            np.minimum(fc, 1.0, out=fc)
            fm = f[3] + pm
            fm /= f[1]
            np.minimum(fm, 1.0, out=fm)
            fc -= fm
            std = np.abs(fc, out=fc)
            std /= 2
            score = 1 - std
            score *= MAX_NODE_SCORE
            self.ba = np.floor(score, out=score)
        elif changes:
            f = cache.sfeat
            ba = self.ba
            for slot in set(changes):
                fc = min((float(f[2, slot]) + pc) / float(f[0, slot]), 1.0)
                fm = min((float(f[3, slot]) + pm) / float(f[1, slot]), 1.0)
                std = abs(fc - fm) / 2
                ba[slot] = math.floor((1 - std) * MAX_NODE_SCORE)
        self.pos_ba = cache.change_position
        return self.ba
