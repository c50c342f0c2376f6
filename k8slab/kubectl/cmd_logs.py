"""``kubectl logs`` and ``kubectl rollout``.

``logs deploy/web`` picks one of the deployment's pods the way kubectl does
(scheduled, running, ready, longest ready first) and says so on stderr.
``rollout status`` does not block here: it reports the rollout's state once, with
kubectl's own wording, since the simulated cluster only moves when it is run.
"""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.duration import format_time, parse_time
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


# -- rollout ------------------------------------------------------------------------------------

ROLLOUT_FLAGS = [
    Flag("watch", "w", "bool"),
    Flag("revision", "", "int"),
    Flag("timeout", "", "string"),
    Flag("selector", "l", "string"),
    Flag("filename", "f", "strings"),
]


def rollout_status_message(kind: str, obj: dict) -> tuple[str, bool]:
    """kubectl's ``rollout status`` line for a Deployment, DaemonSet or StatefulSet, and whether it is done."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    name = meta.get("name", "")
    generation = meta.get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or generation > observed):
        return f"Waiting for {kind.lower()} spec update to be observed...", False
    if kind == "Deployment":
        for c in status.get("conditions") or []:
            if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
                raise KubectlError(f'deployment "{name}" exceeded its progress deadline')
        desired = 1 if spec.get("replicas") is None else int(spec["replicas"])
        updated = int(status.get("updatedReplicas") or 0)
        total = int(status.get("replicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        if updated < desired:
            return f'Waiting for deployment "{name}" rollout to finish: {updated} out of {desired} new replicas have been updated...', False
        if total > updated:
            return f'Waiting for deployment "{name}" rollout to finish: {total - updated} old replicas are pending termination...', False
        if available < updated:
            return f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated replicas are available...', False
        return f'deployment "{name}" successfully rolled out', True
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        available = int(status.get("numberAvailable") or 0)
        if updated < desired:
            return f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods have been updated...', False
        if available < desired:
            return f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods are available...', False
        return f'daemon set "{name}" successfully rolled out', True
    desired = 1 if spec.get("replicas") is None else int(spec["replicas"])
    ready = int(status.get("readyReplicas") or 0)
    if ready < desired:
        return f"Waiting for {desired - ready} pods to be ready...", False
    updated = int(status.get("updatedReplicas") or 0)
    if updated < desired:
        return f"Waiting for partitioned roll out to finish: {updated} out of {desired} new pods have been updated...", False
    return (f"statefulset rolling update complete {int(status.get('currentReplicas') or 0)} pods at revision "
            f"{status.get('currentRevision', '')}..."), True


def rollout(kubectl, args: list[str], out: Output, stdin=None) -> None:
    if not args or args[0] not in ("status", "restart", "history", "undo", "pause", "resume"):
        raise KubectlError('unknown command "' + (args[0] if args else "") + '" for "kubectl rollout"'
                           if args and not args[0].startswith("-") else "You must specify a subcommand: status, restart")
    sub, rest = args[0], args[1:]
    positional, flags = kubectl.parse(rest, ROLLOUT_FLAGS, f"rollout {sub}")
    if not positional:
        raise KubectlError('You must provide one or more resources by argument or filename.\nExample resource '
                           'specifications include:\n   \'-f rsrc.yaml\'\n   \'--filename=rsrc.json\'\n   '
                           "'<resource> <name>'\n   '<resource>'")
    namespace = kubectl.namespace(flags)
    request = parse_request(kubectl, positional, f"rollout {sub}")
    for target in request.targets:
        kind = target.kind
        if kind.kind not in ("Deployment", "DaemonSet", "StatefulSet"):
            raise KubectlError(f"no {'status viewer' if sub == 'status' else 'restarter'} has been implemented for "
                               f"{kind.kind}" if sub == "status" else f"{kind.resource_ref}/{(target.names or [''])[0]} can't be restarted")
        if target.names is None:
            names = [o["metadata"]["name"] for o in kubectl.client.list(kind.group_resource, namespace).get("items") or []]
        else:
            names = target.names
        for name in names:
            if sub == "status":
                obj = kubectl.client.get(kind.group_resource, name, namespace)
                message, _done = rollout_status_message(kind.kind, obj)
                out.print(message)
            elif sub == "restart":
                stamp = format_time(kubectl.time())
                patch = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}}
                try:
                    kubectl.client.patch(kind.group_resource, name, patch, namespace, patch_type="merge")
                except ApiError as e:
                    out.error(e.kubectl_message())
                    continue
                out.print(f"{kind.resource_ref}/{name} restarted")
            else:
                raise KubectlError(f'"kubectl rollout {sub}" is not available in k8slab\'s in-process kubectl')
