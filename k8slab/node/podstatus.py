"""How the kubelet writes a pod's ``status``: phase, conditions and container statuses.

These follow the kubelet's ``generateAPIPodStatus`` and ``getPhase`` (v1.30): the
phase comes from the containers' states and the restart policy; the conditions
``PodReadyToStartContainers``, ``Initialized``, ``Ready``, ``ContainersReady`` and
``PodScheduled`` are the kubelet's (others, like ``DisruptionTarget``, are kept as
found); a condition keeps its ``lastTransitionTime`` while its status stays the same.

Also here: the kubelet's exponential back-off (image pulls and crash loops: 10 s
doubling to 5 min) and Go's duration format used in its messages.

Example
-------
>>> go_duration(2.5034), go_duration(0.3129), go_duration(80), go_duration(300)
('2.503s', '312ms', '1m20s', '5m0s')
>>> b = Backoff(); b.next("k", 0.0, 0.0)
10.0
"""

from __future__ import annotations

import functools

from k8slab.sim.loop import timestamp as _timestamp

#: Kubelet's crash-loop and image-pull back-off: 10 s doubling to 300 s.
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0

#: Virtual times are floats: a deadline reached by a timer counts as reached.
_EPS = 1e-6

KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


@functools.lru_cache(maxsize=4096)
def _stamp(second: int) -> str:
    return _timestamp(second)


def timestamp(t: float) -> str:
    """RFC 3339 (seconds) of virtual time ``t``; cached, as status writes repeat the same seconds."""
    return _stamp(int(t))


def go_duration(seconds: float) -> str:
    """Format like Go's ``time.Duration.String`` (after ``Truncate(time.Millisecond)``)."""
    ms = int(round(seconds * 1000, 6))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s = f"{rem / 1000:.3f}".rstrip("0").rstrip(".")
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def format_pod(pod: dict) -> str:
    """``name_namespace(uid)`` — how kubelet messages name a pod."""
    m = pod["metadata"]
    return f"{m['name']}_{m.get('namespace', 'default')}({m.get('uid', '')})"


class Backoff:
    """client-go's ``flowcontrol.Backoff`` without jitter: per key, 10 s doubling up to 300 s.

    An entry not updated for twice the maximum is forgotten (the next failure starts at 10 s again).
    """

    def __init__(self, initial: float = BACKOFF_INITIAL, maximum: float = BACKOFF_MAX):
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[str, list[float]] = {}  # key -> [backoff, last update]

    def _live(self, key: str, event_time: float):
        e = self._entries.get(key)
        if e is None or event_time - e[1] > 2 * self.maximum:
            return None
        return e

    def get(self, key: str) -> float:
        e = self._entries.get(key)
        return e[0] if e else 0.0

    def next(self, key: str, event_time: float, now: float) -> float:
        e = self._live(key, event_time)
        if e is None:
            e = self._entries[key] = [self.initial, now]
        else:
            e[0] = min(e[0] * 2, self.maximum)
            e[1] = now
        return e[0]

    def in_backoff_since(self, key: str, event_time: float, now: float) -> bool:
        e = self._live(key, event_time)
        return e is not None and now - event_time < e[0] - _EPS

    def in_backoff_since_update(self, key: str, now: float) -> bool:
        e = self._entries.get(key)
        if e is None or now - e[1] > 2 * self.maximum:
            return False
        return now - e[1] < e[0] - _EPS

    def release_at(self, key: str) -> float:
        e = self._entries.get(key)
        return e[1] + e[0] if e else 0.0

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)


# -- container statuses ------------------------------------------------------------------------------


def _terminated(c) -> dict:
    d = {
        "containerID": c.cri_id,
        "exitCode": c.exit_code,
        "finishedAt": timestamp(c.finished_at),
        "reason": c.reason,
        "startedAt": timestamp(c.started_at) if c.reason != "StartError" else "1970-01-01T00:00:00Z",
    }
    if c.message:
        d["message"] = c.message
    return d


def container_status(name: str, spec_image: str, st) -> dict:
    """The ``containerStatuses`` entry of one container from the kubelet's state ``st``.

    ``st`` has ``current`` / ``previous`` (runtime containers, with ``cri_id``),
    ``restart_count``, ``waiting`` (``(reason, message)`` or ``None``), ``ready``, ``started``.
    """
    cur, prev = st.current, st.previous
    out: dict = {}
    if cur is not None:
        out["containerID"] = cur.cri_id
        out["image"] = cur.image.full
        out["imageID"] = cur.image_record.repo_digest if cur.image_record else ""
    else:
        out["image"] = spec_image
        out["imageID"] = ""
    last: dict = {}
    if st.waiting is not None and (cur is None or cur.exited):
        reason, message = st.waiting
        waiting = {"reason": reason}
        if message:
            waiting["message"] = message
        state = {"waiting": waiting}
        if cur is not None:
            last = {"terminated": _terminated(cur)}
        elif prev is not None:
            last = {"terminated": _terminated(prev)}
    elif cur is not None and cur.running:
        state = {"running": {"startedAt": timestamp(cur.started_at)}}
        if prev is not None:
            last = {"terminated": _terminated(prev)}
    elif cur is not None and cur.exited:
        state = {"terminated": _terminated(cur)}
        if prev is not None:
            last = {"terminated": _terminated(prev)}
    else:
        state = {"waiting": {"reason": "ContainerCreating"}}
    out["lastState"] = last
    out["name"] = name
    out["ready"] = bool(st.ready and cur is not None and cur.running)
    out["restartCount"] = st.restart_count
    out["started"] = bool(st.started and cur is not None and cur.running)
    out["state"] = state
    return out


# -- phase ------------------------------------------------------------------------------------------------


def pod_phase(spec: dict, init_statuses: list[dict], statuses: list[dict], terminal: bool) -> str:
    """The kubelet's ``getPhase``: Pending, Running, Succeeded or Failed."""
    policy = spec.get("restartPolicy", "Always")
    pending_init = failed_init = 0
    for cs in init_statuses:
        state, last = cs["state"], cs.get("lastState") or {}
        if "running" in state:
            pending_init += 1
        elif "terminated" in state:
            if state["terminated"]["exitCode"] != 0:
                failed_init += 1
        elif "waiting" in state:
            if "terminated" in last:
                if last["terminated"]["exitCode"] != 0:
                    failed_init += 1
            else:
                pending_init += 1
        else:
            pending_init += 1
    running = waiting = stopped = succeeded = unknown = 0
    for cs in statuses:
        state, last = cs["state"], cs.get("lastState") or {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"]["exitCode"] == 0:
                succeeded += 1
        elif "waiting" in state:
            if "terminated" in last:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    if failed_init > 0 and policy == "Never":
        return "Failed"
    any_started = any("waiting" not in cs["state"] or cs.get("lastState") for cs in statuses)
    if (pending_init > 0 and not any_started) or waiting > 0:
        return "Pending"
    if running > 0 and unknown == 0:
        return "Running"
    if running == 0 and stopped > 0 and unknown == 0:
        if terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


# -- conditions ----------------------------------------------------------------------------------------------


def _cond(ctype: str, status: bool | str, reason: str | None = None, message: str | None = None) -> dict:
    c = {"lastProbeTime": None, "lastTransitionTime": None}
    if message:
        c["message"] = message
    if reason:
        c["reason"] = reason
    c["status"] = status if isinstance(status, str) else ("True" if status else "False")
    c["type"] = ctype
    return c


def _go_list(names: list[str]) -> str:
    return "[" + " ".join(names) + "]"


def kubelet_conditions(spec: dict, init_statuses: list[dict], statuses: list[dict], phase: str,
                       sandbox_ready: bool, readiness_gates_ok: bool = True) -> list[dict]:
    """The five conditions the kubelet owns, in the order it writes them."""
    conds = [_cond("PodReadyToStartContainers", sandbox_ready)]
    # Initialized
    incomplete = [cs["name"] for cs in init_statuses
                  if not ("terminated" in cs["state"] and cs["state"]["terminated"]["exitCode"] == 0)]
    any_started = any("waiting" not in cs["state"] or cs.get("lastState") for cs in statuses)
    if phase == "Succeeded":
        conds.append(_cond("Initialized", True, "PodCompleted"))
    elif incomplete and not any_started:
        conds.append(_cond("Initialized", False, "ContainersNotInitialized",
                           f"containers with incomplete status: {_go_list(incomplete)}"))
    else:
        conds.append(_cond("Initialized", True))
    # ContainersReady / Ready
    if phase in ("Succeeded", "Failed"):
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        ready = _cond("Ready", False, reason)
        cready = _cond("ContainersReady", False, reason)
    else:
        unready = [cs["name"] for cs in statuses if not cs["ready"]]
        if unready:
            msg = f"containers with unready status: {_go_list(unready)}"
            cready = _cond("ContainersReady", False, "ContainersNotReady", msg)
            ready = _cond("Ready", False, "ContainersNotReady", msg)
        elif not readiness_gates_ok:
            cready = _cond("ContainersReady", True)
            ready = _cond("Ready", False, "ReadinessGatesNotReady", "corresponding condition of pod readiness gate "
                                                                     "is not true")
        else:
            cready = _cond("ContainersReady", True)
            ready = _cond("Ready", True)
    conds += [ready, cready, _cond("PodScheduled", True)]
    return conds


def merge_conditions(old: list[dict], new: list[dict], now: float) -> list[dict]:
    """Keep conditions the kubelet does not own; keep transition times of unchanged statuses."""
    by_type = {c.get("type"): c for c in old or ()}
    out = [c for c in old or () if c.get("type") not in KUBELET_CONDITIONS]
    for c in new:
        prev = by_type.get(c["type"])
        if prev is not None and prev.get("status") == c["status"] and prev.get("lastTransitionTime"):
            c["lastTransitionTime"] = prev["lastTransitionTime"]
        else:
            c["lastTransitionTime"] = timestamp(now)
        out.append(c)
    return out


# -- the whole status -----------------------------------------------------------------------------------


def pod_status(w, terminal: bool = False) -> dict:
    """The whole ``status`` the kubelet reports for pod worker ``w`` now."""
    spec = w.spec
    k = w.k
    now = k.loop.now
    init_statuses, statuses = [], []
    for st in w.states:
        cs = container_status(st.name, st.spec.get("image", ""), st)
        if st.current is None and st.waiting is None and st.init is False and any(
                s.init and not s.restartable and not s.succeeded for s in w.states):
            cs["state"] = {"waiting": {"reason": "PodInitializing"}}
        elif st.current is None and st.waiting is None and st.init:
            cs["state"] = {"waiting": {"reason": "PodInitializing"}}
        (init_statuses if st.init else statuses).append(cs)
    if w.reason is not None and w.state == "final" and not w.sandbox:
        phase = "Failed"
    else:
        phase = pod_phase(spec, [s for s, st in zip(init_statuses, w.states, strict=False) if not st.restartable],
                                    statuses, terminal or w.state == "final")
    sandbox_ready = w.sandbox is not None and w.sandbox.state == "SANDBOX_READY"
    conds = kubelet_conditions(spec, init_statuses, statuses, phase, sandbox_ready)
    old_api = (w.pod.get("status") or {}).get("conditions") or []
    old = [c for c in old_api if c.get("type") not in KUBELET_CONDITIONS]
    mine = (w.last_status or {}).get("conditions")
    old += mine if mine is not None else [c for c in old_api if c.get("type") in KUBELET_CONDITIONS]
    if w.reason is not None and not w.start_time:
        status = {"message": w.message, "phase": "Failed", "reason": w.reason,
                  "startTime": timestamp(now)}
        return status
    status: dict = {"conditions": merge_conditions(old, conds, now)}
    status["containerStatuses"] = statuses
    status["hostIP"] = k.internal_ip
    status["hostIPs"] = [{"ip": k.internal_ip}]
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    if w.message:
        status["message"] = w.message
    status["phase"] = phase
    if w.sandbox is not None:
        status["podIP"] = w.sandbox.ip
        status["podIPs"] = [{"ip": w.sandbox.ip}]
    qos = ((w.mirror if w.static and w.mirror else w.pod).get("status") or {}).get("qosClass")
    if qos:
        status["qosClass"] = qos
    if w.reason:
        status["reason"] = w.reason
    status["startTime"] = timestamp(w.start_time if w.start_time is not None else now)
    return status
