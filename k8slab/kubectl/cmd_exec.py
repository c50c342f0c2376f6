"""``kubectl exec POD [-c CONTAINER] -- COMMAND [args...]``: run a command in a container.

Follows ``staging/.../kubectl/pkg/cmd/exec/exec.go``: the pod is named directly or
through its owner (``deploy/web`` picks the most active pod, as
``AttachablePodForObjectFn`` does), a missing ``-c`` picks the
``kubectl.kubernetes.io/default-container`` or the first container and says so on
stderr when there are others (``Defaulted container "app" out of: app, sidecar``).
What the command writes to stdout and stderr is printed; a non-zero exit status
ends the command with ``command terminated with exit code N`` and that exit code.
The old form without ``--`` still works, with kubectl v1.30's deprecation notice.

k8slab simplifies: there is no terminal, so ``-i`` and ``-t`` are accepted and
change nothing (commands read no input).
"""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.resources import parse_request, typed
from k8slab.kubectl.selectors import selector_string

EXEC_FLAGS = [
    Flag("container", "c", "string"),
    Flag("stdin", "i", "bool"),
    Flag("tty", "t", "bool"),
    Flag("quiet", "q", "bool"),
    Flag("filename", "f", "strings"),
    Flag("pod-running-timeout", "", "string"),
]

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
DEPRECATED_FORM = ("kubectl exec [POD] [COMMAND] is DEPRECATED and will be removed in a future version. "
                   "Use kubectl exec [POD] -- [COMMAND] instead.")


def _active_first(pod: dict):
    """``sort.Reverse(podutils.ActivePods)``: the pod most worth attaching to comes first."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase_rank = {"Running": 0, "Unknown": 1, "Pending": 2}.get(status.get("phase"), 3)
    ready_since = None
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            ready_since = c.get("lastTransitionTime") or ""
    restarts = max((int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or []), default=0)
    created = (pod.get("metadata") or {}).get("creationTimestamp") or "~"
    return (0 if spec.get("nodeName") else 1, phase_rank, 0 if ready_since is not None else 1,
            ready_since or "", restarts, created, (pod.get("metadata") or {}).get("name", ""))


def _pod_for(kubectl, target: str, namespace: str) -> dict:
    """The pod ``target`` names: ``web-x``, ``pod/web-x`` or an owner such as ``deploy/web``."""
    if "/" not in target:
        return kubectl.client.get("pods", target, namespace)
    kind = parse_request(kubectl, [target], "exec").targets[0].kind
    name = target.split("/", 1)[1]
    if kind.kind == "Pod":
        return kubectl.client.get("pods", name, namespace)
    owner = typed(kind, kubectl.client.get(kind.group_resource, name, namespace if kind.namespaced else None))
    spec = owner.get("spec") or {}
    if kind.kind == "Service":
        selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    else:
        selector = selector_string(spec.get("selector"))
    if not selector:
        raise KubectlError(f"cannot attach to {kind.kind}: selector for {kind.resource_ref}/{name} is empty")
    pods = kubectl.client.list("pods", namespace, label_selector=selector).get("items") or []
    if not pods:
        raise KubectlError("timed out waiting for the condition")
    return sorted(pods, key=_active_first)[0]


def all_container_names(pod: dict) -> str:
    """``podcmd.AllContainerNames``: ``app, sidecar, setup (init)``."""
    spec = pod.get("spec") or {}
    names = [c.get("name", "") for c in spec.get("containers") or []]
    names += [f"{c.get('name', '')} (init)" for c in spec.get("initContainers") or []]
    names += [f"{c.get('name', '')} (ephem)" for c in spec.get("ephemeralContainers") or []]
    return ", ".join(names)


def default_container(pod: dict, quiet: bool, out: Output) -> str:
    """``podcmd.FindOrDefaultContainerByName`` with no name given."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    containers = spec.get("containers") or []
    if not containers:
        raise KubectlError(f"pod {meta.get('namespace', '')}/{meta.get('name', '')} does not have any containers")
    wanted = (meta.get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if wanted and any(c.get("name") == wanted for c in containers):
        return wanted
    first = containers[0].get("name", "")
    if not quiet and (len(containers) > 1 or spec.get("initContainers") or spec.get("ephemeralContainers")):
        out.warn(f'Defaulted container "{first}" out of: {all_container_names(pod)}')
    return first


def exec_(kubectl, args: list[str], out: Output, stdin=None) -> None:
    if "--" in args:
        dash = args.index("--")
        before, command = args[:dash], args[dash + 1:]
        positional, flags = kubectl.parse(before, EXEC_FLAGS, "exec")
        at_dash = len(positional)
    else:
        positional, flags = kubectl.parse(args, EXEC_FLAGS, "exec")
        command, at_dash = [], -1
    quiet = bool(flags.get("quiet"))
    resource = positional[0] if positional and at_dash != 0 else ""
    if at_dash == -1 and len(positional) > 1:
        if not quiet:
            out.warn(DEPRECATED_FORM)
        command = positional[1:]
    if not resource and not flags.get("filename"):
        raise KubectlError("pod, type/name or --filename must be specified")
    if not command:
        raise KubectlError("you must specify at least one command for the container")
    if flags.get("filename"):
        raise KubectlError("exec -f is not available in k8slab's in-process kubectl: name the pod")
    namespace = kubectl.namespace(flags)
    pod = _pod_for(kubectl, resource, namespace)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise KubectlError(f"cannot exec into a container in a completed pod; current phase is {phase}")
    container = flags.get("container") or default_container(pod, quiet, out)
    meta = pod.get("metadata") or {}
    try:
        result = kubectl.client.exec(meta.get("name", ""), meta.get("namespace") or namespace, list(command),
                                     container)
    except ApiError as e:
        # failures on the exec stream itself (not a Status answer) are plain errors in kubectl
        if e.code >= 500 or e.message.startswith("unable to upgrade connection"):
            raise KubectlError(e.message) from None
        raise
    stdout = getattr(result, "stdout", str(result))
    stderr = getattr(result, "stderr", "")
    if stdout:
        out.write(stdout)
    if stderr:
        out.write_err(stderr)
    code = int(getattr(result, "returncode", 0) or 0)
    if code != 0:
        out.error(f"command terminated with exit code {code}")
        out.exit_code = code
