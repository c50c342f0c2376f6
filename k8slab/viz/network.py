"""``plot.traffic`` and ``plot.request_path``: how requests reach pods through a Service.

* ``traffic(c, "web", requests=1000)``: many requests to a Service's ClusterIP, counted
  per backend pod. In iptables mode kube-proxy's ``KUBE-SVC-…`` chain picks an
  endpoint at random (``-m statistic --mode random --probability …``), so the counts
  scatter around the even share, which the figure marks. Bars have the colour of
  the pod's owner (a canary Deployment behind the same Service stands out).
* ``request_path(c.curl(...))``: the hops of one request, top to bottom — the DNS
  lookup answered by CoreDNS, the netfilter rules of the node it starts on (the
  DNAT to a pod), the route to the node owning the pod's ``/24``, the ingress
  controller or cloud load balancer on the way, and the pod that answered (or the
  error that stopped it).
"""

from __future__ import annotations

import textwrap

from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch

from k8slab.network.request import Traffic
from k8slab.viz.ownership import Ownership, get_object, objects
from k8slab.viz.palette import ERROR, FAINT, HOP_COLOURS, INK, MUTED, OK, lighten, text_colour_on
from k8slab.viz.style import (
    LABEL_SIZE,
    SMALL_SIZE,
    TINY_SIZE,
    figure,
    inch_axes,
    legend,
    shorten,
    swatch,
    tidy_axes,
)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _hex(rgba) -> str:
    return "#" + "".join(f"{round(v * 255):02x}" for v in rgba[:3])


def ready_backends(c, service: str, namespace: str = "default") -> list[str]:
    """Names of the pods a Service's EndpointSlices list as ready (what kube-proxy balances over)."""
    names = set()
    for s in objects(c, "endpointslices", namespace):
        if ((s.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) != service:
            continue
        for ep in s.get("endpoints") or ():
            ready = (ep.get("conditions") or {}).get("ready")
            ref = ep.get("targetRef") or {}
            if ready is not False and ref.get("kind") == "Pod" and ref.get("name"):
                names.add(ref["name"])
    return sorted(names)


def traffic(c, service, requests: int = 1000, *, from_pod: str | None = None, from_node: str | None = None,
            namespace: str = "default"):
    """Send ``requests`` requests to a Service and draw how many each backend pod answered.

    Parameters
    ----------
    c : k8slab.Cluster
    service : str or Traffic
        The Service's name; or the result of an earlier ``c.traffic(...)`` to draw it
        without sending new requests.
    requests : int
    from_pod, from_node : str, optional
        Where the requests start (see :meth:`Cluster.traffic`).
    namespace : str

    Returns
    -------
    LabFigure
        ``fig.k8slab`` holds ``counts`` (pod → requests, ready backends that got none
        included), ``even_share`` (requests ÷ ready backends), ``failed`` (curl error →
        count), ``backends`` and ``traffic`` (the :class:`Traffic` drawn).

    Example
    -------
    >>> import k8slab
    >>> from k8slab import plot
    >>> c = k8slab.Cluster(workers=2, seed=0)
    >>> fig = plot.traffic(c, "kube-dns", requests=10, namespace="kube-system")
    >>> sum(fig.k8slab["counts"].values()), fig.k8slab["even_share"]
    (10, 5.0)
    """
    if isinstance(service, Traffic):
        t = service
    else:
        t = c.traffic(service, requests, from_pod=from_pod, from_node=from_node, namespace=namespace)
    backends = ready_backends(c, t.service, namespace)
    counts = {name: t.get(name, 0) for name in sorted(set(backends) | set(t))}
    even = t.requests / len(backends) if backends else 0.0

    owners = Ownership(c)
    colours = {}
    for name in counts:
        pod = get_object(c, "pods", name, namespace)
        colours[name] = owners.colour(owners.owner_of(pod)) if pod is not None else "#B8BEC7"
    nodes = dict(t.nodes)
    for name in counts:
        if name not in nodes:
            pod = get_object(c, "pods", name, namespace)
            nodes[name] = ((pod or {}).get("spec") or {}).get("nodeName") or ""
    bars = list(counts) + [f"({err})" for err in sorted(t.failed)]
    heights = list(counts.values()) + [t.failed[err] for err in sorted(t.failed)]
    bar_colours = [colours[n] for n in counts] + [ERROR] * len(t.failed)

    width = max(8.5, min(16.0, 2.6 + 0.75 * len(bars)))
    body_h = 4.0
    src = f" from {t.source}" if t.source else ""
    title = f"{t.requests} requests to Service {t.service}{src}"
    subtitle = "\n".join(textwrap.wrap(
        "Requests answered by each backend pod (bars coloured by the pod's owner). kube-proxy's rules pick a "
        "ready endpoint at random for each new connection, so the counts scatter around the even share "
        "(dashed).", int(width / 0.072)))
    fig, body = figure(width, body_h, title, subtitle)
    fw, fh = fig.get_size_inches()
    ax = fig.add_axes((0.9 / fw, 1.25 / fh, (width - 2.2) / fw, (body_h - 1.45) / fh), gid="traffic")
    tidy_axes(ax, grid_axis="y")
    drawn = ax.bar(range(len(bars)), heights, color=bar_colours, edgecolor="white", width=0.7)
    top = max(heights + [even, 1])
    for rect, name, h in zip(drawn, bars, heights, strict=True):
        rect.set_gid(f"bar:{name}")
        share = 100 * h / t.requests if t.requests else 0
        inside = h > top * 0.2
        ax.text(rect.get_x() + rect.get_width() / 2, h - top * 0.05 if inside else h + top * 0.015,
                f"{h}\n{share:.1f}%", ha="center", va="top" if inside else "bottom", fontsize=SMALL_SIZE,
                color=text_colour_on(_hex(rect.get_facecolor())) if inside else INK,
                linespacing=1.1, fontweight="bold" if inside else "normal")
    if backends:
        # behind the bars: visible between them, never across their numbers
        ax.axhline(even, color=INK, linestyle="--", linewidth=1.1, gid="even-share", zorder=0.9)
        ax.text(len(bars) - 0.35, even, f"even share\n{even:.1f} (1/{len(backends)})", va="center", ha="left",
                fontsize=TINY_SIZE, color=INK, clip_on=False)
    ax.set_xticks(range(len(bars)))
    ax.set_xticklabels([f"{shorten(b, 26)}\n{nodes.get(b, '')}" for b in bars], rotation=20, ha="right",
                       fontsize=TINY_SIZE + 0.5, color=INK)
    ax.set_ylim(0, top * 1.22)
    ax.set_xlim(-0.6, len(bars) - 0.4)
    ax.set_ylabel("requests", fontsize=SMALL_SIZE, color=MUTED)
    owner_of = {}
    for name in counts:
        pod = get_object(c, "pods", name, namespace)
        if pod is not None:
            o = owners.owner_of(pod)
            owner_of.setdefault(o.label, owners.colour(o))
    handles = [swatch(colour, label) for label, colour in owner_of.items()]
    if t.failed:
        handles.append(swatch(ERROR, "failed (curl error)"))
    if handles:
        legend(ax, handles, loc="upper right", ncol=min(3, len(handles)))
    if not backends and not counts:
        ax.text(0.5, 0.5, "no ready endpoints: every request failed", transform=ax.transAxes, ha="center",
                color=ERROR, fontsize=LABEL_SIZE)

    fig.k8slab.update({
        "kind": "traffic",
        "counts": counts,
        "even_share": even,
        "failed": dict(t.failed),
        "backends": backends,
        "traffic": t,
    })
    fig.summary = f"traffic to {t.service}, {t.requests} requests, {len(counts)} backends"
    return fig


_HOP_TITLES = {"dns": "DNS lookup", "lb": "cloud load balancer", "iptables": "iptables (kube-proxy's rules)",
               "route": "routing", "ingress": "ingress controller", "pod": "pod", "error": "error"}


def request_path(resp):
    """Draw the hops of one request (``c.curl(...)``): DNS, node rules, routing, the pod.

    Parameters
    ----------
    resp : Response
        What ``c.curl(...)`` returned.

    Returns
    -------
    LabFigure
        ``fig.k8slab`` holds ``hops`` (the kind of each hop, in order), ``where``
        (the node or component of each) and ``status``.

    Example
    -------
    >>> from k8slab.network.request import Hop, Response
    >>> r = Response("http://web/", status=200, pod="web-1", node="worker-1",
    ...              hops=[Hop("dns", "client", "web → 10.96.0.20"), Hop("pod", "worker-1", "web-1 answered")])
    >>> request_path(r).k8slab["hops"]
    ['dns', 'pod']
    """
    hops = list(resp.hops)
    wrapped = [textwrap.wrap(h.text, 100)[:4] or [""] for h in hops]
    heights = [0.34 + 0.17 * len(lines) + (0.17 if h.rules else 0) + 0.12 for h, lines in zip(hops, wrapped,
                                                                                          strict=True)]
    width = 11.5
    body_h = sum(heights) + 0.9
    if resp.error is not None:
        outcome = resp.error
    else:
        outcome = f"{resp.status} {resp.reason}" + (f" from pod {resp.pod}" if resp.pod else "") + (
            f" on {resp.node}" if resp.node else "")
    fig, body = figure(width, body_h, f"Request path: {resp.url}",
                       f"{len(hops)} hops, top to bottom: where the request went and what each step did. "
                       f"Outcome: {outcome}")
    ax = inch_axes(fig, 0, 0, width, body_h, gid="request-path")
    x_tag, x_line, x_text = 0.2, 1.85, 2.2
    y = body_h - 0.2
    centres = []
    last_where = None
    for i, (h, lines, hgt) in enumerate(zip(hops, wrapped, heights, strict=True), 1):
        colour = HOP_COLOURS.get(h.kind, MUTED)
        cy = y - 0.17
        centres.append(cy)
        if h.where != last_where:
            ax.add_patch(FancyBboxPatch((x_tag, cy - 0.11), 1.35, 0.22, boxstyle="round,pad=0,rounding_size=0.06",
                                        facecolor="#EEF1F5", edgecolor="none"))
            ax.text(x_tag + 0.675, cy, shorten(h.where, 18), ha="center", va="center", fontsize=SMALL_SIZE,
                    color=INK)
            last_where = h.where
        ax.plot([x_line], [cy], marker="o", markersize=17, color=colour, markeredgecolor="white", zorder=3,
                gid=f"hop:{i}:{h.kind}")
        ax.text(x_line, cy, str(i), ha="center", va="center", fontsize=SMALL_SIZE + 0.5, color=text_colour_on(colour),
                fontweight="bold", zorder=4)
        ax.text(x_text, cy, _HOP_TITLES.get(h.kind, h.kind), ha="left", va="center", fontsize=LABEL_SIZE + 0.5,
                fontweight="bold", color=colour)
        ty = cy - 0.25
        for line in lines:
            ax.text(x_text, ty, line, ha="left", va="center", fontsize=SMALL_SIZE + 0.5, color=INK)
            ty -= 0.17
        if h.rules:
            ax.text(x_text, ty, f"{len(h.rules)} netfilter rules matched (Hop.rules lists them, iptables-save form)",
                    ha="left", va="center", fontsize=TINY_SIZE, color=MUTED, style="italic")
        y -= hgt
    end_y = y - 0.2
    end_colour = OK if resp.ok else ERROR
    if centres:
        ax.add_line(Line2D([x_line, x_line], [centres[0], end_y], color=FAINT, linewidth=3, zorder=1))
    ax.add_patch(FancyBboxPatch((x_line - 0.2, end_y - 0.17), min(width - x_line - 0.2, 0.6 + 0.075 * len(outcome)),
                                0.34, boxstyle="round,pad=0,rounding_size=0.08", facecolor=lighten(end_colour, 0.85),
                                edgecolor=end_colour, zorder=3, gid="outcome"))
    ax.text(x_line, end_y, ("✓ " if resp.ok else "✗ ") + outcome, ha="left", va="center", fontsize=LABEL_SIZE,
            color=end_colour, fontweight="bold", zorder=4)
    kinds = []
    for h in hops:
        if h.kind not in kinds:
            kinds.append(h.kind)
    legend(fig, [swatch(HOP_COLOURS.get(k, MUTED), _HOP_TITLES.get(k, k)) for k in kinds], title="Hop",
           loc="upper right", bbox=(0.99, body))

    fig.k8slab.update({
        "kind": "request_path",
        "hops": [h.kind for h in hops],
        "where": [h.where for h in hops],
        "status": resp.status,
        "error": resp.error,
    })
    fig.summary = f"request path of {resp.url}, {len(hops)} hops, " + (
        f"{resp.status} {resp.reason}" if resp.error is None else "failed")
    return fig
