"""``StepThrough(c)``: replay what the last action set off, one API message at a time.

Every component talks only to the API server, and the trace (``c.trace``) records
each request and each watch event it delivers. Do something (apply a Deployment,
scale it), run the cluster, then step through the messages it set off: **Next** /
**Previous** move one message, **Reset** goes back to the start, and the sequence
diagram (:func:`k8slab.plot.sequence`) grows as you go. A line under the buttons says
what the current message is and why it happens.

"The last action" is the last change kubectl sent (``c.apply``, ``c.kubectl("scale …")``…),
with the reads it made just before, and everything that followed. It is found again at
every move, so a tour opened before the action shows it. ``since=c.trace.mark()`` (or a
``ClusterLab``'s ``action_mark``) starts the tour at a mark instead.

>>> import k8slab
>>> from k8slab.widgets import StepThrough
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> _ = c.kubectl("create deployment web --image=nginx:1.27")
>>> tour = StepThrough(c)
>>> tour.next_button.click()
>>> tour.line.text.splitlines()[0]
'1/1  10.503s kubectl → apiserver: create deployments default/web → 201'
>>> tour.line.text.splitlines()[1]
'kubectl sends a new Deployment default/web; the API server checks it, stores it in etcd and answers 201 Created.'

The messages are the trace entries ``k8slab.viz.messages.select`` keeps (Events and
Leases, the chatter, are left out unless ``hide=()``).
"""

from __future__ import annotations

import ipywidgets as widgets

from k8slab.widgets.panes import Dashboard, FigurePane, TextPane, guarded

#: Rows of the sequence diagram: the current message and the ones just before it.
WINDOW = 18

_CODES = {200: "200 OK", 201: "201 Created", 202: "202 Accepted", 204: "204 No Content", 400: "400 Bad Request",
          401: "401 Unauthorized", 403: "403 Forbidden", 404: "404 Not Found", 409: "409 Conflict",
          410: "410 Gone", 422: "422 Unprocessable Entity", 429: "429 Too Many Requests"}


def _kind(resource: str) -> str:
    from k8slab.api.kinds import resolve

    k = resolve(resource.split("/")[0])
    return k.kind if k is not None else resource


def _who(actor: str) -> str:
    if actor.startswith("kubelet/"):
        return f"the kubelet of {actor.split('/', 1)[1]}"
    if actor.startswith("kube-proxy/"):
        return f"kube-proxy on {actor.split('/', 1)[1]}"
    if actor == "kube-scheduler":
        return "the scheduler"
    if actor.endswith("-controller"):
        return f"the {actor}"
    return actor


def describe(e) -> str:
    """One plain sentence saying what trace entry ``e`` is and why it happens.

    >>> from k8slab.sim.trace import TraceEntry
    >>> describe(TraceEntry(3.0, 7, "request", "kube-scheduler", "create", "pods/binding", "default", "web-x", 201))
    'The scheduler binds pod default/web-x to the node it chose (a Binding sets spec.nodeName); answer 201 Created.'
    """
    text = _sentence(e)
    # "The scheduler …", but "kubectl …" keeps its name as written
    return "T" + text[1:] if text.startswith("the ") else text


def _sentence(e) -> str:
    ref = e.object_ref
    kind = _kind(e.resource)
    sub = e.resource.split("/", 1)[1] if "/" in e.resource else ""
    who = _who(e.actor)
    if e.type == "watch":
        happened = {"ADDED": "was created", "MODIFIED": "changed", "DELETED": "was deleted",
                    "BOOKMARK": "is still current (a bookmark)"}.get(e.verb, e.verb.lower())
        text = f"The API server tells {who}, which watches {kind}s, that {kind} {ref} {happened}"
        if e.actor.startswith("kubelet/") and kind == "Pod" and e.verb == "ADDED":
            text += ": a pod bound to its node, so it will start the pod's containers"
        elif e.actor == "kube-scheduler" and kind == "Pod" and e.verb == "ADDED":
            text += ": if it has no node yet, it joins the scheduling queue"
        return text + "."
    answer = _CODES.get(e.code, str(e.code))
    if e.code is not None and e.code >= 400:
        why = {404: "it does not exist (yet)",
               409: "someone changed it first (or it exists already): the sender retries with fresh data",
               403: "the sender is not allowed to", 422: "the object is invalid"}.get(e.code, "the request failed")
        return f"{who} tries to {e.verb} {kind} {ref} ({e.resource}): refused, {answer}: {why}."
    if kind == "Pod" and sub == "binding":
        return (f"{who} binds pod {ref} to the node it chose (a Binding sets spec.nodeName); "
                f"answer {answer}.")
    if sub == "status":
        return f"{who} writes the status of {kind} {ref} (what it observed); answer {answer}."
    if sub == "scale":
        return (f"{who} sets the replicas of {kind} {ref} through its scale subresource ({e.verb}); "
                f"answer {answer}.")
    if sub == "eviction":
        return f"{who} evicts pod {ref} (an Eviction respects PodDisruptionBudgets); answer {answer}."
    stored = " and stores the change in etcd" if e.revision is not None else ""
    if e.verb == "create" and e.revision is None:
        # kubectl apply first sends every object as a dry run (?dryRun=All): checked, not stored
        return (f"{who} sends a new {kind} {ref} as a dry run; the API server checks it, stores nothing "
                f"and answers {answer}.")
    if e.verb == "create":
        return (f"{who} sends a new {kind} {ref}; the API server checks it, stores it in etcd and answers "
                f"{answer}.")
    if e.verb in ("update", "patch"):
        return f"{who} changes {kind} {ref} ({e.verb}); the API server checks it{stored}: {answer}."
    if e.verb == "delete":
        return f"{who} deletes {kind} {ref}; answer {answer}."
    if e.verb in ("get", "list", "watch"):
        return f"{who} reads {kind} {ref or '(all)'} ({e.verb}); answer {answer}."
    return f"{who}: {e.verb} {e.resource} {ref}; answer {answer}."


READS = ("get", "list", "watch")


def last_action(trace) -> int | None:
    """The mark just before the last action kubectl sent, or ``None`` if it sent none.

    The action is the last write (``create``, ``update``, ``patch``, ``delete``) kubectl
    sent, with the kubectl requests of the same instant just before it (the reads and dry
    runs ``kubectl apply`` makes first). What kubectl did at t=0 is the cluster's own
    set-up (its namespaces), not an action.

    >>> import k8slab
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> last_action(c.trace) is None
    True
    >>> _ = c.kubectl("scale deployment coredns -n kube-system --replicas=3")
    >>> [str(e).split(": ")[1] for e in c.trace.since(last_action(c.trace))][:2]
    ['get deployments kube-system/coredns → 200', 'patch deployments/scale kube-system/coredns → 200']
    """
    entries = list(trace)
    for i in range(len(entries) - 1, -1, -1):
        e = entries[i]
        if e.actor == "kubectl" and e.type == "request" and e.verb not in READS and e.time > 0:
            start = i
            while (start > 0 and entries[start - 1].actor == "kubectl" and entries[start - 1].type == "request"
                   and entries[start - 1].time == e.time):
                start -= 1
            return entries[start].seq - 1
    return None


class StepThrough(Dashboard):
    """Step through the API messages recorded since a mark of the trace, with a growing sequence diagram.

    Parameters
    ----------
    c : k8slab.Cluster
    since : int, optional
        A mark from ``c.trace.mark()``; by default the last action (see :func:`last_action`),
        found again at each move.
    window : int
        How many messages the diagram shows: the current one and those before it.
    **filters
        Passed to :func:`k8slab.viz.messages.select`: ``actors``, ``objects``,
        ``resources``, ``hide``.

    Attributes
    ----------
    position : int
        How many messages have been shown (0: none yet).
    mark : int
        Where the messages start (the last action's mark, or ``since``).
    entries : list of TraceEntry
        The messages since the mark (read again at each move).
    line : TextPane
        The current message and what it means (``line.text``).
    figure : LabFigure
        The sequence diagram drawn last.
    """

    def __init__(self, c, since: int | None = None, *, window: int = WINDOW, **filters):
        self.c = c
        self.since = since
        # With no mark and no action yet, what comes after now is what the tour will show.
        mark = last_action(c.trace) if since is None else since
        self.mark = c.trace.mark() if mark is None else mark
        self.window = window
        self.filters = filters
        self.position = 0
        self.entries: list = []
        self.previous_button = widgets.Button(description="Previous", icon="arrow-left")
        self.next_button = widgets.Button(description="Next", icon="arrow-right", button_style="primary")
        self.reset_button = widgets.Button(description="Reset", icon="undo")
        self.slider = widgets.IntSlider(0, min=0, max=0, description="message", continuous_update=False,
                                        layout=widgets.Layout(width="30em"))
        self.line = TextPane(height="4em", wrap=True)
        self.picture = FigurePane()
        self.previous_button.on_click(lambda _b: self._move(self.position - 1))
        self.next_button.on_click(lambda _b: self._move(self.position + 1))
        self.reset_button.on_click(lambda _b: self._move(0))
        self._syncing = False
        self.slider.observe(lambda change: self._syncing or self._move(change["new"]), names="value")
        super().__init__([
            widgets.HBox([self.previous_button, self.next_button, self.reset_button, self.slider]),
            self.line,
            self.picture,
        ])
        self._move(0)

    def _move(self, position: int) -> None:
        self.line.error = False
        guarded(self.line, self.go, position)

    @property
    def figure(self):
        return self.picture.figure

    @property
    def current(self):
        """The message shown now (``None`` before the first)."""
        return self.entries[self.position - 1] if self.position > 0 else None

    def summary(self) -> str:
        return f"message {self.position} of {len(self.entries)}"

    def go(self, position: int) -> None:
        """Show the first ``position`` messages (clamped to what was recorded)."""
        from k8slab import plot
        from k8slab.viz.messages import select

        fresh = self.picture.figure is None
        if self.since is None:
            mark = last_action(self.c.trace)
            if mark is not None and mark != self.mark:  # a new action: its tour starts at its beginning
                self.mark, fresh = mark, True
                position = min(position, 1)
        self.entries = select(self.c.trace, since=self.mark, **self.filters)
        n = len(self.entries)
        position = max(0, min(position, n))
        if not fresh and position == self.position and self.slider.max == n:
            return  # nothing new to show
        self.position = position
        self._syncing = True  # the slider echoing this move must not move again
        try:
            self.slider.value = min(self.slider.value, n)
            self.slider.max = n
            self.slider.value = position
        finally:
            self._syncing = False
        self.previous_button.disabled = position == 0
        self.next_button.disabled = position >= n
        since = "since the mark" if self.since is not None else "by the last action"
        if position == 0:
            self.line.text = (f"{n} messages recorded {since}. Press Next to see the first."
                              if n else "Nothing recorded yet: do something (apply a manifest, scale a "
                                        "Deployment), run the cluster, then press Next.")
        else:
            e = self.entries[position - 1]
            self.line.text = f"{position}/{n}  {str(e).strip()}\n{describe(e)}"
        shown = self.entries[max(0, position - self.window):position]
        self.picture.show(plot.sequence(shown, hide=(), limit=self.window))
