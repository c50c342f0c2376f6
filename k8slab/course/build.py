"""Execute the course notebooks in place and regenerate the exercises, reproducibly.

``python -m k8slab.course build [paths...]`` runs each notebook top to bottom in a fresh
``python3`` kernel (working directory: the notebook's folder) and stores its outputs;
without paths it builds ``notebooks/*.ipynb`` and ``solutions/*.ipynb``. Then it
regenerates ``exercises/``. ``python -m k8slab.course exercises`` only regenerates them;
``--check`` changes nothing and exits 1 naming the stale files.

The stored JSON is the same on every run: cell ids come from the notebook's name and
the cell's position, execution timings are dropped, and widget model ids (random in
the kernel) are renumbered from the notebook's name; widget state is not stored.

>>> import nbformat
>>> nb = nbformat.v4.new_notebook()
>>> nb.metadata["widgets"] = {WIDGET_STATE: {"state": {"f" * 32: {"state": {}}}}}
>>> list(renumber_widgets(nb, "x.ipynb").metadata["widgets"][WIDGET_STATE]["state"])
[]
"""

from __future__ import annotations

import hashlib
import pathlib
import subprocess
import sys
import time

from k8slab.course.exercises import ExerciseError, exercise_from_solution, normalise, notebook_text

__all__ = ["build", "execute", "exercise_files", "renumber_widgets", "write_exercises"]

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def _refs(value, found: list[str]) -> None:
    # child widgets are referenced as "IPY_MODEL_<id>"; walk in a fixed (sorted-key) order
    if isinstance(value, str):
        if value.startswith("IPY_MODEL_"):
            found.append(value[len("IPY_MODEL_"):])
    elif isinstance(value, dict):
        for k in sorted(value):
            _refs(value[k], found)
    elif isinstance(value, list):
        for v in value:
            _refs(v, found)


def _swap(value, mapping: dict[str, str]):
    if isinstance(value, str) and value.startswith("IPY_MODEL_"):
        old = value[len("IPY_MODEL_"):]
        return "IPY_MODEL_" + mapping.get(old, old)
    if isinstance(value, dict):
        return {k: _swap(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, mapping) for v in value]
    return value


def renumber_widgets(nb, name: str):
    """Replace the kernel's random widget model ids by ids derived from ``name`` and order.

    Models are numbered in the order the outputs show them (then their children);
    models no output shows are dropped from the stored state.
    """
    widgets = nb.metadata.get("widgets") or {}
    state = (widgets.get(WIDGET_STATE) or {}).get("state") or {}
    mapping: dict[str, str] = {}

    def visit(mid: str) -> None:
        if mid in mapping:
            return
        mapping[mid] = hashlib.sha256(f"{name}:{len(mapping)}".encode()).hexdigest()[:32]
        children: list[str] = []
        _refs(state.get(mid, {}), children)
        for child in children:
            visit(child)

    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            view = (out.get("data") or {}).get(WIDGET_VIEW)
            if isinstance(view, dict) and view.get("model_id"):
                visit(view["model_id"])
                view["model_id"] = mapping[view["model_id"]]
    if state:
        widgets[WIDGET_STATE]["state"] = {mapping[m]: _swap(s, mapping) for m, s in state.items() if m in mapping}
    return nb


def execute(path: pathlib.Path, *, timeout: int = 600) -> list[str]:
    """Run one notebook in place; returns warnings (cells that wrote to stderr)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("widgets", None)
    # Widget state is not stored: its image buffers are re-encoded differently from run to run
    # (same pixels, other bytes), and a live kernel redraws every widget anyway.
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=timeout, record_timing=False,
                                     store_widget_state=False,
                                     resources={"metadata": {"path": str(path.parent.resolve())}})
    # the kernel's own start-up warnings (transport, debugger) say nothing about the notebook
    client.execute(stderr=subprocess.DEVNULL)
    renumber_widgets(nb, path.name)
    normalise(nb, path.name)
    warnings = [f"{path}: cell {i} wrote to stderr (nbval will fail): {out.get('text', '')[:200]!r}"
                for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
                for out in cell.outputs if out.get("output_type") == "stream" and out.get("name") == "stderr"]
    path.write_text(notebook_text(nb), encoding="utf-8")
    return warnings


def exercise_files(root: pathlib.Path) -> dict[pathlib.Path, str]:
    """``exercises/NAME`` -> its generated text, for every ``solutions/*.ipynb`` under ``root``."""
    import nbformat

    out = {}
    for sol in sorted((root / "solutions").glob("*.ipynb")):
        nb = nbformat.read(sol, as_version=4)
        out[root / "exercises" / sol.name] = notebook_text(exercise_from_solution(nb, sol.name))
    return out


def write_exercises(root: pathlib.Path, *, check: bool = False, log=print) -> list[pathlib.Path]:
    """Regenerate ``exercises/`` (or with ``check``, only list what is stale); returns the stale files."""
    wanted = exercise_files(root)
    folder = root / "exercises"
    present = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    orphans = [p for p in present if p not in wanted]
    if check:
        return stale + orphans
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(wanted[p], encoding="utf-8")
        log(f"wrote {p.relative_to(root)}")
    for p in orphans:
        # exercises/ holds generated files only: one without a solution is left over
        p.unlink()
        log(f"removed {p.relative_to(root)} (no solutions/{p.name})")
    return stale + orphans


def build(paths: list[str], *, root: pathlib.Path, timeout: int = 600, log=print) -> int:
    """Execute notebooks in place, then regenerate the exercises; returns an exit code."""
    files = [pathlib.Path(p) for p in paths] or sorted((root / "notebooks").glob("*.ipynb")) + sorted(
        (root / "solutions").glob("*.ipynb"))
    failed = 0
    for path in files:
        if path.suffix != ".ipynb" or not path.is_file():
            log(f"error: {path}: no such notebook")
            failed += 1
            continue
        start = time.perf_counter()
        try:
            warnings = execute(path, timeout=timeout)
        except Exception as e:  # report and go on: one broken notebook must not hide the others
            log(f"FAILED {path}: {type(e).__name__}: {e}")
            failed += 1
            continue
        for w in warnings:
            log(f"warning: {w}")
        log(f"executed {path} ({time.perf_counter() - start:.1f} s wall)")
    try:
        write_exercises(root, log=log)
    except ExerciseError as e:
        log(f"error: {e}")
        failed += 1
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """The command line: ``build [paths...]`` or ``exercises [--check]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m k8slab.course",
                                     description="Build the k8slab course notebooks and exercises.")
    parser.add_argument("--root", default=".", help="the repository root (default: the current directory)")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute notebooks in place, then regenerate exercises/")
    b.add_argument("paths", nargs="*", help="notebooks to run (default: notebooks/*.ipynb solutions/*.ipynb)")
    b.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    e = sub.add_parser("exercises", help="regenerate exercises/ from solutions/")
    e.add_argument("--check", action="store_true", help="change nothing; exit 1 naming stale files")
    args = parser.parse_args(argv)
    root = pathlib.Path(args.root)
    if args.command == "build":
        return build(args.paths, root=root, timeout=args.timeout)
    try:
        if args.check:
            stale = write_exercises(root, check=True)
            for p in stale:
                print(f"stale: {p.relative_to(root)} (run `python -m k8slab.course exercises`)")
            return 1 if stale else 0
        write_exercises(root)
    except ExerciseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
