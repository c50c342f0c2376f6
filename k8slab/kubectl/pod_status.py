"""The READY, STATUS and RESTARTS of a pod, as ``kubectl get pods`` computes them.

STATUS is not a field of the pod: the printer derives it. It starts from
``status.phase`` (or ``status.reason``), then looks at the init containers
(``Init:1/2``, ``Init:CrashLoopBackOff``), then at the app containers from last to
first (a waiting or terminated reason wins: ``ContainerCreating``,
``CrashLoopBackOff``, ``Completed``, ``Error``), and finally shows ``Terminating``
once the pod has a ``deletionTimestamp``. RESTARTS adds ``(35s ago)`` when a
container has restarted.

Example
-------
>>> from datetime import datetime, timezone
>>> now = datetime(2025, 1, 1, 0, 1, tzinfo=timezone.utc)
>>> pod = {"metadata": {"name": "web", "creationTimestamp": "2025-01-01T00:00:00Z"},
...        "spec": {"containers": [{"name": "web"}]},
...        "status": {"phase": "Pending", "containerStatuses": [{"name": "web", "ready": False,
...                   "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
>>> pod_row(pod, now)[:5]
['web', '0/1', 'ContainerCreating', '0', '60s']
"""

from __future__ import annotations

from datetime import datetime

from k8slab.kubectl.duration import age, human_duration, parse_time

NODE_UNREACHABLE_REASON = "NodeLost"


def _restartable(container: dict | None) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return b if b > a else a


def _finished_at(status: dict) -> datetime | None:
    term = ((status.get("lastState") or {}).get("terminated")) or None
    if term is None:
        return None
    return parse_time(term.get("finishedAt"))


def _condition(pod_status: dict, ctype: str) -> dict | None:
    for c in pod_status.get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def pod_status_text(pod: dict) -> tuple[str, int, int, int, datetime | None]:
    """(STATUS, ready containers, total containers, restarts, last restart time)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    meta = pod.get("metadata") or {}
    restarts = 0
    sidecar_restarts = 0
    total = len(spec.get("containers") or [])
    ready = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total += sum(1 for c in init_specs.values() if _restartable(c))

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount") or 0)
        last_restart = _later(last_restart, _finished_at(cs))
        sidecar = _restartable(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            last_sidecar_restart = _later(last_sidecar_restart, _finished_at(cs))
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            if not term.get("reason"):
                if term.get("signal"):
                    reason = f"Init:Signal:{term['signal']}"
                else:
                    reason = f"Init:ExitCode:{int(term.get('exitCode') or 0)}"
            else:
                reason = "Init:" + term["reason"]
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break

    initialized = (_condition(status, "Initialized") or {}).get("status") == "True"
    if not initializing or initialized:
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last_restart = _later(last_restart, _finished_at(cs))
            state = cs.get("state") or {}
            waiting, term, running = state.get("waiting"), state.get("terminated"), state.get("running")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                if term.get("signal"):
                    reason = f"Signal:{term['signal']}"
                else:
                    reason = f"ExitCode:{int(term.get('exitCode') or 0)}"
            elif cs.get("ready") and running is not None:
                has_running = True
                ready += 1
        # A container still running keeps a pod whose other containers completed "Running".
        if reason == "Completed" and has_running:
            ready_cond = _condition(status, "Ready") or {}
            reason = "Running" if ready_cond.get("status") == "True" else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == NODE_UNREACHABLE_REASON:
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, total, restarts, last_restart


def pod_row(pod: dict, now: datetime) -> list[str]:
    """The cells of one pod: NAME READY STATUS RESTARTS AGE, then IP NODE NOMINATED NODE READINESS GATES."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    meta = pod.get("metadata") or {}
    reason, ready, total, restarts, last_restart = pod_status_text(pod)
    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration((now - last_restart).total_seconds())} ago)"

    ips = status.get("podIPs") or []
    pod_ip = ips[0].get("ip", "") if ips else status.get("podIP", "")
    gates = spec.get("readinessGates") or []
    gates_text = "<none>"
    if gates:
        true = 0
        for g in gates:
            cond = _condition(status, g.get("conditionType", ""))
            if cond is not None and cond.get("status") == "True":
                true += 1
        gates_text = f"{true}/{len(gates)}"
    return [
        meta.get("name", ""),
        f"{ready}/{total}",
        reason,
        restarts_text,
        age(meta.get("creationTimestamp"), now),
        pod_ip or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates_text,
    ]
