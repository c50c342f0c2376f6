"""``kubectl cordon``, ``uncordon`` and ``drain``: taking a node out of service.

``drain`` cordons the node, then evicts its pods through the eviction API. Like
the real command it refuses, unless told otherwise, to evict pods no controller
would recreate (``--force``), DaemonSet pods (``--ignore-daemonsets``) and pods
with emptyDir data (``--delete-emptydir-data``); mirror (static) pods are left
alone. It does not wait for the evicted pods to disappear: the simulated
cluster moves on when it is run.
"""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.flags import Flag

CORDON_FLAGS = [Flag("selector", "l", "string"), Flag("dry-run", "", "string", no_value_default="unchanged")]

DRAIN_FLAGS = [
    *CORDON_FLAGS,
    Flag("force", "", "bool"),
    Flag("ignore-daemonsets", "", "bool"),
    Flag("delete-emptydir-data", "", "bool"),
    Flag("delete-local-data", "", "bool"),
    Flag("grace-period", "", "int"),
    Flag("timeout", "", "string"),
    Flag("pod-selector", "", "string"),
    Flag("disable-eviction", "", "bool"),
    Flag("skip-wait-for-delete-timeout", "", "int"),
    Flag("chunk-size", "", "int"),
]

DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "Pods declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def _nodes(kubectl, positional: list[str], flags: dict, command: str) -> list[dict]:
    if not positional and not flags.get("selector"):
        raise KubectlError(f"USAGE: {command} NODE [flags]", help_hint=f"kubectl {command}")
    if positional and flags.get("selector"):
        raise KubectlError("error: cannot specify both a node name and a --selector option", help_hint=f"kubectl {command}")
    if flags.get("selector"):
        return kubectl.client.list("nodes", None, label_selector=flags["selector"]).get("items") or []
    return [kubectl.client.get("nodes", name) for name in positional]


def _set_unschedulable(kubectl, nodes: list[dict], desired: bool, out: Output) -> bool:
    ok = True
    for node in nodes:
        name = node["metadata"]["name"]
        if bool((node.get("spec") or {}).get("unschedulable")) == desired:
            out.print(f"node/{name} already {'cordoned' if desired else 'uncordoned'}")
            continue
        try:
            kubectl.client.patch("nodes", name, {"spec": {"unschedulable": True if desired else None}}, None,
                                 patch_type="merge")
        except ApiError as e:
            out.error(f"error: unable to {'cordon' if desired else 'uncordon'} node \"{name}\": {e.message}")
            ok = False
            continue
        out.print(f"node/{name} {'cordoned' if desired else 'uncordoned'}")
    return ok


def cordon(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, CORDON_FLAGS, "cordon")
    _set_unschedulable(kubectl, _nodes(kubectl, positional, flags, "cordon"), True, out)


def uncordon(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, CORDON_FLAGS, "uncordon")
    _set_unschedulable(kubectl, _nodes(kubectl, positional, flags, "uncordon"), False, out)


def _controller(pod: dict) -> dict | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def _classify(kubectl, pod: dict, flags: dict) -> tuple[str, str]:
    """(verdict, message): verdict is "delete", "skip", "warn-skip", "warn-delete" or "error"."""
    meta = pod.get("metadata") or {}
    phase = (pod.get("status") or {}).get("phase")
    finished = phase in ("Succeeded", "Failed")
    ref = _controller(pod)
    if ref is not None and ref.get("kind") == "DaemonSet" and not finished:
        try:
            kubectl.client.get("daemonsets", ref.get("name", ""), meta.get("namespace"))
        except ApiError as e:
            if e.code == 404 and flags.get("force"):
                return "warn-delete", e.message
            return "error", e.message
        if not flags.get("ignore-daemonsets"):
            return "error", DAEMONSET_FATAL
        return "warn-skip", DAEMONSET_WARNING
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return "skip", ""
    volumes = (pod.get("spec") or {}).get("volumes") or []
    if any(v.get("emptyDir") is not None for v in volumes) and not finished:
        if not (flags.get("delete-emptydir-data") or flags.get("delete-local-data")):
            return "error", LOCAL_STORAGE_FATAL
        # kubectl's later filters overwrite the LOCAL_STORAGE_WARNING, so it is never printed.
    if finished:
        return "delete", ""
    if ref is not None:
        return "delete", ""  # a controlled pod: its warning, if any, is dropped as in kubectl
    if flags.get("force"):
        return "warn-delete", UNMANAGED_WARNING
    return "error", UNMANAGED_FATAL


def _grouped(items: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for message, pod in items:
        groups.setdefault(message, []).append(pod)
    return sorted(groups.items())


def drain(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, DRAIN_FLAGS, "drain")
    nodes = _nodes(kubectl, positional, flags, "drain")
    _set_unschedulable(kubectl, nodes, True, out)
    pending, fatal = [], []
    for node in nodes:
        name = node["metadata"]["name"]
        pods = [p for p in kubectl.client.list("pods", None).get("items") or []
                if (p.get("spec") or {}).get("nodeName") == name]
        pods.sort(key=lambda p: (p["metadata"].get("namespace") or "", p["metadata"]["name"]))
        errors, warnings, to_evict = [], [], []
        for pod in pods:
            verdict, message = _classify(kubectl, pod, flags)
            ref = f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"
            if verdict == "error":
                errors.append((message, ref))
            elif verdict.startswith("warn"):
                warnings.append((message, ref))
            if verdict in ("delete", "warn-delete"):
                to_evict.append(pod)
        if errors:
            texts = [f"cannot delete {m}: {', '.join(p)}" for m, p in _grouped(errors)]
            joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
            out.error(f'error: unable to drain node "{name}" due to error:{joined}, continuing command...')
            pending.append(name)
            fatal.extend(texts)
            continue
        if warnings:
            out.warn("WARNING: " + "; ".join(f"{m}: {', '.join(p)}" for m, p in _grouped(warnings)))
        evicted = []
        for pod in to_evict:
            ns, pname = pod["metadata"].get("namespace"), pod["metadata"]["name"]
            out.print(f"evicting pod {ns}/{pname}")
            try:
                if hasattr(kubectl.client, "evict") and not flags.get("disable-eviction"):
                    kubectl.client.evict(pname, ns)
                else:
                    kubectl.client.delete("pods", pname, ns, grace_period_seconds=flags.get("grace-period"))
            except ApiError as e:
                if e.code == 404:
                    continue
                out.error(f'error when evicting pods/"{pname}" -n "{ns}" (will retry after 5s): {e.message}'
                          if e.code == 429 else f'error: error when evicting pods/"{pname}" -n "{ns}": {e.message}')
                continue
            evicted.append(pname)
        verb = "deleted" if flags.get("disable-eviction") or not hasattr(kubectl.client, "evict") else "evicted"
        for pname in evicted:
            out.print(f"pod/{pname} {verb}")
        out.print(f"node/{name} drained")
    if pending:
        out.error("There are pending nodes to be drained:\n" + "".join(f" {n}\n" for n in pending) + "\n".join(fatal))
