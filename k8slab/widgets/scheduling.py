"""``SchedulerExplorer(c)``: where would kube-scheduler put a pod like this, and why?

Sliders set a pod's CPU and memory requests, a text field its ``nodeSelector``, and
one checkbox per taint found on the nodes adds a toleration of it. After each change
the scheduler evaluates that pod against every node, exactly as ``explain`` does for
a pending pod — the same filter and score plugins on the scheduler's own cache — and
the dashboard shows which filter rejected each node, or the scores it got
(:func:`k8slab.plot.scheduling` and the ``explain`` table).

The pod evaluated is not created: it is the object a ``kubectl create`` would send,
with the API server's defaults and the ``DefaultTolerationSeconds`` admission plugin
applied, handed straight to the scheduler's evaluation. Nothing in the cluster changes,
no request is made, no random number is drawn. **Create this pod** then creates it for
real (``what-if-1``, ``what-if-2``…), runs the cluster, and says where the scheduler put
it; the next evaluation counts it, as the scheduler would.

Example
-------
>>> import k8slab
>>> from k8slab.widgets import SchedulerExplorer
>>> ex = SchedulerExplorer(k8slab.Cluster(workers=2, seed=0))
>>> ex.explanation.node("control-plane").filtered_by
'TaintToleration'
>>> ex.cpu.value = 6000   # more than any worker has (4 CPUs)
>>> ex.explanation.node("worker-1").reason
'Insufficient cpu'

k8slab simplification: a node the scheduler would not look at (``percentageOfNodesToScore``)
is evaluated anyway here, as ``explain`` does for a pending pod.
"""

from __future__ import annotations

from types import SimpleNamespace

import ipywidgets as widgets

from k8slab.api import errors
from k8slab.api.defaults import apply_defaults, default_toleration_seconds
from k8slab.api.names import validate_labels
from k8slab.api.quantity import cpu_millis, to_bytes
from k8slab.viz.ownership import objects
from k8slab.widgets.panes import Dashboard, FigurePane, TextPane, guarded, labelled, parse_labels

#: The name the hypothetical pod goes by in the explanation (created ones get ``-1``, ``-2``…).
POD_NAME = "what-if"
_MI = 1024 * 1024


def taint_text(t: dict) -> str:
    """A taint as ``kubectl taint`` writes it.

    >>> taint_text({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
    'node-role.kubernetes.io/control-plane:NoSchedule'
    >>> taint_text({"key": "gpu", "value": "true", "effect": "NoSchedule"})
    'gpu=true:NoSchedule'
    """
    value = t.get("value") or ""
    return f"{t.get('key', '')}{'=' + value if value else ''}:{t.get('effect', '')}"


def toleration_for(t: dict) -> dict:
    """The toleration that tolerates taint ``t`` (``Exists`` when the taint has no value)."""
    tol = {"key": t.get("key", ""), "effect": t.get("effect", "")}
    if t.get("value"):
        tol.update(operator="Equal", value=t["value"])
    else:
        tol["operator"] = "Exists"
    return tol


class _ExplainedCluster:
    # plot.scheduling(c, pod) asks c.scheduler.explain(pod); for a pod that does not
    # exist, answer with the explanation already computed.
    def __init__(self, explanation):
        self.scheduler = SimpleNamespace(explain=lambda *_args, **_kw: explanation)


class SchedulerExplorer(Dashboard):
    """Change a pod's requests, node selector and tolerations; see each node's filter and score.

    Parameters
    ----------
    c : k8slab.Cluster
    namespace : str
    image : str
        The pod's one container image (it matters for ``ImageLocality``).
    cpu : int
        CPU request at first, in millicores.
    memory : int
        Memory request at first, in MiB.

    Attributes
    ----------
    pod : dict
        The pod evaluated last, as the API server would have stored it.
    explanation : Explanation
        The scheduler's verdict (``.chosen``, ``.node(name).filtered_by`` …).
    table : TextPane
        The ``explain`` table (``table.text``).
    status : TextPane
        What "Create this pod" did.
    figure : LabFigure
        :func:`k8slab.plot.scheduling` of the verdict.
    """

    def __init__(self, c, *, namespace: str = "default", image: str = "nginx:1.27", cpu: int = 500,
                 memory: int = 256):
        self.c = c
        self.namespace = namespace
        self.image = image
        max_cpu, max_mem = self._largest_node()
        self.cpu = widgets.IntSlider(cpu, min=0, max=max(max_cpu + 1000, cpu), step=50, continuous_update=False,
                                     description="cpu (m)", layout=widgets.Layout(width="32em"))
        self.memory = widgets.IntSlider(memory, min=0, max=max(max_mem + 1024, memory), step=64,
                                        continuous_update=False, description="memory (Mi)",
                                        layout=widgets.Layout(width="32em"))
        for s in (self.cpu, self.memory):
            s.style.description_width = "7em"
        self.node_selector = widgets.Text("", placeholder="disk=ssd", continuous_update=False,
                                          description="nodeSelector", layout=widgets.Layout(width="32em"))
        self.node_selector.style.description_width = "7em"
        self.tolerations = widgets.VBox()
        self.toleration_boxes: dict[str, widgets.Checkbox] = {}
        self.create_button = widgets.Button(description="Create this pod", button_style="primary",
                                            tooltip="kubectl create it, run the cluster, see where it lands")
        self.evaluate_button = widgets.Button(description="Evaluate again",
                                              tooltip="Evaluate against the cluster as it is now")
        self.status = TextPane(height="4em", wrap=True)
        self.table = TextPane(height="16em")
        self.picture = FigurePane()
        self.pod: dict = {}
        self.explanation = None
        for w in (self.cpu, self.memory, self.node_selector):
            w.observe(lambda _change: self.refresh(), names="value")
        self.create_button.on_click(lambda _b: self._create())
        self.evaluate_button.on_click(lambda _b: self.refresh())
        super().__init__([
            widgets.HTML(f"<b>A pod in namespace {namespace}: where would it go?</b> "
                         "(evaluated by the scheduler, not created until you say so)"),
            self.cpu, self.memory, self.node_selector,
            labelled("tolerate", self.tolerations, width="7em"),
            widgets.HBox([self.create_button, self.evaluate_button]),
            self.status,
            self.table,
            self.picture,
        ])
        self.refresh()

    @property
    def figure(self):
        return self.picture.figure

    def summary(self) -> str:
        chosen = self.explanation.chosen if self.explanation is not None else None
        return f"cpu={self.cpu.value}m, memory={self.memory.value}Mi → {chosen or 'no node'}"

    def _largest_node(self) -> tuple[int, int]:
        cpu, mem = 0, 0
        for node in objects(self.c, "nodes"):
            alloc = (node.get("status") or {}).get("allocatable") or {}
            cpu = max(cpu, cpu_millis(alloc.get("cpu", "0")))
            mem = max(mem, to_bytes(alloc.get("memory", "0")) // _MI)
        return cpu, mem

    def _sync_taints(self) -> None:
        # One checkbox per distinct taint on the nodes now (failed nodes add theirs).
        taints = {}
        for node in objects(self.c, "nodes"):
            for t in (node.get("spec") or {}).get("taints") or ():
                taints.setdefault(taint_text(t), t)
        names = sorted(taints)
        if names != list(self.toleration_boxes):
            old = self.toleration_boxes
            self.toleration_boxes = {}
            for name in names:
                box = old.get(name) or widgets.Checkbox(False, description=name, indent=False,
                                                        layout=widgets.Layout(width="auto"))
                if name not in old:
                    box.observe(lambda _change: self.refresh(), names="value")
                box.taint = taints[name]
                self.toleration_boxes[name] = box
            self.tolerations.children = list(self.toleration_boxes.values()) or [
                widgets.Label("(no node has a taint)")]

    def manifest(self, name: str = POD_NAME) -> dict:
        """The pod the controls describe, as a learner would write it."""
        requests = {}
        if self.cpu.value:
            requests["cpu"] = f"{self.cpu.value}m"
        if self.memory.value:
            requests["memory"] = f"{self.memory.value}Mi"
        container = {"name": "app", "image": self.image}
        if requests:
            container["resources"] = {"requests": requests}
        spec: dict = {"containers": [container]}
        selector = parse_labels(self.node_selector.value)
        causes = validate_labels(selector, "spec.nodeSelector")
        if causes:
            raise errors.Invalid("Pod", "", name, causes)
        if selector:
            spec["nodeSelector"] = selector
        tolerations = [toleration_for(box.taint) for box in self.toleration_boxes.values() if box.value]
        if tolerations:
            spec["tolerations"] = tolerations
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": self.namespace},
                "spec": spec}

    def hypothetical_pod(self) -> dict:
        """The pod the controls describe, with the API server's defaults filled in."""
        return default_toleration_seconds(apply_defaults(self.manifest()))

    def refresh(self) -> None:
        """Evaluate the pod the controls describe against the cluster as it is now."""
        guarded(self.table, self._sync_taints)
        guarded(self.table, self._evaluate)

    def _evaluate(self) -> None:
        from k8slab import plot
        from k8slab.controlplane.scheduler.framework import PodInfo

        pod = self.hypothetical_pod()
        self.pod = pod
        # What Scheduler.explain does for a pending pod, for a pod that is not stored.
        self.explanation = self.c.scheduler._evaluate(PodInfo(pod), "")
        self.table.error = False
        self.table.text = str(self.explanation)
        self.picture.show(plot.scheduling(_ExplainedCluster(self.explanation), POD_NAME, self.namespace))

    def _create(self) -> None:
        self.status.error = False
        text = guarded(self.status, self._create_pod)
        if text is not None:
            self.status.text = text
        self.refresh()

    def _create_pod(self) -> str:
        taken = {p["metadata"]["name"] for p in objects(self.c, "pods", self.namespace)}
        n = 1
        while f"{POD_NAME}-{n}" in taken:
            n += 1
        name = f"{POD_NAME}-{n}"
        predicted = best_nodes(self.explanation) if self.explanation is not None else []
        lines = self.c.apply(self.manifest(name))
        self.c.run()
        node = (self.c.get("pod", name, namespace=self.namespace).get("spec") or {}).get("nodeName")
        guess = ("predicted: no node fits" if not predicted else f"predicted {predicted[0]}" if len(predicted) == 1
                 else f"predicted one of {', '.join(predicted)}, tied")
        where = f"the scheduler bound it to {node}" if node else "it stays Pending: no node fits"
        return "\n".join(lines) + f"\n{where} ({guess})"


def best_nodes(explanation) -> list[str]:
    """The feasible nodes with the highest total score, by name (more than one: a tie).

    One feasible node is not scored at all (the scheduler skips scoring): it is the answer.
    """
    scored = [n for n in explanation.nodes if n.feasible and n.total is not None]
    if not scored:
        return [explanation.chosen] if explanation.chosen else []
    best = max(n.total for n in scored)
    return sorted(n.name for n in scored if n.total == best)
