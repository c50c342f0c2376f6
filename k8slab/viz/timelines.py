"""``plot.timeline(c)`` and ``plot.placement(c)``: pods over virtual time, read from etcd's history.

Nothing extra is recorded for these figures: etcd keeps every version of every pod
(each status update, the binding, the deletion), and :mod:`k8slab.viz.history`
turns those versions into spans of time in one state on one node.

* ``timeline``: one row per pod (grouped by owner), its bar coloured by what it was
  doing — Pending, ContainerCreating, Running (Ready or not), Terminating,
  Succeeded, Failed — so a rolling update shows as new pods starting while old ones
  terminate, and a node failure as pods going not-Ready, then replaced elsewhere.
  Shaded bands mark when a node was NotReady.
* ``placement``: a heatmap of how many pods each node held, sampled at regular
  instants; hatched cells are times the node was NotReady.

k8slab simplification: when etcd has been compacted, the history starts at the
compaction; times of revisions come from the trace, or are estimated from object
timestamps when the trace is off (see :class:`~k8slab.viz.history.RevisionClock`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.patches import Rectangle

from k8slab.viz.history import RevisionClock, count_at, node_spans, pod_stories, sample_times
from k8slab.viz.nodes import CONTROL_PLANE_LABEL
from k8slab.viz.ownership import Ownership, objects
from k8slab.viz.palette import ERROR, INK, MUTED, POD_STATE_COLOURS, lighten, text_colour_on
from k8slab.viz.style import (
    SMALL_SIZE,
    TINY_SIZE,
    figure,
    legend,
    natural_key,
    shorten,
    swatch,
    tidy_axes,
)

_STATE_ORDER = ["Pending", "ContainerCreating", "NotReady", "Running", "Terminating", "Succeeded", "Failed",
                "Unknown"]
_STATE_LABELS = {"NotReady": "Running, not Ready", "Running": "Running, Ready", "Pending": "Pending (unscheduled)"}


def _window(c, stories, since, until) -> tuple[float, float]:
    t0 = float(since) if since is not None else min([s.created for s in stories] + [0.0])
    t1 = float(until) if until is not None else c.now
    return t0, max(t1, t0 + 1e-6)


def _node_order(c, names) -> list[str]:
    cp = {n["metadata"]["name"] for n in objects(c, "nodes")
          if CONTROL_PLANE_LABEL in (n["metadata"].get("labels") or {})}
    return sorted(names, key=lambda n: (n not in cp, natural_key(n)))


def timeline(c, *, namespace: str | None = "default", since: float | None = None, until: float | None = None,
             max_pods: int = 60):
    """Draw each pod's states over virtual time (a rolling update, a node failure, the recovery).

    Parameters
    ----------
    c : k8slab.Cluster
    namespace : str or None
        Pods of this namespace (``None``: every namespace).
    since, until : float, optional
        The window, in virtual seconds (default: from the first pod to now).
    max_pods : int
        Rows drawn at most (the first pods of the window, by owner then creation).

    Returns
    -------
    LabFigure
        ``fig.k8slab`` holds ``pods`` (``namespace/name`` per row, top to bottom; a
        name reused by a new pod appears again), ``spans`` (row → list of
        ``(start, end, state, node)``), ``node_spans`` (node → its NotReady /
        cordoned spans) and ``times`` (where times come from).

    Example
    -------
    >>> import k8slab
    >>> from k8slab import plot
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> fig = plot.timeline(c, namespace="kube-system")
    >>> len(fig.k8slab["pods"]) == len(c.get("pods", namespace="kube-system"))
    True
    >>> sorted({spans[-1][2] for spans in fig.k8slab["spans"]})
    ['Running']
    """
    clock = RevisionClock(c)
    stories = pod_stories(c, namespace, clock)
    t0, t1 = _window(c, stories, since, until)
    stories = [s for s in stories if s.created <= t1 and (s.deleted is None or s.deleted >= t0)]
    stories.sort(key=lambda s: (str(s.owner), s.created, s.name))
    omitted = max(0, len(stories) - max_pods)
    stories = stories[:max_pods]
    nodes = node_spans(c, clock)
    troubles = {n: [s for s in spans if s.state != "Ready" and s.end > t0 and s.start < t1]
                for n, spans in nodes.items()}
    troubles = {n: v for n, v in troubles.items() if v}

    rows = max(len(stories), 1)
    n_states = len({sp.state for s in stories for sp in s.spans}) + (1 if troubles else 0)
    plot_h = max(0.24 * rows + 0.25 * len(troubles), 0.45 + 0.2 * n_states)
    body_h = 0.55 + plot_h + 0.15
    width = 12.0
    where = f" in namespace {namespace}" if namespace else ""
    title = f"Pod timeline{where}: {len(stories)} pods, t={t0:.0f}s to {t1:.0f}s"
    subtitle = (f"One row per pod, coloured by what it was doing; labels name its node. From etcd's history of "
                f"pods ({clock.describe()}).")
    if omitted:
        subtitle += f"\n{omitted} more pods not shown (raise max_pods, or narrow since/until or namespace)."
    fig, body = figure(width, body_h, title, subtitle)
    fw, fh = fig.get_size_inches()
    ax = fig.add_axes((3.0 / fw, 0.55 / fh, (width - 5.0) / fw, plot_h / fh), gid="timeline")
    tidy_axes(ax, grid_axis="x")
    owners = Ownership(c)
    ax.set_xlim(t0, t1)
    ax.set_ylim(rows - 0.5, -0.5 - 0.9 * len(troubles))
    present = set()
    spans_out = []
    span_w = (t1 - t0)
    for i, s in enumerate(stories):
        colour = owners.colour(s.owner)
        row = []
        for sp in s.spans:
            a, b = max(sp.start, t0), min(sp.end, t1)
            row.append((sp.start, sp.end, sp.state, sp.node))
            if b <= a:
                continue
            present.add(sp.state)
            fc = POD_STATE_COLOURS.get(sp.state, POD_STATE_COLOURS["Unknown"])
            ax.broken_barh([(a, b - a)], (i - 0.36, 0.72), facecolors=fc, edgecolors="white", linewidth=0.5,
                           gid=f"span:{s.key}:{sp.state}")
            # name the node inside a long enough span, where it changes
            if sp.node and (b - a) / span_w * (width - 5.0) > 0.08 * len(sp.node) + 0.1:
                ax.text(a + span_w * 0.004, i, sp.node, fontsize=TINY_SIZE, color=text_colour_on(fc),
                        va="center", ha="left", clip_on=True)
        if s.deleted is not None and t0 <= s.deleted <= t1:
            ax.plot([s.deleted], [i], marker="x", color=INK, markersize=4, linewidth=0)
        spans_out.append(row)
        ax.add_patch(Rectangle((-0.018, i - 0.36), 0.006, 0.72, transform=ax.get_yaxis_transform(),
                               facecolor=colour, edgecolor="none", clip_on=False))
    ax.set_yticks(range(len(stories)))
    ax.set_yticklabels([shorten(s.name, 34) for s in stories], fontsize=SMALL_SIZE, color=INK)
    ax.tick_params(axis="y", length=0, pad=10)
    ax.set_xlabel("virtual time (s)", fontsize=SMALL_SIZE, color=MUTED)
    for j, (node, spans) in enumerate(sorted(troubles.items(), key=lambda kv: natural_key(kv[0]))):
        y = -1 - 0.9 * j
        for sp in spans:
            colour = ERROR if sp.state == "NotReady" else "#A0855B"
            a, b = max(sp.start, t0), min(sp.end, t1)
            ax.axvspan(a, b, color=lighten(colour, 0.88), zorder=0, gid=f"node:{node}:{sp.state}")
            ax.broken_barh([(a, b - a)], (y - 0.25, 0.5), facecolors=colour, edgecolors="none")
            ax.text(a + span_w * 0.004, y, f"{node} {sp.state}", fontsize=TINY_SIZE, color="white",
                    va="center", ha="left", clip_on=True, fontweight="bold")
    handles = [swatch(POD_STATE_COLOURS[s], _STATE_LABELS.get(s, s)) for s in _STATE_ORDER if s in present]
    if troubles:
        handles.append(swatch(lighten(ERROR, 0.8), "node NotReady"))
    legend(fig, handles, title="Pod state", loc="upper left", bbox=((width - 1.9) / fw, (0.55 + plot_h) / fh))

    fig.k8slab.update({
        "kind": "timeline",
        "pods": [s.key for s in stories],
        "spans": spans_out,
        "node_spans": {n: [(s.start, s.end, s.state) for s in v] for n, v in troubles.items()},
        "omitted": omitted,
        "times": clock.source,
    })
    fig.summary = f"timeline, {len(stories)} pods, t={t0:.0f}s to {t1:.0f}s"
    return fig


_HEAT = LinearSegmentedColormap.from_list("k8slab-pods", ["#FFFFFF", "#CFE0F1", "#6E9DC9", "#2F5F8F", "#1F3A5F"])


def placement(c, *, namespace: str | None = None, bins: int = 40, since: float | None = None,
              until: float | None = None):
    """Draw a heatmap of how many pods each node held over virtual time.

    Counts are sampled from etcd's history of pods (every version of every pod): at
    the end of each of ``bins`` equal slices of time, the pods bound to the node
    (``spec.nodeName``) and not finished (Succeeded/Failed) or deleted. Pods not yet
    scheduled are counted on a *Pending* row.

    Parameters
    ----------
    c : k8slab.Cluster
    namespace : str, optional
        Only pods of this namespace (default: all).
    bins : int
        Number of time slices.
    since, until : float, optional
        The window in virtual seconds (default: from the start to now).

    Returns
    -------
    LabFigure
        ``fig.k8slab`` holds ``nodes`` (row names, ``"Pending"`` last when present),
        ``times`` (the sample instants), ``counts`` (a row per node, a column per time)
        and ``source``.

    Example
    -------
    >>> import k8slab
    >>> from k8slab import plot
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> fig = plot.placement(c, bins=4)
    >>> fig.k8slab["nodes"], len(fig.k8slab["times"])
    (['control-plane', 'worker-1'], 4)
    >>> [row[-1] for row in fig.k8slab["counts"]] == [len(c.node(n).pods) for n in fig.k8slab["nodes"]]
    True
    """
    clock = RevisionClock(c)
    stories = pod_stories(c, namespace, clock)
    t0, t1 = _window(c, stories, since, until)
    times = sample_times(t0, t1, bins)
    by_node: dict[str, tuple[list, list]] = {}
    for s in stories:
        for sp in s.spans:
            if sp.state in ("Succeeded", "Failed"):
                continue
            where = sp.node or ("Pending" if sp.state == "Pending" else None)
            if where is None:
                continue
            starts, ends = by_node.setdefault(where, ([], []))
            starts.append(sp.start)
            ends.append(sp.end if s.deleted is not None or sp.end < clock.now else np.inf)
    nspans = node_spans(c, clock)
    names = _node_order(c, set(nspans) | (set(by_node) - {"Pending"}))
    counts = np.array([count_at(*by_node.get(n, ([], [])), times) for n in names], dtype=int).reshape(len(names),
                                                                                                     len(times))
    pending = count_at(*by_node.get("Pending", ([], [])), times)
    if pending.any():
        names.append("Pending")
        counts = np.vstack([counts, pending])

    rows = len(names)
    body_h = 0.6 + max(rows, 1) * 0.32 + 0.15
    width = 12.0
    title = f"Pods per node over time, t={t0:.0f}s to {t1:.0f}s"
    subtitle = ("Sampled from etcd's history of pods: each cell counts the pods bound to the node (not finished) "
                "at the end of its time slice.\n"
                f"Hatched red: the node was NotReady. {clock.describe().capitalize()}.")
    fig, body = figure(width, body_h, title, subtitle)
    fw, fh = fig.get_size_inches()
    plot_h = max(rows, 1) * 0.32
    ax = fig.add_axes((1.6 / fw, 0.6 / fh, (width - 3.4) / fw, plot_h / fh), gid="placement")
    tidy_axes(ax, grid_axis=None)
    vmax = max(int(counts.max()) if counts.size else 1, 1)
    im = ax.imshow(counts, aspect="auto", cmap=_HEAT, vmin=0, vmax=vmax, interpolation="nearest",
                   extent=(t0, t1, rows - 0.5, -0.5))
    im.set_gid("heatmap")
    ax.set_yticks(range(rows))
    ax.set_yticklabels(names, fontsize=SMALL_SIZE, color=INK)
    ax.set_xlabel("virtual time (s)", fontsize=SMALL_SIZE, color=MUTED)
    cell_w = (width - 3.4) / max(len(times), 1)
    if cell_w >= 0.22 and rows <= 20:
        step = (t1 - t0) / len(times)
        for r in range(rows):
            for k in range(len(times)):
                v = int(counts[r, k])
                shade = _HEAT(v / vmax)
                ax.text(t0 + step * (k + 0.5), r, str(v), ha="center", va="center", fontsize=TINY_SIZE,
                        color="white" if sum(shade[:3]) < 1.6 else INK)
    for r, name in enumerate(names):
        for sp in nspans.get(name, []):
            if sp.state != "NotReady" or sp.end <= t0 or sp.start >= t1:
                continue
            a, b = max(sp.start, t0), min(sp.end, t1)
            ax.add_patch(Rectangle((a, r - 0.5), b - a, 1.0, fill=False, hatch="///", edgecolor=ERROR,
                                   linewidth=1.0, gid=f"notready:{name}"))
    cax = fig.add_axes(((width - 1.55) / fw, 0.6 / fh, 0.15 / fw, plot_h / fh))
    cb = fig.colorbar(im, cax=cax)
    cb.set_label("pods on the node", fontsize=SMALL_SIZE, color=MUTED)
    cb.ax.tick_params(labelsize=TINY_SIZE, colors=MUTED)
    cb.outline.set_visible(False)

    fig.k8slab.update({
        "kind": "placement",
        "nodes": names,
        "times": [float(t) for t in times],
        "counts": counts.tolist(),
        "source": "etcd history",
        "times_from": clock.source,
    })
    fig.summary = f"placement, {len([n for n in names if n != 'Pending'])} nodes, t={t0:.0f}s to {t1:.0f}s"
    return fig
