"""``TrafficExplorer(c, "web")``: scale a Service's pods, make some unready, see the traffic move.

* The **replicas** slider runs ``kubectl scale deployment/<name> --replicas=N`` on the
  Deployment whose pods the Service selects, then runs the cluster until it settles.
* A **Ready** toggle per pod makes that pod's *readiness probe* fail, or pass again,
  the way an operator would: by ``kubectl exec``-ing a command in its container that
  changes what the probe checks. The kubelet's prober notices at its next periods,
  flips the pod's ``Ready`` condition, the EndpointSlice controller marks the
  endpoint not ready, and every kube-proxy drops it from its rules.
* **Send** (or a new request count) sends that many requests to the Service's ClusterIP
  and draws how many each pod answered (:func:`k8slab.plot.traffic`). Every change above
  sends them again, so the picture always matches the pods listed.

Readiness toggles need an ``exec`` readiness probe about a file, the usual pattern:
``test ! -e /tmp/drain`` (ready unless a drain file exists: the toggle touches / removes
it) or ``cat /tmp/ready`` / ``test -f /tmp/ready`` (ready while the file exists: the
toggle removes / touches it). Other probes leave the toggles disabled, saying why.

Example
-------
>>> readiness_switch({"exec": {"command": ["sh", "-c", "test ! -e /tmp/drain"]}})
('touch /tmp/drain', 'rm -f /tmp/drain')
>>> readiness_switch({"exec": {"command": ["cat", "/tmp/ready"]}})
('rm -f /tmp/ready', 'touch /tmp/ready')
>>> readiness_switch({"httpGet": {"path": "/", "port": 80}}) is None
True
"""

from __future__ import annotations

import re
import shlex

import ipywidgets as widgets

from k8slab.api import errors
from k8slab.api.objects import is_pod_ready
from k8slab.api.selectors import LabelSelector, selector_from_set
from k8slab.viz.ownership import get_object, objects
from k8slab.widgets.panes import Dashboard, FigurePane, TextPane, guarded, labelled

_PATH = r"([^\s;&|'\"]+)"
#: ready unless the file exists: `test ! -e F`, `[ ! -f F ]`
_ABSENT = re.compile(r"(?:^|[;&|]\s*|\s)(?:test|\[)\s+!\s+-[ef]\s+" + _PATH)
#: ready while the file exists: `cat F`, `ls F`, `test -e F`, `[ -f F ]`
_PRESENT = re.compile(r"^\s*(?:cat|ls|(?:test|\[)\s+-[ef])\s+" + _PATH + r"\s*\]?\s*$")


def readiness_switch(probe: dict | None) -> tuple[str, str] | None:
    """The commands that make an ``exec`` readiness probe fail and pass: ``(unready, ready)``.

    ``None`` when the probe is not one of the file patterns the toggles understand.
    """
    command = ((probe or {}).get("exec") or {}).get("command") or []
    if not command:
        return None
    if len(command) >= 3 and command[0] in ("sh", "/bin/sh", "bash", "/bin/bash") and command[1] == "-c":
        script = command[2]
    else:
        script = shlex.join(str(part) for part in command)
    if m := _ABSENT.search(script):
        return f"touch {m.group(1)}", f"rm -f {m.group(1)}"
    if m := _PRESENT.match(script):
        return f"rm -f {m.group(1)}", f"touch {m.group(1)}"
    return None


class TrafficExplorer(Dashboard):
    """Change a Service's replicas and its pods' readiness; send requests and see where they land.

    Parameters
    ----------
    c : k8slab.Cluster
    service : str
        The Service's name; its pods must be run by a Deployment.
    namespace : str
    requests : int
        How many requests each "Send" sends.

    Attributes
    ----------
    deployment : str
        The Deployment scaled by the slider.
    ready_toggles : dict
        Pod name → its ``ToggleButton`` (``value`` True while the pod is Ready).
    traffic : Traffic
        The requests counted last (``{pod: count}``).
    figure : LabFigure
        :func:`k8slab.plot.traffic` of the last requests.
    """

    def __init__(self, c, service: str, *, namespace: str = "default", requests: int = 1000):
        self.c = c
        self.service = service
        self.namespace = namespace
        svc = get_object(c, "services", service, namespace)
        if svc is None:
            raise errors.NotFound("services", service)
        selector = (svc.get("spec") or {}).get("selector") or {}
        if not selector:
            raise errors.K8sLabError(f'Service "{service}" has no selector: its endpoints are not pods '
                                     "that a Deployment runs")
        self.selector = selector_from_set(selector)
        dep = self._deployment_of(self.selector)
        self.deployment = dep["metadata"]["name"]
        self.pod_selector = LabelSelector.from_dict(dep["spec"].get("selector"))
        self.container, self.switch = self._probe_of(dep)
        self.replicas = widgets.IntSlider(int(dep["spec"].get("replicas", 1)), min=0,
                                          max=max(10, 2 * int(dep["spec"].get("replicas", 1))),
                                          continuous_update=False, description="replicas")
        self.requests = widgets.BoundedIntText(requests, min=1, max=100000, description="requests",
                                               layout=widgets.Layout(width="14em"))
        self.send_button = widgets.Button(description="Send", button_style="primary",
                                          tooltip=f"Send the requests to Service {service} (c.traffic)")
        self.toggles_box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.ready_toggles: dict[str, widgets.ToggleButton] = {}
        self.status = TextPane(height="5em", wrap=True)
        self.pods_text = TextPane(height="10em")
        self.picture = FigurePane()
        self.traffic = None
        self._updating = False
        self.replicas.observe(lambda change: self._guarded(self._on_replicas, change), names="value")
        self.requests.observe(lambda _change: self._guarded(self._send), names="value")
        self.send_button.on_click(lambda _b: self._guarded(self._send))
        note = (f"Ready toggles: <code>kubectl exec … -c {self.container} -- {self.switch[0]}</code> makes the "
                f"readiness probe fail, <code>{self.switch[1]}</code> makes it pass."
                if self.switch else
                "Ready toggles are off: the pods' readiness probe is not an exec probe about a file "
                "(for example <code>test ! -e /tmp/drain</code>).")
        super().__init__([
            widgets.HTML(f"<b>Service {service}</b> → Deployment {self.deployment} "
                         f"(pods with {self.selector})"),
            labelled("", self.replicas, self.requests, self.send_button),
            widgets.HTML(note),
            labelled("Ready", self.toggles_box, width="5em"),
            self.status,
            self.pods_text,
            self.picture,
        ])
        guarded(self.status, self._show_pods)
        guarded(self.status, self._send)

    @property
    def figure(self):
        return self.picture.figure

    def summary(self) -> str:
        return f"{self.service}: {len(self.ready_toggles)} pods, {sum(t.value for t in self.ready_toggles.values())} ready"

    # -- finding what to drive --------------------------------------------------------------------
    def _deployment_of(self, selector: LabelSelector) -> dict:
        for dep in objects(self.c, "deployments", self.namespace):
            labels = ((dep["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
            if selector.matches(labels):
                return dep
        raise errors.K8sLabError(f'no Deployment in namespace "{self.namespace}" runs the pods of '
                                 f'Service "{self.service}" (selector {selector})')

    @staticmethod
    def _probe_of(dep: dict):
        containers = ((dep["spec"].get("template") or {}).get("spec") or {}).get("containers") or []
        for ctr in containers:
            switch = readiness_switch(ctr.get("readinessProbe"))
            if switch is not None:
                return ctr["name"], switch
        return (containers[0]["name"] if containers else ""), None

    def pods(self) -> list[dict]:
        """The Deployment's pods that are not being deleted, by name."""
        pods = [p for p in objects(self.c, "pods", self.namespace)
                if self.pod_selector.matches(p["metadata"].get("labels") or {})
                and not p["metadata"].get("deletionTimestamp")]
        return sorted(pods, key=lambda p: p["metadata"]["name"])

    # -- actions ------------------------------------------------------------------------------------
    def _guarded(self, action, *args) -> None:
        if self._updating:  # the dashboard setting its own controls, not the learner
            return
        self.status.error = False
        guarded(self.status, action, *args)

    def _on_replicas(self, change) -> None:
        if self._updating:
            return
        out = self.c.kubectl(f"scale deployment {self.deployment} --replicas={change['new']} -n {self.namespace}")
        self._after(f"$ kubectl scale deployment {self.deployment} --replicas={change['new']}\n{str(out).rstrip()}",
                    out.returncode == 0)

    def _on_toggle(self, pod: str, ready: bool) -> None:
        if self._updating:
            return
        command = self.switch[1] if ready else self.switch[0]
        out = self.c.kubectl(f"exec {pod} -n {self.namespace} -c {self.container} -- {command}")
        text = f"$ kubectl exec {pod} -c {self.container} -- {command}"
        if str(out).strip():
            text += "\n" + str(out).rstrip()
        self._after(text, out.returncode == 0)

    def _after(self, text: str, ok: bool) -> None:
        if ok:
            before = self.c.now
            self.c.run()
            text += f"\nran until settled: t={before:.1f}s → t={self.c.now:.1f}s"
        self.status.error = not ok
        self.status.text = text
        self._show_pods()
        self._send()

    def _show_pods(self) -> None:
        self._updating = True
        try:
            pods = self.pods()
            toggles = {}
            for p in pods:
                name = p["metadata"]["name"]
                t = self.ready_toggles.get(name)
                if t is None:
                    t = widgets.ToggleButton(description=name, layout=widgets.Layout(width="auto"),
                                             disabled=self.switch is None,
                                             tooltip="Ready: click to make its readiness probe fail or pass")
                    t.observe(lambda change, name=name: self._guarded(self._on_toggle, name, change["new"]),
                              names="value")
                t.value = is_pod_ready(p)
                t.icon = "check" if t.value else "times"
                t.button_style = "success" if t.value else "danger"
                toggles[name] = t
            self.ready_toggles = toggles
            self.toggles_box.children = list(toggles.values())
            dep = get_object(self.c, "deployments", self.deployment, self.namespace) or {"spec": {}}
            self.replicas.value = int(dep["spec"].get("replicas", 0))
            self.pods_text.text = str(self.c.kubectl(
                f"get pods -o wide -n {self.namespace} -l {self.pod_selector}")).rstrip("\n")
        finally:
            self._updating = False

    def _send(self) -> None:
        from k8slab import plot

        fig = plot.traffic(self.c, self.service, requests=int(self.requests.value), namespace=self.namespace)
        self.traffic = fig.k8slab["traffic"]
        self.picture.show(fig)
