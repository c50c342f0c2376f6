"""``plot.cluster(c)``: every node as a box, its pods inside, its requests against what it offers.

What a learner sees:

* one box per Node (control plane first, then the workers in natural order), its
  header saying its name and its STATUS as ``kubectl get nodes`` prints it (``Ready``,
  ``NotReady``, ``Ready,SchedulingDisabled``); a NotReady node is tinted red, a
  cordoned one has a dashed border;
* one chip per pod bound to the node (``spec.nodeName``), coloured by its owner
  (Deployment via its ReplicaSet, StatefulSet, DaemonSet, Job, static pods grey),
  drawn solid when Running and Ready, pale while starting, hollow when done;
  unscheduled pods wait in a separate *Pending* box;
* two bars per node: the CPU and memory its pods *request* (as the scheduler counts
  them: ``resourcehelper.PodRequests``) against the node's ``status.allocatable``.

A small cluster shows every pod by name; a large one (more than 6 nodes or 16 pods
on a node) shows small square chips and the counts, so 50 nodes stay legible. A
very large one is sampled: at most ``max_nodes`` boxes (the control plane, every
node in trouble, then the first workers by name); the subtitle counts the others.

k8slab simplification: requests of pods in Succeeded/Failed phase are not counted
(the scheduler ignores them too); limits are not drawn.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.patches import FancyBboxPatch, Rectangle

from k8slab.controlplane.scheduler.resources import node_allocatable, pod_requests
from k8slab.kubectl.pod_status import pod_status_text
from k8slab.viz.batch import LabelBatch, ShapeBatch
from k8slab.viz.history import node_state, pod_state
from k8slab.viz.nodes_layout import chip_cells, chips_layout, names_layout, sample
from k8slab.viz.ownership import Ownership, objects
from k8slab.viz.palette import (
    CONTROL_PLANE_HEADER,
    ERROR,
    FAINT,
    INK,
    MUTED,
    NODE_COLOURS,
    POD_STATE_COLOURS,
    WARNING,
    lighten,
    text_colour_on,
)
from k8slab.viz.style import (
    SMALL_SIZE,
    TINY_SIZE,
    draw_key,
    figure,
    inch_axes,
    key_height,
    natural_key,
    shorten,
)

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
PENDING_BOX = "(pending)"

#: Above this many nodes, or pods on one node, chips lose their names.
NAMES_MAX_NODES = 6
NAMES_MAX_PODS = 16
#: Above this many nodes the picture is sampled (50 nodes are drawn in full).
MAX_NODES = 60

_STATE_LABELS = {
    "Running": "Running, Ready",
    "NotReady": "Running, not Ready",
    "ContainerCreating": "starting (ContainerCreating)",
    "Pending": "Pending (not scheduled)",
    "Terminating": "Terminating",
    "Succeeded": "Succeeded (Completed)",
    "Failed": "Failed",
    "Unknown": "Unknown",
}


def chip_style(colour: str, state: str) -> dict:
    """Face, edge and line style of a pod chip of owner ``colour`` in ``state``."""
    if state == "Running":
        return {"face": colour, "edge": "#FFFFFF", "ls": "-", "lw": 0.6}
    if state == "NotReady":
        return {"face": lighten(colour, 0.45), "edge": colour, "ls": "-", "lw": 1.0}
    if state == "ContainerCreating":
        return {"face": lighten(colour, 0.7), "edge": colour, "ls": "--", "lw": 1.0}
    if state == "Pending":
        return {"face": lighten(colour, 0.7), "edge": WARNING, "ls": "--", "lw": 1.2}
    if state == "Terminating":
        return {"face": lighten(colour, 0.8), "edge": INK, "ls": ":", "lw": 1.2}
    if state == "Succeeded":
        return {"face": "#FFFFFF", "edge": colour, "ls": "-", "lw": 1.2}
    if state == "Failed":
        return {"face": lighten(ERROR, 0.6), "edge": ERROR, "ls": "-", "lw": 1.4}
    return {"face": POD_STATE_COLOURS["Unknown"], "edge": MUTED, "ls": "-", "lw": 0.8}


def _kubectl_status(node: dict | None, state: str) -> str:
    if node is None:
        return "Unknown"
    ready = "Ready" if state != "NotReady" else "NotReady"
    return f"{ready},SchedulingDisabled" if (node.get("spec") or {}).get("unschedulable") else ready


def _cpu(millis: float) -> str:
    return f"{millis / 1000:.2f}".rstrip("0").rstrip(".") if millis % 1000 else f"{millis / 1000:.0f}"


def _mem(n: float) -> str:
    for unit, size in (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if n >= size:
            v = n / size
            return f"{v:.1f}{unit}" if v < 10 and v != int(v) else f"{v:.0f}{unit}"
    return f"{n:.0f}"


BAR_BACKGROUND = "#E9ECF1"


def _bar_colour(fraction: float) -> str:
    return ERROR if fraction > 1 else WARNING if fraction >= 0.8 else "#5B8DB8"


class _Box:
    """One node's box (or the Pending box) and what goes in it."""

    def __init__(self, name: str, node: dict | None, pods: list[dict]):
        self.name = name
        self.node = node
        self.pods = pods
        self.pending = name == PENDING_BOX
        self.state = "Pending" if self.pending else (node_state(node) if node is not None else "NotReady")
        self.control_plane = node is not None and CONTROL_PLANE_LABEL in ((node.get("metadata") or {}).get("labels") or {})
        self.status = "" if self.pending else _kubectl_status(node, self.state)
        self.requests = {"cpu": 0, "memory": 0}
        self.allocatable = node_allocatable(node) if node is not None else {}
        for p in pods:
            if ((p.get("status") or {}).get("phase")) in ("Succeeded", "Failed"):
                continue
            r = pod_requests(p)
            self.requests["cpu"] += r.get("cpu", 0)
            self.requests["memory"] += r.get("memory", 0)


def cluster(c, *, namespace: str | None = None, max_owners: int = 12, max_nodes: int = MAX_NODES):
    """Draw the nodes of cluster ``c`` with their pods inside and their CPU/memory requests.

    Parameters
    ----------
    c : k8slab.Cluster
    namespace : str, optional
        Only the pods of this namespace (the default shows every namespace, system pods too).
    max_owners : int
        How many owners the legend names (the ones with most pods).
    max_nodes : int
        At most this many node boxes: a larger cluster is sampled (the control plane,
        then every NotReady or cordoned node, then the first nodes by name) and the
        subtitle says how many nodes and pods are left out, by state.

    Returns
    -------
    LabFigure
        ``fig.k8slab`` holds ``nodes`` (names, in drawing order), ``node_state``
        (``Ready``/``NotReady``/``SchedulingDisabled``), ``control_plane``, ``chips``
        (node → the ``namespace/name`` of each pod drawn in it; the Pending box is
        ``"(pending)"``), ``pod_state``, ``owners`` (legend label → colour),
        ``allocation`` (node → resource → ``(requested, allocatable)``), ``mode``
        (``"names"`` or ``"chips"``) and, for the nodes left out of a sampled picture,
        ``hidden`` (node state → how many; empty when every node is drawn) and
        ``hidden_pods`` (how many pods they hold). All but ``pod_state``, ``owners``
        and the legend are about the nodes drawn.

    Example
    -------
    >>> import k8slab
    >>> from k8slab import plot
    >>> c = k8slab.Cluster(workers=2, seed=0)
    >>> fig = plot.cluster(c)
    >>> fig.k8slab["nodes"], fig.k8slab["node_state"]["worker-1"], len(fig.axes)
    (['control-plane', 'worker-1', 'worker-2'], 'Ready', 1)
    >>> sum(len(chips) for chips in fig.k8slab["chips"].values()) == len(c.get("pods", namespace=None))
    True
    """
    nodes = objects(c, "nodes")
    pods = objects(c, "pods", namespace)
    owners = Ownership(c)
    by_node: dict[str, list[dict]] = {}
    for p in pods:
        by_node.setdefault((p.get("spec") or {}).get("nodeName") or PENDING_BOX, []).append(p)

    known = {n["metadata"]["name"]: n for n in nodes}
    order = sorted(known, key=lambda n: (CONTROL_PLANE_LABEL not in (known[n]["metadata"].get("labels") or {}),
                                         natural_key(n)))
    # pods bound to a node whose Node object is gone still get a box: they are somewhere
    order += sorted((n for n in by_node if n not in known and n != PENDING_BOX), key=natural_key)
    if len(order) > max_nodes:
        states = {n: node_state(known[n]) if n in known else "NotReady" for n in order}
        control = {n for n in order if n in known and CONTROL_PLANE_LABEL in (known[n]["metadata"].get("labels") or {})}
        order, hidden = sample(order, states, control, max_nodes)
    else:
        hidden = {}
    hidden_pods = sum(len(by_node.get(n, [])) for n in hidden)
    if PENDING_BOX in by_node:
        order.append(PENDING_BOX)

    info = {}
    for p in pods:
        owner = owners.owner_of(p)
        info[id(p)] = (owner, owners.colour(owner), pod_state(p))
    for name in by_node:
        by_node[name].sort(key=lambda p: (info[id(p)][0].namespace == "kube-system", info[id(p)][0].static,
                                          str(info[id(p)][0]), p["metadata"]["name"]))
    boxes = [_Box(n, known.get(n), by_node.get(n, [])) for n in order]

    max_pods = max([len(b.pods) for b in boxes] + [1])
    names = len(boxes) <= NAMES_MAX_NODES and max_pods <= NAMES_MAX_PODS
    layout = names_layout(len(boxes), max_pods) if names else chips_layout(len(boxes), max_pods)

    # -- the legend's content: node states, pod states present, owners with most pods --------
    counts: dict = {}
    for p in pods:
        owner, colour, _state = info[id(p)]
        counts[owner] = counts.get(owner, 0) + 1
    top = sorted(counts, key=lambda o: (-counts[o], str(o)))
    owner_items = [({"face": owners.colour(o)}, f"{shorten(o.label, 30)} ({counts[o]})") for o in top[:max_owners]]
    if len(top) > max_owners:
        owner_items.append(({"face": "white", "edge": FAINT}, f"+{len(top) - max_owners} more owners"))
    states_present = {info[id(p)][2] for p in pods}
    pod_items = [(chip_style("#8E9AAF", s), _STATE_LABELS[s]) for s in _STATE_LABELS if s in states_present]
    node_items = [
        ({"face": NODE_COLOURS["Ready"]["face"], "edge": NODE_COLOURS["Ready"]["edge"]}, "Ready"),
        ({"face": NODE_COLOURS["NotReady"]["face"], "edge": NODE_COLOURS["NotReady"]["edge"], "lw": 1.6},
         "NotReady"),
        ({"face": NODE_COLOURS["SchedulingDisabled"]["face"], "edge": NODE_COLOURS["SchedulingDisabled"]["edge"],
          "ls": "--", "lw": 1.3}, "SchedulingDisabled (cordoned)"),
        ({"face": CONTROL_PLANE_HEADER}, "control-plane node"),
    ]
    sections = [("Nodes", node_items), ("Pods", pod_items), ("Owners (pods)", owner_items)]

    key_w = 2.7
    grid_w = layout["ncols"] * layout["cell_w"] + (layout["ncols"] + 1) * layout["gap"]
    grid_h = layout["nrows"] * (layout["cell_h"] + layout["gap"]) + layout["gap"]
    body_h = max(grid_h, key_height(sections) + 0.2)
    width = grid_w + key_w
    n_pods = len(pods)
    where = f" in namespace {namespace}" if namespace else ""
    title = f"Cluster at t={c.now:.1f}s: {len(nodes)} nodes, {n_pods} pods{where}"
    subtitle = ("Each box is a node; each chip a pod on it, coloured by its owner. "
                "Bars: CPU and memory requested by its pods / allocatable.")
    if not names:
        subtitle += "\nCrowded: pod names are left out; each header gives the node's pod count."
    if hidden:
        drawn = sum(not b.pending for b in boxes)
        left = Counter(hidden.values())
        by_state = ", ".join(f"{left[s]} {s}" for s in ("Ready", "NotReady", "SchedulingDisabled") if left[s])
        subtitle += (f"\nSampled: {drawn} of {drawn + len(hidden)} nodes drawn (the control plane, nodes in "
                     f"trouble, then by name); not drawn: {by_state}, with {hidden_pods} pods.")
    fig, body = figure(width, body_h, title, subtitle, outlined=True)
    ax = inch_axes(fig, 0, 0, width, body_h, gid="nodes")
    labels = LabelBatch()
    draw_key(ax, grid_w + 0.1, body_h - 0.12, sections, fig=fig, batch=labels)

    # crowded: the boxes and bars of all nodes go in two collections (patches cost ~0.2 ms each)
    boxes_drawn, bars = (None, None) if names else (ShapeBatch(), ShapeBatch())
    polys, faces, edges, styles, widths = [], [], [], [], []
    chips: dict[str, list[str]] = {}
    for i, box in enumerate(boxes):
        row, col = divmod(i, layout["ncols"])
        x0 = layout["gap"] + col * (layout["cell_w"] + layout["gap"])
        top_y = body_h - layout["gap"] - row * (layout["cell_h"] + layout["gap"])
        _draw_box(ax, labels, boxes_drawn, box, x0, top_y, layout, names)
        cells = chip_cells(box, x0, top_y, layout, names)
        chips[box.name] = []
        for p, (cx, cy, cw, ch) in zip(box.pods, cells, strict=False):
            owner, colour, state = info[id(p)]
            st = chip_style(colour, state)
            key = f"{p['metadata'].get('namespace')}/{p['metadata']['name']}"
            chips[box.name].append(key)
            if names:
                _draw_pill(ax, labels, p, cx, cy, cw, ch, colour, state, st)
            else:
                polys.append(((cx, cy), (cx + cw, cy), (cx + cw, cy + ch), (cx, cy + ch)))
                faces.append(st["face"])
                edges.append(st["edge"])
                styles.append({"-": "solid", "--": "dashed", ":": "dotted"}[st["ls"]])
                widths.append(min(st["lw"], 0.9))
        _draw_bars(ax, labels, bars, box, x0, top_y, layout, names)
    if boxes_drawn is not None:
        boxes_drawn.draw(ax, gid="boxes")
    if polys:
        coll = PolyCollection(np.array(polys), facecolors=faces, edgecolors=edges, linewidths=widths,
                              linestyles=styles, gid="chips")
        ax.add_collection(coll)
    if bars is not None:
        bars.draw(ax, gid="bars")
    labels.draw(ax, gid="labels")

    fig.k8slab.update({
        "kind": "cluster",
        "mode": "names" if names else "chips",
        "nodes": [b.name for b in boxes if not b.pending],
        "node_state": {b.name: b.state for b in boxes if not b.pending},
        "control_plane": [b.name for b in boxes if b.control_plane],
        "chips": {b.name: chips[b.name] for b in boxes if not b.pending},
        "pending": chips.get(PENDING_BOX, []),
        "pod_state": {f"{p['metadata'].get('namespace')}/{p['metadata']['name']}": info[id(p)][2] for p in pods},
        "owners": {o.label: owners.colour(o) for o in top},
        "allocation": {b.name: {r: (b.requests[r], b.allocatable.get(r, 0)) for r in ("cpu", "memory")}
                       for b in boxes if not b.pending},
        "hidden": dict(sorted(Counter(hidden.values()).items())),
        "hidden_pods": hidden_pods,
    })
    fig.summary = f"cluster, {len(nodes)} nodes, {n_pods} pods, t={c.now:.1f}s"
    return fig


# -- drawing -------------------------------------------------------------------------------------

def _draw_box(ax, labels: LabelBatch, shapes: ShapeBatch | None, box: _Box, x0: float, top_y: float,
              layout: dict, names: bool) -> None:
    """The node's box, header and header text (patches with gids, or into ``shapes`` when crowded)."""
    w, h = layout["cell_w"], layout["cell_h"]
    if box.pending:
        face, edge, ls, lw, header = "#FFF8E6", WARNING, "--", 1.3, WARNING
    else:
        style = NODE_COLOURS[box.state]
        face, edge, header = style["face"], style["edge"], style["header"]
        ls = "--" if box.state == "SchedulingDisabled" else "-"
        lw = 1.8 if box.state == "NotReady" else 1.2
        if box.control_plane and box.state == "Ready":
            header = CONTROL_PLANE_HEADER
    hh = layout["header"]
    if shapes is not None:
        shapes.add(x0, top_y - h, w, h, face=face, edge=edge, ls=ls, lw=lw, rounding=0.06)
        shapes.add(x0 + 0.03, top_y - hh + 0.03, w - 0.06, hh - 0.06, face=header, rounding=0.04)
    else:
        ax.add_artist(FancyBboxPatch((x0, top_y - h), w, h, boxstyle="round,pad=0,rounding_size=0.06",
                                    facecolor=face, edgecolor=edge, linestyle=ls, linewidth=lw,
                                    gid=f"node:{box.name}" if not box.pending else "pending"))
        ax.add_artist(FancyBboxPatch((x0 + 0.03, top_y - hh + 0.03), w - 0.06, hh - 0.06,
                                    boxstyle="round,pad=0,rounding_size=0.04", facecolor=header, edgecolor="none"))
    fg = text_colour_on(header)
    size = SMALL_SIZE + 1.5 if names else SMALL_SIZE
    title = "Pending (not scheduled)" if box.pending else box.name
    n = len(box.pods)
    if names:
        status = box.status
    else:
        # crowded: the header carries the count (and the trouble, if any)
        trouble = {"NotReady": "NotReady", "SchedulingDisabled": "cordoned"}.get(box.state, "")
        status = f"{trouble} · {n}" if trouble else f"{n} pods"
    if box.pending and names:
        status = ""
    # rough glyph widths (inches) of bold names and plain status text at these sizes
    name_w, status_w = (0.082, 0.06) if names else (0.066, 0.05)
    room = int((w - 0.22 - len(status) * status_w) / name_w)
    labels.add(x0 + 0.1, top_y - hh / 2, shorten(title, max(5, room)), size=size, weight="bold", colour=fg)
    if status:
        labels.add(x0 + w - 0.1, top_y - hh / 2, status, size=size - 1, colour=fg, ha="right")
    if names:
        role = "control plane" if box.control_plane else ("" if box.pending else "worker")
        sub = f"{n} pod{'s' if n != 1 else ''}" + (f" · {role}" if role else "")
        labels.add(x0 + 0.1, top_y - hh - layout["sub"] / 2, sub, size=SMALL_SIZE, colour=MUTED)


def _draw_pill(ax, labels: LabelBatch, pod: dict, x: float, y: float, w: float, h: float, colour: str, state: str, st: dict) -> None:
    ax.add_artist(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.05", facecolor=st["face"],
                                edgecolor=st["edge"], linestyle=st["ls"], linewidth=st["lw"],
                                gid=f"pod:{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"))
    if state == "Running":
        status = ""
    else:
        text = pod_status_text(pod)[0]
        # the pod's Ready condition, which Services go by (the containers may still say ready)
        status = f"{text}, not Ready" if state == "NotReady" else text
    chars = int((w - 0.12) / 0.056) - (len(status) + 1 if status else 0)
    fg = text_colour_on(st["face"]) if st["face"] != "#FFFFFF" else INK
    labels.add(x + 0.07, y + h / 2, shorten(pod["metadata"]["name"], max(8, chars)), size=SMALL_SIZE, colour=fg)
    if status:
        labels.add(x + w - 0.06, y + h / 2, status, size=TINY_SIZE, colour=fg, ha="right", style="italic")


def _draw_bars(ax, labels: LabelBatch, shapes: ShapeBatch | None, box: _Box, x0: float, top_y: float,
               layout: dict, names: bool) -> None:
    if box.pending:
        return
    w, h = layout["cell_w"], layout["cell_h"]
    bottom = top_y - h
    rows = [("cpu", "CPU", _cpu, " cores"), ("memory", "memory", _mem, "")]
    for j, (res, label, fmt, unit) in enumerate(rows):
        req, alloc = box.requests[res], box.allocatable.get(res, 0)
        frac = req / alloc if alloc else 0.0
        if names:
            bar_h, y = 0.1, bottom + 0.1 + (1 - j) * 0.27
            text = f"{label} {fmt(req)} / {fmt(alloc)}{unit} ({100 * frac:.0f}%)"
            labels.add(x0 + 0.1, y + bar_h + 0.035, text, size=TINY_SIZE, colour=MUTED, va="bottom")
            bx, bw = x0 + 0.1, w - 0.2
        else:
            bar_h, y = 0.07, bottom + 0.08 + (1 - j) * 0.13
            labels.add(x0 + 0.08, y + bar_h / 2, "cpu" if res == "cpu" else "mem", size=TINY_SIZE - 0.5,
                       colour=MUTED)
            labels.add(x0 + w - 0.08, y + bar_h / 2, f"{100 * frac:.0f}%", size=TINY_SIZE - 0.5, colour=MUTED,
                       ha="right")
            bx, bw = x0 + 0.34, w - 0.72
        if shapes is not None:
            shapes.add(bx, y, bw, bar_h, face=BAR_BACKGROUND)
            shapes.add(bx, y, bw * min(frac, 1.0), bar_h, face=_bar_colour(frac))
        else:
            ax.add_artist(Rectangle((bx, y), bw, bar_h, facecolor=BAR_BACKGROUND, edgecolor="none"))
            ax.add_artist(Rectangle((bx, y), bw * min(frac, 1.0), bar_h, facecolor=_bar_colour(frac),
                                    edgecolor="none", gid=f"requests:{box.name}:{res}"))
