"""Go's ``text/tabwriter``, the column aligner behind every kubectl table.

Text is written as tab-terminated cells; consecutive lines that all have a cell
in column *k* form a *column block*, and every cell of a block is padded to the
block's widest cell plus ``padding`` (at least ``minwidth``). The text after the
last tab of a line is never padded. A line without tabs ends every block, which
is why ``kubectl describe`` aligns ``Name:``, ``Namespace:``, ... together but
starts afresh after ``Containers:``.

kubectl uses two settings:

* tables (``get``): minwidth 6, padding 3 (``printers.GetNewTabWriter``);
* ``describe``: minwidth 0, padding 2 (``tabbedString``).

Example
-------
>>> print(tabwrite("NAME\\tREADY\\tAGE\\nweb-1\\t1/1\\t5s\\n", minwidth=6, padding=3), end="")
NAME    READY   AGE
web-1   1/1     5s
"""

from __future__ import annotations

TABLE_MINWIDTH = 6
TABLE_PADDING = 3
DESCRIBE_MINWIDTH = 0
DESCRIBE_PADDING = 2


def tabwrite(text: str, minwidth: int = 0, padding: int = 1, padchar: str = " ") -> str:
    """Align tab-separated ``text`` exactly as Go's tabwriter does on ``Flush``."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            line = lines[i]
            for j, cell in enumerate(line):
                out.append(cell)
                if j < len(widths):
                    out.append(padchar * (widths[j] - len(cell)))
            if i + 1 < len(lines):
                out.append("\n")

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            # This line has a cell in `column`: the lines before it are done.
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    fmt(0, len(lines))
    return "".join(out)


def table(rows: list[list[str]]) -> str:
    """Rows of cells aligned as ``kubectl get`` aligns them (every line ends with a newline)."""
    text = "".join("\t".join(_cell(c) for c in row) + "\n" for row in rows)
    return tabwrite(text, TABLE_MINWIDTH, TABLE_PADDING)


def _cell(value) -> str:
    # kubectl cuts a cell at its first line break and marks the cut with "...".
    s = "" if value is None else str(value)
    for i, ch in enumerate(s):
        if ch in "\n\r\f":
            return s[:i] + "..."
    return s
