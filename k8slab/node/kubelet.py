"""The kubelet: the agent on every node that turns pods bound to it into running containers.

What it does, as the real one (v1.30) does it:

* **registers** its Node (labels, taints, capacity / allocatable, conditions,
  addresses, nodeInfo) and keeps it up to date: the status is written again only
  when it changes, or every 5 minutes (``nodeStatusReportFrequency``);
* **heart-beats** through a Lease in ``kube-node-lease``, renewed every 10 s — the
  signal the node lifecycle controller watches (background requests: they do not
  keep :meth:`Cluster.run` going);
* **watches the pods bound to it** (``fieldSelector=spec.nodeName=<node>``) and runs
  each through a pod worker (:mod:`k8slab.node.podworker`): admission, sandbox and
  pod IP, image pulls (one at a time, ``serializeImagePulls``), create and start of
  each container, restarts with back-off, probes (:mod:`k8slab.node.probes`),
  graceful termination; it reports each pod's status and records events;
* runs **static pods** from its manifest directory and publishes a *mirror pod*
  for each;
* answers ``kubectl logs`` and ``kubectl exec`` for its pods (the API server calls
  :meth:`Kubelet.serve`).

It manages only the containers it created: the runtime may run others (see
:meth:`k8slab.node.runtime.ContainerRuntime.run_unmanaged`); the kubelet ignores them.

``stop()`` makes the node fail (no heartbeats, no reactions, containers frozen as
they are); ``restart()`` brings it back: it re-registers, renews its lease and
re-lists its pods (those deleted meanwhile are killed, those being deleted are
finished).

Hooks the cluster may set: ``dataplane`` (an object with ``resolve(name, pod)`` →
``(fqdn, [ips])`` or ``None``, and ``http(url, pod)`` → an HTTP response, raising
``LookupError`` / ``ConnectionError`` / ``TimeoutError``), through which programs in
containers reach DNS and other pods (``nslookup``, ``wget``, ``curl``); ``proxy``
(the node's kube-proxy, for :meth:`NodeView.iptables`).

Simplified (each in one line):

* the network plugin is ready at registration: the node is Ready at once and pods
  only wait for the node's pod CIDR;
* the pod status is written when something a user would see changes (2 writes from
  bind to Running; 3 when the pod's IP shows during an image download), not on each
  PLEG relist;
* container exits are noticed at once (no 1 s PLEG relist); back-offs have no jitter;
* node pressure, eviction and resource limits other than a memory limit below the
  program's working set (OOMKilled) are not modelled.

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> c.node("worker-1")
Node(worker-1, Ready, 2 pods)
"""

from __future__ import annotations

import hashlib
import json

from k8slab.api import errors
from k8slab.api.objects import clone
from k8slab.api.quantity import cpu_millis, to_bytes
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.informer import Informer
from k8slab.apiserver.request import UserInfo
from k8slab.node import nodestatus
from k8slab.node.podstatus import Backoff
from k8slab.node.podworker import PodWorker
from k8slab.node.runtime import ContainerRuntime
from k8slab.node.serve import serve_request
from k8slab.sim.loop import timestamp, timestamp_micro

#: How often the kubelet renews its Lease (``renewInterval``: a quarter of the 40 s duration).
LEASE_RENEW_INTERVAL = 10.0
LEASE_DURATION_SECONDS = 40
#: How often the kubelet looks at its node status (``nodeStatusUpdateFrequency``).
NODE_STATUS_UPDATE_FREQUENCY = 10.0
#: A status that did not change is still reported this often (``nodeStatusReportFrequency``).
NODE_STATUS_REPORT_FREQUENCY = 300.0
#: Right after start the kubelet polls its Node for its pod CIDR (``fastStatusUpdateOnce``).
POD_CIDR_POLL = 0.1

CRI_SOCKETS = {
    "containerd": "unix:///run/containerd/containerd.sock",
    "docker": "unix:///var/run/cri-dockerd.sock",
    "cri-o": "unix:///var/run/crio/crio.sock",
}


class ImagePuller:
    """Serialized image pulls (the kubelet default): one pull at a time per node, others wait in line."""

    def __init__(self, kubelet):
        self.k = kubelet
        self.queue: list = []
        self.active = None

    def pull(self, ref, done) -> None:
        """Queue a pull of ``ref``; ``done(record, error, pull_seconds)`` when it is this pull's turn and done."""
        self.queue.append((ref, done))
        if self.active is None:
            self._next()

    def _next(self) -> None:
        if not self.queue or not self.k.running:
            self.active = None
            return
        ref, done = self.queue.pop(0)
        self.active = ref
        started = self.k.loop.now

        def finished(record, error):
            self.active = None
            done(record, error, self.k.loop.now - started)
            self._next()

        self.k.runtime.pull_image(ref, finished)

    def reset(self) -> None:
        self.queue.clear()
        self.active = None

    def cancel(self, done) -> None:
        self.queue = [(r, d) for r, d in self.queue if d is not done]


class Kubelet:
    """One node's kubelet (see module docstring). Built by :class:`k8slab.Cluster`."""

    def __init__(self, api, loop, rng, name: str, *, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
                 labels: dict | None = None, taints: list | None = None, internal_ip: str = "172.18.0.2",
                 static_pods: list | None = None, events: bool = True, runtime: str = "containerd"):
        self.api = api
        self.loop = loop
        self.name = name
        self.cpu = str(cpu)
        self.memory = str(memory)
        self.max_pods = int(pods)
        self.labels = dict(labels or {})
        self.taints = [dict(t) for t in taints or ()]
        self.internal_ip = internal_ip
        self.static_manifests = [clone(p) for p in static_pods or ()]
        self.actor = f"kubelet/{name}"
        self.client = api.client(self.actor, shared_results=True, user=UserInfo(f"system:node:{name}",
                                                           ("system:nodes", "system:authenticated")))
        self.recorder = EventRecorder(self.client, "kubelet", host=name, enabled=events)
        # Event names are <object>.<nanoseconds + recorder sequence>: two recorders writing about one
        # object at the same instant would pick the same name; start this one's sequence elsewhere.
        self._rng = rng.stream(f"kubelet/{name}")
        self.identity = nodestatus.machine_identity(self._rng)
        self.runtime = ContainerRuntime(loop, rng.stream(f"runtime/{name}"), name, runtime, node_ip=internal_ip)
        self.runtime.on_container_exit = self._on_container_exit
        self.cri_socket = CRI_SOCKETS[runtime]
        self.puller = ImagePuller(self)
        self.pull_backoff = Backoff()
        self.crash_backoff = Backoff()
        self.workers: dict[str, PodWorker] = {}  # by pod UID (static pods: by their config hash)
        self.running = False
        self.pod_cidr: str | None = None
        self.node: dict | None = None  # the Node as last read or written
        self.informer: Informer | None = None
        self.node_informer: Informer | None = None  # its own Node, as the API server has it
        # the ConfigMap and Secret manager (Watch strategy): one watch per object a pod's volume uses
        self._object_watches: dict[tuple[str, str, str], Informer] = {}
        self.lease: dict | None = None
        self.allocated = {"cpu": 0, "memory": 0, "pods": 0}
        self.dataplane = None  # set by the cluster: resolve(name, pod) / http(url, pod) for programs
        self.proxy = None  # the node's kube-proxy, when one runs (for NodeView.iptables)
        self._timers: set = set()
        self._last_status_post = -1e9
        self._last_status = None
        self._cidr_polls = 0
        self._waiting_for_cidr: list[str] = []
        self.host_volumes: dict = {}
        self.status_writes = 0
        self._allocatable = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Kubelet({self.name}, {state}, {len(self.workers)} pods)"

    # -- timers -------------------------------------------------------------------------------
    def later(self, delay: float, fn, *args, what: str = "", background: bool = False):
        """Schedule ``fn(*args)`` as this kubelet (cancelled if the node fails first)."""
        box: list = []
        ev = self.loop.call_later(delay, self._fire, box, fn, args, who=self.actor, what=what, background=background)
        box.append(ev)
        self._timers.add(ev)
        return ev

    def _fire(self, box, fn, args) -> None:
        self._timers.discard(box.pop())  # pop: the event no longer refers to itself
        if self.running:
            fn(*args)

    def cancel(self, ev) -> None:
        if ev is not None and hasattr(ev, "cancelled"):
            self.loop.cancel(ev)
            self._timers.discard(ev)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Boot: register the Node, create the Lease, watch pods, start static pods."""
        self.running = True
        self._event_node("Normal", "Starting", "Starting kubelet.")
        self._register()
        self._renew_lease()
        self.api.kubelet_endpoints[self.name] = self.serve
        self._start_informer()
        self._watch_own_node()
        self._start_static_pods()
        self.later(NODE_STATUS_UPDATE_FREQUENCY, self._status_tick, what="node status check", background=True)
        if self.pod_cidr is None:
            self.later(POD_CIDR_POLL, self._poll_pod_cidr, what="wait for the node's pod CIDR")

    def watched(self, resource: str, namespace: str, name: str) -> dict | None:
        """A ConfigMap or Secret as the kubelet's watch on it has it (the watch starts on first use)."""
        key = (resource, namespace, name)
        inf = self._object_watches.get(key)
        if inf is None:
            inf = Informer(self.client, resource, namespace=namespace, field_selector=f"metadata.name={name}")
            inf.start()
            self._object_watches[key] = inf
        return inf.lister.get(name, namespace)

    def stop(self) -> None:
        """The node fails: the kubelet process is gone, its containers stay as they are."""
        if not self.running:
            return
        self.running = False
        for ev in list(self._timers):
            self.loop.cancel(ev)
        self._timers.clear()
        if self.informer is not None:
            self.informer.stop()
            self.informer = None
        if self.node_informer is not None:
            self.node_informer.stop()
            self.node_informer = None
        for inf in self._object_watches.values():
            inf.stop()
        self._object_watches.clear()
        self.puller.reset()
        self.runtime.freeze()
        self.api.kubelet_endpoints.pop(self.name, None)
        for w in self.workers.values():
            w.interrupted()

    def restart(self) -> None:
        """The node comes back: re-register, renew the lease, re-list and resync its pods."""
        if self.running:
            return
        self.running = True
        self.runtime.thaw()
        self._event_node("Normal", "Starting", "Starting kubelet.")
        self._register()
        self._renew_lease()
        self.api.kubelet_endpoints[self.name] = self.serve
        seen = self._start_informer()
        self._watch_own_node()
        for uid, w in list(self.workers.items()):
            if not w.static and uid not in seen:
                w.removed()  # deleted while the node was away
        for w in list(self.workers.values()):
            w.resume()
        self.later(NODE_STATUS_UPDATE_FREQUENCY, self._status_tick, what="node status check", background=True)
        if self.pod_cidr is None:
            self.later(POD_CIDR_POLL, self._poll_pod_cidr, what="wait for the node's pod CIDR")

    # -- node registration and status --------------------------------------------------------------
    def _event_node(self, type_: str, reason: str, message: str) -> None:
        ref = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.name, "uid": self.name}}
        self.recorder.event(ref, type_, reason, message)

    def _register(self) -> None:
        now = self.loop.now
        node, events = nodestatus.initial_node(self, now)
        try:
            self.node = self.client.create(node)
            self._event_node("Normal", "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods")
        except errors.AlreadyExists:
            # Re-registering (a restart): keep the Node, make sure our labels are on it, report status.
            existing = self.client.get("nodes", self.name)
            labels = existing["metadata"].get("labels") or {}
            wanted = nodestatus.node_labels(self.name, self.labels)
            if any(labels.get(k) != v for k, v in wanted.items()):
                existing["metadata"]["labels"] = {**labels, **wanted}
                existing = self.client.update(existing)
            self.node = existing
            self._event_node("Normal", "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods")
            status, events = nodestatus.node_status(self, existing.get("status"), now)
            self._post_node_status(status, background=False)
        else:
            self._last_status = nodestatus.without_heartbeats(self.node["status"])
            self._last_status_post = now
        for reason in events:
            self._event_node("Normal", reason, f"Node {self.name} status is now: {reason}")
        self._learn_pod_cidr(self.node)

    def _post_node_status(self, status: dict, background: bool) -> None:
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.name}, "status": status}
        try:
            self.node = self.client.update_status(body, background=background)
        except errors.ApiError:
            return
        self._last_status = nodestatus.without_heartbeats(status)
        self._last_status_post = self.loop.now

    def _watch_own_node(self) -> None:
        self.node_informer = Informer(self.client, "nodes", field_selector=f"metadata.name={self.name}")
        self.node_informer.start()

    def _status_tick(self) -> None:
        now = self.loop.now
        status, events = nodestatus.node_status(self, (self.node or {}).get("status"), now)
        changed = nodestatus.without_heartbeats(status) != self._last_status
        stored = self.node_informer.lister.get(self.name) if self.node_informer is not None else None
        if stored is not None and not changed:
            # the node controller may have overwritten our conditions (Unknown after missed leases):
            # like the real kubelet, compare with the Node as stored, not only with our last post
            changed = nodestatus.without_heartbeats(stored.get("status") or {}) != self._last_status
        if changed or now - self._last_status_post >= NODE_STATUS_REPORT_FREQUENCY:
            self._post_node_status(status, background=not events)
            for reason in events:
                self._event_node("Normal", reason, f"Node {self.name} status is now: {reason}")
        self.later(NODE_STATUS_UPDATE_FREQUENCY, self._status_tick, what="node status check", background=True)

    def _poll_pod_cidr(self) -> None:
        try:
            node = self.client.get("nodes", self.name)
        except errors.ApiError:
            node = None
        if node is not None:
            self.node = node
            self._learn_pod_cidr(node)
        if self.pod_cidr is None:
            self._cidr_polls += 1
            # poll fast for a couple of seconds, then settle to the status loop's pace
            fast = self._cidr_polls < 20
            self.later(POD_CIDR_POLL if fast else NODE_STATUS_UPDATE_FREQUENCY, self._poll_pod_cidr,
                       what="wait for the node's pod CIDR", background=not fast)

    def _learn_pod_cidr(self, node: dict | None) -> None:
        cidr = ((node or {}).get("spec") or {}).get("podCIDR")
        if cidr and cidr != self.pod_cidr:
            self.pod_cidr = cidr
            self.runtime.update_runtime_config(cidr)
            waiting, self._waiting_for_cidr = self._waiting_for_cidr, []
            for uid in waiting:
                w = self.workers.get(uid)
                if w is not None:
                    w.sync()

    def wait_for_pod_cidr(self, worker: PodWorker) -> None:
        if worker.uid not in self._waiting_for_cidr:
            self._waiting_for_cidr.append(worker.uid)

    # -- lease ----------------------------------------------------------------------------------------
    def _renew_lease(self) -> None:
        now = self.loop.now
        if self.lease is None:
            try:
                self.lease = self.client.get("leases", self.name, "kube-node-lease")
            except errors.NotFound:
                self.lease = None
        if self.lease is None:
            lease = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": self.name, "leaseDurationSeconds": LEASE_DURATION_SECONDS,
                         "renewTime": timestamp_micro(now)},
            }
            if self.node is not None:
                lease["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.name,
                                                         "uid": self.node["metadata"]["uid"]}]
            try:
                self.lease = self.client.create(lease, background=True)
            except errors.ApiError:
                self.lease = None
        else:
            lease = clone(self.lease)
            lease["spec"]["renewTime"] = timestamp_micro(now)
            lease["spec"]["holderIdentity"] = self.name
            try:
                self.lease = self.client.update(lease, background=True)
            except (errors.Conflict, errors.NotFound):
                self.lease = None  # someone changed or removed it: read it again next time
            except errors.ApiError:
                pass  # the API server could not store it (etcd lost quorum): try again next interval
        self.later(LEASE_RENEW_INTERVAL, self._renew_lease, what="renew node lease", background=True)

    # -- pods ---------------------------------------------------------------------------------------------
    def _start_informer(self) -> set[str]:
        seen: set[str] = set()
        inf = Informer(self.client, "pods", field_selector=f"spec.nodeName={self.name}")
        inf.add_event_handler(
            on_add=lambda p: (seen.add(p["metadata"].get("uid")), self._on_pod(p)),
            on_update=lambda old, new: self._on_pod(new),
            on_delete=self._on_pod_deleted,
        )
        self.informer = inf
        inf.start()
        return seen

    def _on_pod(self, pod: dict) -> None:
        if not self.running:
            return
        m = pod["metadata"]
        annotations = m.get("annotations") or {}
        mirror_of = annotations.get("kubernetes.io/config.mirror")
        if mirror_of is not None:
            w = self.workers.get(mirror_of)
            if w is not None and w.static:
                w.mirror_seen(pod)
            elif pod["metadata"].get("deletionTimestamp") is None:
                self._delete_pod(pod)  # a mirror of a static pod we no longer run
            return
        uid = m.get("uid")
        w = self.workers.get(uid)
        if w is None:
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                return  # finished before (or without) us
            if m.get("deletionTimestamp"):
                self._delete_pod(pod)  # never started here: nothing to stop
                return
            w = self.workers[uid] = PodWorker(self, pod)
            w.admit()
            return
        w.update(pod)

    def _on_pod_deleted(self, pod: dict) -> None:
        if not self.running:
            return
        m = pod["metadata"]
        mirror_of = (m.get("annotations") or {}).get("kubernetes.io/config.mirror")
        if mirror_of is not None:
            w = self.workers.get(mirror_of)
            if w is not None and w.static:
                w.mirror_gone()
            return
        w = self.workers.get(m.get("uid"))
        if w is not None:
            w.removed()

    def forget(self, worker: PodWorker) -> None:
        self.workers.pop(worker.uid, None)

    def _delete_pod(self, pod: dict) -> None:
        m = pod["metadata"]
        try:
            self.client.delete("pods", m["name"], m.get("namespace"), grace_period_seconds=0)
        except errors.NotFound:
            pass

    def _on_container_exit(self, container) -> None:
        w = self.workers.get(container.pod_uid)
        if w is not None:
            w.container_exited(container)

    # -- static pods ------------------------------------------------------------------------------------
    def _start_static_pods(self) -> None:
        for manifest in self.static_manifests:
            pod = static_pod(manifest, self.name, self.loop.now)
            uid = pod["metadata"]["uid"]
            if uid in self.workers:
                continue
            w = self.workers[uid] = PodWorker(self, pod, static=True)
            self.later(0.0, w.admit, what=f"start static pod kube-system/{pod['metadata']['name']}")

    # -- resources (kubelet admission) ------------------------------------------------------------------
    def requests_of(self, pod: dict) -> tuple[int, int]:
        spec = pod.get("spec") or {}
        cpu = mem = 0
        for c in spec.get("containers") or ():
            req = (c.get("resources") or {}).get("requests") or {}
            cpu += cpu_millis(req["cpu"]) if "cpu" in req else 0
            mem += to_bytes(req["memory"]) if "memory" in req else 0
        for c in spec.get("initContainers") or ():
            req = (c.get("resources") or {}).get("requests") or {}
            cpu = max(cpu, cpu_millis(req["cpu"]) if "cpu" in req else 0)
            mem = max(mem, to_bytes(req["memory"]) if "memory" in req else 0)
        return cpu, mem

    def allocatable_of(self) -> dict:
        if self._allocatable is None:
            self._allocatable = {"cpu": cpu_millis(self.cpu),
                                 "memory": to_bytes(nodestatus.allocatable_memory(self.memory)), "pods": self.max_pods}
        return self._allocatable

    # -- serving logs and exec ---------------------------------------------------------------------------
    def serve(self, req, pod: dict):
        """The kubelet's HTTPS endpoint (port 10250) for ``pods/log`` and ``pods/exec``."""
        return serve_request(self, req, pod)

    def worker_for(self, pod: dict) -> PodWorker | None:
        m = pod["metadata"]
        w = self.workers.get(m.get("uid"))
        if w is None:
            mirror = (m.get("annotations") or {}).get("kubernetes.io/config.mirror")
            w = self.workers.get(mirror) if mirror else None
        return w

    # -- views -------------------------------------------------------------------------------------------
    def view(self):
        """What ``c.node(name)`` returns: this node's pods and containers."""
        from k8slab.node.view import NodeView

        return NodeView(self)


def static_pod(manifest: dict, node: str, now: float) -> dict:
    """The pod the kubelet builds from a manifest file: named ``<name>-<node>``, UID = config hash."""
    pod = clone(manifest)
    m = pod.setdefault("metadata", {})
    m["name"] = f"{m['name']}-{node}"
    m.setdefault("namespace", "default")
    digest = hashlib.md5(json.dumps(manifest, sort_keys=True).encode() + node.encode()).hexdigest()  # noqa: S324
    m["uid"] = digest
    ann = m.setdefault("annotations", {})
    ann["kubernetes.io/config.hash"] = digest
    ann["kubernetes.io/config.seen"] = timestamp(now).replace("Z", ".000000000Z")
    ann["kubernetes.io/config.source"] = "file"
    spec = pod.setdefault("spec", {})
    spec["nodeName"] = node
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("tolerations", [{"effect": "NoExecute", "operator": "Exists"}])
    for c in spec.get("containers") or ():
        c.setdefault("imagePullPolicy", "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
    pod.setdefault("status", {"phase": "Pending"})
    return pod
