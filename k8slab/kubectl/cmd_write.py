"""The verbs that change the cluster: ``create``, ``apply``, ``delete`` and ``scale``.

``create deployment`` builds the object exactly as kubectl's generator does
(labels and selector ``app=NAME``, one container named after the image,
``strategy: {}``, ``resources: {}``) and POSTs it; ``apply -f`` hands the manifest
to the cluster's apply hook; ``delete`` and ``scale`` print kubectl's confirmations
(``deployment.apps "web" deleted``, ``deployment.apps/web scaled``).
"""

from __future__ import annotations

import re

from k8slab.api.errors import ApiError
from k8slab.kubectl.cmd_create import GENERATORS, OUTPUT_FLAGS, emit
from k8slab.kubectl.command import GLOBAL_FLAGS, KubectlError, Output, first_positional
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.resources import fetch, parse_request

# -- create ---------------------------------------------------------------------------------

CREATE_DEPLOYMENT_FLAGS = [
    Flag("image", "", "strings"),
    Flag("replicas", "r", "int"),
    Flag("port", "", "int"),
    *OUTPUT_FLAGS,
]


def container_name(image: str) -> str:
    """kubectl's container name for an image: ``registry.k8s.io/pause:3.9`` gives ``pause``."""
    name = image.split("/")[-1]
    name = name.split(":")[0].split("@")[0]
    return re.sub(r"[_.]", "-", name)


def deployment_object(name: str, images: list[str], replicas: int = 1, port: int = -1,
                      command: list[str] | None = None) -> dict:
    """The Deployment ``kubectl create deployment`` sends (before the API server's defaults)."""
    containers = []
    for image in images:
        c = {"image": image, "name": container_name(image), "resources": {}}
        if command:
            c["command"] = list(command)
        containers.append(c)
    if port >= 0 and containers:
        containers[0]["ports"] = [{"containerPort": port}]
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"creationTimestamp": None, "labels": dict(labels), "name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {},
            "template": {"metadata": {"creationTimestamp": None, "labels": dict(labels)}, "spec": {"containers": containers}},
        },
        "status": {},
    }


def create(kubectl, args: list[str], out: Output, stdin=None) -> None:
    sub_index = first_positional(args, [*CREATE_DEPLOYMENT_FLAGS, Flag("filename", "f", "strings"), *GLOBAL_FLAGS])
    sub = args[sub_index] if sub_index is not None else None
    if sub in GENERATORS:
        GENERATORS[sub](kubectl, args[:sub_index] + args[sub_index + 1:], out)
        return
    if sub in ("deployment", "deploy"):
        rest = args[:sub_index] + args[sub_index + 1:]
        _create_deployment(kubectl, rest, out)
        return
    if sub in ("namespace", "ns"):
        rest = args[:sub_index] + args[sub_index + 1:]
        positional, flags = kubectl.parse(rest, OUTPUT_FLAGS, "create namespace")
        if len(positional) != 1:
            raise KubectlError(f"exactly one NAME is required, got {len(positional)}", help_hint="kubectl create namespace")
        emit(kubectl, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": positional[0]},
                       "spec": {}, "status": {}}, "namespace", flags, out, namespaced=False)
        return
    positional, flags = kubectl.parse(args, [Flag("filename", "f", "strings"), Flag("save-config", "", "bool"),
                                             Flag("validate", "", "string", no_value_default="strict")], "create")
    if positional:
        raise KubectlError(f"Unexpected args: [{' '.join(positional)}]", help_hint="kubectl create")
    if not flags.get("filename"):
        raise KubectlError("must specify one of -f and -k", help_hint="kubectl create")
    for kind, obj in _load(kubectl, flags["filename"], stdin):
        ns = kubectl.namespace(flags) if kind.namespaced else None
        try:
            created = kubectl.client.create(obj, namespace=(obj.get("metadata") or {}).get("namespace") or ns)
            out.print(f"{kind.resource_ref}/{created['metadata']['name']} created")
        except ApiError as e:
            out.error(e.kubectl_message())


def _create_deployment(kubectl, args: list[str], out: Output) -> None:
    dash = args.index("--") if "--" in args else len(args)
    command = args[dash + 1:]
    positional, flags = kubectl.parse(args[:dash], CREATE_DEPLOYMENT_FLAGS, "create deployment")
    if len(positional) != 1:
        raise KubectlError(f"exactly one NAME is required, got {len(positional)}", help_hint="kubectl create deployment")
    images = flags.get("image")
    if not images:
        raise KubectlError('required flag(s) "image" not set')
    if len(images) > 1 and command:
        raise KubectlError("cannot specify multiple --image options and command")
    obj = deployment_object(positional[0], images, flags.get("replicas", 1), flags.get("port", -1), command)
    emit(kubectl, obj, "deployment.apps", flags, out)


def _load(kubectl, sources: list[str], stdin):
    """(kind, object) for every document of the given manifests, through the apply hook's loader."""
    loader = getattr(kubectl.apply_hook, "load", None)
    if loader is None:
        raise KubectlError("reading manifests needs the cluster's manifest loader, which this kubectl was not given")
    for source in sources:
        text = _source(source, stdin)
        for obj in loader(text):
            kind = kubectl.registry.for_object(obj.get("apiVersion", ""), obj.get("kind", ""))
            if kind is None:
                raise KubectlError(
                    f'resource mapping not found for name: "{(obj.get("metadata") or {}).get("name", "")}" '
                    f'namespace: "" from "{source}": no matches for kind "{obj.get("kind", "")}" in version '
                    f'"{obj.get("apiVersion", "")}"\nensure CRDs are installed first'
                )
            yield kind, obj


def _source(source: str, stdin):
    if source == "-":
        if stdin is None:
            raise KubectlError("no objects passed to apply (nothing on standard input)")
        return str(stdin)  # a KubectlResult piped in is text (the YAML loader wants a plain str)
    return source


# -- apply ------------------------------------------------------------------------------------

APPLY_FLAGS = [
    Flag("filename", "f", "strings"),
    Flag("recursive", "R", "bool"),
    Flag("dry-run", "", "string", no_value_default="unchanged"),
    Flag("server-side", "", "bool"),
    Flag("force-conflicts", "", "bool"),
    Flag("validate", "", "string", no_value_default="strict"),
    Flag("prune", "", "bool"),
]


def call_hook(kubectl, hook, source, namespace):
    """Call the cluster's apply hook (or its preview), with kubectl's client when the hook takes it
    (so ``--as`` and ``-v=6`` apply to its requests too)."""
    if getattr(kubectl.apply_hook, "with_client", False):
        return hook(source, namespace, client=kubectl.client)
    return hook(source, namespace)


def apply(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, APPLY_FLAGS, "apply")
    if positional:
        raise KubectlError(f"Unexpected args: {positional}", help_hint="kubectl apply")
    sources = flags.get("filename")
    if not sources:
        raise KubectlError("must specify one of -f and -k", help_hint="kubectl apply")
    if kubectl.apply_hook is None:
        raise KubectlError("apply is not connected to a cluster in this kubectl (no apply hook)")
    namespace = flags.get("namespace")
    for source in sources:
        lines = call_hook(kubectl, kubectl.apply_hook, _source(source, stdin), namespace)
        for line in lines or []:
            out.print(str(line))


# -- delete -----------------------------------------------------------------------------------

DELETE_FLAGS = [
    Flag("selector", "l", "string"),
    Flag("field-selector", "", "string"),
    Flag("all", "", "bool"),
    Flag("all-namespaces", "A", "bool"),
    Flag("filename", "f", "strings"),
    Flag("grace-period", "", "int"),
    Flag("force", "", "bool"),
    Flag("now", "", "bool"),
    Flag("wait", "", "bool"),
    Flag("cascade", "", "string", no_value_default="background"),
    Flag("ignore-not-found", "", "bool"),
    Flag("output", "o", "string"),
]

_CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan", "true": "Background",
            "false": "Orphan"}


def delete(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, DELETE_FLAGS, "delete")
    cascade = flags.get("cascade", "background")
    if cascade not in _CASCADE:
        raise KubectlError(f'invalid cascade value ({cascade}). Must be "background", "foreground", or "orphan".')
    grace = flags.get("grace-period")
    if flags.get("now"):
        grace = 1
    force = bool(flags.get("force"))
    if force and grace is None:
        grace = 0
    if force and grace == 0:
        out.warn("Warning: Immediate deletion does not wait for confirmation that the running resource has been "
                 "terminated. The resource may continue to run on the cluster indefinitely.")
    all_ns = bool(flags.get("all-namespaces"))
    namespace = None if all_ns else kubectl.namespace(flags)
    if flags.get("filename"):
        if positional:
            raise KubectlError("Unexpected args: " + str(positional), help_hint="kubectl delete")
        items = [(kind, obj) for kind, obj in _load(kubectl, flags["filename"], stdin)]
        targets = [(kind, obj["metadata"]["name"], obj["metadata"].get("namespace") or namespace) for kind, obj in items]
    else:
        if not positional:
            raise KubectlError('You must provide one or more resources by argument or filename.\nExample resource '
                               'specifications include:\n   \'-f rsrc.yaml\'\n   \'--filename=rsrc.json\'\n   '
                               "'<resource> <name>'\n   '<resource>'")
        request = parse_request(kubectl, positional, "delete")
        named = any(t.names for t in request.targets)
        selector = flags.get("selector")
        if not named and not selector and not flags.get("field-selector") and not flags.get("all"):
            raise KubectlError("resource(s) were provided, but no name was specified")
        if named and (selector or flags.get("all")):
            raise KubectlError("name cannot be provided when a selector is specified")
        if named:
            # by name, kubectl sends the DELETE straight away (RequireObject(false)): no GET first, so a
            # user who may not delete gets 403 even for a name that does not exist
            targets = [(t.kind, name, namespace) for t in request.targets for name in t.names]
        else:
            results = fetch(kubectl, request, out, namespace=namespace, label_selector=selector,
                            field_selector=flags.get("field-selector"),
                            ignore_not_found=bool(flags.get("ignore-not-found")))
            targets = [(kind, o["metadata"]["name"], o["metadata"].get("namespace"))
                       for kind, objs in results for o in objs]
        if not targets and not named and not out.failed:
            out.print("No resources found")
            return
    for kind, name, ns in targets:
        try:
            kubectl.client.delete(kind.group_resource, name, ns if kind.namespaced else None,
                                  propagation_policy=_CASCADE[cascade], grace_period_seconds=grace)
        except ApiError as e:
            if not (flags.get("ignore-not-found") and e.code == 404):
                out.error(e.kubectl_message())
            continue
        if flags.get("output") == "name":
            out.print(f"{kind.resource_ref}/{name}")
        else:
            out.print(f'{kind.resource_ref} "{name}" {"force deleted" if force and grace == 0 else "deleted"}')


# -- scale ----------------------------------------------------------------------------------------

SCALE_FLAGS = [
    Flag("replicas", "", "int"),
    Flag("current-replicas", "", "int"),
    Flag("selector", "l", "string"),
    Flag("all", "", "bool"),
    Flag("filename", "f", "strings"),
    Flag("timeout", "", "string"),
    Flag("resource-version", "", "string"),
]


def scale(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, SCALE_FLAGS, "scale")
    if "replicas" not in flags:
        raise KubectlError('required flag(s) "replicas" not set')
    replicas = flags["replicas"]
    if replicas < 0:
        raise KubectlError("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0",
                           help_hint="kubectl scale")
    if not positional:
        raise KubectlError('You must provide one or more resources by argument or filename.\nExample resource '
                           'specifications include:\n   \'-f rsrc.yaml\'\n   \'--filename=rsrc.json\'\n   '
                           "'<resource> <name>'\n   '<resource>'")
    namespace = kubectl.namespace(flags)
    request = parse_request(kubectl, positional, "scale")
    named = any(t.names for t in request.targets)
    if not named and not flags.get("selector") and not flags.get("all"):
        raise KubectlError("resource(s) were provided, but no name was specified")
    results = fetch(kubectl, request, out, namespace=namespace, label_selector=flags.get("selector"))
    for kind, objs in results:
        for obj in objs:
            name = obj["metadata"]["name"]
            ns = obj["metadata"].get("namespace")
            if "scale" not in kind.subresources:
                out.error("Error from server (NotFound): the server could not find the requested resource")
                continue
            current = flags.get("current-replicas", -1)
            if current >= 0:
                actual = int(((obj.get("spec") or {}).get("replicas")) or 0)
                if actual != current:
                    out.error(f"error: Expected replicas to be {current}, was {actual}")
                    continue
            try:
                kubectl.client.patch(kind.group_resource, name, {"spec": {"replicas": replicas}}, ns,
                                     patch_type="merge", subresource="scale")
            except ApiError as e:
                out.error(e.kubectl_message())
                continue
            out.print(f"{kind.resource_ref}/{name} scaled")
