"""``c.node("worker-1")``: a look inside one node — its kubelet, its pods, its runtime's containers.

What you would see by logging into the machine: ``crictl ps -a``, ``crictl
images``, the pods the kubelet is running. It reads the node's own state, so a
failed node says so at once, even while the control plane still believes it Ready.

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> n = c.node("control-plane")
>>> n
Node(control-plane, Ready, 6 pods)
>>> sorted(ctr["name"] for ctr in n.containers)[:2]
['coredns', 'etcd']
"""

from __future__ import annotations

from k8slab.api.text import Text


def human_duration(seconds: float) -> str:
    """How crictl (go-units ``HumanDuration``) says how long ago: ``About a minute``, ``5 seconds``.

    >>> human_duration(0.5), human_duration(42), human_duration(70), human_duration(7200)
    ('Less than a second', '42 seconds', 'About a minute', '2 hours')
    """
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    return f"{h // 24} days"


class NodeView:
    def __init__(self, kubelet):
        self.kubelet = kubelet
        self.runtime = kubelet.runtime
        self.name = kubelet.name

    @property
    def ready(self) -> bool:
        return self.kubelet.running

    @property
    def pods(self) -> list[dict]:
        """The pods bound to this node, as the kubelet last saw them (mirror pods for static ones)."""
        out = []
        for w in self.kubelet.workers.values():
            if w.state == "terminated":
                continue
            if w.static:
                if w.mirror is not None:
                    out.append(w.mirror)
                continue
            out.append(w.pod)
        return sorted(out, key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"]))

    @property
    def containers(self) -> list[dict]:
        """Every container the runtime has, the kubelet's and any other (``crictl ps -a``)."""
        out = []
        now = self.runtime.loop.now
        for c in self.runtime.list_containers():
            sb = self.runtime.sandboxes.get(c.sandbox_id)
            out.append({
                "id": c.id,
                "name": c.name,
                "image": c.image.full,
                "state": c.state.removeprefix("CONTAINER_").capitalize(),
                "exitCode": c.exit_code,
                "reason": c.reason or None,
                "attempt": c.attempt,
                "pod": c.labels.get("io.kubernetes.pod.name"),
                "namespace": c.labels.get("io.kubernetes.pod.namespace"),
                "podIP": sb.ip if sb else None,
                "managed": bool(c.pod_uid),
                "created": now - c.created_at,
            })
        return out

    @property
    def images(self) -> list[dict]:
        return [{"image": r.ref.full, "id": r.id, "size": r.size} for r in self.runtime.list_images()]

    def crictl_ps(self, all: bool = True) -> str:  # noqa: A002 - crictl's own flag name
        """The table ``crictl ps -a`` prints on the node."""
        rows = [("CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD")]
        now = self.runtime.loop.now
        for c in sorted(self.runtime.list_containers(), key=lambda c: -c.created_at):
            if not all and not c.running:
                continue
            img = c.image_record.id.removeprefix("sha256:")[:13] if c.image_record else c.image.full
            rows.append((c.id[:13], img, human_duration(now - c.created_at) + " ago", c.state.removeprefix("CONTAINER_").capitalize(), c.name,
                         str(c.attempt), c.sandbox_id[:13], c.labels.get("io.kubernetes.pod.name", "")))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("   ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip() for r in rows) + "\n"

    def logs(self, container_id: str) -> str:
        c = self.runtime.containers[container_id]
        return "".join(line + "\n" for _t, _s, line in self.runtime.container_logs(c))

    def run_unmanaged(self, image: str, name: str, argv: list[str] | None = None):
        """Start a container behind the kubelet's back (``ctr run`` on the node); the kubelet ignores it."""
        return self.runtime.run_unmanaged(image, name, argv)

    def iptables(self, *args, **kwargs):
        """The node's iptables rules, as its kube-proxy programmed them."""
        proxy = self.kubelet.proxy
        if proxy is None:
            raise RuntimeError(f"no kube-proxy runs on node {self.name}")
        return Text(proxy.iptables(*args, **kwargs))

    def __repr__(self) -> str:
        status = "Ready" if self.kubelet.running else "NotReady"
        n = len(self.pods)
        return f"Node({self.name}, {status}, {n} pod{'s' if n != 1 else ''})"
