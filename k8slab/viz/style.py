"""The look shared by every k8slab figure: the figure class, the title block, legends, axes.

Figures are :class:`matplotlib.figure.Figure` objects made directly (no pyplot), so
drawing one never depends on, or changes, pyplot's global state and needs no
interactive backend. Each is a :class:`LabFigure`, which

* shows itself in a notebook (``_repr_mimebundle_``: the PNG, plus one stable line of
  text, so a stored notebook output does not change from run to run), and
* carries ``fig.k8slab``, a dict saying what was drawn (the nodes, chips, edges,
  bars…), for tests and for learners who want the numbers behind the picture.

Example
-------
>>> fig = LabFigure(figsize=(2, 1))
>>> fig.k8slab["kind"] = "demo"
>>> fig.summary = "a demo"
>>> fig._repr_mimebundle_()["text/plain"]
'<k8slab figure: a demo>'
"""

from __future__ import annotations

import io
import re

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from k8slab.viz.palette import BACKGROUND, FAINT, INK, MUTED

TITLE_SIZE = 13
SUBTITLE_SIZE = 9.5
LABEL_SIZE = 9
SMALL_SIZE = 7.5
TINY_SIZE = 6.5


class LabFigure(Figure):
    """A matplotlib Figure that displays itself in Jupyter and says what it shows (``.k8slab``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("facecolor", "white")
        super().__init__(*args, **kwargs)
        self.k8slab: dict = {}
        self.summary = ""

    def png(self, dpi: float | None = None) -> bytes:
        """The figure as PNG bytes, at ``dpi`` or else :data:`k8slab.plot.DISPLAY_DPI`."""
        if dpi is None:
            from k8slab import plot  # read at drawing time, so a notebook can change it

            dpi = plot.DISPLAY_DPI
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=dpi, facecolor=self.get_facecolor())
        return buf.getvalue()

    def _repr_mimebundle_(self, include=None, exclude=None):
        # The text line is what a stored notebook keeps besides the picture: make it stable.
        return {"image/png": self.png(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        return f"<k8slab figure: {self.summary}>" if self.summary else super().__repr__()


def header_height(subtitle: str = "") -> float:
    """Inches the title block takes."""
    h = 0.14 + 0.28 + 0.08
    if subtitle:
        h += 0.19 * (subtitle.count("\n") + 1) + 0.05
    return h


def figure(width: float, body_height: float, title: str, subtitle: str = "", *,
           outlined: bool = False) -> tuple[LabFigure, float]:
    """A new figure ``width`` inches wide: the title block, then ``body_height`` inches for the content.

    Returns the figure and the body's height as a fraction of the figure's (the body
    spans ``[0, body_fraction]`` vertically). ``outlined=True`` draws the title block
    as glyph outlines (:class:`~k8slab.viz.batch.Labels`, gid ``"title"``) rather than
    ``Text``: the same look, drawn several times faster, for figures a widget redraws.
    """
    height = header_height(subtitle) + body_height
    fig = LabFigure(figsize=(width, height))
    x = 0.12 / width
    if outlined:
        from k8slab.viz.batch import LabelBatch, line_step

        batch = LabelBatch()
        batch.add(x, 1 - 0.14 / height, title, size=TITLE_SIZE, weight="bold", colour=INK, va="top")
        step = line_step(SUBTITLE_SIZE, 1.3) / 72 / height
        for i, line in enumerate(subtitle.split("\n") if subtitle else []):
            batch.add(x, 1 - 0.42 / height - i * step, line, size=SUBTITLE_SIZE, colour=MUTED, va="top")
        batch.draw(fig, gid="title")
    else:
        fig.text(x, 1 - 0.14 / height, title, ha="left", va="top", fontsize=TITLE_SIZE,
                 fontweight="bold", color=INK, gid="title")
        if subtitle:
            fig.text(x, 1 - 0.42 / height, subtitle, ha="left", va="top", fontsize=SUBTITLE_SIZE,
                     color=MUTED, gid="subtitle", linespacing=1.3)
    fig.k8slab["title"] = title
    return fig, body_height / height


def inch_axes(fig: Figure, left: float, bottom: float, width: float, height: float, *, gid: str | None = None):
    """Bare axes placed in inches whose data units are inches too (so shapes keep their size)."""
    fw, fh = fig.get_size_inches()
    ax = fig.add_axes((left / fw, bottom / fh, width / fw, height / fh), gid=gid)
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    return ax


def bare_axes(fig: Figure, rect, *, gid: str | None = None):
    """Axes with nothing but what is drawn on them (no frame, no ticks)."""
    ax = fig.add_axes(rect, gid=gid)
    ax.set_axis_off()
    return ax


def tidy_axes(ax, *, grid_axis: str | None = "x") -> None:
    """Light chart axes: left/bottom spines only, a faint grid behind the data."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(FAINT)
    ax.tick_params(colors=MUTED, labelsize=LABEL_SIZE, length=3)
    ax.set_facecolor("white")
    if grid_axis:
        ax.grid(axis=grid_axis, color=FAINT, linewidth=0.7)
        ax.set_axisbelow(True)


def legend(ax_or_fig, handles, *, title: str | None = None, loc="upper left", bbox=None, ncol: int = 1,
           fontsize: float = SMALL_SIZE):
    """A quiet legend (no heavy frame) that every figure shares."""
    kwargs = {"loc": loc, "ncol": ncol, "fontsize": fontsize, "frameon": True, "framealpha": 0.95,
              "edgecolor": FAINT, "facecolor": "white", "title": title, "title_fontsize": fontsize + 0.5,
              "handlelength": 1.4, "borderaxespad": 0.3, "columnspacing": 1.2}
    if bbox is not None:
        kwargs["bbox_to_anchor"] = bbox
    leg = ax_or_fig.legend(handles=handles, **kwargs)
    if title:
        leg.get_title().set_color(INK)
        leg.get_title().set_fontweight("bold")
    return leg


def swatch(colour: str, label: str, **kwargs) -> Patch:
    """A legend entry: a filled square."""
    kwargs.setdefault("edgecolor", "none")
    return Patch(facecolor=colour, label=label, **kwargs)


def panel_background(ax) -> None:
    ax.set_facecolor(BACKGROUND)


_NUMBERS = re.compile(r"(\d+)")


def natural_key(name: str):
    """Sort ``worker-2`` before ``worker-10``, as a person would.

    >>> sorted(["worker-10", "worker-2", "control-plane"], key=natural_key)
    ['control-plane', 'worker-2', 'worker-10']
    """
    return [int(p) if p.isdigit() else p for p in _NUMBERS.split(name)]


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis.

    >>> shorten("kube-controller-manager-control-plane", 12)
    'kube-contro…'
    """
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def key_height(sections) -> float:
    """Inches :func:`draw_key` needs for ``sections``."""
    return sum(0.26 + 0.2 * len(items) + 0.1 for _title, items in sections)


def draw_key(ax, x: float, y: float, sections, *, fig=None, batch=None) -> float:
    """A legend drawn in inch axes: titled sections of entries, from ``(x, y)`` downwards.

    Each entry is ``(style, label)``: ``style`` is a dict for a box (``face``, ``edge``,
    ``ls``, ``lw``), or has ``line`` (a colour) for a line sample (``ls`` for dashes),
    or ``marker`` for a marker sample. Returns the y below the last entry. The labels
    go to ``fig.k8slab["legend"]``. With ``batch`` (a :class:`~k8slab.viz.batch.LabelBatch`)
    the text goes into that batch, drawn with the figure's other labels, instead of
    ``ax.text`` artists.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyBboxPatch

    labels = []
    for title, items in sections:
        if batch is not None:
            batch.add(x, y, title, size=SMALL_SIZE + 1, weight="bold", colour=INK, va="top")
        else:
            ax.text(x, y, title, fontsize=SMALL_SIZE + 1, fontweight="bold", color=INK, va="top", ha="left")
        y -= 0.26
        for style, label in items:
            cy = y - 0.07
            if "line" in style:
                ax.add_line(Line2D([x, x + 0.26], [cy, cy], color=style["line"], linestyle=style.get("ls", "-"),
                                   linewidth=style.get("lw", 1.6)))
            elif "marker" in style:
                ax.add_line(Line2D([x + 0.13], [cy], marker=style["marker"], color=style.get("face", INK),
                                   markeredgecolor=style.get("edge", "white"), markersize=style.get("size", 8),
                                   linestyle="none"))
            else:
                ax.add_patch(FancyBboxPatch((x + 0.02, cy - 0.055), 0.22, 0.11,
                                            boxstyle="round,pad=0,rounding_size=0.025",
                                            facecolor=style.get("face", "white"), edgecolor=style.get("edge", "none"),
                                            linestyle=style.get("ls", "-"), linewidth=style.get("lw", 1.0),
                                            hatch=style.get("hatch")))
            if batch is not None:
                batch.add(x + 0.36, cy, label, size=SMALL_SIZE, colour=INK)
            else:
                ax.text(x + 0.36, cy, label, fontsize=SMALL_SIZE, color=INK, va="center", ha="left")
            labels.append(label)
            y -= 0.2
        y -= 0.1
    if fig is not None:
        fig.k8slab.setdefault("legend", []).extend(labels)
    return y
