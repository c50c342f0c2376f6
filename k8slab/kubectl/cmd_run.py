"""``kubectl run``: one Pod from the command line (labels ``run=NAME``, one container named NAME).

The imperative way to start something. kubectl's generator fills in exactly what
``kubectl run web --image=nginx --dry-run=client -o yaml`` prints: the label
``run=web``, ``dnsPolicy: ClusterFirst``, ``restartPolicy: Always`` unless
``--restart`` says otherwise, and arguments after ``--`` as the container's
``args`` (or its ``command`` with ``--command``).

Example
-------
>>> pod_object("web", "nginx:1.27", port=80)["spec"]["containers"]
[{'image': 'nginx:1.27', 'name': 'web', 'ports': [{'containerPort': 80}], 'resources': {}}]
"""

from __future__ import annotations

from k8slab.kubectl.cmd_create import emit
from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.flags import Flag

RUN_FLAGS = [
    Flag("image", "", "string"),
    Flag("port", "", "string"),
    Flag("labels", "l", "string"),
    Flag("env", "", "strings"),
    Flag("restart", "", "string"),
    Flag("command", "", "bool"),
    Flag("image-pull-policy", "", "string"),
    Flag("annotations", "", "strings"),
    Flag("rm", "", "bool"),
    Flag("stdin", "i", "bool"),
    Flag("tty", "t", "bool"),
    Flag("attach", "", "bool"),
    Flag("dry-run", "", "string", no_value_default="unchanged"),
    Flag("output", "o", "string"),
]


def _pairs(text: str, what: str) -> dict[str, str]:
    found = {}
    for part in (p for p in text.split(",") if p):
        key, sep, value = part.partition("=")
        if not sep:
            raise KubectlError(f"invalid {what} format: {part}")
        found[key] = value
    return found


def pod_object(name: str, image: str, *, port: int | None = None, labels: dict | None = None,
               env: list[str] | None = None, restart: str = "Always", args: list[str] | None = None,
               command: bool = False, pull_policy: str = "", annotations: dict | None = None) -> dict:
    """The Pod ``kubectl run`` builds (its keys in the order the generator's JSON has them)."""
    container: dict = {"image": image, "name": name}
    if args:
        container["command" if command else "args"] = list(args)
    if env:
        container["env"] = [{"name": k, "value": v} for k, _, v in (e.partition("=") for e in env)]
    if pull_policy:
        container["imagePullPolicy"] = pull_policy
    if port is not None:
        container["ports"] = [{"containerPort": port}]
    container["resources"] = {}
    metadata: dict = {"creationTimestamp": None, "labels": labels or {"run": name}, "name": name}
    if annotations:
        metadata = {"annotations": annotations, **metadata}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"containers": [dict(sorted(container.items()))], "dnsPolicy": "ClusterFirst",
                     "restartPolicy": restart},
            "status": {}}


def run(kubectl, args: list[str], out: Output, stdin=None) -> None:
    dash = args.index("--") if "--" in args else len(args)
    extra = args[dash + 1:]
    positional, flags = kubectl.parse(args[:dash], RUN_FLAGS, "run")
    if not positional:
        raise KubectlError("NAME is required for run", help_hint="kubectl run")
    name, extra = positional[0], positional[1:] + extra
    image = flags.get("image")
    if not image:
        raise KubectlError('required flag(s) "image" not set')
    if flags.get("rm") or flags.get("stdin") or flags.get("tty") or flags.get("attach"):
        raise KubectlError("--rm, -i, -t and --attach need a terminal attached to the container; k8slab's pods "
                           "have none: run the pod, then use `kubectl logs` or `kubectl exec`")
    restart = flags.get("restart") or "Always"
    if restart not in ("Always", "OnFailure", "Never"):
        raise KubectlError(f"invalid restart policy: {restart}")
    port = None
    if flags.get("port"):
        try:
            port = int(flags["port"])
        except ValueError:
            raise KubectlError(f'strconv.Atoi: parsing "{flags["port"]}": invalid syntax') from None
    labels = _pairs(flags["labels"], "label") if flags.get("labels") else None
    annotations = _pairs(",".join(flags.get("annotations") or []), "annotation") or None
    obj = pod_object(name, image, port=port, labels=labels, env=flags.get("env"), restart=restart, args=extra,
                     command=bool(flags.get("command")), pull_policy=flags.get("image-pull-policy") or "",
                     annotations=annotations)
    emit(kubectl, obj, "pod", flags, out)
