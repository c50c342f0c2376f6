"""``kubectl patch`` and ``kubectl set image``: change part of a live object in place.

``patch`` sends the patch as given (``--type strategic`` by default, or ``merge``
or ``json``) and prints ``deployment.apps/web patched``, or ``patched (no change)``
when the object stayed the same. ``set image`` is a strategic merge patch of one
or more containers' ``image`` (``*=IMAGE`` means every container); it prints
``deployment.apps/web image updated`` — and a new image in a Deployment's pod
template starts a rollout.

Example
-------
>>> image_patch({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}},
...             {"nginx": "nginx:1.28"}, "Deployment")
{'spec': {'template': {'spec': {'containers': [{'image': 'nginx:1.28', 'name': 'nginx'}]}}}}
"""

from __future__ import annotations

import json

import yaml

from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.resources import parse_request

PATCH_FLAGS = [
    Flag("patch", "p", "string"),
    Flag("patch-file", "", "string"),
    Flag("type", "", "string"),
    Flag("dry-run", "", "string", no_value_default="unchanged"),
    Flag("output", "o", "string"),
    Flag("subresource", "", "string"),
]


def _targets(kubectl, positional: list[str], command: str):
    request = parse_request(kubectl, positional, command)
    found = [(t.kind, name) for t in request.targets for name in (t.names or [])]
    if not found:
        raise KubectlError("resource(s) were provided, but no name was specified")
    return found


def patch(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, PATCH_FLAGS, "patch")
    text = flags.get("patch")
    if flags.get("patch-file"):
        if text:
            raise KubectlError("cannot specify --patch and --patch-file together")
        try:
            with open(flags["patch-file"]) as f:
                text = f.read()
        except OSError as e:
            raise KubectlError(f"unable to read patch file: {e.strerror.lower()}") from None
    if not text:
        raise KubectlError("must specify --patch or --patch-file containing the contents of the patch")
    ptype = flags.get("type") or "strategic"
    if ptype not in ("strategic", "merge", "json"):
        raise KubectlError(f'--type must be one of [json merge strategic], not "{ptype}"')
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise KubectlError(f"unable to parse \"{text}\": {str(e).splitlines()[0]}") from None
    if not positional:
        raise KubectlError("You must provide one or more resources by argument or filename.")
    ns = kubectl.namespace(flags)
    for kind, name in _targets(kubectl, positional, "patch"):
        namespace = ns if kind.namespaced else None
        before = kubectl.client.get(kind.group_resource, name, namespace)
        after = kubectl.client.patch(kind.group_resource, name, body, namespace, patch_type=ptype,
                                     subresource=flags.get("subresource"),
                                     dry_run=flags.get("dry-run") == "server")
        changed = before.get("metadata", {}).get("resourceVersion") != after.get("metadata", {}).get("resourceVersion")
        out.print(f"{kind.resource_ref}/{name} patched" + ("" if changed else " (no change)"))


# -- set image ------------------------------------------------------------------------------------

def _pod_spec(obj: dict, kind: str) -> dict:
    if kind == "Pod":
        return obj.get("spec") or {}
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def _wrap(kind: str, spec_patch: dict) -> dict:
    if kind == "Pod":
        return {"spec": spec_patch}
    if kind == "CronJob":
        return {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec_patch}}}}}
    return {"spec": {"template": {"spec": spec_patch}}}


def image_patch(obj: dict, images: dict[str, str], kind: str) -> dict:
    """The strategic merge patch ``set image`` sends (empty when nothing changes)."""
    spec = _pod_spec(obj, kind)
    changes: dict[str, list] = {}
    matched = set()
    for field in ("initContainers", "containers"):
        for c in spec.get(field) or []:
            new = images.get(c["name"], images.get("*"))
            if new is None:
                continue
            matched.add(c["name"])
            if c.get("image") != new:
                changes.setdefault(field, []).append({"image": new, "name": c["name"]})
    missing = [n for n in images if n != "*" and n not in matched]
    if missing:
        raise KubectlError(f'unable to find container named "{missing[0]}"')
    return _wrap(kind, changes) if changes else {}


def set_(kubectl, args: list[str], out: Output, stdin=None) -> None:
    if not args or args[0] != "image":
        sub = args[0] if args else ""
        raise KubectlError(f'"kubectl set {sub}" is not available in k8slab\'s in-process kubectl (use set image)'
                           if sub else "Configure application resources: kubectl set image",
                           help_hint="kubectl set" if not sub else None)
    positional, flags = kubectl.parse(args[1:], [Flag("all", "", "bool"), Flag("selector", "l", "string"),
                                                 Flag("dry-run", "", "string", no_value_default="unchanged"),
                                                 Flag("output", "o", "string")], "set image")
    resources = [p for p in positional if "=" not in p]
    images = dict(p.split("=", 1) for p in positional if "=" in p)
    if not images:
        raise KubectlError("at least one image update is required", help_hint="kubectl set image")
    if not resources:
        raise KubectlError("one or more resources must be specified as <resource> <name> or <resource>/<name>",
                           help_hint="kubectl set image")
    ns = kubectl.namespace(flags)
    for kind, name in _targets(kubectl, resources, "set image"):
        if kind.kind not in ("Pod", "Deployment", "ReplicaSet", "ReplicationController", "StatefulSet",
                             "DaemonSet", "Job", "CronJob"):
            raise KubectlError(f'error: {kind.resource_ref}/{name} the object is not a pod or does not have a pod '
                               "template: " + json.dumps(kind.kind))
        namespace = ns if kind.namespaced else None
        obj = kubectl.client.get(kind.group_resource, name, namespace)
        body = image_patch(obj, images, kind.kind)
        if not body:
            continue
        kubectl.client.patch(kind.group_resource, name, body, namespace, patch_type="strategic",
                             dry_run=flags.get("dry-run") == "server")
        out.print(f"{kind.resource_ref}/{name} image updated")
