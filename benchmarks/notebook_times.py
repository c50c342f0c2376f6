"""How long each course notebook takes to execute (wall seconds, kernel start included).

Runs every notebook in notebooks/ (the lessons and the gallery), solutions/ and gallery/ (if
present) in a fresh python3 kernel, without writing anything back, and prints one line per
notebook, then the total and the median. Exits 1 only if a notebook fails to execute:
the times are figures to read, not assertions.

    python benchmarks/notebook_times.py [paths...]
"""

from __future__ import annotations

import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
FOLDERS = ("notebooks", "solutions", "gallery")


def run(path: pathlib.Path) -> float:
    """Execute one notebook in memory; returns its wall time in seconds."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=600, record_timing=False,
                            store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}}).execute(
                                stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    paths = [pathlib.Path(a) for a in argv] or [p for folder in FOLDERS
                                                for p in sorted((ROOT / folder).glob("*.ipynb"))]
    if not paths:
        print("no notebooks found")
        return 0
    times, failed = [], []
    print(f"{'notebook':<50} {'wall s':>8}")
    for path in paths:
        name = str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)
        try:
            seconds = run(path)
        except Exception as e:  # report and continue: every notebook gets its line
            first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            print(f"{name:<50} {'FAILED':>8}  {first[:120]}")
            failed.append(name)
            continue
        times.append(seconds)
        print(f"{name:<50} {seconds:8.1f}", flush=True)
    if times:
        print(f"{'total (' + str(len(times)) + ' notebooks)':<50} {sum(times):8.1f}")
        print(f"{'median':<50} {statistics.median(times):8.1f}")
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
