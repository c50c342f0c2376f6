"""Text a notebook should show as it is, not as a quoted Python string."""

from __future__ import annotations


class Text(str):
    """A ``str`` whose repr is the text itself (what a terminal would show).

    Example
    -------
    >>> Text("line 1\\nline 2\\n")
    line 1
    line 2
    """

    def __repr__(self) -> str:
        return str(self).rstrip("\n")
