"""DefaultPreemption: when no node fits, make room by evicting lower-priority pods.

The PostFilter plugin of the default profile (``defaultpreemption``), step by step:

1. Is the pod *eligible*? Not with ``preemptionPolicy: Never``, and not while
   pods it already preempted are still terminating on its nominated node.
2. Which nodes *might* help? Not those rejected as *unresolvable* (a taint, a
   label, a cordon: evicting pods changes nothing) — they report ``Preemption is
   not helpful for scheduling``.
3. *Dry run* on each other node: remove every pod of lower priority; a node
   without any reports ``No preemption victims found for incoming pod``; a node
   where the pod still does not fit reports the filter's reason.
4. For each remaining candidate, give back (*reprieve*) as many victims as
   possible, most important first; pick the node whose victims matter least
   (lowest highest priority, then lowest priority sum, then fewest victims, then
   the most recently started).
5. Evict the victims (condition ``DisruptionTarget``, then delete) and *nominate*
   the node for the pod (``status.nominatedNodeName``); the pod is retried once
   the victims are gone, and other pods of lower priority cannot take the room meanwhile.

When no node can help, the message joins the ``FailedScheduling`` text:
``preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling,
3 No preemption victims found for incoming pod.``

k8slab simplifications: PodDisruptionBudgets are not consulted, and the
re-check of a node during the dry run re-runs the resource, port and inter-pod
affinity filters (the other filters' verdicts are kept as they were).
"""

from __future__ import annotations

import numpy as np

from k8slab.api.objects import is_terminating
from k8slab.controlplane.scheduler.framework import (
    CycleState,
    FilterPlugin,
    NodeInfo,
    PodInfo,
    Status,
    as_status,
)
from k8slab.controlplane.scheduler.resources import CPU, MEMORY
from k8slab.controlplane.scheduler.runtime import FilterResult, fit_error_message
from k8slab.sim.loop import parse_timestamp

NAME = "DefaultPreemption"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never."
NOT_ELIGIBLE_TERMINATING = "not eligible due to a terminating pod on the nominated node."
#: Pods re-checked by the dry run (plugins whose verdict depends on the pods on the node).
_RECHECKED = ("NodePorts", "NodeResourcesFit", "InterPodAffinity")


class Candidate:
    """A node where evicting ``victims`` would let the pod fit."""

    __slots__ = ("slot", "name", "victims")

    def __init__(self, slot: int, name: str, victims: list):
        self.slot = slot
        self.name = name
        self.victims = victims

    def __repr__(self) -> str:
        return f"Candidate({self.name}, victims={[v.key for v in self.victims]})"


def _start_time(rec, now: float) -> float:
    st = ((rec.obj or {}).get("status") or {}).get("startTime")
    try:
        return parse_timestamp(st) if st else now
    except ValueError:
        return now


def _without(node: NodeInfo, removed: list) -> NodeInfo:
    keys = {r.key for r in removed}
    requested = dict(node.requested)
    ports = set()
    pods = [p for p in node.pods if p.key not in keys]
    for r in removed:
        for res, v in r.requests.items():
            requested[res] = requested.get(res, 0) - v
    for p in pods:
        ports.update(p.host_ports)
    nz = {CPU: node.non_zero_requested.get(CPU, 0) - sum(r.non_zero[0] for r in removed),
          MEMORY: node.non_zero_requested.get(MEMORY, 0) - sum(r.non_zero[1] for r in removed)}
    return NodeInfo(node.obj, node.allocatable, requested, nz, pods, ports, node.image_states, node.num_nodes)


class DefaultPreemption:
    """The PostFilter plugin (see module docstring)."""

    name = NAME

    def __init__(self, scheduler):
        self.scheduler = scheduler

    def _fits(self, fw, result: FilterResult, state: CycleState, pod: PodInfo, slot: int, node: NodeInfo):
        for plugin, rej in result.rejections:
            if isinstance(plugin, str) or plugin.static:
                st = rej.status_of(slot)
            elif plugin.name in _RECHECKED or type(plugin).filter_nodes is FilterPlugin.filter_nodes:
                st = as_status(plugin.filter(state, pod, node))
            else:
                st = rej.status_of(slot)
            if st is not None:
                return st
        return None

    def select_victims(self, fw, result, state, pod: PodInfo, slot: int) -> tuple[list | None, Status | None]:
        """``SelectVictimsOnNode``: the fewest lower-priority pods whose removal lets ``pod`` fit."""
        cache = self.scheduler.cache
        if not any(prio < pod.priority for prio in cache.priorities_on[slot]):
            return None, Status("UnschedulableAndUnresolvable", NO_VICTIMS)
        node = cache.node_info(slot)
        lower = [p for p in node.pods if p.priority < pod.priority]
        if not lower:
            return None, Status("UnschedulableAndUnresolvable", NO_VICTIMS)
        now = self.scheduler.loop.now
        # Most important first: higher priority, then started earlier.
        lower.sort(key=lambda r: (-r.priority, _start_time(r, now), r.key))
        st = self._fits(fw, result, state, pod, slot, _without(node, lower))
        if st is not None:
            return None, st
        victims = []
        kept_out = list(lower)
        for rec in lower:
            trial = [r for r in kept_out if r is not rec]
            if self._fits(fw, result, state, pod, slot, _without(node, trial)) is None:
                kept_out = trial  # reprieved: it can stay
            else:
                victims.append(rec)
        return victims, None

    def post_filter(self, fw, state: CycleState, pod: PodInfo, result: FilterResult, slots: np.ndarray,
                    unresolvable: np.ndarray):
        """Returns ``(candidate or None, message)``; ``message`` is the PostFilter text."""
        cache = self.scheduler.cache
        if pod.preemption_policy == "Never":
            return None, "preemption: " + NOT_ELIGIBLE_NEVER
        nominated = (pod.obj.get("status") or {}).get("nominatedNodeName")
        if nominated and nominated in cache.slot_of:
            st = result.status_of(cache.slot_of[nominated])
            if st is not None and st[1].code != "UnschedulableAndUnresolvable":
                for rec in cache.pods_on[cache.slot_of[nominated]].values():
                    if rec.priority < pod.priority and is_terminating(rec.obj):
                        return None, "preemption: " + NOT_ELIGIBLE_TERMINATING
        hist: dict[str, int] = {}
        n_unhelpful = int(np.count_nonzero(unresolvable))
        if n_unhelpful:
            hist[NOT_HELPFUL] = n_unhelpful
        candidates = []
        for i, slot in enumerate(slots):
            if unresolvable[i]:
                continue
            victims, st = self.select_victims(fw, result, state, pod, int(slot))
            if victims is None:
                for r in st.reasons:
                    hist[r] = hist.get(r, 0) + 1
                continue
            candidates.append(Candidate(int(slot), cache.names[slot], victims))
        if not candidates:
            return None, "preemption: " + fit_error_message(len(slots), hist)
        now = self.scheduler.loop.now

        def rank(c: Candidate):
            prios = [v.priority for v in c.victims]
            top = max(prios) if prios else -(2**31)
            earliest = min((_start_time(v, now) for v in c.victims if v.priority == top), default=now)
            return (top, sum(p + 2**31 for p in prios), len(c.victims), -earliest)

        best = min(candidates, key=rank)  # min() keeps the first of equals, like the real loop
        return best, ""
