"""``plot.etcd(c)``: what the API server keeps in etcd — keys and revisions, or one key's history.

Every object lives at one key (``/registry/<resource>/<namespace>/<name>``; Nodes
under ``/registry/minions/``, Services under ``/registry/services/specs/``, as in a
real kube-apiserver). etcd numbers every write with one global *revision*; each key
remembers

* ``create_revision``: the write that created it,
* ``mod_revision``: its last write — what the API hands out as the object's
  ``metadata.resourceVersion`` (an update naming an older one gets 409 Conflict),
* ``version``: how many writes since it was created.

``plot.etcd(c)`` draws these for the keys under a prefix, each key's span from
creation to last change on one revision axis. ``plot.etcd(c, key)`` draws one key's
history (``c.etcd.history(key)``): every revision, when it was written, who wrote it
(from the trace) and which fields changed.
"""

from __future__ import annotations

import textwrap
from bisect import bisect_left

from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from k8slab.api import errors
from k8slab.viz.history import RevisionClock, changed_fields
from k8slab.viz.palette import BACKGROUND, ERROR, FAINT, INK, MUTED, OK, plugin_colour
from k8slab.viz.style import SMALL_SIZE, TINY_SIZE, figure, inch_axes, shorten, tidy_axes

HIDDEN = ("/registry/events/", "/registry/leases/")


def _resource_of(key: str) -> str:
    parts = key.split("/")
    if len(parts) > 3 and parts[2] == "services":
        return f"services/{parts[3]}"
    return parts[2] if len(parts) > 2 else key


def _full_key(key: str) -> str:
    return key if key.startswith("/") else "/registry/" + key


def etcd(c, key: str | None = None, *, prefix: str = "/registry/", hide=HIDDEN, limit: int = 40):
    """Draw etcd's keys with their revisions, or (with ``key``) the history of one key.

    Parameters
    ----------
    c : k8slab.Cluster
    key : str, optional
        A key (``/registry/pods/default/web-x``, or without ``/registry/``:
        ``pods/default/web-x``) to draw the history of.
    prefix : str
        Keys under this prefix (keys mode).
    hide : tuple of str
        Prefixes left out in keys mode (Events and Leases by default: many, and busy).
    limit : int
        Rows at most: the most recently modified keys, or the latest revisions of the key.

    Returns
    -------
    LabFigure
        Keys mode: ``fig.k8slab`` holds ``keys`` and, per key, ``create_revision``,
        ``mod_revision`` and ``version``; ``revision`` is the store's. History mode:
        ``key``, ``revisions``, ``types`` (``PUT``/``DELETE``), ``versions``,
        ``times``, ``writers`` (who sent the write, from the trace) and ``changes``.

    Example
    -------
    >>> import k8slab
    >>> from k8slab import plot
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> fig = plot.etcd(c, prefix="/registry/minions/")
    >>> fig.k8slab["keys"]
    ['/registry/minions/control-plane', '/registry/minions/worker-1']
    >>> h = plot.etcd(c, "minions/worker-1")
    >>> h.k8slab["types"][0], h.k8slab["revisions"][-1] == c.etcd.get("/registry/minions/worker-1").mod_revision
    ('PUT', True)
    """
    if key is not None:
        return _history(c, _full_key(key), limit)
    return _keys(c, prefix, hide, limit)


def _keys(c, prefix: str, hide, limit: int):
    kvs = [kv for kv in c.etcd.range(prefix) if not any(kv.key.startswith(h) for h in hide or ())]
    total = len(kvs)
    if total > limit:
        kvs = sorted(sorted(kvs, key=lambda kv: -kv.mod_revision)[:limit], key=lambda kv: kv.key)
    rev = c.etcd.revision
    row = 0.22
    width = 12.5
    body_h = 0.55 + row * max(len(kvs), 1) + 0.5
    title = f"etcd at revision {rev}: {total} keys under {prefix}"
    subtitle = ("create_revision: the write that created the key; mod_revision: its last write (the object's "
                "resourceVersion); version: writes since creation.")
    notes = []
    if hide:
        notes.append(f"left out: {', '.join(hide)}")
    if total > limit:
        notes.append(f"showing the {limit} most recently modified keys")
    if notes:
        subtitle += "\n" + "; ".join(notes).capitalize() + "."
    fig, body = figure(width, body_h, title, subtitle)
    ax = inch_axes(fig, 0, 0, width, body_h, gid="etcd-keys")
    key_w = 5.6
    cols = {"create": key_w + 0.55, "mod": key_w + 1.35, "version": key_w + 2.05}
    axis_x0, axis_x1 = key_w + 2.5, width - 0.3
    top = body_h - 0.3
    for label, x in (("CREATE", cols["create"]), ("MOD", cols["mod"]), ("VERSION", cols["version"])):
        ax.text(x, top, label, ha="right", va="center", fontsize=TINY_SIZE, color=MUTED, fontweight="bold")
    ax.text(0.2, top, "KEY", ha="left", va="center", fontsize=TINY_SIZE, color=MUTED, fontweight="bold")
    ax.text(axis_x0, top, f"revisions 1 … {rev}: created ●──● last modified", ha="left", va="center",
            fontsize=TINY_SIZE, color=MUTED, fontweight="bold")

    def rx(r: int) -> float:
        return axis_x0 + (axis_x1 - axis_x0) * (r - 1) / max(rev - 1, 1)

    y = top - 0.3
    for i, kv in enumerate(kvs):
        if i % 2 == 0:
            ax.add_patch(Rectangle((0.1, y - row / 2), width - 0.2, row, facecolor=BACKGROUND, edgecolor="none"))
        colour = plugin_colour(_resource_of(kv.key))
        ax.text(0.2, y, shorten(kv.key, 78), ha="left", va="center", fontsize=TINY_SIZE + 0.5, color=INK,
                family="monospace")
        for name, value in (("create", kv.create_revision), ("mod", kv.mod_revision), ("version", kv.version)):
            ax.text(cols[name], y, str(value), ha="right", va="center", fontsize=TINY_SIZE + 0.5, color=INK,
                    family="monospace")
        ax.add_line(Line2D([rx(kv.create_revision), rx(kv.mod_revision)], [y, y], color=colour, linewidth=2,
                           marker="o", markersize=3.5, gid=f"span:{kv.key}"))
        y -= row
    ax.add_line(Line2D([axis_x0, axis_x1], [y + row / 2 - 0.02] * 2, color=FAINT, linewidth=1))
    for r in sorted({1, rev, *range(0, rev, max(1, _nice_step(rev)))} - {0}):
        ax.text(rx(r), y + row / 2 - 0.1, str(r), ha="center", va="top", fontsize=TINY_SIZE - 0.5, color=MUTED)

    fig.k8slab.update({
        "kind": "etcd",
        "revision": rev,
        "keys": [kv.key for kv in kvs],
        "create_revision": {kv.key: kv.create_revision for kv in kvs},
        "mod_revision": {kv.key: kv.mod_revision for kv in kvs},
        "version": {kv.key: kv.version for kv in kvs},
        "total": total,
    })
    fig.summary = f"etcd at revision {rev}, {len(kvs)} of {total} keys under {prefix}"
    return fig


def _nice_step(rev: int) -> int:
    raw = rev / 6
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if step >= raw:
            return step
    return 100000


_WRITES = ("create", "update", "patch", "delete")


def _writers(c, key: str, revisions: list[int], clock: RevisionClock) -> dict[int, str]:
    """Who sent the write behind each revision of ``key``, from the trace.

    A write whose answer is not the object (``pods/binding`` answers with a Status)
    is traced without its revision; it is matched to the one unexplained revision of
    the same object between the neighbouring revisions the trace does know.
    """
    writers: dict[int, str] = {}
    loose = []
    parts = key.split("/")
    name = parts[-1]
    for e in c.trace:
        if e.type != "request":
            continue
        if e.revision is not None:
            if e.revision in revisions and e.revision not in writers:
                writers[e.revision] = f"{e.actor}: {e.verb} {e.resource}"
        elif e.name == name and e.verb in _WRITES and e.code is not None and e.code < 300 and "/" in e.resource \
                and e.resource.split("/")[0] in parts:
            loose.append(e)
    known = sorted(clock.exact)
    for rev in revisions:
        if rev in writers:
            continue
        i = bisect_left(known, rev)
        lo = clock.exact[known[i - 1]] if i > 0 else 0.0
        hi = clock.exact[known[i]] if i < len(known) else clock.now
        found = [e for e in loose if lo <= e.time <= hi]
        if len(found) == 1:
            e = found[0]
            writers[rev] = f"{e.actor}: {e.verb} {e.resource}"
            loose.remove(e)
    return writers


def _history(c, key: str, limit: int):
    hist = c.etcd.history(key)
    if not hist:
        raise errors.K8sLabError(f'etcd keeps no history of key "{key}" (keys look like '
                                 f'/registry/pods/default/web-…; see c.etcd.keys())')
    clock = RevisionClock(c)
    writers = _writers(c, key, [rev for rev, _t, _kv in hist], clock)
    rows = []
    prev = None
    for rev, etype, kv in hist:
        if etype == "DELETE":
            changes = ["key deleted (a tombstone: the last value stays in history)"]
        elif prev is None:
            meta = kv.value.get("metadata") or {}
            changes = [f"created: {kv.value.get('kind', '')} {meta.get('name', '')}".rstrip()]
        else:
            changes = changed_fields(prev, kv.value) or ["no field changed"]
        rows.append((rev, etype, kv.version, clock.time(rev), writers.get(rev, ""), changes))
        prev = kv.value if etype == "PUT" else None
    omitted = max(0, len(rows) - limit)
    rows = rows[-limit:]

    lines_per = [min(len(ch), 4) + (1 if len(ch) > 4 else 0) for *_r, ch in rows]
    chart_h = 1.7
    list_h = sum(0.3 + 0.16 * n for n in lines_per) + 0.2
    width = 12.0
    body_h = chart_h + 0.6 + list_h
    title = f"History of {key}"
    subtitle = (f"{len(rows)} revisions" + (f" (the last {limit}; {omitted} earlier not shown)" if omitted else "")
                + f"; {clock.describe()}. Each write gets the store's next revision; "
                  "version counts the key's own writes.")
    fig, body = figure(width, body_h, title, "\n".join(textwrap.wrap(subtitle, int(width / 0.072))))
    fw, fh = fig.get_size_inches()
    ax = fig.add_axes((0.9 / fw, (list_h + 0.45) / fh, (width - 1.4) / fw, chart_h / fh), gid="etcd-history")
    tidy_axes(ax, grid_axis="y")
    times = [r[3] for r in rows]
    revs = [r[0] for r in rows]
    ax.step(times, revs, where="post", color=FAINT, linewidth=1.2)
    colours = [ERROR if r[1] == "DELETE" else OK for r in rows]
    ax.scatter(times, revs, c=colours, s=26, zorder=3, edgecolors="white", linewidths=0.6, gid="revisions")
    ax.set_xlabel("virtual time (s)", fontsize=TINY_SIZE + 0.5, color=MUTED, labelpad=1)
    ax.set_ylabel("revision", fontsize=TINY_SIZE + 0.5, color=MUTED)
    if len(set(times)) == 1:
        ax.set_xlim(times[0] - 1, times[0] + 1)

    lst = inch_axes(fig, 0, 0, width, list_h, gid="etcd-changes")
    y = list_h - 0.15
    for (rev, etype, version, t, writer, changes), _n in zip(rows, lines_per, strict=True):
        colour = ERROR if etype == "DELETE" else OK
        lst.add_line(Line2D([0.3], [y - 0.08], marker="o", markersize=7, color=colour, markeredgecolor="white"))
        head = f"rev {rev}  {etype}  version {version}  t={t:.3f}s"
        lst.text(0.5, y - 0.08, head, fontsize=SMALL_SIZE, fontweight="bold", color=INK, va="center",
                 family="monospace")
        if writer:
            lst.text(4.3, y - 0.08, f"by {writer}", fontsize=SMALL_SIZE, color=MUTED, va="center")
        y -= 0.3
        for line in changes[:4]:
            lst.text(0.7, y + 0.02, shorten(line, 150), fontsize=TINY_SIZE + 0.5, color=INK, va="center")
            y -= 0.16
        if len(changes) > 4:
            lst.text(0.7, y + 0.02, f"… and {len(changes) - 4} more fields", fontsize=TINY_SIZE, color=MUTED,
                     va="center", style="italic")
            y -= 0.16

    fig.k8slab.update({
        "kind": "etcd-history",
        "key": key,
        "revisions": revs,
        "types": [r[1] for r in rows],
        "versions": [r[2] for r in rows],
        "times": times,
        "writers": [r[4] for r in rows],
        "changes": [r[5] for r in rows],
        "omitted": omitted,
    })
    fig.summary = f"history of {key}, {len(rows)} revisions"
    return fig
