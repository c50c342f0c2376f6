"""``scheduler.explain("web-x")``: why a pod went where it went (or nowhere).

For every node: the filter plugin that rejected it and why, or the score each
score plugin gave it (normalised 0–100, multiplied by the plugin's weight in
the total). For a bound pod this is the decision recorded when it was
scheduled; for a pending pod the scheduler evaluates it again against the
cluster as it is now.

Example output::

    Pod default/web-7d4b9-x2x8z: scheduled to worker-2 at t=3.002s (3/4 nodes feasible, 4 evaluated)
    NODE           RESULT                                  TaintToleration×3  NodeResourcesFit×1  ...  TOTAL
    control-plane  ✗ TaintToleration: node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }
    worker-1       ✓ feasible                                            100                  92  ...    592
    worker-2       ✓ chosen                                              100                  97  ...    697
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CHECK, CROSS, DOT = "✓", "✗", "·"

#: Short column titles (the plugin names are long).
_SHORT = {"NodeResourcesBalancedAllocation": "BalancedAllocation"}


@dataclass(frozen=True)
class PluginScore:
    """One score plugin's verdict on one node."""

    plugin: str
    raw: int  # what Score returned
    score: int  # after NormalizeScore (0-100)
    weight: int

    @property
    def weighted(self) -> int:
        return self.score * self.weight


@dataclass
class NodeResult:
    """How one node fared: rejected by a filter, scored, chosen, or not looked at."""

    name: str
    filtered_by: str | None = None  # the plugin that rejected the node
    reason: str | None = None  # its reasons, joined as the framework prints them
    scores: dict[str, PluginScore] = field(default_factory=dict)
    total: int | None = None
    chosen: bool = False
    feasible: bool = False
    evaluated: bool = True

    @property
    def result(self) -> str:
        if not self.evaluated:
            return f"{DOT} not evaluated (enough feasible nodes found)"
        if self.filtered_by is not None:
            return f"{CROSS} {self.filtered_by}: {self.reason}"
        if self.chosen:
            return f"{CHECK} chosen" if self.scores else f"{CHECK} chosen (only feasible node: not scored)"
        return f"{CHECK} feasible"


class Explanation:
    """The answer of :meth:`Scheduler.explain`: ``.nodes`` (sorted by name), ``.chosen``, ``.message``."""

    def __init__(self, pod: str, nodes: list[NodeResult], chosen: str | None, message: str, *,
                 time: float, recorded: bool, plugins: list[tuple[str, int]], evaluated: int,
                 feasible: int, num_nodes: int, note: str = ""):
        self.pod = pod
        self.nodes = sorted(nodes, key=lambda n: n.name)
        self.chosen = chosen
        self.message = message
        self.time = time
        self.recorded = recorded
        self.plugins = plugins  # score plugins that scored: (name, weight)
        self.evaluated = evaluated
        self.feasible = feasible
        self.num_nodes = num_nodes
        self.note = note

    def node(self, name: str) -> NodeResult:
        return next(n for n in self.nodes if n.name == name)

    def headline(self) -> str:
        if self.recorded and self.chosen:
            return (f"Pod {self.pod}: scheduled to {self.chosen} at t={self.time:.3f}s "
                    f"({self.feasible}/{self.num_nodes} nodes feasible, {self.evaluated} evaluated)")
        if self.chosen:
            return (f"Pod {self.pod}: pending; evaluated now (t={self.time:.3f}s), it would go to {self.chosen} "
                    f"({self.feasible}/{self.num_nodes} nodes feasible)")
        return f"Pod {self.pod}: pending; evaluated at t={self.time:.3f}s: {self.message}"

    def table(self) -> str:
        titles = [f"{_SHORT.get(n, n)}×{w}" for n, w in self.plugins]
        rows = []
        for nr in self.nodes:
            cells = []
            if nr.scores:
                cells = [str(nr.scores[n].score) if n in nr.scores else "" for n, _w in self.plugins]
                cells.append(str(nr.total))
            rows.append((nr.name, nr.result, cells))
        name_w = max([4] + [len(r[0]) for r in rows])
        scored = [r for r in rows if r[2]]
        res_w = max([6] + [len(r[1]) for r in scored]) if scored else 6
        header = f"{'NODE':<{name_w}}  {'RESULT':<{res_w}}"
        if self.plugins:
            header += "  " + "  ".join(titles) + "  TOTAL"
        lines = [header.rstrip()]
        for name, result, cells in rows:
            line = f"{name:<{name_w}}  {result:<{res_w}}" if cells else f"{name:<{name_w}}  {result}"
            if cells:
                widths = [len(t) for t in titles] + [5]
                line += "  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
            lines.append(line.rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        parts = [self.headline()]
        if self.note:
            parts.append(self.note)
        parts.append(self.table())
        return "\n".join(parts)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self) if not cycle else "Explanation(...)")


class Decision:
    """What one scheduling attempt saw, kept compactly (numpy arrays over the nodes it looked at)."""

    __slots__ = ("key", "uid", "time", "names", "processed", "rejections", "scored", "scores", "total",
                 "chosen", "message", "num_nodes", "pre_filter", "all_names")

    def __init__(self, key, uid, time, names, processed, rejections, scored, scores, total, chosen, message,
                 num_nodes, pre_filter=None, all_names=()):
        self.key = key
        self.uid = uid
        self.time = time
        self.names = names  # slot -> node name, at the time
        self.processed = processed  # slots looked at, in order
        self.rejections = rejections  # [(plugin, Rejections over all slots)] (shared, never changed)
        self.scored = scored  # slots scored (feasible), in order
        self.scores = scores  # [(plugin name, weight, raw, normalized)] over `scored`
        self.total = total
        self.chosen = chosen  # node name or None
        self.message = message
        self.num_nodes = num_nodes
        self.pre_filter = pre_filter  # (plugin, Status) when PreFilter rejected the pod
        self.all_names = all_names  # every node at the time

    @staticmethod
    def _at(a, j: int) -> int:
        return int(a) if np.ndim(a) == 0 else int(a[j])

    def explanation(self, pod: str, *, recorded: bool, note: str = "") -> Explanation:
        results: dict[int, NodeResult] = {}
        for slot in self.processed:
            nr = NodeResult(self.names[slot])
            if self.pre_filter is not None:
                nr.filtered_by, nr.reason = self.pre_filter[0], self.pre_filter[1].message
            else:
                for plugin, rej in self.rejections:
                    st = rej.status_of(slot)
                    if st is not None:
                        nr.filtered_by = plugin if isinstance(plugin, str) else plugin.name
                        nr.reason = st.message
                        break
            nr.feasible = nr.filtered_by is None
            results[int(slot)] = nr
        plugins = [(name, w) for name, w, raw, norm in self.scores if norm is not None]
        for j, slot in enumerate(self.scored):
            nr = results[int(slot)]
            nr.scores = {name: PluginScore(name, self._at(raw, j), self._at(norm, j), w)
                         for name, w, raw, norm in self.scores if norm is not None}
            nr.total = self._at(self.total, j)
        for nr in results.values():
            nr.chosen = nr.name == self.chosen
        nodes = list(results.values())
        seen = {nr.name for nr in nodes}
        for name in self.all_names:
            if name not in seen:
                nodes.append(NodeResult(name, evaluated=False))
        feasible = sum(1 for nr in results.values() if nr.feasible)
        return Explanation(pod, nodes, self.chosen, self.message, time=self.time, recorded=recorded,
                           plugins=plugins, evaluated=len(self.processed), feasible=feasible,
                           num_nodes=self.num_nodes, note=note)
