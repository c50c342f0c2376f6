"""Exercises are generated from solutions: one source, answers marked, then blanked out.

In a code cell the answer lines sit between ``# BEGIN SOLUTION`` and ``# END SOLUTION``;
the exercise gets one ``# YOUR CODE HERE`` line instead, at the same indentation. In a
markdown cell a written answer sits between ``<!-- BEGIN SOLUTION -->`` and
``<!-- END SOLUTION -->`` and becomes ``*Write your answer here.*``. Outputs and execution
counts are cleared, so the learner starts from a clean notebook.

>>> print(blank_code("x = 1\\nif x:\\n    # BEGIN SOLUTION\\n    y = 2\\n    # END SOLUTION\\n"))
x = 1
if x:
    # YOUR CODE HERE
<BLANKLINE>
"""

from __future__ import annotations

import copy
import pathlib
import re

from k8slab.api.errors import K8sLabError

__all__ = ["ExerciseError", "blank_code", "blank_markdown", "exercise_from_solution", "normalise",
           "notebook_text", "PLACEHOLDER", "WRITE_HERE"]

PLACEHOLDER = "# YOUR CODE HERE"
WRITE_HERE = "*Write your answer here.*"
CODE_BEGIN, CODE_END = "# BEGIN SOLUTION", "# END SOLUTION"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
GENERATED_NOTE = ("> **Generated file.** This exercise is made from `solutions/{name}` by "
                  "`python -m k8slab.course exercises`: edit the solution, not this file.")


class ExerciseError(K8sLabError):
    """A solution notebook whose markers do not pair up."""


def _blank(text: str, begin: str, end: str, replace, where: str) -> str:
    out: list[str] = []
    opened: int | None = None
    lines = text.splitlines(keepends=True)
    for number, line in enumerate(lines, 1):
        marker = line.strip()
        if marker == begin:
            if opened is not None:
                raise ExerciseError(f"{where}line {number}: {begin} inside another one (opened on line {opened})")
            opened = number
            indent = line[: len(line) - len(line.lstrip())]
            newline = "\n" if line.endswith("\n") else ""
            out.append(replace(indent) + newline)
        elif marker == end:
            if opened is None:
                raise ExerciseError(f"{where}line {number}: {end} without {begin}")
            opened = None
        elif opened is None:
            out.append(line)
    if opened is not None:
        raise ExerciseError(f"{where}line {opened}: {begin} without {end}")
    result = "".join(out)
    # a cell that did not end with a newline still does not
    return result[:-1] if result.endswith("\n") and not text.endswith("\n") else result


def blank_code(source: str, where: str = "") -> str:
    """Replace each marked answer in a code cell by ``# YOUR CODE HERE`` (same indentation).

    Example
    -------
    >>> blank_code("a = 1\\n# BEGIN SOLUTION\\nb = 2\\n# END SOLUTION")
    'a = 1\\n# YOUR CODE HERE'
    """
    return _blank(source, CODE_BEGIN, CODE_END, lambda indent: indent + PLACEHOLDER, where)


def blank_markdown(source: str, where: str = "") -> str:
    """Replace each marked written answer in a markdown cell by ``*Write your answer here.*``.

    Example
    -------
    >>> blank_markdown("Why?\\n\\n<!-- BEGIN SOLUTION -->\\nBecause.\\n<!-- END SOLUTION -->")
    'Why?\\n\\n*Write your answer here.*'
    """
    return _blank(source, MD_BEGIN, MD_END, lambda indent: indent + WRITE_HERE, where)


def normalise(nb, name: str):
    """Make a notebook's JSON reproducible: cell ids from the name and index, no timings.

    Example
    -------
    >>> import nbformat
    >>> nb = normalise(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), "01-x.ipynb")
    >>> nb.cells[0].id
    '01-x-0'
    """
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", pathlib.PurePath(name).stem)[:56] or "cell"
    nb.nbformat, nb.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 5))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{stem}-{i}"
        cell.setdefault("metadata", {}).pop("execution", None)
        if cell.get("cell_type") == "code":
            for out in cell.get("outputs", []):
                # nbclient adds execution timing to outputs' metadata in some versions
                (out.get("metadata") or {}).pop("execution", None)
    nb.metadata.pop("papermill", None)
    return nb


def exercise_from_solution(solution, name: str):
    """The exercise notebook made from a solution notebook (which is not modified).

    Example
    -------
    >>> import nbformat
    >>> v4 = nbformat.v4
    >>> sol = v4.new_notebook(cells=[v4.new_markdown_cell("# Exercise 01 · Pods"),
    ...                              v4.new_code_cell("# BEGIN SOLUTION\\nx = 1\\n# END SOLUTION")])
    >>> [c.source for c in exercise_from_solution(sol, "01-pods.ipynb").cells][2]
    '# YOUR CODE HERE'
    """
    nb = copy.deepcopy(solution)
    for i, cell in enumerate(nb.cells):
        where = f"solutions/{name}: cell {i}, "
        if cell.cell_type == "code":
            cell.source = blank_code(cell.source, where)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = blank_markdown(cell.source, where)
    import nbformat

    note = nbformat.v4.new_markdown_cell(GENERATED_NOTE.format(name=name))
    first = nb.cells[0] if nb.cells else None
    # keep the title on top: the note goes right under a leading heading cell
    at = 1 if first is not None and first.cell_type == "markdown" and first.source.startswith("#") else 0
    nb.cells.insert(at, note)
    nb.metadata.pop("widgets", None)
    return normalise(nb, name)


def notebook_text(nb) -> str:
    """The notebook's JSON as written to disk (sorted keys, one-space indent, final newline)."""
    import nbformat

    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"
