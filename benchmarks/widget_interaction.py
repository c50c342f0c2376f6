"""Widget benchmark: from a ClusterLab click to the redrawn cluster figure, at 5, 50 and 500 nodes.

What runs: a ``Cluster`` of N nodes (the control plane and N-1 workers) running a
Deployment with one pod per worker, and a ``ClusterLab`` on it. The clock is the
learner's: a click is measured from ``button.click()`` until the dashboard has
everything new on screen (the action, "run until settled", the PNG of
``plot.cluster``, ``kubectl get pods -o wide`` and the latest events). No browser:
sending the PNG to a front end is not counted.

Clicks measured, alternating so the cluster returns to where it was:

- cordon / uncordon a worker (``kubectl cordon``: one patch, nothing moves);
- fail / recover a worker (the kubelet stops; "run until settled" lets the lease expire);
- add node (a new worker joins; the cluster grows by one node per repeat).

For each N: the median wall and cpu milliseconds per click over the repeats, then where
a redraw goes, in cpu milliseconds (``plot.cluster`` building the figure, rendering it to
PNG, the two kubectl tables; the rest of a click is the action and "run until settled"),
and the growth from 5 to 50 and from 50 to 500 nodes (ratios of the wall medians). The target is a click
under 200 ms at 50 nodes. ``--profile N`` adds a cProfile of cordon clicks at N nodes.

Wall time counts whatever else the machine runs; cpu time is the one to compare between
runs on a shared machine. From ``plot.cluster``'s ``MAX_NODES`` (60) up the figure is
sampled, so at 500 nodes it draws 60 node boxes and counts the rest in its subtitle.

    python benchmarks/widget_interaction.py                 # N = 5, 50, 500
    python benchmarks/widget_interaction.py -r 7 5 50       # 7 repeats, two sizes
    python benchmarks/widget_interaction.py --profile 50 50
"""

from __future__ import annotations

import argparse
import statistics
import time

TARGET_MS = 200
TARGET_NODES = 50


def deployment(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                                                           "resources": {"requests": {"cpu": "100m"}}}]}}}}


def lab_of(nodes: int):
    import k8slab
    from k8slab.widgets import ClusterLab

    c = k8slab.Cluster(workers=nodes - 1, seed=0)
    c.apply(deployment(nodes - 1))
    c.run()
    lab = ClusterLab(c)
    lab.node_choice.value = "worker-1"
    return lab


def timed(fn) -> tuple[float, float]:
    """Wall and cpu milliseconds of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def clicks(lab, repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, cpu) ms of each kind of click."""
    pairs = {
        "cordon/uncordon": (lab.cordon_button, lab.uncordon_button),
        "fail/recover": (lab.fail_button, lab.recover_button),
        "add node": (lab.add_node_button, None),
    }
    out = {}
    for name, (do, undo) in pairs.items():
        samples = []
        for _ in range(repeats):
            before = lab.picture.value
            samples.append(timed(do.click))
            assert lab.picture.value != before and not lab.status.error, lab.status.text
            if undo is not None:
                samples.append(timed(undo.click))
            lab.node_choice.value = "worker-1"
        out[name] = (statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples))
    return out


def redraw_parts(lab, repeats: int) -> dict[str, float]:
    """Median cpu ms of each part of a redraw (cpu: less disturbed by a busy machine than wall)."""
    from k8slab import plot
    from k8slab.widgets.clusterlab import EVENTS_SHOWN, latest_events
    from k8slab.widgets.panes import png

    c = lab.c
    fig = plot.cluster(c)
    parts = {
        "plot.cluster": lambda: plot.cluster(c),
        "PNG": lambda: png(fig),
        "get pods": lambda: c.kubectl("get pods -n default -o wide"),
        "events": lambda: latest_events(c, "default", EVENTS_SHOWN),
    }
    return {k: statistics.median(timed(f)[1] for _ in range(repeats)) for k, f in parts.items()}


def profile(lab, top: int = 30) -> None:
    import cProfile
    import pstats

    pr = cProfile.Profile()
    pr.enable()
    for _ in range(3):
        lab.cordon_button.click()
        lab.uncordon_button.click()
    pr.disable()
    print(f"\ncProfile of 6 cordon/uncordon clicks at {len(lab.c.nodes)} nodes (cumulative):")
    pstats.Stats(pr).sort_stats("cumulative").print_stats(top)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[5, 50, 500], help="node counts")
    ap.add_argument("-r", "--repeats", type=int, default=5,
                    help="clicks of each kind per size (default 5; at most 3 from 500 nodes up)")
    ap.add_argument("--profile", type=int, metavar="N", help="also profile the clicks at N nodes")
    args = ap.parse_args(argv)

    print(f"ClusterLab: click → redrawn figure, median of {args.repeats} repeats (3 from 500 nodes) (ms, wall / cpu);"
          " right of │: parts of a redraw, cpu ms")
    header = (f"{'nodes':>5}  {'setup s':>7}  {'cordon/uncordon':>15}  {'fail/recover':>13}  {'add node':>11}"
              f"  │ {'plot.cluster':>12}  {'PNG':>5}  {'get pods':>8}  {'events':>6}  {'PNG KiB':>7}")
    print(header)
    results = {}
    for n in args.sizes:
        t = time.perf_counter()
        lab = lab_of(n)
        setup = time.perf_counter() - t
        # from 500 nodes a click takes seconds: 3 repeats give the median
        repeats = args.repeats if n < 500 else min(args.repeats, 3)
        parts = redraw_parts(lab, repeats)
        size = len(lab.picture.value) / 1024
        res = clicks(lab, repeats)
        results[n] = res
        cell = {k: f"{w:.0f}/{c:.0f}" for k, (w, c) in res.items()}
        print(f"{n:>5}  {setup:>7.1f}  {cell['cordon/uncordon']:>15}  {cell['fail/recover']:>13}  "
              f"{cell['add node']:>11}  │ {parts['plot.cluster']:>12.0f}  {parts['PNG']:>5.0f}  "
              f"{parts['get pods']:>8.0f}  {parts['events']:>6.0f}  {size:>7.0f}", flush=True)
        if args.profile == n:
            profile(lab)
    sizes = sorted(results)
    for a, b in zip(sizes, sizes[1:], strict=False):
        ratios = ", ".join(f"{k} x{results[b][k][0] / results[a][k][0]:.1f}" for k in results[a])
        print(f"growth {a} → {b} nodes (x{b / a:g}): {ratios}")
    if TARGET_NODES in results:
        worst = max(w for w, _c in results[TARGET_NODES].values())
        worst_cpu = max(c for _w, c in results[TARGET_NODES].values())
        verdict = "met" if worst < TARGET_MS else "NOT met"
        print(f"target: every click under {TARGET_MS} ms at {TARGET_NODES} nodes: {verdict} "
              f"(slowest median {worst:.0f} ms wall, {worst_cpu:.0f} ms cpu)")


if __name__ == "__main__":
    main()
