"""``plot.sequence(c.trace)``: who talked to whom, as a sequence diagram drawn from the trace.

Every component talks only to the API server, so the diagram has the API server's
lifeline in the middle of everything: a *request* (``kubectl`` creating a
Deployment, the scheduler creating a ``pods/binding``, a kubelet updating
``pods/status``) is a solid arrow to it, labelled with the verb, the resource, the
object and the HTTP code; a *watch event* it delivers (``ADDED``, ``MODIFIED``,
``DELETED``) is a dashed arrow back to the watching component. A write that
changed etcd continues as an arrow to etcd with the revision it produced (the
trace records it). One row per trace entry, top to bottom in the order they
happened; the left margin gives the virtual time, and rows of the same instant
share a background band.

A whole trace drowns any picture, so a window and filters choose what to draw:
``since``/``until`` (a mark from ``c.trace.mark()``, or a virtual time in seconds),
``actors`` (components), ``objects`` (names), ``resources``, and ``hide`` (Events
and Leases, the chatter, by default). ``limit`` caps the rows.

k8slab simplification: watch deliveries are per component (per shared informer),
not per HTTP watch connection.
"""

from __future__ import annotations

from matplotlib.patches import FancyBboxPatch, Rectangle

from k8slab.viz.palette import (
    BACKGROUND,
    COMPONENT_COLOURS,
    ERROR,
    INK,
    MUTED,
    component_colour,
    component_of,
    lighten,
    text_colour_on,
)
from k8slab.viz.style import SMALL_SIZE, TINY_SIZE, figure, inch_axes, natural_key, shorten

APISERVER = "apiserver"
ETCD = "etcd"

_ORDER = {"user": 0, "apiserver": 1, "controller": 2, "cloud": 3, "scheduler": 4, "kubelet": 5,
          "kube-proxy": 6, "coredns": 7, "ingress": 8, "other": 9}

ROW = 0.3


def _entries_of(trace) -> list:
    if hasattr(trace, "trace") and not hasattr(trace, "mark"):  # a Cluster
        trace = trace.trace
    return list(trace)


def _in_window(e, since, until) -> bool:
    if since is not None:
        if isinstance(since, float):
            if e.time < since:
                return False
        elif e.seq <= since:
            return False
    if until is not None:
        if isinstance(until, float):
            if e.time > until:
                return False
        elif e.seq > until:
            return False
    return True


def _name_matches(name: str | None, wanted: str) -> bool:
    # "web" also matches what is named after it: the ReplicaSet web-7d4b9, its pods, the
    # EndpointSlice web-x2x8z, Events web.17a…
    if not name:
        return False
    return name == wanted or name.startswith((wanted + "-", wanted + "."))


def _object_matches(e, spec: str) -> bool:
    if "/" in spec:
        resource, _, name = spec.partition("/")
        return e.resource.split("/")[0] == resource and _name_matches(e.name, name)
    return _name_matches(e.name, spec)


def _actor_matches(actor: str, wanted: str) -> bool:
    return actor == wanted or actor.startswith(wanted + "/")


def select(trace, *, since=None, until=None, actors=None, objects=None, resources=None,
           hide=("events", "leases")) -> list:
    """The trace entries :func:`sequence` draws (before ``limit``), in order.

    ``since``/``until``: an ``int`` is a mark (``trace.mark()``: entries after it / up to
    it), a ``float`` a virtual time (inclusive). ``actors``: component names; ``"kubelet"``
    also matches every ``kubelet/<node>``. ``objects``: names (``"web"`` also matches
    ``web-…`` and ``web.…``, what is named after it) or ``"resource/name"``.
    ``resources``: plural resources to keep; ``hide``: resources to leave out.
    """
    actors = [actors] if isinstance(actors, str) else actors
    objects = [objects] if isinstance(objects, str) else objects
    resources = [resources] if isinstance(resources, str) else resources
    out = []
    for e in _entries_of(trace):
        if not _in_window(e, since, until):
            continue
        base = e.resource.split("/")[0]
        if hide and base in hide:
            continue
        if resources is not None and base not in resources and e.resource not in resources:
            continue
        if actors is not None and not any(_actor_matches(e.actor, a) for a in actors):
            continue
        if objects is not None and not any(_object_matches(e, o) for o in objects):
            continue
        out.append(e)
    return out


def _lane_order(actor: str):
    kind = component_of(actor)
    # the controller manager's own informers first, then its controllers by name
    return (_ORDER[kind], actor != "kube-controller-manager", natural_key(actor))


def _wrap(name: str, chars: int) -> str:
    """A lane title on at most two lines, broken after a ``/`` or the ``-`` nearest the middle.

    >>> print(_wrap("kube-controller-manager", 14))
    kube-controller-
    manager
    """
    if len(name) <= chars:
        return name
    cuts = [i for i, ch in enumerate(name) if ch in "/-"]
    if not cuts:
        return shorten(name, chars)
    cut = min(cuts, key=lambda i: abs(i + 1 - len(name) / 2)) + 1
    return f"{shorten(name[:cut], chars + 2)}\n{shorten(name[cut:], chars + 2)}"


def _ref(e) -> str:
    if not e.name:
        return e.namespace or ""
    if e.namespace and e.namespace != "default":
        return f"{e.namespace}/{shorten(e.name, 30)}"
    return shorten(e.name, 30)


def sequence(trace, *, since=None, until=None, actors=None, objects=None, resources=None,
             hide=("events", "leases"), etcd: bool = True, limit: int = 60):
    """Draw a sequence diagram of the API requests and watch events of a window of the trace.

    Parameters
    ----------
    trace : Trace, list of TraceEntry, or Cluster
        What to draw from (``c.trace``; a cluster means its trace).
    since, until : int or float, optional
        The window: a mark (``m = c.trace.mark()``; ``since=m`` is what happened after it)
        or a virtual time in seconds (a ``float``).
    actors : str or list of str, optional
        Only these components' requests and deliveries (``"kubelet"`` means every kubelet).
    objects : str or list of str, optional
        Only these objects: ``"web"`` (and what is named after it: ``web-…``) or
        ``"pods/web-x"``.
    resources : str or list of str, optional
        Only these resources (``"pods"``, ``"deployments"``).
    hide : tuple of str
        Resources left out (Events and Leases by default; ``()`` shows everything).
    etcd : bool
        Draw the write each request made in etcd (its revision).
    limit : int
        At most this many rows (the first ones of the window); the rest are counted.

    Returns
    -------
    LabFigure
        ``fig.k8slab`` holds ``entries`` (the TraceEntry objects drawn, one arrow each),
        ``requests``, ``watches`` and ``etcd_writes`` (arrow counts), ``lanes``,
        ``matched`` (entries the filters kept) and ``omitted`` (kept but beyond ``limit``).

    Example
    -------
    >>> import k8slab
    >>> from k8slab import plot
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> m = c.trace.mark()
    >>> _ = c.kubectl("create deployment web --image=nginx")
    >>> fig = plot.sequence(c.trace, since=m, objects="web", actors=["kubectl"])
    >>> [(e.verb, e.resource, e.code) for e in fig.k8slab["entries"]]
    [('create', 'deployments', 201)]
    """
    chosen = select(trace, since=since, until=until, actors=actors, objects=objects, resources=resources,
                    hide=hide)
    shown = chosen[:limit]
    omitted = len(chosen) - len(shown)
    clients = sorted({e.actor for e in shown}, key=_lane_order)
    show_etcd = etcd and any(e.type == "request" and e.revision is not None for e in shown)
    lanes = ([ETCD] if show_etcd else []) + [APISERVER] + clients

    spacing = 1.5 if len(lanes) <= 9 else max(0.95, 13.5 / len(lanes))
    margin = 0.85
    width = margin + spacing * len(lanes) + 1.2
    top = 0.55
    body_h = top + ROW * max(len(shown), 1) + 0.35
    lane_x = {name: margin + spacing * (i + 0.5) for i, name in enumerate(lanes)}

    window = []
    if shown:
        window.append(f"t={shown[0].time:.3f}s to {shown[-1].time:.3f}s")
    title = f"Sequence: {len(shown)} messages" + (f", {window[0]}" if window else "")
    filters = []
    for label, value in (("actors", actors), ("objects", objects), ("resources", resources)):
        if value is not None:
            filters.append(f"{label}={', '.join([value] if isinstance(value, str) else list(value))}")
    if hide:
        filters.append(f"hidden: {', '.join(hide)}")
    subtitle = ("Solid: a request to the API server (verb, resource, object → HTTP code); "
                "dashed: a watch event the API server delivers.")
    more = f"Showing {len(shown)} of {len(chosen)} matching entries (raise limit, or narrow the window)."
    extra = ("; ".join(filters) + ("." if filters else "") + (f" {more}" if omitted else "")).strip()
    if extra:
        subtitle += "\n" + extra
    fig, _body = figure(width, body_h, title, subtitle)
    ax = inch_axes(fig, 0, 0, width, body_h, gid="sequence")

    y0 = body_h - top
    bottom = y0 - ROW * max(len(shown), 1) - 0.1
    # background bands: one per instant, alternating, so what happened "at once" reads as a group
    band, last_t, start_i = 0, None, 0
    for i, e in enumerate(shown + [None]):
        if e is None or (last_t is not None and e.time != last_t):
            if band % 2 == 1:
                ax.add_patch(Rectangle((0.05, y0 - ROW * i), width - 0.1, ROW * (i - start_i), facecolor=BACKGROUND,
                                       edgecolor="none", zorder=0))
            band, start_i = band + 1, i
        if e is not None:
            last_t = e.time
    for name, x in lane_x.items():
        colour = COMPONENT_COLOURS["apiserver"] if name == APISERVER else (
            COMPONENT_COLOURS["etcd"] if name == ETCD else component_colour(name))
        ax.plot([x, x], [bottom, y0 + 0.05], color=lighten(colour, 0.55), linewidth=1.0, linestyle=(0, (4, 3)),
                zorder=1)
        w = spacing * 0.92
        label = _wrap(name, int(w / 0.068))
        ax.add_patch(FancyBboxPatch((x - w / 2, y0 + 0.08), w, 0.4, boxstyle="round,pad=0,rounding_size=0.05",
                                    facecolor=colour, edgecolor="none", zorder=3, gid=f"lane:{name}"))
        ax.text(x, y0 + 0.28, label, ha="center", va="center", fontsize=TINY_SIZE if "\n" in label else SMALL_SIZE,
                color=text_colour_on(colour), fontweight="bold", zorder=4, linespacing=1.0)

    counts = {"request": 0, "watch": 0, "etcd": 0}
    last_t = None
    for i, e in enumerate(shown):
        y = y0 - ROW * (i + 0.6)
        if e.time != last_t:
            ax.text(0.1, y, f"{e.time:.3f}s", fontsize=TINY_SIZE, color=MUTED, va="center", ha="left",
                    family="monospace")
            last_t = e.time
        actor_x, api_x = lane_x[e.actor], lane_x[APISERVER]
        colour = component_colour(e.actor)
        if e.type == "request":
            label = f"{e.verb} {e.resource} {_ref(e)}".rstrip() + f" → {e.code}"
            text_colour = ERROR if e.code is not None and e.code >= 400 else INK
            _arrow(ax, actor_x, api_x, y, colour, "-", f"request:{e.seq}")
            counts["request"] += 1
            if show_etcd and e.revision is not None:
                _arrow(ax, api_x, lane_x[ETCD], y, COMPONENT_COLOURS["etcd"], "-", f"etcd:{e.seq}", lw=1.0)
                ax.text((api_x + lane_x[ETCD]) / 2, y + 0.035, f"rev {e.revision}", fontsize=TINY_SIZE - 0.5,
                        color=COMPONENT_COLOURS["etcd"], ha="center", va="bottom")
                counts["etcd"] += 1
        else:
            label = f"{e.verb} {e.resource} {_ref(e)}".rstrip()
            text_colour = colour
            _arrow(ax, api_x, actor_x, y, colour, "--", f"watch:{e.seq}")
            counts["watch"] += 1
        left = min(actor_x, api_x)
        ax.text(left + 0.12, y + 0.035, label, fontsize=TINY_SIZE, color=text_colour, va="bottom", ha="left",
                zorder=5, clip_on=False)
    if not shown:
        ax.text(width / 2, y0 - 0.3, "no trace entries in this window / filter", ha="center", va="center",
                color=MUTED, fontsize=SMALL_SIZE, style="italic")

    fig.k8slab.update({
        "kind": "sequence",
        "entries": shown,
        "requests": counts["request"],
        "watches": counts["watch"],
        "etcd_writes": counts["etcd"],
        "lanes": lanes,
        "matched": len(chosen),
        "omitted": omitted,
    })
    fig.summary = f"sequence, {len(shown)} messages" + (f" ({omitted} more not shown)" if omitted else "")
    return fig


def _arrow(ax, x_from: float, x_to: float, y: float, colour: str, ls: str, gid: str, lw: float = 1.3) -> None:
    ann = ax.annotate("", xy=(x_to, y), xytext=(x_from, y), zorder=4,
                      arrowprops={"arrowstyle": "-|>", "color": colour, "linewidth": lw, "linestyle": ls,
                                  "shrinkA": 2, "shrinkB": 2, "mutation_scale": 9})
    ann.set_gid(gid)
