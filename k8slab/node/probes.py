"""Liveness, readiness and startup probes: how the kubelet decides a container is alive and ready.

Each probe runs ``initialDelaySeconds`` after the container started, then every
``periodSeconds``: an ``httpGet`` (2xx/3xx is success), a ``tcpSocket`` connect,
or an ``exec`` of a command in the container (exit code 0). ``failureThreshold``
failures in a row flip the result (``successThreshold`` successes flip it back).

* a failing **readiness** probe makes the container, hence the pod, not Ready —
  Services stop sending it traffic; it is not restarted;
* a failing **liveness** probe gets the container killed and restarted (event
  ``Container nginx failed liveness probe, will be restarted``);
* a **startup** probe holds the other two back until it succeeds once.

Each failed attempt is a ``Warning Unhealthy`` event (``Liveness probe failed: ...``).

Simplified: while the answer cannot change (a server that keeps answering 200,
a file nobody touches) the prober skips ahead to when it can; probe timeouts
are not modelled.
"""

from __future__ import annotations

import math

_INF = math.inf


class ProbeWorker:
    def __init__(self, prober, kind: str, probe: dict):
        self.prober = prober
        self.kind = kind  # "startup", "readiness" or "liveness"
        self.probe = probe
        self.delay = float(probe.get("initialDelaySeconds", 0) or 0)
        self.period = float(probe.get("periodSeconds", 10) or 10)
        self.success_threshold = int(probe.get("successThreshold", 1) or 1)
        self.failure_threshold = int(probe.get("failureThreshold", 3) or 3)
        self.result = kind == "liveness"  # liveness starts as success, the others as failure
        self.successes = 0
        self.failures = 0
        self.event = None
        self.first = None

    @property
    def title(self) -> str:
        return self.kind.capitalize()

    def start(self, at: float) -> None:
        self.first = at + self.delay
        if self.kind == "liveness":
            self._plan_first()
        else:
            self._schedule(self.first, foreground=True)

    def _plan_first(self) -> None:
        """A liveness probe starts out Success: a first attempt that will still pass changes
        nothing, so it must not keep run() going (CoreDNS's waits 60 s). Look ahead as far as
        the program's future is known; decide once the answer at the first attempt is."""
        self.event = None
        k = self.prober.w.k
        c = self.prober.st.current
        if c is None or not c.running:
            return
        ok, _message, stable_until = self.prober.evaluate(self.probe)
        if stable_until >= self.first:
            self._schedule(self.first, foreground=not ok)
        elif stable_until > k.loop.now:
            self.stop()
            self.event = k.later(stable_until - k.loop.now, self._plan_first, background=True,
                                 what=f"liveness probe {self.prober.w.ref}/{self.prober.st.name}: look ahead")
        else:
            self._schedule(self.first, foreground=True)

    def stop(self) -> None:
        k = self.prober.w.k
        k.cancel(self.event)
        self.event = None

    def _schedule(self, when: float, foreground: bool) -> None:
        w = self.prober.w
        k = w.k
        self.stop()
        self.event = k.later(max(0.0, when - k.loop.now), self._tick, what=f"{self.kind} probe {w.ref}/{self.prober.st.name}",
                             background=not foreground)

    def _tick(self) -> None:
        self.event = None
        pr = self.prober
        st = pr.st
        if st.current is None or not st.current.running:
            return
        now = pr.w.k.loop.now
        ok, message, stable_until = pr.evaluate(self.probe)
        if ok:
            self.successes += 1
            self.failures = 0
        else:
            self.failures += 1
            self.successes = 0
            pr.w.event("Warning", "Unhealthy", f"{self.title} probe failed: {message}", st)
        changed = False
        if not self.result and ok and self.successes >= self.success_threshold:
            self.result, changed = True, True
        elif self.result and not ok and self.failures >= (1 if self.kind == "startup" else self.failure_threshold):
            self.result, changed = False, True
        if self.kind == "startup" and not ok and self.failures >= self.failure_threshold:
            pr.w.probe_failed(st, "startup")
            return
        if self.kind == "liveness" and changed and not self.result:
            pr.w.probe_failed(st, "liveness")
            return
        if changed:
            pr.result_changed(self)
            if self.kind == "startup":
                return  # done: liveness and readiness take over
        # next attempt: soon while the result may still flip, else when the answer can change
        settled = (ok == self.result) and (ok or self.kind == "readiness")
        if not settled:
            self._schedule(now + self.period, foreground=True)
        elif stable_until < _INF:
            steps = max(1, math.ceil((stable_until - now) / self.period - 1e-9))
            self._schedule(now + steps * self.period, foreground=stable_until - now <= 600)
        elif not ok:
            self._schedule(now + self.period, foreground=False)  # keeps failing: events, in the background


class Prober:
    """The probes of one container."""

    def __init__(self, worker, st):
        self.w = worker
        self.st = st
        spec = st.spec
        self.startup = ProbeWorker(self, "startup", spec["startupProbe"]) if spec.get("startupProbe") else None
        self.readiness = ProbeWorker(self, "readiness", spec["readinessProbe"]) if spec.get("readinessProbe") else None
        self.liveness = ProbeWorker(self, "liveness", spec["livenessProbe"]) if spec.get("livenessProbe") else None

    def start(self) -> None:
        at = self.st.current.started_at
        if self.startup is not None and not self.st.started:
            self.startup.start(at)
            return
        for pw in (self.readiness, self.liveness):
            if pw is not None:
                pw.start(at if pw.first is None else self.w.k.loop.now - pw.delay)

    def stop(self) -> None:
        for pw in (self.startup, self.readiness, self.liveness):
            if pw is not None:
                pw.stop()

    def wake(self) -> None:
        """Something outside the program changed the container (``kubectl exec``): the next
        periodic attempt of each probe must look again rather than trust the earlier look-ahead."""
        now = self.w.k.loop.now
        for pw in (self.startup, self.readiness, self.liveness):
            if pw is None or pw.first is None or (pw is self.startup and self.st.started):
                continue
            when = pw.first if now <= pw.first else pw.first + math.ceil((now - pw.first) / pw.period - 1e-9) * pw.period
            if pw.event is None or pw.event.time > when or pw.event.background:
                pw._schedule(when, foreground=True)

    def result_changed(self, pw: ProbeWorker) -> None:
        st = self.st
        if pw.kind == "startup":
            st.started = True
            now = self.w.k.loop.now
            if self.readiness is None:
                st.ready = True
            for other in (self.readiness, self.liveness):
                if other is not None:
                    other.start(now)
        elif pw.kind == "readiness":
            st.ready = pw.result and st.started
        self.w.readiness_changed()

    # -- running one probe ------------------------------------------------------------------------------------
    def _port(self, port) -> int:
        if isinstance(port, int):
            return port
        if isinstance(port, str) and port.isdigit():
            return int(port)
        for p in self.st.spec.get("ports") or ():
            if p.get("name") == port:
                return int(p.get("containerPort"))
        return -1

    def evaluate(self, probe: dict) -> tuple[bool, str, float]:
        """(success, failure message, time until which the answer cannot change)."""
        k = self.w.k
        c = self.st.current
        proc = c.process
        now = k.loop.now
        ip = self.w.sandbox.ip if self.w.sandbox else ""
        frontier = _frontier(proc)
        if "exec" in probe:
            command = (probe["exec"] or {}).get("command") or []
            try:
                out, err, code = k.runtime.exec_sync(c.id, list(command))
            except Exception as e:  # noqa: BLE001 - a broken probe command is a failed probe
                return False, str(e), _INF
            until = min(_next_fs_change(proc, now), frontier)
            return code == 0, (out + err).rstrip("\n"), until
        if "httpGet" in probe:
            h = probe["httpGet"]
            port = self._port(h.get("port"))
            path = h.get("path", "/")
            host = h.get("host") or ip
            try:
                resp = k.runtime.http(ip, port, path, host=f"{host}:{port}", client_ip=_gateway(ip),
                                      headers={"User-Agent": "kube-probe/1.30"})
            except ConnectionRefusedError:
                return False, (f'Get "http://{host}:{port}{path}": dial tcp {host}:{port}: connect: connection '
                               "refused"), min(_listen_time(proc, port, now), frontier)
            until = _http_stable(proc, port, now)
            if resp.status == 0:
                return False, f'Get "http://{host}:{port}{path}": EOF', until
            if 200 <= resp.status < 400:
                return True, "", until
            return False, f"HTTP probe failed with statuscode: {resp.status}", until
        sock = probe.get("tcpSocket") or probe.get("grpc") or {}
        port = self._port(sock.get("port"))
        if k.runtime.listening(ip, port):
            return True, "", _INF
        return False, f"dial tcp {ip}:{port}: connect: connection refused", min(_listen_time(proc, port, now), frontier)


def _gateway(ip: str) -> str:
    parts = ip.split(".")
    return ".".join(parts[:3] + ["1"]) if len(parts) == 4 else ip


def _frontier(proc) -> float:
    """Up to when the program's future is known (it has been run ahead to there)."""
    if proc is None or proc.exited or proc.blocked:
        return _INF
    if proc.wake is not None:
        return proc.wake
    return proc.ctx.clock


def _next_fs_change(proc, now: float) -> float:
    if proc is None:
        return _INF
    fs = proc.ctx.fs
    best = _INF
    for vol in [fs.root, *fs.mounts.values()]:
        for h in getattr(vol, "hist", {}).values():
            for entry in h:
                if now < entry[0] < best:
                    best = entry[0]
    return best


def _listen_time(proc, port: int, now: float) -> float:
    entry = proc.listen.get(port) if proc is not None else None
    if entry is not None and entry[0] > now:
        return entry[0]
    return _INF


def _http_stable(proc, port: int, now: float) -> float:
    entry = proc.listen.get(port) if proc is not None else None
    if entry is None:
        return _INF
    kind, opts = entry[1], entry[2]
    if kind == "agnhost-liveness":
        turn = opts.get("start", proc.start) + 10
        return turn if now <= turn else _INF
    if kind in ("nginx", "httpd", "python-http", "ingress"):
        return min(_next_fs_change(proc, now), _frontier(proc))
    return _INF
