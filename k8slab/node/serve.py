"""The kubelet's own API (port 10250): container logs and exec, as ``kubectl logs`` / ``exec`` reach them.

The API server forwards ``pods/log`` and ``pods/exec`` to the kubelet of the pod's
node (``APIServer.kubelet_endpoints``). The answers and errors are the real ones:

* no container named and several in the pod: ``a container name must be
  specified for pod web, choose one of: [a b]``;
* a container still waiting: ``container "nginx" in pod "web" is waiting to
  start: ContainerCreating``;
* ``--previous`` without an earlier instance: ``previous terminated container
  "c" in pod "p" not found``.

``exec`` runs the command in the container's simulated shell and returns an
:class:`ExecResult` — a string (what the terminal shows) with ``.stdout``,
``.stderr`` and ``.returncode``.
"""

from __future__ import annotations

from datetime import timedelta

from k8slab.api import errors
from k8slab.node.program import StartError
from k8slab.node.shell import split_command
from k8slab.sim.loop import EPOCH, parse_timestamp


class ExecResult(str):
    """Output of ``kubectl exec``: the text shown, plus ``stdout``, ``stderr`` and ``returncode``."""

    stdout: str
    stderr: str
    returncode: int

    def __new__(cls, stdout: str, stderr: str = "", returncode: int = 0):
        obj = super().__new__(cls, stdout + stderr)
        obj.stdout = stdout
        obj.stderr = stderr
        obj.returncode = returncode
        return obj


def rfc3339_nano(t: float) -> str:
    """Go's RFC3339Nano (trailing zeros of the fraction dropped), as the CRI log format stores it.

    >>> rfc3339_nano(5.25), rfc3339_nano(7)
    ('2025-01-01T00:00:05.25Z', '2025-01-01T00:00:07Z')
    """
    nanos = int(round(t * 1e9))
    secs, frac = divmod(nanos, 1_000_000_000)
    base = (EPOCH + timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        base += "." + f"{frac:09d}".rstrip("0")
    return base + "Z"


def _pick_container(pod: dict, name: str | None) -> str:
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or ()]
    inits = [c["name"] for c in spec.get("initContainers") or ()]
    pod_name = pod["metadata"]["name"]
    if not name:
        if len(names) == 1:
            return names[0]
        msg = f"a container name must be specified for pod {pod_name}, choose one of: [{' '.join(names)}]"
        if inits:
            msg += f" or one of the init containers: [{' '.join(inits)}]"
        raise errors.BadRequest(msg)
    if name not in names and name not in inits:
        raise errors.BadRequest(f"container {name} is not valid for pod {pod_name}")
    return name


def _log_source(k, w, pod, name, previous):
    """Which runtime container's log to read, with the kubelet's errors (``validateContainerLogStatus``)."""
    pod_name = pod["metadata"]["name"]
    st = w.by_name.get(name) if w is not None else None
    if st is None:
        raise errors.BadRequest(f'container "{name}" in pod "{pod_name}" is waiting to start: ContainerCreating')
    cur, prev = st.current, st.previous
    waiting = st.waiting
    if previous:
        last = cur if (cur is not None and cur.exited and waiting is not None) else prev
        if last is None:
            raise errors.BadRequest(f'previous terminated container "{name}" in pod "{pod_name}" not found')
        return last
    if cur is not None and (cur.running or cur.exited):
        return cur
    if waiting is not None:
        reason = waiting[0]
        if reason == "ErrImagePull":
            reason = "image can't be pulled"
        elif reason == "ImagePullBackOff":
            reason = "trying and failing to pull image"
        raise errors.BadRequest(f'container "{name}" in pod "{pod_name}" is waiting to start: {reason}')
    reason = "PodInitializing" if (st is not None and not st.init and any(
        s.init and not s.succeeded for s in w.states)) else "ContainerCreating"
    raise errors.BadRequest(f'container "{name}" in pod "{pod_name}" is waiting to start: {reason}')


def serve_request(k, req, pod: dict):
    w = k.worker_for(pod)
    opts = req.options or {}
    name = _pick_container(pod, opts.get("container"))
    if req.subresource == "log":
        c = _log_source(k, w, pod, name, bool(opts.get("previous")))
        lines = k.runtime.container_logs(c)
        since = opts.get("sinceSeconds")
        if since is not None:
            lines = [e for e in lines if e[0] >= k.loop.now - float(since)]
        if opts.get("sinceTime"):
            t0 = parse_timestamp(opts["sinceTime"])
            lines = [e for e in lines if e[0] >= t0]
        tail = opts.get("tailLines")
        if tail is not None:
            tail = int(tail)
            lines = lines[-tail:] if tail > 0 else []
        if opts.get("timestamps"):
            text = "".join(f"{rfc3339_nano(t)} {line}\n" for t, _s, line in lines)
        else:
            text = "".join(f"{line}\n" for _t, _s, line in lines)
        limit = opts.get("limitBytes")
        if limit is not None:
            text = text.encode()[: int(limit)].decode(errors="ignore")
        return text
    if req.subresource == "exec":
        st = w.by_name.get(name) if w is not None else None
        c = st.current if st is not None else None
        if c is None or not c.running:
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                raise errors.BadRequest(f"cannot exec into a container in a completed pod; current phase is {phase}")
            raise errors.BadRequest(f'unable to upgrade connection: container not found ("{name}")')
        command = opts.get("command") or []
        if isinstance(command, str):
            command = split_command(command)
        if not command:
            raise errors.BadRequest("you must specify at least one command for the container")
        try:
            out, err, code = k.runtime.exec_sync(c.id, list(command))
        except StartError as e:
            if c.image_record is not None and c.image_record.image.shell is None:
                raise errors.InternalError(
                    f'error executing command in container: failed to exec in container: failed to start exec '
                    f'"{c.id[:64]}": OCI runtime exec failed: exec failed: unable to start container process: '
                    f"{e}: unknown") from None
            return ExecResult("", f"OCI runtime exec failed: exec failed: unable to start container process: {e}: "
                                  "unknown\n", 126)
        # the command may have changed files a probe looks at (in this container or a shared volume)
        for other in w.by_name.values():
            if getattr(other, "prober", None) is not None:
                other.prober.wake()
        return ExecResult(out, err, code)
    raise errors.BadRequest(f"the kubelet does not serve {req.subresource}")
