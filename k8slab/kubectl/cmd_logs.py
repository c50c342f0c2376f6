"""``kubectl logs``: what a container printed.

``logs deploy/web`` picks one of the deployment's pods the way kubectl does
(scheduled, running, ready, longest ready first) and says so on stderr.
"""

from __future__ import annotations

from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.duration import parse_time
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.resources import parse_request, typed
from k8slab.kubectl.selectors import selector_string

LOGS_FLAGS = [
    Flag("container", "c", "string"),
    Flag("previous", "p", "bool"),
    Flag("tail", "", "int"),
    Flag("follow", "f", "bool"),
    Flag("timestamps", "", "bool"),
    Flag("all-containers", "", "bool"),
    Flag("since", "", "string"),
    Flag("pod-running-timeout", "", "string"),
    Flag("selector", "l", "string"),
    Flag("prefix", "", "bool"),
    Flag("max-log-requests", "", "int"),
]

_LOGS_USAGE = "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command"


def _ready_since(pod: dict):
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return parse_time(c.get("lastTransitionTime"))
    return None


def _logging_order(pod: dict):
    """``podutils.ByLogging``: the pod whose logs are most worth reading comes first."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase_rank = {"Running": 0, "Unknown": 1, "Pending": 2}.get(status.get("phase"), 3)
    ready_at = _ready_since(pod)
    restarts = max((int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or []), default=0)
    created = (pod.get("metadata") or {}).get("creationTimestamp") or "~"
    return (
        0 if spec.get("nodeName") else 1,
        phase_rank,
        0 if ready_at is not None else 1,
        ready_at.timestamp() if ready_at is not None else 0,
        -restarts,
        created,
    )


def logs(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, LOGS_FLAGS, "logs")
    if flags.get("selector"):
        _logs_by_selector(kubectl, positional, flags, out)
        return
    if not positional:
        raise KubectlError(_LOGS_USAGE, help_hint="kubectl logs")
    if len(positional) > 2:
        raise KubectlError(_LOGS_USAGE, help_hint="kubectl logs")
    namespace = kubectl.namespace(flags)
    container = flags.get("container")
    if len(positional) == 2:
        if container:
            raise KubectlError("only one of -c or an inline [CONTAINER] arg is allowed", help_hint="kubectl logs")
        container = positional[1]
    target = positional[0]
    if "/" in target:
        kind = parse_request(kubectl, [target], "logs").targets[0].kind
        name = target.split("/", 1)[1]
    else:
        kind, name = kubectl.kind("pods"), target
    if kind.kind == "Pod":
        pod = kubectl.client.get("pods", name, namespace)
    else:
        owner = typed(kind, kubectl.client.get(kind.group_resource, name, namespace if kind.namespaced else None))
        spec = owner.get("spec") or {}
        selector = selector_string(spec.get("selector")) if kind.kind != "Service" else ",".join(
            f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
        if not selector:
            raise KubectlError(f"cannot get the logs of {kind.resource_ref}/{name}: it selects no pods")
        pods = kubectl.client.list("pods", namespace, label_selector=selector).get("items") or []
        if not pods:
            raise KubectlError("timed out waiting for the condition")
        pods = sorted(pods, key=_logging_order)
        pod = pods[0]
        if len(pods) > 1:
            out.warn(f"Found {len(pods)} pods, using pod/{pod['metadata']['name']}")
    spec = pod.get("spec") or {}
    names = [c.get("name") for c in spec.get("containers") or []]
    if container is None:
        default = ((pod.get("metadata") or {}).get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
        if default in names:
            container = default
        elif names:
            container = names[0]
            if len(names) > 1:
                all_names = names + [f"{c.get('name')} (init)" for c in spec.get("initContainers") or []]
                out.warn(f'Defaulted container "{container}" out of: {", ".join(all_names)}')
    tail = flags.get("tail", -1)
    text = kubectl.client.logs(pod["metadata"]["name"], pod["metadata"].get("namespace") or namespace, container=container,
                               previous=bool(flags.get("previous")), tail=tail if tail >= 0 else None)
    out.write(text or "")


def _logs_by_selector(kubectl, positional: list[str], flags: dict, out: Output) -> None:
    """``kubectl logs -l app=web``: the last 10 lines (unless ``--tail``) of every matching pod."""
    if positional:
        raise KubectlError("only a selector (-l) or a resource name can be specified, not both",
                           help_hint="kubectl logs")
    namespace = kubectl.namespace(flags)
    pods = kubectl.client.list("pods", namespace, label_selector=flags["selector"]).get("items") or []
    if not pods:
        out.warn(f"No resources found in {namespace} namespace.")
        return
    limit = flags.get("max-log-requests", 5)
    if len(pods) > limit:
        raise KubectlError(f"you are attempting to follow {len(pods)} log streams, but maximum allowed "
                           f"concurrency is {limit}, use --max-log-requests to increase the limit")
    tail = flags.get("tail", 10)
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        chosen = containers if flags.get("all-containers") else [flags.get("container") or containers[0]]
        for container in chosen:
            text = kubectl.client.logs(pod["metadata"]["name"], namespace, container=container,
                                       previous=bool(flags.get("previous")), tail=tail if tail >= 0 else None) or ""
            if flags.get("prefix"):
                text = "".join(f"[pod/{pod['metadata']['name']}/{container}] {line}"
                               for line in text.splitlines(keepends=True))
            out.write(text)
