"""``plot.topology(c)``: the cluster as a graph of Nodes, pods, Services and Ingresses.

Edges say how they are tied together: a pod *runs on* a node (``spec.nodeName``), a
Service *selects* the pods its ``spec.selector`` matches (the same rule the
EndpointSlice controller applies, readiness aside), an Ingress *routes to* the
Services its rules and default backend name.

The layout is computed from names, not by a force simulation, so it does not jump
when a pod comes or goes: nodes on a row (control plane first), each node's pods in
a column under it (sorted by owner, then name), unscheduled pods in a last column,
Services on a row above, each over the middle of the pods it selects, Ingresses on
top over their Services.

k8slab simplification: Services without a selector (``kubernetes``, or ones with
hand-made EndpointSlices) are drawn without edges.
"""

from __future__ import annotations

import math

import networkx as nx
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from k8slab.api.selectors import selector_from_set
from k8slab.viz.history import node_state
from k8slab.viz.nodes import CONTROL_PLANE_LABEL
from k8slab.viz.ownership import Ownership, objects
from k8slab.viz.palette import (
    CONTROL_PLANE_HEADER,
    FAINT,
    INK,
    MUTED,
    NODE_COLOURS,
    WARNING,
    text_colour_on,
)
from k8slab.viz.style import SMALL_SIZE, TINY_SIZE, figure, legend, natural_key, shorten, swatch

#: Pods per column under a node before a second column starts.
ROWS = 10
SERVICE_Y = 1.7
INGRESS_Y = 3.1
POD_DY = 0.55
SPINE = 0.15
#: Above this many "selects" edges, one arrow per Service and node stands for all its pods there.
BUNDLE_OVER = 40

_INGRESS_COLOUR = "#00897B"


def _service_backends(ing: dict) -> list[str]:
    spec = ing.get("spec") or {}
    names = []
    default = ((spec.get("defaultBackend") or {}).get("service") or {}).get("name")
    if default:
        names.append(default)
    for rule in spec.get("rules") or ():
        for path in ((rule.get("http") or {}).get("paths")) or ():
            name = ((path.get("backend") or {}).get("service") or {}).get("name")
            if name and name not in names:
                names.append(name)
    return names


def _spread(items: list[tuple[float, str]], gap: float) -> dict[str, float]:
    """x positions near the wanted ones, at least ``gap`` apart, in order of wanted x then name."""
    out: dict[str, float] = {}
    last = -math.inf
    for x, name in sorted(items):
        x = max(x, last + gap)
        out[name] = x
        last = x
    return out


def topology(c, *, namespace: str | None = None, labels: bool | None = None):
    """Draw cluster ``c`` as a graph: nodes, pods, Services, Ingresses and how they connect.

    Parameters
    ----------
    c : k8slab.Cluster
    namespace : str, optional
        Only pods, Services and Ingresses of this namespace (nodes are always drawn).
    labels : bool, optional
        Name every pod (default: when there are at most 60 pods).

    Returns
    -------
    LabFigure
        ``fig.k8slab["graph"]`` is the :class:`networkx.DiGraph` drawn: graph nodes
        ``node/<name>``, ``pod/<ns>/<name>``, ``service/<ns>/<name>``,
        ``ingress/<ns>/<name>`` (attribute ``type``), edges with attribute ``relation``
        (``runs on``, ``selects``, ``routes to``); ``fig.k8slab["positions"]`` their places.

    Example
    -------
    >>> import k8slab
    >>> from k8slab import plot
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> g = plot.topology(c).k8slab["graph"]
    >>> sorted({d["type"] for _, d in g.nodes(data=True)})
    ['node', 'pod', 'service']
    >>> g.number_of_nodes() == len(c.nodes) + len(c.get("pods", namespace=None)) + len(c.get("services", namespace=None))
    True
    """
    owners = Ownership(c)
    nodes = objects(c, "nodes")
    pods = objects(c, "pods", namespace)
    services = objects(c, "services", namespace)
    ingresses = objects(c, "ingresses", namespace)

    g = nx.DiGraph()
    pos: dict[str, tuple[float, float]] = {}

    node_by_name = {n["metadata"]["name"]: n for n in nodes}
    node_names = sorted(node_by_name, key=lambda n: (CONTROL_PLANE_LABEL not in _labels(node_by_name[n]),
                                                     natural_key(n)))
    on_node: dict[str, list[dict]] = {}
    for p in pods:
        on_node.setdefault((p.get("spec") or {}).get("nodeName") or "", []).append(p)
    columns = node_names + sorted((n for n in on_node if n and n not in node_names), key=natural_key)
    if "" in on_node:
        columns.append("")
    show_labels = labels if labels is not None else len(pods) <= 60
    sub_w = 2.3 if show_labels else 0.7

    x = 0.0
    for name in columns:
        mine = sorted(on_node.get(name, []), key=lambda p: (str(owners.owner_of(p)), p["metadata"]["name"]))
        ncols = max(1, math.ceil(len(mine) / ROWS))
        width = ncols * sub_w
        centre = x + width / 2
        if name:
            node = node_by_name.get(name)
            state = node_state(node) if node is not None else "NotReady"
            g.add_node(f"node/{name}", type="node", label=name, state=state,
                       control_plane=CONTROL_PLANE_LABEL in _labels(node))
            pos[f"node/{name}"] = (centre, 0.0)
        for i, p in enumerate(mine):
            col, row = divmod(i, ROWS)
            pid = f"pod/{p['metadata'].get('namespace')}/{p['metadata']['name']}"
            owner = owners.owner_of(p)
            g.add_node(pid, type="pod", label=p["metadata"]["name"], owner=str(owner), colour=owners.colour(owner),
                       labels=(p["metadata"].get("labels") or {}), namespace=p["metadata"].get("namespace"))
            # a column per ROWS pods, its "spine" (the runs-on connector) just left of the pods
            pos[pid] = (x + col * sub_w + SPINE + 0.3, -0.9 - row * POD_DY)
            if name:
                g.add_edge(pid, f"node/{name}", relation="runs on")
        if not name:
            g.graph["pending_x"] = centre
        x += width + 0.4

    right = x
    pod_ids = [n for n, d in g.nodes(data=True) if d["type"] == "pod"]
    wanted = []
    for svc in services:
        ns = svc["metadata"].get("namespace")
        sid = f"service/{ns}/{svc['metadata']['name']}"
        selector = (svc.get("spec") or {}).get("selector")
        chosen = []
        if selector:
            sel = selector_from_set(selector)
            chosen = [pid for pid in pod_ids if g.nodes[pid]["namespace"] == ns and sel.matches(g.nodes[pid]["labels"])]
        colours = [g.nodes[pid]["colour"] for pid in chosen]
        colour = max(sorted(set(colours)), key=colours.count) if colours else "#B8BEC7"
        g.add_node(sid, type="service", label=svc["metadata"]["name"], colour=colour, namespace=ns,
                   type_=(svc.get("spec") or {}).get("type", "ClusterIP"))
        for pid in chosen:
            g.add_edge(sid, pid, relation="selects")
        xs = [pos[pid][0] for pid in chosen]
        wanted.append((sum(xs) / len(xs) if xs else right, sid))
    longest = max([len(g.nodes[sid]["label"]) for _x, sid in wanted] + [0])
    for sid, sx in _spread(wanted, max(1.3, 0.11 * min(longest, 22) + 0.4)).items():
        pos[sid] = (sx, SERVICE_Y)

    wanted = []
    missing = []
    for ing in ingresses:
        ns = ing["metadata"].get("namespace")
        iid = f"ingress/{ns}/{ing['metadata']['name']}"
        g.add_node(iid, type="ingress", label=ing["metadata"]["name"], namespace=ns)
        xs = []
        for backend in _service_backends(ing):
            sid = f"service/{ns}/{backend}"
            if sid in g:
                g.add_edge(iid, sid, relation="routes to")
                xs.append(pos[sid][0])
            else:
                missing.append(f"{ns}/{backend}")
        wanted.append((sum(xs) / len(xs) if xs else right, iid))
    longest = max([len(g.nodes[iid]["label"]) for _x, iid in wanted] + [0])
    for iid, ix in _spread(wanted, max(1.3, 0.11 * min(longest, 22) + 0.4)).items():
        pos[iid] = (ix, INGRESS_Y)

    # clean graph attributes for the caller: labels dicts were only needed for selection
    for pid in pod_ids:
        del g.nodes[pid]["labels"]

    return _draw(c, g, pos, show_labels, namespace, missing)


def _bundled_selects(ax, g: nx.DiGraph, pos: dict, edges: list) -> None:
    """One arrow from a Service to the first of its pods under each node, labelled with how many."""
    groups: dict[tuple[str, str], list[str]] = {}
    for svc, pod in edges:
        node = next((v for v in g.successors(pod)), "")
        groups.setdefault((svc, node), []).append(pod)
    for (svc, _node), pods in sorted(groups.items()):
        first = min(pods, key=lambda p: (-pos[p][1], pos[p][0]))
        colour = g.nodes[svc]["colour"]
        ax.annotate("", xy=pos[first], xytext=pos[svc], gid=f"selects:{svc}",
                    arrowprops={"arrowstyle": "-|>", "color": colour, "linewidth": 1.0 + min(len(pods), 30) / 10,
                                "linestyle": "--", "alpha": 0.8, "shrinkA": 9, "shrinkB": 5})
        ax.text(pos[first][0] + 0.12, pos[first][1] + 0.16, f"×{len(pods)}", fontsize=TINY_SIZE, color=INK,
                fontweight="bold", ha="left", va="bottom")


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _labels(obj: dict | None) -> dict:
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def _draw(c, g: nx.DiGraph, pos: dict, show_labels: bool, namespace: str | None, missing: list[str]):
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    span_x = max(xs) - min(xs) + 3.0
    span_y = max(ys) - min(ys) + 1.6
    width = min(16.0, max(6.0, span_x * (0.62 if show_labels else 0.5) + 2.8))
    body_h = min(16.0, max(4.0, span_y * 0.62 + 0.6))
    types = {t: [n for n, d in g.nodes(data=True) if d["type"] == t] for t in ("node", "pod", "service", "ingress")}
    rel = {r: [(u, v) for u, v, d in g.edges(data=True) if d["relation"] == r]
           for r in ("runs on", "selects", "routes to")}
    where = f" (namespace {namespace})" if namespace else ""
    title = (f"Topology at t={c.now:.1f}s{where}: {_n(len(types['node']), 'node')}, "
             f"{_n(len(types['pod']), 'pod')}, {_n(len(types['service']), 'Service')}, "
             f"{_n(len(types['ingress']), 'Ingress', 'Ingresses')}")
    subtitle = ("Pods under the node they run on; Services above the pods their selector matches; "
                "Ingresses above the Services they route to.")
    if missing:
        subtitle += f"\nIngress backends naming no Service: {', '.join(sorted(set(missing)))}"
    key_w = 2.6
    width += key_w
    fig, body = figure(width, body_h, title, subtitle)
    ax = fig.add_axes((0.01, 0.01, (width - key_w) / width - 0.01, body - 0.02), gid="topology")
    ax.set_axis_off()

    # runs-on edges as a tree of right angles under each node: no fan of lines across pod names
    segments = []
    for pid, nid in rel["runs on"]:
        (px, py), (nx_, ny) = pos[pid], pos[nid]
        spine = px - 0.3
        segments.append([(nx_, ny - 0.3), (nx_, ny - 0.5), (spine, ny - 0.5), (spine, py), (px, py)])
    ax.add_collection(LineCollection(segments, colors="#AEB6C1", linewidths=0.8, gid="runs on"))
    if rel["selects"] and len(rel["selects"]) <= BUNDLE_OVER:
        nx.draw_networkx_edges(g, pos, edgelist=rel["selects"], ax=ax, width=1.1, alpha=0.75,
                               edge_color=[g.nodes[u]["colour"] for u, _v in rel["selects"]], arrows=True,
                               arrowstyle="-|>", arrowsize=8, node_size=120, style="dashed")
    elif rel["selects"]:
        _bundled_selects(ax, g, pos, rel["selects"])
    if rel["routes to"]:
        nx.draw_networkx_edges(g, pos, edgelist=rel["routes to"], ax=ax, width=1.6, edge_color=_INGRESS_COLOUR,
                               arrows=True, arrowstyle="-|>", arrowsize=10, node_size=420)
    if types["pod"]:
        nx.draw_networkx_nodes(g, pos, nodelist=types["pod"], ax=ax, node_shape="o",
                               node_size=110 if show_labels else 45,
                               node_color=[g.nodes[n]["colour"] for n in types["pod"]], edgecolors="white",
                               linewidths=0.8).set_gid("pods")
    if types["service"]:
        nx.draw_networkx_nodes(g, pos, nodelist=types["service"], ax=ax, node_shape="h", node_size=420,
                               node_color=[g.nodes[n]["colour"] for n in types["service"]], edgecolors=INK,
                               linewidths=1.0).set_gid("services")
    if types["ingress"]:
        nx.draw_networkx_nodes(g, pos, nodelist=types["ingress"], ax=ax, node_shape="D", node_size=300,
                               node_color=_INGRESS_COLOUR, edgecolors=INK, linewidths=1.0).set_gid("ingresses")

    for n in types["node"]:
        d = g.nodes[n]
        style = NODE_COLOURS[d["state"]]
        face = CONTROL_PLANE_HEADER if d["control_plane"] and d["state"] == "Ready" else style["header"]
        text = d["label"] if d["state"] == "Ready" else f"{d['label']}\n{d['state']}"
        ax.text(*pos[n], text, ha="center", va="center", fontsize=SMALL_SIZE + 0.5, fontweight="bold",
                color=text_colour_on(face), gid=n, linespacing=1.1,
                bbox={"boxstyle": "round,pad=0.4", "facecolor": face, "edgecolor": style["edge"],
                      "linestyle": "--" if d["state"] == "SchedulingDisabled" else "-"})
    if "pending_x" in g.graph:
        ax.text(g.graph["pending_x"], 0.0, "Pending\n(not scheduled)", ha="center", va="center",
                fontsize=SMALL_SIZE, color=INK,
                bbox={"boxstyle": "round,pad=0.4", "facecolor": "#FFF8E6", "edgecolor": WARNING, "linestyle": "--"})
    if show_labels:
        for n in types["pod"]:
            x, y = pos[n]
            ax.text(x + 0.16, y, shorten(g.nodes[n]["label"], 24), fontsize=TINY_SIZE, color=INK, va="center")
    for n in types["service"] + types["ingress"]:
        x, y = pos[n]
        kind = "Service" if g.nodes[n]["type"] == "service" else "Ingress"
        ax.text(x, y + 0.3, shorten(g.nodes[n]["label"], 22), fontsize=SMALL_SIZE, color=INK,
                ha="center", va="bottom", fontweight="bold", gid=f"label:{kind}")
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.6)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.9)

    owners: dict[str, str] = {}
    for n in types["pod"]:
        owners.setdefault(g.nodes[n]["owner"], g.nodes[n]["colour"])
    handles = [
        swatch(NODE_COLOURS["Ready"]["header"], "Node"),
        Line2D([], [], marker="o", linestyle="none", markerfacecolor="#8E9AAF", markeredgecolor="white",
               markersize=7, label="Pod (colour: owner)"),
        Line2D([], [], marker="h", linestyle="none", markerfacecolor="#8E9AAF", markeredgecolor=INK,
               markersize=10, label="Service"),
        Line2D([], [], marker="D", linestyle="none", markerfacecolor=_INGRESS_COLOUR, markeredgecolor=INK,
               markersize=7, label="Ingress"),
        Line2D([], [], color=FAINT, linewidth=1.5, label="runs on"),
        Line2D([], [], color=MUTED, linewidth=1.2, linestyle="--", label="selects"),
        Line2D([], [], color=_INGRESS_COLOUR, linewidth=1.6, label="routes to"),
    ]
    handles += [swatch(colour, shorten(label, 28)) for label, colour in sorted(owners.items())[:10]]
    legend(fig, handles, title="Legend", loc="upper left", bbox=((width - key_w + 0.1) / width, body))

    fig.k8slab.update({
        "kind": "topology",
        "graph": g,
        "positions": pos,
        "counts": {t: len(v) for t, v in types.items()},
        "edges": {r: len(v) for r, v in rel.items()},
    })
    fig.summary = (f"topology, {g.number_of_nodes()} graph nodes, {g.number_of_edges()} edges, "
                   f"t={c.now:.1f}s")
    return fig
