"""``kubectl describe TYPE [NAME_PREFIX]``: one description per object, separated by a blank line.

As on a real cluster, a name that matches nothing is tried as a prefix:
``kubectl describe pod web`` describes every pod whose name starts with ``web``.
"""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.describe import Context
from k8slab.kubectl.describe import describe as describe_object
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.resources import fetch, parse_request, typed

DESCRIBE_FLAGS = [
    Flag("selector", "l", "string"),
    Flag("all-namespaces", "A", "bool"),
    Flag("show-events", "", "bool"),
    Flag("chunk-size", "", "int"),
    Flag("filename", "f", "strings"),
]


def describe(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, DESCRIBE_FLAGS, "describe")
    if not positional:
        raise KubectlError('You must specify the type of resource to describe. Use "kubectl api-resources" for a '
                           "complete list of supported resources.\n")
    all_ns = bool(flags.get("all-namespaces"))
    namespace = None if all_ns else kubectl.namespace(flags)
    ctx = Context(kubectl.client, kubectl.time(), show_events=flags.get("show-events", True))
    request = parse_request(kubectl, positional, "describe")

    if len(positional) == 2 and len(request.targets) == 1 and "/" not in positional[0]:
        kind, name = request.targets[0].kind, positional[1]
        ns = namespace if kind.namespaced else None
        try:
            obj = typed(kind, kubectl.client.get(kind.group_resource, name, ns))
        except ApiError as e:
            if e.code != 404:
                raise
            listed = kubectl.client.list(kind.group_resource, ns).get("items") or []
            matches = sorted((typed(kind, o) for o in listed if o["metadata"].get("name", "").startswith(name)),
                             key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))
            if not matches:
                raise
            for o in matches:
                out.write(describe_object(o, ctx) + "\n")
            return
        out.write(describe_object(obj, ctx))
        return

    errors: list[str] = []
    results = fetch(kubectl, request, out, namespace=namespace, label_selector=flags.get("selector"), errors=errors)
    texts = [describe_object(obj, ctx) for _, objs in results for obj in objs]
    out.write("\n\n".join(texts))
    for message in errors:
        out.error(message)
    if not texts and not errors:
        if all(t.kind.namespaced for t in request.targets) and not all_ns:
            out.warn(f"No resources found in {namespace} namespace.")
        else:
            out.warn("No resources found")

