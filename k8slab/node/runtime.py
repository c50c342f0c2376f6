"""The container runtime: what the kubelet asks to pull images and run containers (the CRI).

The kubelet never runs a process itself. Like the real one it talks to a runtime
(containerd by default; docker via cri-dockerd, or CRI-O) through a small set of
calls, the shape of the CRI: ``pull_image``, ``image_status``,
``run_pod_sandbox`` / ``stop_pod_sandbox``, ``create_container``,
``start_container``, ``stop_container``, ``remove_container``, ``list_containers``,
``exec_sync``. A *sandbox* is the pod's network namespace (held by the ``pause``
container), with the pod's IP from the node's CNI IP allocator (host-local IPAM
over the node's ``podCIDR``); containers join it.

The runtime lists every container on the node, including ones the kubelet did
not create (``run_unmanaged`` — what ``ctr run`` or ``docker run`` on the node
would make); the kubelet manages only containers labelled with its pods' UIDs.

Things happen on the virtual clock: a pull finishes after the image's pull time,
a program exits when its script says so; the runtime then tells its subscriber
(the kubelet's PLEG) with ``on_container_exit``.

Simplified: one IP family; a stopped node freezes its runtime (nothing progresses
until it is restarted); exec'd commands run instantly on the virtual clock.

Example
-------
>>> from k8slab.sim import EventLoop, Randomness
>>> loop = EventLoop()
>>> rt = ContainerRuntime(loop, Randomness(0).stream("rt"), "worker-1")
>>> rt.version
'containerd://1.7.15'
>>> rt.image_status("registry.k8s.io/pause:3.9") is not None
True
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from k8slab.node import images as images_mod
from k8slab.node.images import ImageRecord, ImageRef, image_id, image_size, lookup, normalize
from k8slab.node.program import (
    Filesystem,
    HttpResponse,
    Process,
    ProcessContext,
    StartError,
    Volume,
    base_root,
    build_program,
    serve_http,
)

#: The runtimes k8slab can pretend to be, and the version each reports.
RUNTIME_VERSIONS = {"containerd": "1.7.15", "docker": "26.1.4", "cri-o": "1.30.1"}

#: How far ahead a program is run to learn when it will exit (longer-running ones are checked later).
LOOKAHEAD = 600.0

__all__ = ["Container", "ContainerRuntime", "HttpResponse", "RUNTIME_VERSIONS", "Sandbox"]


@dataclass
class Sandbox:
    """A pod sandbox: the network namespace (pause container) the pod's containers share."""

    id: str
    pod_name: str
    namespace: str
    pod_uid: str
    ip: str
    host_network: bool
    hostname: str
    created_at: float
    state: str = "SANDBOX_READY"
    labels: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Sandbox({self.namespace}/{self.pod_name}, {self.ip}, {self.state})"


@dataclass
class Container:
    """One container of the runtime (``crictl ps -a`` shows these)."""

    id: str
    name: str
    sandbox_id: str
    image: ImageRef
    image_record: ImageRecord | None
    labels: dict
    created_at: float
    attempt: int = 0
    state: str = "CONTAINER_CREATED"
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str = ""
    message: str = ""
    process: Process | None = None
    config: dict = field(default_factory=dict, repr=False)
    stopping: bool = False
    runtime: str = "containerd"

    @property
    def cri_id(self) -> str:
        """``containerd://<64 hex>`` — the ``containerID`` the kubelet reports."""
        return f"{self.runtime}://{self.id}"

    @property
    def pod_uid(self) -> str:
        return self.labels.get("io.kubernetes.pod.uid", "")

    @property
    def running(self) -> bool:
        return self.state == "CONTAINER_RUNNING"

    @property
    def exited(self) -> bool:
        return self.state == "CONTAINER_EXITED"

    def __repr__(self) -> str:
        pod = self.labels.get("io.kubernetes.pod.name", "-")
        state = self.state.removeprefix("CONTAINER_").lower()
        extra = f" code={self.exit_code}" if self.exited else ""
        return f"Container({self.id[:13]} {pod}/{self.name} {state}{extra})"


class HostLocalIPAM:
    """CNI's host-local IP allocator over the node's pod CIDR: .1 is the gateway, pods get .2 onward.

    Like host-local it continues after the last address it handed out (wrapping), so a
    freed IP is not reused at once.

    >>> ipam = HostLocalIPAM("10.244.1.0/24")
    >>> ipam.allocate("a"), ipam.allocate("b")
    ('10.244.1.2', '10.244.1.3')
    >>> ipam.release("a"); ipam.allocate("c")
    '10.244.1.4'
    """

    def __init__(self, cidr: str):
        self.cidr = cidr
        net = ipaddress.ip_network(cidr, strict=False)
        self._base = int(net.network_address)
        self._first = 2
        self._last = net.num_addresses - 2
        self._last_reserved = self._first - 1
        self._by_owner: dict[str, int] = {}
        self._used: set[int] = set()

    def allocate(self, owner: str) -> str | None:
        if owner in self._by_owner:
            return str(ipaddress.ip_address(self._base + self._by_owner[owner]))
        size = self._last - self._first + 1
        for step in range(1, size + 1):
            off = self._first + (self._last_reserved - self._first + step) % size
            if off not in self._used:
                self._used.add(off)
                self._by_owner[owner] = off
                self._last_reserved = off
                return str(ipaddress.ip_address(self._base + off))
        return None

    def release(self, owner: str) -> None:
        off = self._by_owner.pop(owner, None)
        if off is not None:
            self._used.discard(off)

    def __len__(self) -> int:
        return len(self._used)


class ContainerRuntime:
    """A node's container runtime (see module docstring)."""

    def __init__(self, loop, rng, node_name: str, name: str = "containerd", *, node_ip: str = "",
                 preloaded=images_mod.PRELOADED):
        if name not in RUNTIME_VERSIONS:
            raise ValueError(f"unknown container runtime {name!r}; choose one of {sorted(RUNTIME_VERSIONS)}")
        self.loop = loop
        self.rng = rng
        self.node_name = node_name
        self.node_ip = node_ip
        self.name = name
        self.images: dict[str, ImageRecord] = {}
        self.sandboxes: dict[str, Sandbox] = {}
        self.containers: dict[str, Container] = {}
        self.ipam: HostLocalIPAM | None = None
        self.on_container_exit = None  # the kubelet's callback (its PLEG)
        # observers of container life: fn(event, container) with event "start", "exit", "freeze", "thaw"
        # (the cluster runs components that live in containers, like ingress-nginx's controller, this way)
        self.lifecycle_hooks: list = []
        self.alive = True
        self._timers: set = set()
        self._by_ip: dict[str, str] = {}
        self._pids = 0
        for ref in preloaded:
            self._store(normalize(ref))

    def __repr__(self) -> str:
        running = sum(1 for c in self.containers.values() if c.running)
        return f"ContainerRuntime({self.name}@{self.node_name}: {running} running, {len(self.images)} images)"

    @property
    def version(self) -> str:
        """``containerd://1.7.15`` — what the node reports as ``containerRuntimeVersion``."""
        return f"{self.name}://{RUNTIME_VERSIONS[self.name]}"

    @property
    def who(self) -> str:
        return f"{self.name}/{self.node_name}"

    def _new_id(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def _later(self, delay: float, fn, *args, what="", background=False):
        box: list = []
        ev = self.loop.call_later(delay, self._fire, box, fn, args, who=self.who, what=what, background=background)
        box.append(ev)
        self._timers.add(ev)
        return ev

    def _fire(self, box, fn, args):
        self._timers.discard(box.pop())  # pop: the event no longer refers to itself
        fn(*args)

    # -- node lifecycle ---------------------------------------------------------------
    def freeze(self) -> None:
        """The node went down: nothing the runtime scheduled happens until :meth:`thaw`."""
        self.alive = False
        for ev in self._timers:
            self.loop.cancel(ev)
        self._timers.clear()
        self._notify("freeze")

    def thaw(self) -> None:
        """The node is back: programs continue from where the clock now is."""
        self.alive = True
        for c in self.containers.values():
            if c.running:
                self._schedule_process(c)
        self._notify("thaw")

    def _notify(self, event: str, container: Container | None = None) -> None:
        for hook in self.lifecycle_hooks:
            for c in [container] if container is not None else [c for c in self.containers.values() if c.running]:
                hook(event, c)

    def update_runtime_config(self, pod_cidr: str) -> None:
        """CRI ``UpdateRuntimeConfig``: the kubelet hands over the node's pod CIDR for CNI."""
        if self.ipam is None or self.ipam.cidr != pod_cidr:
            self.ipam = HostLocalIPAM(pod_cidr)

    # -- images -----------------------------------------------------------------------
    def _store(self, ref: ImageRef) -> ImageRecord | None:
        img = lookup(ref)
        if img is None:
            return None
        rec = self.images.get(ref.key)
        if rec is None:
            rec = ImageRecord(ref, img, image_id(ref), image_size(ref, img))
            rec.names = [rec.repo_digest, ref.full] if not ref.digest else [rec.repo_digest]
            self.images[ref.key] = rec
        return rec

    def image_status(self, image: str | ImageRef) -> ImageRecord | None:
        ref = normalize(image) if isinstance(image, str) else image
        return self.images.get(ref.key)

    def list_images(self) -> list[ImageRecord]:
        return sorted(self.images.values(), key=lambda r: (-r.size, r.ref.key))

    def pull_image(self, image: str | ImageRef, done) -> float:
        """Start pulling; ``done(record, error)`` is called when it finishes. Returns its duration."""
        ref = normalize(image) if isinstance(image, str) else image
        img = lookup(ref)
        if img is None:
            seconds = images_mod.NOT_FOUND_SECONDS
        elif ref.key in self.images:
            seconds = images_mod.DIGEST_CHECK_SECONDS
        else:
            seconds = images_mod.pull_seconds(ref)

        def finish():
            if img is None:
                done(None, images_mod.pull_error(ref, self.name))
            else:
                done(self._store(ref), None)

        self._later(seconds, finish, what=f"pull {ref.full} finished")
        return seconds

    def remove_image(self, image: str) -> bool:
        ref = normalize(image)
        return self.images.pop(ref.key, None) is not None

    # -- sandboxes --------------------------------------------------------------------
    def run_pod_sandbox(self, config: dict) -> Sandbox:
        """Create the pod's network namespace; a non-hostNetwork pod gets an IP from the pod CIDR."""
        sid = self._new_id()
        if config.get("hostNetwork"):
            ip = self.node_ip
        else:
            if self.ipam is None:
                raise RuntimeError("network plugin is not ready: cni config uninitialized")
            ip = self.ipam.allocate(sid)
            if ip is None:
                raise RuntimeError(f"failed to allocate for range 0: no IP addresses available in range set: "
                                   f"{self.ipam.cidr}")
        sb = Sandbox(sid, config["name"], config["namespace"], config["uid"], ip, bool(config.get("hostNetwork")),
                     config.get("hostname") or config["name"], self.loop.now, labels=dict(config.get("labels") or {}))
        self.sandboxes[sid] = sb
        if not sb.host_network:
            self._by_ip[ip] = sid
        return sb

    def stop_pod_sandbox(self, sandbox_id: str) -> None:
        sb = self.sandboxes.get(sandbox_id)
        if sb is None or sb.state == "SANDBOX_NOTREADY":
            return
        for c in self.containers.values():
            if c.sandbox_id == sandbox_id and not c.exited:
                self._exit(c, 137, "Error", notify=False)
        sb.state = "SANDBOX_NOTREADY"
        if not sb.host_network and self.ipam is not None:
            self.ipam.release(sandbox_id)
            self._by_ip.pop(sb.ip, None)

    def remove_pod_sandbox(self, sandbox_id: str) -> None:
        self.stop_pod_sandbox(sandbox_id)
        self.sandboxes.pop(sandbox_id, None)
        for cid in [c.id for c in self.containers.values() if c.sandbox_id == sandbox_id]:
            del self.containers[cid]

    # -- containers -------------------------------------------------------------------
    def create_container(self, sandbox_id: str, config: dict) -> Container:
        """CRI CreateContainer: ``config`` has name, image, argv, env, mounts, labels, memory_limit ..."""
        ref = normalize(config["image"])
        rec = self.images.get(ref.key)
        c = Container(self._new_id(), config["name"], sandbox_id, ref, rec, dict(config.get("labels") or {}),
                      self.loop.now, attempt=config.get("attempt", 0), config=config, runtime=self.name)
        self.containers[c.id] = c
        return c

    def start_container(self, container_id: str) -> Container:
        """CRI StartContainer: run the program. A missing executable ends at once with StartError."""
        c = self.containers[container_id]
        cfg = c.config
        sb = self.sandboxes.get(c.sandbox_id)
        img = c.image_record.image if c.image_record else lookup(c.image)
        now = self.loop.now
        c.started_at = now
        try:
            program, memory = build_program(img, list(cfg.get("argv") or []), interactive=bool(cfg.get("interactive")))
        except StartError as e:
            c.state = "CONTAINER_EXITED"
            c.finished_at = now
            c.exit_code = 128
            c.reason = "StartError"
            c.message = (f"failed to create {self._task_word()}: failed to create shim task: OCI runtime create "
                         f"failed: runc create failed: unable to start container process: {e}: unknown")
            return c
        self._pids += 1
        root = cfg.get("rootfs") or base_root(img, cfg.get("files"))
        ctx = ProcessContext(
            fs=Filesystem(root, cfg.get("mounts") or {}), env=dict(cfg.get("env") or {}),
            hostname=(sb.hostname if sb else c.name), ip=(sb.ip if sb else ""), workdir=cfg.get("workdir") or img.workdir,
            world=cfg.get("world"), interactive=bool(cfg.get("interactive")), pid=(self.node_name, self._pids),
            nameserver=cfg.get("nameserver", "10.96.0.10"), search=tuple(cfg.get("search") or ()), image=img,
            start=now,
        )
        ctx.image_tag = c.image.tag
        ctx.procs = list(cfg.get("argv") or [])
        c.process = Process(ctx, program, memory)
        c.state = "CONTAINER_RUNNING"
        limit = cfg.get("memory_limit")
        if limit and memory > limit:
            # the working set is over the limit: the kernel's OOM killer ends it as it allocates
            c.process.advance(now + 0.3, now)
            c.process.kill(now + 0.3, 137)
            self._later(0.3, self._exit, c, 137, "OOMKilled", what=f"OOM kill {self._ref(c)}")
            return c
        self._schedule_process(c)
        if self.lifecycle_hooks:
            self._notify("start", c)
        return c

    def _listening(self, c: Container) -> None:
        """Nothing to do: the program's port is open from now on (see :meth:`_schedule_process`)."""

    def _task_word(self) -> str:
        return {"containerd": "containerd task", "docker": "docker container", "cri-o": "cri-o container"}[self.name]

    def _ref(self, c: Container) -> str:
        return f"{c.labels.get('io.kubernetes.pod.name', '-')}/{c.name}"

    def _schedule_process(self, c: Container) -> None:
        """Run the program ahead and schedule what happens next (its exit, or a later check)."""
        if not self.alive or not c.running or c.stopping:
            return
        p = c.process
        now = self.loop.now
        status = p.advance(now + LOOKAHEAD, now)
        # a server opens its port a little after it starts: make that moment an event, so run()
        # does not stop between "Running" and "accepts connections"
        for port, (t, _proto, _opts) in sorted(p.listen.items()):
            if t > now and (port, t) not in p.announced:
                p.announced.add((port, t))
                self._later(t - now, self._listening, c, what=f"container {self._ref(c)} listens on port {port}")
        if status == "exited":
            long_running = p.exit_time - p.start > LOOKAHEAD
            self._later(max(0.0, p.exit_time - now), self._program_exit, c,
                        what=lambda: f"container {self._ref(c)} exits with code {p.exit_code}", background=long_running)
        elif status == "sleeping":
            self._later(max(0.0, p.wake - now), self._schedule_process, c,
                        what=f"container {self._ref(c)} runs on", background=True)
        elif status == "world":
            first = p.world_steps <= 1
            self._later(max(0.0, p.ctx.clock - now), self._schedule_process, c,
                        what=f"container {self._ref(c)} reaches the network", background=not first)

    def _program_exit(self, c: Container) -> None:
        if c.running and c.process.exit_time is not None:
            code = c.process.exit_code
            self._exit(c, code, "Completed" if code == 0 else "Error")

    def _exit(self, c: Container, code: int, reason: str, notify: bool = True) -> None:
        if c.exited:
            return
        now = self.loop.now
        if c.process is not None and (c.process.exit_time is None or c.process.exit_time > now):
            c.process.kill(now, code)
        c.state = "CONTAINER_EXITED"
        c.finished_at = now
        c.exit_code = code
        c.reason = reason
        if self.lifecycle_hooks:
            self._notify("exit", c)
        if notify and self.on_container_exit is not None:
            self.on_container_exit(c)

    def stop_container(self, container_id: str, timeout: float) -> float:
        """SIGTERM, then SIGKILL after ``timeout`` seconds. Returns when the container will have stopped."""
        c = self.containers.get(container_id)
        if c is None or not c.running:
            return 0.0
        p = c.process
        img = c.image_record.image if c.image_record else None
        handles = p is not None and p.ctx.handles_sigterm
        if handles and img is not None and img.stop_seconds is not None:
            delay, code = min(img.stop_seconds, timeout), img.stop_code
        elif handles:
            delay, code = min(0.1, timeout), 0
        else:
            delay, code = timeout, 137
        if p is not None and p.exit_time is not None and p.exit_time <= self.loop.now + delay:
            return max(0.0, p.exit_time - self.loop.now)  # it ends on its own before the signal matters
        c.stopping = True
        if p is not None:
            p.advance(self.loop.now + delay, self.loop.now)
        if delay <= 0:
            self._exit(c, code, "Completed" if code == 0 else "Error")
            return 0.0
        self._later(delay, self._exit, c, code, "Completed" if code == 0 else "Error",
                    what=f"container {self._ref(c)} stopped")
        return delay

    def remove_container(self, container_id: str) -> None:
        c = self.containers.pop(container_id, None)
        if c is not None and c.running:
            self._exit(c, 137, "Error", notify=False)

    def list_containers(self, pod_uid: str | None = None) -> list[Container]:
        out = [c for c in self.containers.values() if pod_uid is None or c.pod_uid == pod_uid]
        return sorted(out, key=lambda c: (c.created_at, c.id))

    def container_logs(self, c: Container, until: float | None = None) -> list[tuple[float, str, str]]:
        if c.process is None:
            return []
        return c.process.lines(self.loop.now if until is None else until)

    def run_unmanaged(self, image: str, name: str, argv: list[str] | None = None) -> Container:
        """Start a container the kubelet knows nothing about (like ``ctr run`` on the node)."""
        ref = normalize(image)
        if ref.key not in self.images:
            self._store(ref)
        img = lookup(ref)
        if img is None:
            raise ValueError(images_mod.pull_error(ref, self.name))
        sb = Sandbox(self._new_id(), name, "", "", self.node_ip, True, self.node_name, self.loop.now)
        self.sandboxes[sb.id] = sb
        c = self.create_container(sb.id, {"name": name, "image": image, "labels": {},
                                          "argv": argv or list(img.entrypoint + img.cmd)})
        return self.start_container(c.id)

    # -- exec ---------------------------------------------------------------------------
    def exec_sync(self, container_id: str, argv: list[str], world=None) -> tuple[str, str, int]:
        """Run ``argv`` inside a running container now; returns (stdout, stderr, exit code)."""
        c = self.containers[container_id]
        img = c.image_record.image if c.image_record else lookup(c.image)
        now = self.loop.now
        program, _mem = build_program(img, argv)
        parent = c.process.ctx
        self._pids += 1
        ctx = ProcessContext(fs=parent.fs, env=dict(parent.env), hostname=parent.hostname, ip=parent.ip,
                             workdir=parent.workdir, world=world or parent.world, pid=(self.node_name, self._pids),
                             nameserver=parent.nameserver, search=parent.search, image=img, start=now)
        ctx.image_tag = c.image.tag
        proc = Process(ctx, program)
        proc.advance(now + 60.0, now + 60.0)
        out, err = (_stream_text(proc, stream) for stream in ("stdout", "stderr"))
        code = proc.exit_code if proc.exit_code is not None else 0
        return out, err, code

    # -- network -----------------------------------------------------------------------
    def sandbox_by_ip(self, ip: str) -> Sandbox | None:
        sid = self._by_ip.get(ip)
        return self.sandboxes.get(sid) if sid else None

    def _listeners(self, ip: str, port: int):
        now = self.loop.now
        sids = [self._by_ip[ip]] if ip in self._by_ip else (
            [s.id for s in self.sandboxes.values() if s.host_network and s.state == "SANDBOX_READY"]
            if ip in (self.node_ip, "127.0.0.1") else [])
        for c in self.containers.values():
            if c.sandbox_id in sids and c.running and c.process is not None:
                hit = c.process.listening(port, now)
                if hit is not None:
                    yield c, hit

    def listening(self, ip: str, port: int) -> bool:
        """Whether something in the pod (or host) with ``ip`` accepts connections on ``port`` now."""
        return next(self._listeners(ip, port), None) is not None

    def http(self, ip: str, port: int, path: str = "/", *, method: str = "GET", host: str | None = None,
             client_ip: str = "", headers: dict | None = None) -> HttpResponse:
        """An HTTP request to ``ip:port`` on this node, answered by whatever listens there.

        Raises ``ConnectionRefusedError`` when nothing listens (the pod is not running,
        the server has not started yet, or the port is wrong).
        """
        hit = next(self._listeners(ip, port), None)
        if hit is None:
            raise ConnectionRefusedError(f"{ip}:{port}")
        c, (kind, opts) = hit
        resp = serve_http(c.process, kind, opts, method=method, path=path, host=host or f"{ip}:{port}",
                          client_ip=client_ip, headers=headers, now=self.loop.now)
        resp.pod = c.labels.get("io.kubernetes.pod.name", c.name)
        resp.ip = ip
        return resp



def _stream_text(proc, stream: str) -> str:
    """What an exec'd command wrote on one stream, exactly (``cat`` of a file without a final newline)."""
    text = "".join(line + "\n" for _t, s, line in proc.out if s == stream)
    return text[:-1] if stream in proc.unterminated and text else text

def new_volume(name: str, files: dict | None = None, read_only: bool = False) -> Volume:
    """A pod volume (emptyDir, or ConfigMap/Secret files) for ``create_container`` mounts."""
    return Volume([files] if files else [], read_only=read_only, name=name)
