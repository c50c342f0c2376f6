"""``plot.scheduling(c, pod)``: why the scheduler put a pod where it did, as a picture.

kube-scheduler decides in two rounds (the scheduling framework):

1. **Filter**: each filter plugin may reject a node (``TaintToleration``:
   ``node(s) had untolerated taint``, ``NodeResourcesFit``: ``Insufficient cpu``…).
   The left panel lists the rejections, grouped by plugin and reason, with the nodes
   each removed.
2. **Score**: the nodes left are scored by each score plugin (0–100, times the
   plugin's weight); the highest total wins. The right panel stacks each node's
   weighted scores, highest total first, and marks the chosen node.

The data is :meth:`Scheduler.explain` (``c.scheduler.explain(pod)``): for a bound
pod the decision recorded when it was scheduled, for a pending one the scheduler's
verdict if it tried now.
"""

from __future__ import annotations

import textwrap

from matplotlib.patches import FancyBboxPatch

from k8slab.viz.palette import ERROR, FAINT, HIGHLIGHT, INK, MUTED, OK, plugin_colour
from k8slab.viz.style import (
    LABEL_SIZE,
    SMALL_SIZE,
    TINY_SIZE,
    figure,
    inch_axes,
    legend,
    natural_key,
    shorten,
    swatch,
    tidy_axes,
)

#: Scored nodes drawn at most (the winner is always among them).
MAX_SCORED = 14
_SHORT = {"NodeResourcesBalancedAllocation": "BalancedAllocation"}


def _groups(explanation) -> list[tuple[str, str, list[str]]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for nr in explanation.nodes:
        if nr.evaluated and nr.filtered_by is not None:
            groups.setdefault((nr.filtered_by, nr.reason or ""), []).append(nr.name)
    return sorted(((p, r, sorted(ns, key=natural_key)) for (p, r), ns in groups.items()),
                  key=lambda g: (-len(g[2]), g[0], g[1]))


def scheduling(c, pod: str, namespace: str = "default"):
    """Draw the scheduler's reasoning for ``pod``: the nodes each filter removed, the scores of the rest.

    Parameters
    ----------
    c : k8slab.Cluster
    pod : str
        The pod's name.
    namespace : str

    Returns
    -------
    LabFigure
        ``fig.k8slab`` holds ``filtered`` (node → ``(plugin, reason)``), ``feasible``,
        ``not_evaluated``, ``scores`` (node → plugin → weighted score), ``totals``,
        ``winner`` (the chosen node or ``None``) and ``explanation`` (what
        ``c.scheduler.explain`` returned).

    Example
    -------
    >>> import k8slab
    >>> from k8slab import plot
    >>> c = k8slab.Cluster(workers=2, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
    ...              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}})
    >>> _ = c.run()
    >>> fig = plot.scheduling(c, "web")
    >>> fig.k8slab["winner"] == c.get("pod", "web")["spec"]["nodeName"]
    True
    >>> fig.k8slab["filtered"]["control-plane"][0], fig.k8slab["feasible"]
    ('TaintToleration', ['worker-1', 'worker-2'])
    """
    e = c.scheduler.explain(pod, namespace)
    groups = _groups(e)
    feasible = [nr for nr in e.nodes if nr.evaluated and nr.filtered_by is None]
    not_evaluated = [nr.name for nr in e.nodes if not nr.evaluated]
    scored = sorted((nr for nr in feasible if nr.scores), key=lambda nr: (-(nr.total or 0), natural_key(nr.name)))
    drawn = scored[:MAX_SCORED]
    if e.chosen and all(nr.name != e.chosen for nr in drawn):
        drawn = drawn[: MAX_SCORED - 1] + [nr for nr in scored if nr.name == e.chosen]

    # -- the filter panel's lines ---------------------------------------------------------------
    lines: list[tuple[str, str, str, float]] = []  # (text, colour, weight, size)
    evaluated = sum(1 for nr in e.nodes if nr.evaluated)
    lines.append((f"{len(e.nodes)} nodes, {evaluated} evaluated", INK, "bold", LABEL_SIZE))
    for plugin, reason, names in groups:
        lines.append((f"✗ {plugin}: {len(names)} node{'s' if len(names) != 1 else ''}", ERROR, "bold", LABEL_SIZE))
        for part in textwrap.wrap(reason, 62)[:3]:
            lines.append((f"   {part}", INK, "normal", SMALL_SIZE))
        shown = ", ".join(names[:6]) + (f", +{len(names) - 6} more" if len(names) > 6 else "")
        for part in textwrap.wrap(shown, 62)[:2]:
            lines.append((f"   {part}", MUTED, "normal", SMALL_SIZE))
    if feasible:
        names = sorted((nr.name for nr in feasible), key=natural_key)
        lines.append((f"✓ feasible: {len(feasible)} node{'s' if len(feasible) != 1 else ''}", OK, "bold",
                      LABEL_SIZE))
        shown = ", ".join(names[:6]) + (f", +{len(names) - 6} more" if len(names) > 6 else "")
        for part in textwrap.wrap(shown, 62)[:2]:
            lines.append((f"   {part}", MUTED, "normal", SMALL_SIZE))
    if not_evaluated:
        lines.append((f"· not evaluated: {len(not_evaluated)} (enough feasible nodes were found)", MUTED, "bold",
                      LABEL_SIZE))
    if e.note:
        for part in textwrap.wrap(e.note, 62):
            lines.append((part, MUTED, "normal", SMALL_SIZE))
    if not e.chosen and e.message:
        for part in textwrap.wrap(e.message, 62):
            lines.append((part, ERROR, "normal", SMALL_SIZE))

    left_w, right_w = 4.9, 6.4
    line_h = 0.19
    filter_h = 0.85 + line_h * len(lines)
    legend_h = 0.45 + 0.2 * ((len(e.plugins) + 1) // 2)
    score_h = 0.8 + 0.34 * max(len(drawn), 1) + 0.5 + legend_h
    body_h = max(filter_h, score_h, 2.2)
    width = left_w + right_w

    if e.recorded and e.chosen:
        title = f"Scheduling of pod {e.pod}: {e.chosen} chosen"
    elif e.chosen:
        title = f"Scheduling of pod {e.pod} (pending): it would go to {e.chosen}"
    else:
        title = f"Scheduling of pod {e.pod}: no node fits"
    head = textwrap.wrap(e.headline(), int(width / 0.072))
    if len(head) > 2:
        head = head[:2]
        head[1] = shorten(head[1], int(width / 0.072) - 2) + ("" if head[1].endswith("…") else " …")
    subtitle = "\n".join(head + ["Left: the Filter plugins' verdicts. Right: each feasible node's score "
                                 "per Score plugin (score × weight); the highest total wins."])
    fig, body = figure(width, body_h, title, subtitle)
    fig.summary = f"scheduling of {e.pod}: " + (f"{e.chosen} chosen" if e.chosen else "no node fits")

    ax_f = inch_axes(fig, 0, 0, left_w, body_h, gid="filter")
    ax_f.add_patch(FancyBboxPatch((0.12, 0.1), left_w - 0.3, body_h - 0.2, boxstyle="round,pad=0,rounding_size=0.08",
                                  facecolor="#FAFBFC", edgecolor=FAINT))
    ax_f.text(0.3, body_h - 0.3, "Filter", fontsize=LABEL_SIZE + 2, fontweight="bold", color=INK, va="center")
    y = body_h - 0.6
    for text, colour, weight, size in lines:
        ax_f.text(0.3, y, text, fontsize=size, color=colour, fontweight=weight, va="center", ha="left")
        y -= line_h

    scores: dict[str, dict[str, int]] = {}
    if drawn and e.plugins:
        plot_h = 0.34 * len(drawn)
        fw, fh = fig.get_size_inches()
        ax = fig.add_axes(((left_w + 1.5) / fw, (body_h - 0.8 - plot_h) / fh, (right_w - 2.0) / fw, plot_h / fh),
                          gid="scores")
        tidy_axes(ax, grid_axis="x")
        names = [nr.name for nr in drawn][::-1]  # highest at the top
        left = [0] * len(names)
        for plugin, weight in e.plugins:
            vals = []
            for nr in drawn[::-1]:
                ps = nr.scores.get(plugin)
                vals.append(ps.weighted if ps else 0)
            bars = ax.barh(names, vals, left=left, color=plugin_colour(plugin), edgecolor="white", linewidth=0.6,
                           height=0.62, label=f"{_SHORT.get(plugin, plugin)} ×{weight}")
            for bar, nr_name in zip(bars, names, strict=True):
                bar.set_gid(f"score:{nr_name}:{plugin}")
            left = [a + b for a, b in zip(left, vals, strict=True)]
        for i, nr in enumerate(drawn[::-1]):
            winner = nr.name == e.chosen
            ax.text(left[i] + max(left) * 0.01, i, f" {nr.total}" + ("  ★ chosen" if winner else ""),
                    va="center", ha="left", fontsize=SMALL_SIZE + 0.5, color=INK,
                    fontweight="bold" if winner else "normal", gid="winner" if winner else None)
            if winner:
                ax.barh([nr.name], [left[i]], color="none", edgecolor=HIGHLIGHT, linewidth=2.4, height=0.78,
                        gid="winner-outline")
        for tick in ax.get_yticklabels():
            if tick.get_text() == e.chosen:
                tick.set_fontweight("bold")
        ax.set_xlim(0, max(left) * 1.28 if max(left) else 1)
        ax.set_xlabel("weighted score (score × plugin weight)", fontsize=SMALL_SIZE, color=MUTED)
        ax.text(0, 1.0, "Score", transform=ax.transAxes, fontsize=LABEL_SIZE + 2, fontweight="bold", color=INK,
                va="bottom", ha="left")
        ax.text(1.0, 1.0, f"{len(scored)} scored" + (f", best {len(drawn)} shown" if len(scored) > len(drawn)
                                                     else ""),
                transform=ax.transAxes, fontsize=TINY_SIZE, color=MUTED, va="bottom", ha="right")
        handles = [swatch(plugin_colour(p), f"{shorten(_SHORT.get(p, p), 22)} ×{w}") for p, w in e.plugins]
        legend(ax, handles, title="Score plugin × weight", loc="upper left", bbox=(0.0, -0.5 / plot_h), ncol=2)
    else:
        ax = inch_axes(fig, left_w, 0, right_w, body_h, gid="scores")
        if e.chosen and feasible:
            text = "The only feasible node: chosen without scoring."
        elif not e.chosen:
            text = "No node passed the filters:\nthe pod stays Pending (event FailedScheduling)."
        else:
            text = ""
        ax.text(right_w / 2, body_h / 2, text, ha="center", va="center", fontsize=LABEL_SIZE, color=MUTED,
                style="italic")
    for nr in scored:
        scores[nr.name] = {p: ps.weighted for p, ps in nr.scores.items()}

    fig.k8slab.update({
        "kind": "scheduling",
        "filtered": {nr.name: (nr.filtered_by, nr.reason) for nr in e.nodes if nr.evaluated and nr.filtered_by},
        "feasible": sorted((nr.name for nr in feasible), key=natural_key),
        "not_evaluated": not_evaluated,
        "scores": scores,
        "totals": {nr.name: nr.total for nr in scored},
        "drawn": [nr.name for nr in drawn],
        "winner": e.chosen,
        "explanation": e,
    })
    return fig
