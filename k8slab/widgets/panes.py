"""The display pieces every dashboard shares: a text pane, a figure pane, the dashboard box.

* :class:`TextPane` shows kubectl-style text in a fixed-width font. Its plain text is
  ``pane.text`` (what tests and learners read); ``pane.value`` is the HTML shown.
* :class:`FigurePane` shows a k8slab figure as a PNG in an ``ipywidgets.Image``: the
  bytes travel with the widget's state, so the picture appears the same way in
  JupyterLab, in a headless browser and in a saved notebook, with no dependency on
  the kernel's output capture (an ``Output`` widget would need a live front end).
  ``pane.figure`` keeps the matplotlib figure drawn last.
* :class:`Dashboard` is the ``VBox`` each dashboard is; its text repr is one stable line.
* :func:`guarded` runs what a click or a slider asks for: a k8slab error (bad input) or
  even a bug in k8slab is shown in a pane, never raised into the notebook.

Example
-------
>>> pane = TextPane()
>>> pane.text = "NAME   READY\\nweb    <none>"
>>> pane.value.endswith('>NAME   READY\\nweb    &lt;none&gt;</pre>')
True
"""

from __future__ import annotations

import html
import io
import logging
import struct
import zlib

import ipywidgets as widgets
import traitlets

from k8slab.api import errors

#: Resolution of the pictures in a dashboard (figures are drawn in inches; 80 dpi keeps
#: a 14-inch figure readable on a laptop screen and quick to redraw after every click).
DPI = 80
#: zlib level of the PNGs: 1 encodes several times faster than matplotlib's default 6 for
#: a file about 25 % larger, a good trade when the picture is redrawn after every click.
PNG_COMPRESS_LEVEL = 1
#: Text is most of the cost of drawing a figure; FreeType's hinting (snapping glyphs to the
#: pixel grid) is a quarter to a third of that, and at this resolution the unhinted text
#: looks as good (its spacing is even closer to the browser's own text).
_RC = {"text.hinting": "no_hinting"}

log = logging.getLogger("k8slab.widgets")

_PRE_STYLE = ("margin:0;padding:4px 6px;font-family:var(--jp-code-font-family,monospace);"
              "font-size:var(--jp-code-font-size,12px);line-height:1.35;white-space:{white_space};overflow:auto;"
              "max-height:{height}")
_ERROR_STYLE = "color:#b3261e;background:#fdecea;border-left:3px solid #b3261e;"


class TextPane(widgets.HTML):
    """Pre-formatted text (a kubectl table, an event list, an error message).

    ``text`` is the plain text; setting it re-renders ``value``. ``error=True`` shows it in
    red, as an error box. ``wrap=True`` breaks long lines (tables keep theirs and scroll).
    """

    text = traitlets.Unicode("")  # not synced: the front end only needs the HTML
    error = traitlets.Bool(False)

    def __init__(self, text: str = "", *, height: str = "18em", wrap: bool = False, **kwargs):
        self._height = height
        self._white_space = "pre-wrap" if wrap else "pre"
        super().__init__(**kwargs)
        self.text = text
        self._render()

    @traitlets.observe("text", "error")
    def _on_change(self, _change) -> None:
        self._render()

    def _render(self) -> None:
        style = _PRE_STYLE.format(height=self._height, white_space=self._white_space) + (_ERROR_STYLE if self.error else "")
        self.value = f'<pre class="k8slab-pane" style="{style}">{html.escape(self.text, quote=False)}</pre>'


class FigurePane(widgets.Image):
    """A figure, shown as PNG bytes (``pane.figure`` is the figure drawn last)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "png")
        kwargs.setdefault("layout", widgets.Layout(max_width="100%", height="auto"))
        super().__init__(**kwargs)
        self.figure = None

    def show(self, fig) -> None:
        """Draw ``fig`` into the pane (its PNG replaces the previous picture)."""
        self.figure = fig
        self.value = png(fig)


def png(fig, dpi: int = DPI) -> bytes:
    """``fig`` as PNG bytes, drawn and encoded quickly (see :data:`PNG_COMPRESS_LEVEL`).

    Figures are opaque, so the picture is stored as 8-bit RGB without PNG's row filters:
    a quarter less to compress than matplotlib's RGBA PNG and no filter search
    (Pillow's adaptive filtering costs more than the compression itself), the same pixels.
    """
    import matplotlib
    import numpy as np

    raw = io.BytesIO()
    with matplotlib.rc_context(_RC):  # for this drawing only: pyplot's settings stay as they are
        fig.savefig(raw, format="rgba", dpi=dpi, facecolor=fig.get_facecolor())
    # Agg's canvas is the figure's size in pixels, truncated (as RendererAgg does)
    width, height = (int(v) for v in fig.get_size_inches() * dpi)
    pixels = np.frombuffer(raw.getbuffer(), dtype=np.uint8)
    if pixels.size != width * height * 4:  # a size we did not predict: let matplotlib write the PNG
        buf = io.BytesIO()
        with matplotlib.rc_context(_RC):
            fig.savefig(buf, format="png", dpi=dpi, facecolor=fig.get_facecolor(),
                        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
        return buf.getvalue()
    rows = np.zeros((height, 1 + width * 3), dtype=np.uint8)  # each row: filter type 0 (None), then RGB
    rows[:, 1:] = pixels.reshape(height, width, 4)[:, :, :3].reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, truecolour, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_COMPRESS_LEVEL)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, type, data, CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def guarded(pane: TextPane, action, *args):
    """Run ``action(*args)``; if it raises, show the error in ``pane`` and return ``None``.

    A k8slab error or a ``ValueError`` is bad input: its message is what kubectl or the
    API server would say. Anything else is a bug in k8slab: the pane says so in one
    line and the traceback goes to the ``k8slab.widgets`` logger (JupyterLab's log
    console), because an exception raised in a widget callback would otherwise vanish
    or land far from the dashboard.

    >>> pane = TextPane()
    >>> guarded(pane, int, "seven") is None, pane.error, pane.text
    (True, True, "invalid literal for int() with base 10: 'seven'")
    """
    try:
        return action(*args)
    except (errors.K8sLabError, ValueError) as e:
        pane.error, pane.text = True, str(e)
    except Exception as e:  # noqa: BLE001 - a widget callback must never raise into the notebook
        log.exception("k8slab widget action failed")
        pane.error = True
        pane.text = f"k8slab failed unexpectedly ({type(e).__name__}: {e}); please report it."
    return None


class Dashboard(widgets.VBox):
    """Base of the dashboards: a ``VBox`` whose text repr is one stable line.

    A notebook stores a widget's text repr next to the widget; ipywidgets' default repr
    lists every child, so it would change with every value. ``summary()`` says what the
    dashboard shows instead.
    """

    def summary(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary()})"


def labelled(text: str, *children, width: str = "8em") -> widgets.HBox:
    """A row: a fixed-width label, then the children."""
    return widgets.HBox([widgets.Label(text, layout=widgets.Layout(width=width)), *children])


def parse_labels(text: str) -> dict[str, str]:
    """``"disk=ssd,zone=a"`` → ``{"disk": "ssd", "zone": "a"}`` (the ``kubectl label`` syntax).

    >>> parse_labels("disk=ssd, zone=a")
    {'disk': 'ssd', 'zone': 'a'}
    >>> parse_labels("")
    {}
    >>> parse_labels("disk")
    Traceback (most recent call last):
    ...
    ValueError: labels must be key=value pairs separated by commas, got "disk"
    """
    out: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise ValueError(f'labels must be key=value pairs separated by commas, got "{part}"')
        out[key.strip()] = value.strip()
    return out
