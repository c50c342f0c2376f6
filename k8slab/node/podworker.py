"""A pod worker: the kubelet's state machine for one pod, from admission to removal.

``sync`` is level-triggered, like the kubelet's ``SyncPod``: it looks at where the
pod is and does the next step — wait for the node's pod CIDR, set up volumes,
create the sandbox (the pod IP), then for each container in order: make sure the
image is there (pulling it through the node's serialized puller, with a back-off
per image after failures), create it, start it. Init containers run first, one at a time,
each to success. A container that exits is restarted per ``restartPolicy`` with
the crash-loop back-off (at once the first time, then after 10 s, 20 s, 40 s ...
up to 5 min); a pod whose containers are all done for good ends ``Succeeded`` or
``Failed``. A pod with a ``deletionTimestamp`` has its containers stopped
(``SIGTERM``, then ``SIGKILL`` when the grace period ends), its sandbox removed,
and is then deleted for good with ``gracePeriodSeconds=0``.

Status is written when something a user would see changes: on first sight
(``ContainerCreating``), when the pod gets its IP while an image is still being
pulled, when containers start / exit / change readiness, on errors.

Simplified: one operation at a time per pod (the real kubelet also starts
containers one after the other); volume set-up is instant.
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.defaults import image_pull_policy
from k8slab.api.nodeaffinity import RequiredNodeAffinity
from k8slab.node import containerconfig, podstatus
from k8slab.node.images import InvalidImageName, normalize
from k8slab.node.podstatus import format_pod, go_duration
from k8slab.node.probes import Prober

#: Virtual seconds the runtime takes for a sandbox (pause container + CNI), and to create and start
#: a container.
SANDBOX_SECONDS = 0.3
CREATE_SECONDS = 0.1
#: After a failed pull the next sync (which reports ImagePullBackOff) comes this much later.
PULL_ERROR_RESYNC = 1.0


# the kubelet's --sync-frequency: how often every pod is synced again, changed or not
SYNC_FREQUENCY = 60.0

class ContainerState:
    """The kubelet's memory of one container of the pod (across its restarts)."""

    __slots__ = ("name", "spec", "init", "restartable", "current", "previous", "restart_count", "waiting", "ready",
                 "started", "backoff_event", "prober")

    def __init__(self, spec: dict, init: bool):
        self.name = spec["name"]
        self.spec = spec
        self.init = init
        self.restartable = init and spec.get("restartPolicy") == "Always"
        self.current = None
        self.previous = None
        self.restart_count = 0
        self.waiting = None  # (reason, message)
        self.ready = False
        self.started = False
        self.backoff_event = None
        self.prober = None

    @property
    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    @property
    def succeeded(self) -> bool:
        c = self.current
        return c is not None and c.exited and c.exit_code == 0

    def __repr__(self) -> str:
        state = "none" if self.current is None else self.current.state.removeprefix("CONTAINER_").lower()
        return f"ContainerState({self.name}: {state}, restarts={self.restart_count}, waiting={self.waiting})"


class PodWorker:
    def __init__(self, kubelet, pod: dict, static: bool = False):
        self.k = kubelet
        self.pod = pod
        self.static = static
        m = pod["metadata"]
        self.uid = m["uid"]
        self.name = m["name"]
        self.namespace = m.get("namespace", "default")
        self.state = "new"  # new, active, final, terminating, terminated
        self.sandbox = None
        self.volumes: dict = {}
        self.volumes_ready = False
        self.busy = None  # the event of the operation in flight
        self.retry = None
        self.start_time: float | None = None
        self.last_status: dict | None = None
        self.admitted_resources = (0, 0)
        self._counted = False
        self.mirror = None
        self.reason = None  # rejected / evicted pods: status.reason and status.message
        self.message = None
        self.mount_backoff = 2.0
        self.pull_waiter = None
        spec = pod.get("spec") or {}
        self.states: list[ContainerState] = [ContainerState(c, True) for c in spec.get("initContainers") or ()]
        self.states += [ContainerState(c, False) for c in spec.get("containers") or ()]
        self.by_name = {st.name: st for st in self.states}

    def __repr__(self) -> str:
        return f"PodWorker({self.namespace}/{self.name}, {self.state})"

    # -- helpers ---------------------------------------------------------------------------------------
    @property
    def spec(self) -> dict:
        return self.pod.get("spec") or {}

    @property
    def host_network(self) -> bool:
        return bool(self.spec.get("hostNetwork"))

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def event(self, type_: str, reason: str, message: str, st: ContainerState | None = None) -> None:
        self.k.recorder.event(self.pod, type_, reason, message, field_path=st.field_path if st else None)

    def _later(self, delay: float, fn, *args, what: str = "", background: bool = False):
        return self.k.later(delay, fn, *args, what=what, background=background)

    def _cancel_timers(self) -> None:
        self.k.cancel(self.busy)
        self.k.cancel(self.retry)
        self.busy = self.retry = None
        if self.pull_waiter is not None:
            self.k.puller.cancel(self.pull_waiter)
            self.pull_waiter = None
        for st in self.states:
            self.k.cancel(st.backoff_event)
            st.backoff_event = None

    # -- admission ------------------------------------------------------------------------------------------
    def admit(self) -> None:
        """The kubelet's admission: does the pod fit on this node (resources, node selector)?"""
        k = self.k
        if self.state != "new" or not k.running:
            return
        cpu, mem = k.requests_of(self.pod)
        alloc = k.allocatable_of()
        used = k.allocated
        rejection = None
        if used["pods"] + 1 > alloc["pods"]:
            rejection = ("OutOfpods", f"Node didn't have enough resource: pods, requested: 1, used: {used['pods']}, "
                                      f"capacity: {alloc['pods']}")
        elif cpu and used["cpu"] + cpu > alloc["cpu"]:
            rejection = ("OutOfcpu", f"Node didn't have enough resource: cpu, requested: {cpu}, used: {used['cpu']}, "
                                     f"capacity: {alloc['cpu']}")
        elif mem and used["memory"] + mem > alloc["memory"]:
            rejection = ("OutOfmemory", f"Node didn't have enough resource: memory, requested: {mem}, "
                                        f"used: {used['memory']}, capacity: {alloc['memory']}")
        else:
            # The real kubelet checks against the Node from its informer (getNodeAnyWay), so labels
            # added since its last status update (`kubectl label node`) count; k.node is only the
            # copy it last wrote itself.
            informer = getattr(k, "node_informer", None)
            node = informer.lister.get(k.name) if informer is not None else None
            if not RequiredNodeAffinity.of(self.spec).match(node or k.node or {}):
                rejection = ("NodeAffinity", "Predicate NodeAffinity failed")
        if rejection is not None and not self.static:
            reason, message = rejection
            self.state = "final"
            self.reason, self.message = reason, f"Pod was rejected: {message}"
            self.event("Warning", reason, message)
            self.post_status()
            return
        self.admitted_resources = (cpu, mem)
        self._counted = True
        used["cpu"] += cpu
        used["memory"] += mem
        used["pods"] += 1
        self.state = "active"
        self.start_time = k.loop.now
        if self.pod["metadata"].get("deletionTimestamp"):
            self.terminate()
            return
        self.sync()

    def _release_resources(self) -> None:
        if not self._counted:
            return
        self._counted = False
        cpu, mem = self.admitted_resources
        used = self.k.allocated
        used["cpu"] -= cpu
        used["memory"] -= mem
        used["pods"] -= 1

    # -- updates from the API ----------------------------------------------------------------------------------
    def update(self, pod: dict) -> None:
        old = self.pod
        self.pod = pod
        if self.state == "new":
            return
        if pod["metadata"].get("deletionTimestamp") and self.state not in ("terminating", "terminated"):
            self.terminate()
            return
        if self.state != "active":
            return
        # a changed container image (kubectl set image on a pod) restarts that container
        new_specs = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or ()}
        old_specs = {c["name"]: c for c in (old.get("spec") or {}).get("containers") or ()}
        resync = False
        for name, c in new_specs.items():
            st = self.by_name.get(name)
            if st is None or old_specs.get(name, {}).get("image") == c.get("image"):
                continue
            st.spec = c
            if st.current is not None and st.current.running:
                self.event("Normal", "Killing", f"Container {name} definition changed, will be restarted", st)
                self.k.runtime.stop_container(st.current.id, self._grace())
            else:
                # Back-offs are per image (pull) and per container spec (crash loop): the old
                # image's back-off does not hold the new one back. Drop its timer and sync now,
                # as the real kubelet does on every pod update.
                self.k.cancel(st.backoff_event)
                st.backoff_event = None
                resync = True
        if resync:
            self.sync()

    def mirror_seen(self, mirror: dict) -> None:
        self.mirror = mirror
        if mirror["metadata"].get("deletionTimestamp"):
            self.k._delete_pod(mirror)

    def mirror_gone(self) -> None:
        self.mirror = None
        if self.state in ("active", "final") and self.k.running:
            self._create_mirror()

    # -- the state machine ---------------------------------------------------------------------------------------
    def sync(self) -> None:
        k = self.k
        if not k.running or self.state != "active" or self.busy is not None:
            return
        if self.static and self.mirror is None and not getattr(self, "_mirror_requested", False):
            self._create_mirror()
        if self.sandbox is None:
            if not self.host_network and k.pod_cidr is None:
                k.wait_for_pod_cidr(self)
                self.post_status()
                return
            if not self.volumes_ready and not self._setup_volumes():
                self.post_status()
                return
            self.busy = self._later(SANDBOX_SECONDS, self._sandbox_created, what=f"create sandbox for {self.ref}")
            self.post_status()
            return
        for st in self.states:
            if not st.init:
                continue
            if st.restartable:
                if st.current is None or st.current.exited:
                    if self._maybe_start(st):
                        return
                continue
            if st.succeeded:
                continue
            if st.current is not None and not st.current.exited:
                self.post_status()
                return  # wait for it to finish
            if st.current is not None and self.spec.get("restartPolicy", "Always") == "Never":
                self._finish_pod()
                return
            if self._maybe_start(st):
                return
            self.post_status()
            return
        policy = self.spec.get("restartPolicy", "Always")
        for st in self.states:
            if st.init:
                continue
            c = st.current
            if c is None or (c.exited and (policy == "Always" or (policy == "OnFailure" and c.exit_code != 0))):
                if self._maybe_start(st):
                    return
        if policy != "Always":
            app = [st for st in self.states if not st.init]
            if app and all(st.current is not None and st.current.exited
                           and (policy == "Never" or st.current.exit_code == 0) for st in app):
                self._finish_pod()
                return
        self.post_status()

    def _maybe_start(self, st: ContainerState) -> bool:
        """Start ``st`` unless it is backing off. Returns True when an operation is now in flight."""
        k = self.k
        now = k.loop.now
        c = st.current
        if c is not None and c.exited:
            # the kubelet's key holds a hash of the container's spec: a new image starts afresh
            key = f"{self.uid}/{st.name}/{st.spec.get('image', '')}"
            if k.crash_backoff.in_backoff_since(key, c.finished_at, now):
                delay = k.crash_backoff.get(key)
                msg = f"back-off {go_duration(delay)} restarting failed container={st.name} pod={format_pod(self.pod)}"
                if st.waiting is None or st.waiting[0] != "CrashLoopBackOff":
                    st.waiting = ("CrashLoopBackOff", msg)
                    self.event("Warning", "BackOff", f"Back-off restarting failed container {st.name} in pod "
                                                     f"{format_pod(self.pod)}", st)
                if st.backoff_event is None:
                    st.backoff_event = self._later(c.finished_at + delay - now, self._backoff_over, st,
                                                   what=f"back-off over for {self.ref}/{st.name}", background=True)
                return False
            k.crash_backoff.next(key, c.finished_at, now)
        return self._ensure_image(st)

    def _backoff_over(self, st: ContainerState) -> None:
        st.backoff_event = None
        self.sync()

    # -- sandbox and volumes --------------------------------------------------------------------------------
    def _setup_volumes(self) -> bool:
        try:
            self.volumes = containerconfig.pod_volumes(self)
        except containerconfig.MountError as e:
            self.event("Warning", "FailedMount", f'MountVolume.SetUp failed for volume "{e.volume}" : {e}')
            delay = self.mount_backoff
            self.mount_backoff = min(self.mount_backoff * 2, 122.0)
            self.retry = self._later(delay, self._retry_sync, what=f"retry volumes of {self.ref}", background=True)
            return False
        self.volumes_ready = True
        if any("configMap" in v or "secret" in v for v in (self.spec.get("volumes") or ())):
            self._later(SYNC_FREQUENCY, self._periodic_sync, what=f"periodic sync of {self.ref}", background=True)
        return True

    def _periodic_sync(self) -> None:
        """Every ``--sync-frequency`` (1 min) the kubelet syncs the pod again: ConfigMap and Secret
        volumes get the sources' current keys (environment variables never change)."""
        if self.state != "active":
            return
        containerconfig.refresh_config_volumes(self, self.k.loop.now)
        self._later(SYNC_FREQUENCY, self._periodic_sync, what=f"periodic sync of {self.ref}", background=True)

    def _retry_sync(self) -> None:
        self.retry = None
        self.sync()

    def _sandbox_created(self) -> None:
        self.busy = None
        if self.state != "active":
            return
        k = self.k
        config = {"name": self.name, "namespace": self.namespace, "uid": self.uid, "hostNetwork": self.host_network,
                  "hostname": containerconfig.pod_hostname(self.pod),
                  "labels": {"io.kubernetes.pod.name": self.name, "io.kubernetes.pod.namespace": self.namespace,
                             "io.kubernetes.pod.uid": self.uid}}
        try:
            self.sandbox = k.runtime.run_pod_sandbox(config)
        except RuntimeError as e:
            self.event("Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: rpc error: code = "
                                                            f"Unknown desc = {e}")
            self.retry = self._later(10.0, self._retry_sync, what=f"retry sandbox of {self.ref}", background=True)
            return
        self.sync()
        # while an image is being downloaded the pod already has its IP: report it
        if self.busy is not None and getattr(self, "_pulling", False):
            self.post_status()

    # -- images and containers ----------------------------------------------------------------------------------
    def _ensure_image(self, st: ContainerState) -> bool:
        k = self.k
        image = st.spec.get("image", "")
        try:
            ref = normalize(image)
        except InvalidImageName as e:
            msg = f'Failed to apply default image tag "{image}": {e}'
            self.event("Warning", "InspectFailed", msg, st)
            self.event("Warning", "Failed", "Error: InvalidImageName", st)
            st.waiting = ("InvalidImageName", msg)
            return False
        policy = st.spec.get("imagePullPolicy") or image_pull_policy(image)
        present = k.runtime.image_status(ref) is not None
        if policy == "Never" or (policy == "IfNotPresent" and present):
            if present:
                self.event("Normal", "Pulled", f'Container image "{image}" already present on machine', st)
                self._create(st)
                return True
            msg = f'Container image "{image}" is not present with pull policy of Never'
            self.event("Warning", "ErrImageNeverPull", msg, st)
            self.event("Warning", "Failed", "Error: ErrImageNeverPull", st)
            st.waiting = ("ErrImageNeverPull", msg)
            return False
        key = f"{self.uid}_{image}"
        now = k.loop.now
        if k.pull_backoff.in_backoff_since_update(key, now):
            msg = f'Back-off pulling image "{image}"'
            if st.waiting != ("ImagePullBackOff", msg):  # new, or now for another image
                self.event("Normal", "BackOff", msg, st)
                self.event("Warning", "Failed", "Error: ImagePullBackOff", st)
                st.waiting = ("ImagePullBackOff", msg)
                self.post_status()
            if st.backoff_event is None:
                st.backoff_event = self._later(k.pull_backoff.release_at(key) - now, self._backoff_over, st,
                                               what=f"retry pull of {image} for {self.ref}", background=True)
            return False
        self.event("Normal", "Pulling", f'Pulling image "{image}"', st)
        asked = now
        # a real download (nothing queued before it, image not on the node) takes long enough
        # for `kubectl get pods -o wide` to show the pod's IP while it is still ContainerCreating
        self._pulling = not present and not k.puller.queue and k.puller.active is None

        def done(record, error, pull_seconds):
            self.pull_waiter = None
            self.busy = None
            self._pulling = False
            if self.state != "active":
                return
            if error is not None:
                self.event("Warning", "Failed", f'Failed to pull image "{image}": {error}', st)
                self.event("Warning", "Failed", "Error: ErrImagePull", st)
                k.pull_backoff.next(key, k.loop.now, k.loop.now)
                st.waiting = ("ErrImagePull", error)
                self.post_status()
                self.retry = self._later(PULL_ERROR_RESYNC, self._retry_sync, what=f"resync {self.ref}")
                return
            total = k.loop.now - asked
            self.event("Normal", "Pulled", f'Successfully pulled image "{image}" in {go_duration(pull_seconds)} '
                                           f"({go_duration(total)} including waiting). Image size: {record.size} bytes.",
                       st)
            if st.spec.get("image", "") != image:
                # `kubectl set image` while the old image was downloading: go for the new one
                # (simplified: the real kubelet would start the old one, then restart it)
                self.sync()
                return
            self._create(st)

        self.pull_waiter = done
        self.busy = True  # the puller calls back; nothing to cancel on the clock
        k.puller.pull(ref, done)
        return True

    def _create(self, st: ContainerState) -> None:
        self.busy = self._later(CREATE_SECONDS, self._created, st, what=f"create container {self.ref}/{st.name}")

    def _created(self, st: ContainerState) -> None:
        self.busy = None
        if self.state != "active":
            return
        k = self.k
        try:
            config = containerconfig.container_config(self, st)
        except containerconfig.ConfigError as e:
            self.event("Warning", "Failed", f"Error: {e}", st)
            st.waiting = ("CreateContainerConfigError", str(e))
            self.post_status()
            self.retry = self._later(10.0, self._retry_sync, what=f"retry config of {self.ref}", background=True)
            return
        c = k.runtime.create_container(self.sandbox.id, config)
        self.event("Normal", "Created", f"Created container {st.name}", st)
        self._started(st, c)

    def _started(self, st: ContainerState, c) -> None:
        self.busy = None
        if self.state != "active":
            return
        k = self.k
        if st.current is not None:
            st.previous = st.current
            st.restart_count += 1
        st.current = c
        k.runtime.start_container(c.id)
        st.waiting = None
        if c.exited:  # StartError
            self.event("Warning", "Failed", f"Error: {c.message}", st)
            self.post_status()
            self.sync()
            return
        self.event("Normal", "Started", f"Started container {st.name}", st)
        st.started = not st.spec.get("startupProbe")
        st.ready = not st.spec.get("readinessProbe") and st.started
        if st.spec.get("startupProbe") or st.spec.get("readinessProbe") or st.spec.get("livenessProbe"):
            st.prober = Prober(self, st)
            st.prober.start()
        self._gc_containers(st)
        self.sync()
        if self.busy is None or getattr(self, "_pulling", False):
            self.post_status()

    def _gc_containers(self, st: ContainerState) -> None:
        # the kubelet keeps one dead instance per container (for `kubectl logs --previous`)
        if st.previous is None:
            return
        keep = {id(st.current), id(st.previous)}
        for c in self.k.runtime.list_containers(self.uid):
            if c.name == st.name and c.exited and id(c) not in keep:
                self.k.runtime.remove_container(c.id)

    # -- container exits --------------------------------------------------------------------------------------
    def container_exited(self, c) -> None:
        st = self.by_name.get(c.name)
        if st is None or st.current is not c:
            return
        st.ready = False
        st.started = False
        if st.prober is not None:
            st.prober.stop()
            st.prober = None
        if self.state == "terminating":
            self._maybe_terminated()
            return
        if self.state != "active":
            return
        self.post_status()
        self.sync()

    def probe_failed(self, st: ContainerState, kind: str) -> None:
        """A liveness / startup probe failed ``failureThreshold`` times: restart the container."""
        if st.current is None or not st.current.running or self.state != "active":
            return
        self.event("Normal", "Killing", f"Container {st.name} failed {kind} probe, will be restarted", st)
        self.k.runtime.stop_container(st.current.id, self._grace(probe=st.spec.get(f"{kind}Probe")))

    def readiness_changed(self) -> None:
        if self.state == "active":
            self.post_status()

    def _finish_pod(self) -> None:
        """Every container is done for good: the pod reached Succeeded or Failed; free its sandbox."""
        self.state = "final"
        self._cancel_timers()
        if self.sandbox is not None:
            self.k.runtime.stop_pod_sandbox(self.sandbox.id)
        self._release_resources()
        self.post_status()

    # -- termination ------------------------------------------------------------------------------------------
    def _grace(self, probe: dict | None = None) -> float:
        if probe and probe.get("terminationGracePeriodSeconds") is not None:
            return float(probe["terminationGracePeriodSeconds"])
        g = self.pod["metadata"].get("deletionGracePeriodSeconds")
        if g is None:
            g = self.spec.get("terminationGracePeriodSeconds", 30)
        return float(g)

    def terminate(self) -> None:
        """The pod is being deleted: stop its containers gracefully, then remove it."""
        if self.state in ("terminating", "terminated"):
            return
        self.state = "terminating"
        self._cancel_timers()
        grace = self._grace()
        for st in self.states:
            if st.prober is not None:
                st.prober.stop()
                st.prober = None
            if st.current is not None and st.current.running:
                self.event("Normal", "Killing", f"Stopping container {st.name}", st)
                self.k.runtime.stop_container(st.current.id, grace)
        self._maybe_terminated()

    def _maybe_terminated(self) -> None:
        if any(st.current is not None and st.current.running for st in self.states):
            return
        k = self.k
        if self.sandbox is not None:
            k.runtime.stop_pod_sandbox(self.sandbox.id)
        self._release_resources()
        self.state = "terminated"
        self.post_status(terminal=True)
        if self.static:
            return
        try:
            k.client.delete("pods", self.name, self.namespace, grace_period_seconds=0)
        except errors.NotFound:
            self.removed()

    def removed(self) -> None:
        """The pod is gone from the API (deleted, or deleted while the node was away): clean up now."""
        k = self.k
        self.state = "terminated"  # first: the exits below must not look like crashes to restart
        self._cancel_timers()
        for st in self.states:
            if st.prober is not None:
                st.prober.stop()
                st.prober = None
            if st.current is not None and st.current.running:
                k.runtime.stop_container(st.current.id, 0)
        if self.sandbox is not None:
            k.runtime.remove_pod_sandbox(self.sandbox.id)
        self._release_resources()
        k.forget(self)

    # -- node failure ------------------------------------------------------------------------------------------
    def interrupted(self) -> None:
        """The kubelet stopped: whatever was in flight is lost."""
        self.busy = self.retry = None
        self.pull_waiter = None
        self._pulling = False
        for st in self.states:
            st.backoff_event = None
            if st.prober is not None:
                st.prober.stop()

    def resume(self) -> None:
        """The kubelet is back: pick the pod up where it is."""
        if self.state == "new":
            self.admit()
            return
        if self.state == "terminating":
            self._maybe_terminated()
            return
        for st in self.states:
            if st.prober is not None and st.current is not None and st.current.running:
                st.prober.start()
        if self.state == "active":
            self.last_status = None
            self.sync()
            self.post_status()

    # -- mirror pods (static pods) ------------------------------------------------------------------------------
    def _create_mirror(self) -> None:
        k = self.k
        self._mirror_requested = True
        if k.node is None:
            return
        mirror = containerconfig.mirror_pod(self.pod, k.node)
        try:
            self.mirror = k.client.create(mirror)
            self.last_status = None
            k.later(0.0, self.post_status, what=f"report status of mirror pod {self.ref}")
        except errors.AlreadyExists:
            pass
        except errors.ApiError:
            self._mirror_requested = False

    # -- status ------------------------------------------------------------------------------------------------
    def build_status(self, terminal: bool = False) -> dict:
        return podstatus.pod_status(self, terminal)

    def post_status(self, terminal: bool = False) -> None:
        k = self.k
        if not k.running:
            return
        status = self.build_status(terminal)
        if status == self.last_status:
            return
        self.last_status = status
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": self.name, "namespace": self.namespace},
                "status": status}
        try:
            k.client.update_status(body)
            k.status_writes += 1
        except errors.NotFound:
            self.last_status = None
