"""``ClusterLab(c)``: a dashboard to poke a cluster and watch it react.

Add a node, fail / recover / cordon / uncordon one, apply a manifest, then step
through the events one at a time or run until the cluster settles. After every
action the dashboard redraws :func:`k8slab.plot.cluster`, lists
``kubectl get pods -o wide`` and the latest events, and says what the action did.

Each action is what the notebook verbs do: ``c.add_node``, ``c.fail_node``,
``c.recover_node``, ``kubectl cordon``/``uncordon``, ``c.apply``, ``c.step``,
``c.run``. Bad input (a broken manifest, an invalid node name or label) shows the
error kubectl or the API server would give, and changes nothing.

Everything on screen is also a plain attribute, so a notebook or a test can drive
it without a browser: buttons have ``.click()``, fields are set through ``.value``.

Example
-------
>>> import k8slab
>>> from k8slab.widgets import ClusterLab
>>> lab = ClusterLab(k8slab.Cluster(workers=2, seed=0))
>>> lab.node_name.value
'worker-3'
>>> lab.add_node_button.click()
>>> lab.figure.k8slab["nodes"]
['control-plane', 'worker-1', 'worker-2', 'worker-3']
>>> print(lab.status.text)
node worker-3 joined (cpu 4, memory 8Gi)
ran until settled: t=10.5s → t=11.0s

k8slab simplification: "Run" stops when only background chatter is left (heartbeats,
lease renewals); a real cluster never settles, it just has nothing new to do.
"""

from __future__ import annotations

import re

import ipywidgets as widgets

from k8slab.api import errors
from k8slab.api.field_errors import invalid
from k8slab.api.names import validate_labels, validate_object_name
from k8slab.api.quantity import parse_quantity
from k8slab.widgets.panes import Dashboard, FigurePane, TextPane, guarded, labelled, parse_labels

#: How many of the latest events the dashboard lists.
EVENTS_SHOWN = 8

_MONO_STYLE = ("<style>.k8slab-code textarea{font-family:var(--jp-code-font-family,monospace);"
               "font-size:var(--jp-code-font-size,12px);}</style>")

_EXAMPLE_MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        resources:
          requests: {cpu: 250m, memory: 128Mi}
"""


def _button(description: str, tooltip: str, style: str = "") -> widgets.Button:
    return widgets.Button(description=description, tooltip=tooltip, button_style=style,
                          layout=widgets.Layout(width="auto"))


class ClusterLab(Dashboard):
    """Add and break nodes, apply manifests, step or run the clock, and see the cluster change.

    Parameters
    ----------
    c : k8slab.Cluster
    namespace : str or None
        The namespace whose pods and events are listed; ``None`` lists every namespace
        (``-A``). The figure always shows every namespace.
    manifest : str, optional
        What the manifest box holds at first (a small Deployment by default).
    auto_run : bool
        Run until the cluster settles after each action (untick to step by hand).

    Attributes
    ----------
    figure : LabFigure
        The last :func:`k8slab.plot.cluster` drawn.
    status, apply_text, pods_text, events_text : TextPane
        What the last action did, the apply result (or error), ``kubectl get pods -o wide``,
        the latest events; each pane's plain text is ``.text``.
    action_mark : int
        The trace mark taken just before the last action: ``StepThrough(c, since=lab.action_mark)``
        replays the messages it set off.
    """

    def __init__(self, c, *, namespace: str | None = "default", manifest: str | None = None, auto_run: bool = True):
        self.c = c
        self.namespace = namespace
        self.action_mark = c.trace.mark()
        # -- nodes -------------------------------------------------------------------------------
        self.node_name = widgets.Text(layout=widgets.Layout(width="13em"), description="name")
        self.node_cpu = widgets.Text("4", layout=widgets.Layout(width="8em"), description="cpu")
        self.node_memory = widgets.Text("8Gi", layout=widgets.Layout(width="11em"), description="memory")
        self.node_labels = widgets.Text("", placeholder="disk=ssd,zone=a", description="labels",
                                        layout=widgets.Layout(width="18em"))
        for w in (self.node_name, self.node_cpu, self.node_memory, self.node_labels):
            w.style.description_width = "initial"
        self.add_node_button = _button("Add node", "Join a new worker node (c.add_node)", "success")
        self.node_choice = widgets.Dropdown(options=list(c.nodes), layout=widgets.Layout(width="12em"))
        self.fail_button = _button("Fail", "Pull the plug: the kubelet stops (c.fail_node)", "danger")
        self.recover_button = _button("Recover", "Power the node back on (c.recover_node)")
        self.cordon_button = _button("Cordon", "Mark the node unschedulable (kubectl cordon)", "warning")
        self.uncordon_button = _button("Uncordon", "Make the node schedulable again (kubectl uncordon)")
        # -- manifests -----------------------------------------------------------------------------
        self.manifest = widgets.Textarea(_EXAMPLE_MANIFEST if manifest is None else manifest, rows=10,
                                         layout=widgets.Layout(width="100%"))
        self.manifest.add_class("k8slab-code")
        self.apply_button = _button("Apply", "kubectl apply -f (c.apply)", "primary")
        self.apply_text = TextPane(height="8em", wrap=True)
        # -- time ----------------------------------------------------------------------------------
        self.step_button = _button("Step", "Run one event (c.step)")
        self.run_button = _button("Run until settled", "c.run()")
        self.seconds = widgets.BoundedFloatText(10.0, min=0.0, max=3600.0, step=1.0,
                                                layout=widgets.Layout(width="6em"))
        self.run_for_button = _button("Run for", "Advance the virtual clock by this many seconds (c.run(seconds=...))")
        self.auto_run = widgets.Checkbox(auto_run, description="run until settled after each action", indent=False,
                                         layout=widgets.Layout(width="auto"))
        # -- what the cluster looks like -----------------------------------------------------------
        self.clock = widgets.HTML()
        self.status = TextPane(height="5em", wrap=True)
        self.picture = FigurePane()
        self.pods_text = TextPane(height="16em")
        self.events_text = TextPane(height="14em")

        self.add_node_button.on_click(lambda _b: self._act(self._add_node))
        self.fail_button.on_click(lambda _b: self._act(self._fail))
        self.recover_button.on_click(lambda _b: self._act(self._recover))
        self.cordon_button.on_click(lambda _b: self._act(lambda: self._kubectl("cordon")))
        self.uncordon_button.on_click(lambda _b: self._act(lambda: self._kubectl("uncordon")))
        self.apply_button.on_click(lambda _b: self._act(self._apply))
        self.step_button.on_click(lambda _b: self._act(self._step, run=False))
        self.run_button.on_click(lambda _b: self._act(self._run, run=False))
        self.run_for_button.on_click(lambda _b: self._act(self._run_for, run=False))

        heading = widgets.HTML  # a section title
        super().__init__([
            widgets.HTML(_MONO_STYLE),
            self.clock,
            labelled("Nodes", self.node_name, self.node_cpu, self.node_memory, self.node_labels,
                     self.add_node_button),
            labelled("", self.node_choice, self.fail_button, self.recover_button, self.cordon_button,
                     self.uncordon_button),
            labelled("Time", self.step_button, self.run_button, self.run_for_button, self.seconds,
                     widgets.Label("s"), self.auto_run),
            self.status,
            widgets.Accordion([widgets.VBox([self.manifest, widgets.HBox([self.apply_button]), self.apply_text])],
                              titles=("Manifest (kubectl apply -f)",), selected_index=0),
            self.picture,
            heading(f"<b>kubectl get pods {self._scope} -o wide</b>"),
            self.pods_text,
            heading(f"<b>kubectl get events {self._scope}</b>, the latest {EVENTS_SHOWN}"),
            self.events_text,
        ])
        self.refresh()

    # -- what is shown -------------------------------------------------------------------------
    @property
    def figure(self):
        """The cluster figure drawn last (a :class:`~k8slab.viz.style.LabFigure`)."""
        return self.picture.figure

    def summary(self) -> str:
        return repr(self.c)

    def refresh(self) -> None:
        """Redraw everything from the cluster as it is now."""
        from k8slab import plot

        c = self.c
        self.clock.value = f"<b>{repr(c)}</b>"
        nodes = list(c.nodes)
        chosen = self.node_choice.value
        self.node_choice.options = nodes
        self.node_choice.value = chosen if chosen in nodes else (nodes[-1] if nodes else None)
        if not self.node_name.value.strip() or self.node_name.value.strip() in nodes:
            self.node_name.value = next_worker_name(nodes)  # keep a name the learner typed
        # Each pane on its own: a figure that fails to draw still leaves the tables up to date.
        guarded(self.status, lambda: self.picture.show(plot.cluster(c)))
        guarded(self.pods_text, self._show_pods)
        guarded(self.events_text, self._show_events)

    def _show_pods(self) -> None:
        out = self.c.kubectl(f"get pods {self._scope} -o wide")
        self.pods_text.error = out.returncode != 0
        self.pods_text.text = str(out).rstrip("\n")

    def _show_events(self) -> None:
        self.events_text.error = False
        self.events_text.text = latest_events(self.c, self.namespace, EVENTS_SHOWN)

    @property
    def _scope(self) -> str:
        return "-A" if self.namespace is None else f"-n {self.namespace}"

    # -- actions -------------------------------------------------------------------------------
    def _act(self, action, *, run: bool = True) -> None:
        # An action returns what it did (one line and whether it worked) or raises a k8slab
        # error: either way the panes say so, and nothing is raised into the notebook.
        self.action_mark = self.c.trace.mark()
        self.status.error = False
        result = guarded(self.status, action)
        if result is not None:
            message, ok = result
            if ok and run and self.auto_run.value:
                ran = guarded(self.status, self._run)
                if ran is None:  # the run failed: the status says why
                    self.refresh()
                    return
                message += "\n" + ran[0]
            self.status.error = not ok
            self.status.text = message
        self.refresh()

    def _add_node(self):
        name = self.node_name.value.strip()
        labels = parse_labels(self.node_labels.value)
        cpu, memory = self.node_cpu.value.strip(), self.node_memory.value.strip()
        for what, value in (("cpu", cpu), ("memory", memory)):
            try:
                parse_quantity(value)
            except ValueError as e:
                raise ValueError(f'error: invalid {what} "{value}": {e}') from None
        # Check what the API server would refuse before a kubelet starts registering it.
        causes = [invalid("metadata.name", name, m) for m in validate_object_name("Node", name)]
        causes += validate_labels(labels, "metadata.labels")
        if causes:
            raise errors.Invalid("Node", "", name, causes)
        self.c.add_node(name, cpu=cpu, memory=memory, labels=labels or None)
        self.node_choice.options = list(self.c.nodes)
        self.node_choice.value = name
        text = f"node {name} joined (cpu {cpu}, memory {memory}"
        text += ", labels " + ",".join(f"{k}={v}" for k, v in labels.items()) if labels else ""
        return text + ")", True

    def _chosen_node(self) -> str:
        if not self.node_choice.value:
            raise errors.NodeError("choose a node first")
        return self.node_choice.value

    def _fail(self):
        name = self._chosen_node()
        self.c.fail_node(name)
        return (f"node {name} failed: its kubelet stopped heart-beating (NotReady after 40 s, "
                f"its pods evicted 300 s later)"), True

    def _recover(self):
        name = self._chosen_node()
        self.c.recover_node(name)
        return f"node {name} recovered: its kubelet restarted", True

    def _kubectl(self, verb: str):
        out = self.c.kubectl(f"{verb} {self._chosen_node()}")
        return f"$ kubectl {verb} {self._chosen_node()}\n{str(out).rstrip()}", out.returncode == 0

    def _apply(self):
        self.apply_text.error = False
        self.apply_text.text = ""
        try:
            lines = self.c.apply(self.manifest.value)
        except (errors.K8sLabError, ValueError) as e:
            self.apply_text.error = True
            self.apply_text.text = str(e)
            raise
        self.apply_text.text = "\n".join(lines)
        return "$ kubectl apply -f manifest.yaml\n" + "\n".join(lines), True

    def _step(self):
        ev = self.c.step()
        if ev is None:
            return "nothing to do: no event is scheduled", True
        return repr(ev), True

    def _run(self):
        before = self.c.now
        self.c.run()
        return f"ran until settled: t={before:.1f}s → t={self.c.now:.1f}s", True

    def _run_for(self):
        before = self.c.now
        self.c.run(seconds=float(self.seconds.value))
        return f"ran {float(self.seconds.value):g} s: t={before:.1f}s → t={self.c.now:.1f}s", True


def next_worker_name(nodes) -> str:
    """The name ``Add node`` proposes: ``worker-<highest number + 1>``.

    >>> next_worker_name(["control-plane", "worker-1", "worker-3"])
    'worker-4'
    """
    numbers = [int(m.group(1)) for n in nodes if (m := re.fullmatch(r"worker-(\d+)", n))]
    return f"worker-{max(numbers, default=0) + 1}"


def latest_events(c, namespace: str | None, count: int) -> str:
    """The last ``count`` events of ``namespace`` (``None``: all), as ``kubectl get events`` prints them.

    Sorted by resourceVersion, i.e. in the order they were recorded or last updated
    (kubectl's own order is by name, which hides what just happened). Only those rows are
    formatted, so the pane costs the same however many events the cluster has.
    """
    from datetime import timedelta

    from k8slab.kubectl.printers import PrintOptions, table_text
    from k8slab.sim.loop import EPOCH

    events = c.get("events", namespace=namespace)
    if not events:
        return f"No resources found in {namespace} namespace." if namespace else "No resources found"
    events.sort(key=lambda e: int(e["metadata"].get("resourceVersion") or 0))
    kind = c.kinds.resolve("events")
    now = EPOCH + timedelta(seconds=c.now)
    return table_text(kind, events[-count:], now, PrintOptions(all_namespaces=namespace is None)).rstrip("\n")
