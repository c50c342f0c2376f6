"""Where ``plot.cluster`` puts things: which nodes get a box, the grid of boxes, the chips in a box.

All sizes are inches (the cluster figure draws in inch axes). Two layouts: *names*
(a few nodes: each pod a pill with its name) and *chips* (many nodes: each pod a small
square). A cluster too large to draw every node is *sampled* first.

>>> layout = chips_layout(50, 5)
>>> layout["ncols"], layout["nrows"]
(10, 5)
"""

from __future__ import annotations

import math


def sample(order: list[str], states: dict[str, str], control: set[str], max_nodes: int
           ) -> tuple[list[str], dict[str, str]]:
    """The node boxes to draw (in drawing order) and the nodes left out (name → state).

    Kept first: the control plane, then the nodes in trouble (any state but ``Ready``),
    then the rest in ``order``, up to ``max_nodes`` boxes.

    >>> sample(["cp", "w1", "w2", "w3"], {"cp": "Ready", "w1": "Ready", "w2": "Ready", "w3": "NotReady"},
    ...        {"cp"}, 3)
    (['cp', 'w1', 'w3'], {'w2': 'Ready'})
    """
    if len(order) <= max_nodes:
        return order, {}
    first = [n for n in order if n in control] + [n for n in order if states[n] != "Ready" and n not in control]
    keep = set(first[:max_nodes])
    keep.update([n for n in order if n not in keep][:max(0, max_nodes - len(keep))])
    return [n for n in order if n in keep], {n: states[n] for n in order if n not in keep}


# -- layout --------------------------------------------------------------------------------------

def names_layout(n: int, max_pods: int) -> dict:
    ncols = n if n <= 4 else 3
    pill_h, pill_gap = 0.2, 0.05
    header, sub, bars = 0.34, 0.22, 0.66
    cell_h = header + sub + max_pods * (pill_h + pill_gap) + 0.06 + bars
    return {"ncols": ncols, "nrows": math.ceil(n / ncols), "cell_w": 2.7, "cell_h": cell_h, "gap": 0.2,
            "header": header, "sub": sub, "bars": bars, "pill_h": pill_h, "pill_gap": pill_gap}


def chips_layout(n: int, max_pods: int) -> dict:
    ncols = min(n, 10, max(4, math.ceil(math.sqrt(n * 1.8))))
    cell_w = min(2.4, max(1.3, 14.5 / ncols))
    header, bars, pad = 0.3, 0.36, 0.08
    area_w = cell_w - 2 * pad
    step = min(0.28, max(0.07, area_w / math.ceil(math.sqrt(max_pods * 2))))
    per_row = max(1, int(area_w // step))
    rows = math.ceil(max_pods / per_row)
    cell_h = header + 0.08 + rows * step + 0.06 + bars
    return {"ncols": ncols, "nrows": math.ceil(n / ncols), "cell_w": cell_w, "cell_h": cell_h, "gap": 0.16,
            "header": header, "sub": 0.0, "bars": bars, "step": step, "per_row": per_row, "pad": pad}


def chip_cells(box, x0: float, top_y: float, layout: dict, names: bool) -> list[tuple]:
    if names:
        h, g = layout["pill_h"], layout["pill_gap"]
        y = top_y - layout["header"] - layout["sub"]
        return [(x0 + 0.1, y - (i + 1) * (h + g) + g, layout["cell_w"] - 0.2, h) for i in range(len(box.pods))]
    step, per_row, pad = layout["step"], layout["per_row"], layout["pad"]
    side = step * 0.84
    y = top_y - layout["header"] - 0.08
    return [(x0 + pad + (i % per_row) * step, y - (i // per_row + 1) * step + (step - side), side, side)
            for i in range(len(box.pods))]
