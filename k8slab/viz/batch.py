"""Many small labels and shapes drawn as a few artists, so big figures redraw quickly.

:class:`LabelBatch`: text labels drawn as one artist, the glyph outlines of each label, filled.

Why: with matplotlib 3.11 every ``Text`` costs about a millisecond to draw (shaping the
string, then rendering glyph by glyph), so a figure with hundreds of labels (the
cluster at 50 nodes has about 300) takes a third of a second per redraw, far too slow
for a widget that redraws after every click. :class:`Labels` keeps the outline of each
distinct string (cached: node names and percentages repeat from one redraw to the
next) and draws all of them in one ``PathCollection``, which Agg fills in a few
milliseconds. Unhinted glyph outlines filled with antialiasing are what FreeType
draws without hinting too, so the labels look like ordinary text (a touch softer
than hinted text at low resolution). They scale with the figure's dpi like text.

``labels.texts`` lists the strings drawn (in order), for tests and learners.

:class:`ShapeBatch`: rectangles (square or rounded) drawn as one ``PathCollection``.
Each ``Rectangle`` or ``FancyBboxPatch`` added to an axes costs a tenth of a
millisecond to create and again to draw (its own transforms, clip box and graphics
context); a collection draws thousands in one pass with per-shape colours and lines.

Example
-------
>>> from matplotlib.figure import Figure
>>> fig = Figure(figsize=(2, 1))
>>> ax = fig.add_axes((0, 0, 1, 1))
>>> batch = LabelBatch()
>>> batch.add(0.1, 0.5, "worker-1", size=7.5, weight="bold")
>>> batch.add(0.9, 0.5, "12%", size=6, ha="right", colour="#66717F")
>>> labels = batch.draw(ax, gid="headers")
>>> labels.texts, labels.get_gid(), len(labels.get_paths())
(['worker-1', '12%'], 'headers', 2)
>>> shapes = ShapeBatch()
>>> shapes.add(0.1, 0.1, 0.8, 0.3, face="#FFFFFF", edge="#7A8694", rounding=0.05)
>>> shapes.add(0.1, 0.6, 0.4, 0.1, face="#5B8DB8")
>>> len(shapes.draw(ax, gid="boxes").get_paths())
2
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.figure import FigureBase
from matplotlib.font_manager import FontProperties
from matplotlib.patches import BoxStyle
from matplotlib.path import Path
from matplotlib.textpath import TextPath, text_to_path
from matplotlib.transforms import Affine2D

#: Distinct (string, font) outlines kept between figures; a 500-node figure needs ~1,000.
CACHE_SIZE = 4096


@lru_cache(maxsize=64)
def _font(size: float, weight: str, style: str) -> FontProperties:
    return FontProperties(size=size, weight=weight, style=style)


@lru_cache(maxsize=64)
def _line_extent(size: float, weight: str, style: str) -> tuple[float, float]:
    """Bottom and top (points from the baseline) of a line of text, as matplotlib aligns it.

    matplotlib places ``va="center"``/``"top"``/``"bottom"`` by the box of a line holding
    ascenders and descenders ("lp"), not by the glyphs of the string itself, so labels
    of one row line up whatever their letters.
    """
    ext = TextPath((0, 0), "lp", prop=_font(size, weight, style)).get_extents()
    return ext.y0, ext.y1


@lru_cache(maxsize=CACHE_SIZE)
def _outline(text: str, size: float, weight: str, style: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Vertices (points, baseline at y=0, pen starting at x=0), codes and advance width."""
    prop = _font(size, weight, style)
    path = TextPath((0, 0), text, prop=prop)
    width, _h, _d = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    verts = np.asarray(path.vertices, dtype=float)
    verts.setflags(write=False)  # shared by every label with this text
    codes = np.asarray(path.codes if path.codes is not None else [], dtype=Path.code_type)
    return verts, codes, width


_HA = {"left": 0.0, "center": 0.5, "right": 1.0}


class Labels(PathCollection):
    """Text labels drawn as filled glyph outlines; ``texts`` holds the strings."""

    def __init__(self, paths, texts, **kwargs):
        super().__init__(paths, **kwargs)
        self.texts = list(texts)


class LabelBatch:
    """Collects labels (like ``ax.text`` calls), then draws them all as one :class:`Labels`."""

    def __init__(self):
        self._paths: list[Path] = []
        self._texts: list[str] = []
        self._offsets: list[tuple[float, float]] = []
        self._colours: list[str] = []

    def __len__(self) -> int:
        return len(self._texts)

    def add(self, x: float, y: float, text: str, *, size: float, colour: str = "#1F2933",
            weight: str = "normal", style: str = "normal", ha: str = "left", va: str = "center") -> None:
        """A label at data point ``(x, y)``, aligned as ``ax.text(..., ha=ha, va=va)`` would."""
        if not text:
            return
        verts, codes, width = _outline(text, size, weight, style)
        bottom, top = _line_extent(size, weight, style)
        dy = {"center": -(bottom + top) / 2, "top": -top, "bottom": -bottom, "baseline": 0.0}[va]
        shifted = verts + (-_HA[ha] * width, dy)
        self._paths.append(Path(shifted, codes if len(codes) else None, readonly=True))
        self._texts.append(text)
        self._offsets.append((x, y))
        self._colours.append(colour)

    def draw(self, ax, *, gid: str | None = None, zorder: float = 3) -> Labels | None:
        """Add the labels to ``ax`` (above patches and collections, like text); ``None`` if empty.

        ``ax`` may be a Figure: then ``(x, y)`` are figure fractions, as for ``fig.text``.
        """
        if not self._texts:
            return None
        on_figure = isinstance(ax, FigureBase)
        fig = ax.get_figure(root=True) if not on_figure else ax
        labels = Labels(self._paths, self._texts, offsets=np.array(self._offsets),
                        offset_transform=ax.transFigure if on_figure else ax.transData, facecolors=self._colours,
                        edgecolors="none", linewidths=0, zorder=zorder, gid=gid)
        # outlines are in points: points → inches → pixels, following the dpi the figure is saved at
        labels.set_transform(Affine2D().scale(1 / 72) + fig.dpi_scale_trans)
        if on_figure:
            ax.add_artist(labels)
        else:
            ax.add_collection(labels, autolim=False)
        return labels


def line_step(size: float, linespacing: float = 1.2, weight: str = "normal") -> float:
    """Points from one baseline to the next in multi-line text, as matplotlib spaces lines.

    matplotlib moves down by the previous line's descent, then ``linespacing`` times the
    ascent (of "lp" at least).
    """
    bottom, top = _line_extent(size, weight, "normal")
    return -bottom + top * linespacing


_LINESTYLES = {"-": "solid", "--": "dashed", ":": "dotted", "-.": "dashdot"}


class ShapeBatch:
    """Collects rectangles (like ``Rectangle``/``FancyBboxPatch`` patches), then draws them as one collection.

    Shapes are drawn in the order added, so a header added after its box lies on top of it.
    """

    def __init__(self):
        self._paths: list[Path] = []
        self._faces: list[str] = []
        self._edges: list[str] = []
        self._widths: list[float] = []
        self._styles: list[str] = []

    def __len__(self) -> int:
        return len(self._paths)

    def add(self, x: float, y: float, width: float, height: float, *, face: str, edge: str = "none",
            lw: float = 0.0, ls: str = "-", rounding: float = 0.0) -> None:
        """A rectangle with lower left corner ``(x, y)``; ``rounding`` is the corner radius (data units)."""
        if rounding:
            path = BoxStyle.Round(pad=0, rounding_size=rounding)(x, y, width, height, 1.0)
        else:
            path = Path([(x, y), (x + width, y), (x + width, y + height), (x, y + height), (x, y)], closed=True)
        self._paths.append(path)
        self._faces.append(face)
        self._edges.append(edge)
        self._widths.append(lw if edge != "none" else 0.0)
        self._styles.append(_LINESTYLES.get(ls, ls))

    def draw(self, ax, *, gid: str | None = None, zorder: float = 1) -> PathCollection | None:
        """Add the shapes to ``ax`` in data coordinates; ``None`` if there are none."""
        if not self._paths:
            return None
        shapes = PathCollection(self._paths, facecolors=self._faces, edgecolors=self._edges,
                                linewidths=self._widths, linestyles=self._styles, zorder=zorder, gid=gid)
        ax.add_collection(shapes, autolim=False)
        return shapes
