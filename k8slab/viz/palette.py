"""The colours of every k8slab figure, chosen in one place so they agree across figures.

An *owner* (a Deployment, StatefulSet, DaemonSet, Job, CronJob, a bare pod…) keeps
one colour in every figure of a cluster: its pods' chips in ``plot.cluster``, its
pods in ``plot.topology``, the Service that selects them, its bars in
``plot.traffic``. The colour is picked from the owner's *name* (so ``web`` is the
same blue in every notebook) and, when two names of one cluster would get the same
colour, the later one takes the next free colour (so two owners never share one
while the palette lasts). Owners in ``kube-system`` get muted colours, so the
learner's own workloads stand out; static (mirror) pods are grey.

Status colours (Ready/NotReady, pod phases), component colours (the lanes of a
sequence diagram) and hop colours (the path of a request) are fixed tables.

Example
-------
>>> p = Palette()
>>> p.owner_colour("web") == p.owner_colour("web")
True
>>> p.owner_colour("web") != p.owner_colour("api")
True
>>> p.owner_colour("coredns", "kube-system") in SYSTEM_COLOURS
True
"""

from __future__ import annotations

import weakref
import zlib

#: Bright, well separated colours for the learner's workloads (no red: red means trouble).
OWNER_COLOURS = (
    "#4E79A7",  # blue
    "#F28E2B",  # orange
    "#59A14F",  # green
    "#B07AA1",  # purple
    "#EDC948",  # yellow
    "#76B7B2",  # teal
    "#FF9DA7",  # pink
    "#9C755F",  # brown
    "#2F6690",  # deep blue
    "#D37295",  # rose
    "#8CD17D",  # light green
    "#A0CBE8",  # light blue
    "#FFBE7D",  # light orange
    "#499894",  # dark teal
    "#B6992D",  # olive
    "#D4A6C8",  # lilac
)

#: Muted colours for what runs in ``kube-system`` (CoreDNS, add-ons): present, not loud.
SYSTEM_COLOURS = ("#8E9AAF", "#A5A58D", "#94A89A", "#B0A8B9", "#9AA5B1", "#A89F91")

#: Static pods (the kubelet runs them from files; the API shows their mirror pods).
STATIC_POD_COLOUR = "#A7ADB5"

# text and lines
INK = "#1F2933"
MUTED = "#66717F"
FAINT = "#D5DAE1"
BACKGROUND = "#F7F8FA"

# meanings
OK = "#3C9D5D"
WARNING = "#E9A23B"
ERROR = "#D1495B"
HIGHLIGHT = "#F2B705"

#: Node states, as ``kubectl get nodes`` names them.
NODE_COLOURS = {
    "Ready": {"face": "#FFFFFF", "edge": "#7A8694", "header": "#4A5A6A"},
    "NotReady": {"face": "#FCE8EA", "edge": ERROR, "header": ERROR},
    "SchedulingDisabled": {"face": "#F4F1EA", "edge": "#A0855B", "header": "#A0855B"},
}
CONTROL_PLANE_HEADER = "#1F3A5F"

#: What a pod is doing, as the figures group ``kubectl get pods`` STATUS values.
POD_STATE_COLOURS = {
    "Pending": "#F2C14E",  # not scheduled yet
    "ContainerCreating": "#9EC5E8",  # on a node, not running yet
    "Running": OK,  # running and Ready
    "NotReady": "#A8D5BA",  # running, not (yet) Ready
    "Terminating": "#8A7F99",
    "Succeeded": "#5B8DB8",
    "Failed": ERROR,
    "Unknown": "#BAB0AC",
}

#: The lanes of a sequence diagram, by component.
COMPONENT_COLOURS = {
    "apiserver": "#1F3A5F",
    "etcd": "#419D78",
    "user": "#333F4B",
    "controller": "#7B4EA3",
    "scheduler": "#E07A1F",
    "cloud": "#8D6E63",
    "kubelet": "#2A9D8F",
    "kube-proxy": "#3D7DCA",
    "coredns": "#C2185B",
    "ingress": "#00897B",
    "other": "#6C757D",
}

#: The hops of a request (``Response.hops``).
HOP_COLOURS = {
    "dns": COMPONENT_COLOURS["coredns"],
    "lb": COMPONENT_COLOURS["cloud"],
    "iptables": COMPONENT_COLOURS["kube-proxy"],
    "route": "#5F6B7A",
    "ingress": COMPONENT_COLOURS["ingress"],
    "pod": OK,
    "error": ERROR,
}

#: Score plugins of kube-scheduler's default profile; others get a colour from their name.
PLUGIN_COLOURS = {
    "TaintToleration": "#4E79A7",
    "NodeResourcesFit": "#F28E2B",
    "NodeResourcesBalancedAllocation": "#59A14F",
    "ImageLocality": "#B07AA1",
    "InterPodAffinity": "#76B7B2",
    "NodeAffinity": "#EDC948",
    "PodTopologySpread": "#FF9DA7",
    "VolumeBinding": "#9C755F",
}


def _slot(name: str, n: int) -> int:
    # crc32, not hash(): Python salts str hashes per process, and colours must not change
    return zlib.crc32(name.encode()) % n


class Palette:
    """Owner colours of one cluster: a name keeps the colour it got first."""

    def __init__(self) -> None:
        self._given: dict[tuple[bool, str], str] = {}
        self._taken: dict[bool, set[str]] = {False: set(), True: set()}

    def owner_colour(self, name: str, namespace: str | None = "default", *, static: bool = False) -> str:
        """The colour of the owner called ``name`` (``static=True``: a static pod, always grey)."""
        if static:
            return STATIC_POD_COLOUR
        system = namespace == "kube-system"
        key = (system, name)
        colour = self._given.get(key)
        if colour is None:
            colours = SYSTEM_COLOURS if system else OWNER_COLOURS
            start = _slot(name, len(colours))
            taken = self._taken[system]
            colour = colours[start]
            for i in range(len(colours)):
                candidate = colours[(start + i) % len(colours)]
                if candidate not in taken:
                    colour = candidate
                    break
            taken.add(colour)
            self._given[key] = colour
        return colour


_PALETTES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SHARED = Palette()


def palette(cluster=None) -> Palette:
    """The palette of ``cluster`` (one per cluster, kept beside it, never in it); ``None``: a shared one."""
    if cluster is None:
        return _SHARED
    p = _PALETTES.get(cluster)
    if p is None:
        p = _PALETTES[cluster] = Palette()
    return p


def owner_colour(name: str, namespace: str | None = "default", *, cluster=None, static: bool = False) -> str:
    """The one function every figure asks for an owner's colour.

    Example
    -------
    >>> owner_colour("web", cluster=None) == owner_colour("web")
    True
    """
    return palette(cluster).owner_colour(name, namespace, static=static)


def plugin_colour(plugin: str) -> str:
    """Colour of a scheduler plugin in score bars."""
    return PLUGIN_COLOURS.get(plugin) or OWNER_COLOURS[_slot(plugin, len(OWNER_COLOURS))]


def component_of(actor: str) -> str:
    """Which kind of component an actor of the trace is (a key of :data:`COMPONENT_COLOURS`).

    Example
    -------
    >>> component_of("kubelet/worker-1"), component_of("replicaset-controller"), component_of("kubectl")
    ('kubelet', 'controller', 'user')
    """
    if actor in ("apiserver", "kube-apiserver"):
        return "apiserver"
    if actor.startswith("etcd"):
        return "etcd"
    if actor.startswith(("kubectl", "kubeadm")):
        return "user"
    if actor.startswith("kubelet"):
        return "kubelet"
    if actor.startswith("kube-proxy"):
        return "kube-proxy"
    if actor.startswith("cloud"):
        return "cloud"
    if actor == "kube-scheduler" or actor.endswith("-scheduler"):
        return "scheduler"
    if actor == "kube-controller-manager" or actor.endswith("-controller"):
        return "controller"
    if actor.startswith("coredns"):
        return "coredns"
    if "ingress" in actor:
        return "ingress"
    return "other"


def component_colour(actor: str) -> str:
    return COMPONENT_COLOURS[component_of(actor)]


def lighten(colour: str, amount: float = 0.5) -> str:
    """``colour`` mixed with white (``amount`` 0: unchanged, 1: white), as ``#rrggbb``.

    >>> lighten("#000000", 0.5)
    '#808080'
    """
    c = colour.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    mix = [round(v + (255 - v) * amount) for v in (r, g, b)]
    return "#" + "".join(f"{v:02x}" for v in mix)


def text_colour_on(colour: str) -> str:
    """Black or white, whichever reads better on ``colour``."""
    c = colour.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    # perceived luminance (ITU-R BT.601 weights)
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#FFFFFF"
