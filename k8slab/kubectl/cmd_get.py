"""``kubectl get``, ``kubectl api-resources`` and ``kubectl version``."""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.kubectl.columns import BUILTIN_GROUPS
from k8slab.kubectl.columns_custom import custom_resource_table
from k8slab.kubectl.command import KUSTOMIZE_VERSION, KubectlError, Output
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.jsonpath import custom_columns, jsonpath_output
from k8slab.kubectl.printers import (
    PrintOptions,
    as_list,
    encode,
    for_output,
    object_name,
    sort_objects,
    table_text,
)
from k8slab.kubectl.resources import fetch, parse_request
from k8slab.kubectl.tabwriter import table

GET_FLAGS = [
    Flag("output", "o", "string"),
    Flag("selector", "l", "string"),
    Flag("field-selector", "", "string"),
    Flag("all-namespaces", "A", "bool"),
    Flag("show-labels", "", "bool"),
    Flag("label-columns", "L", "strings"),
    Flag("sort-by", "", "string"),
    Flag("no-headers", "", "bool"),
    Flag("watch", "w", "bool"),
    Flag("watch-only", "", "bool"),
    Flag("show-kind", "", "bool"),
    Flag("ignore-not-found", "", "bool"),
    Flag("chunk-size", "", "int"),
    Flag("show-managed-fields", "", "bool"),
]

_ALLOWED_FORMATS = (
    "custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,"
    "jsonpath-file,name,template,templatefile,wide,yaml"
)


def output_format(flags: dict) -> str:
    fmt = flags.get("output") or ""
    if fmt in ("", "wide", "name", "yaml", "json"):
        return fmt
    base = fmt.split("=", 1)[0]
    if base in ("jsonpath", "custom-columns"):
        if "=" not in fmt or not fmt.split("=", 1)[1]:
            what = "template" if base == "jsonpath" else "custom-columns format"
            raise KubectlError(f"{what} format specified but no {what} given" if base == "jsonpath"
                               else "custom-columns format specified but no custom columns given")
        return fmt
    if base in _ALLOWED_FORMATS.split(","):
        raise KubectlError(f"-o {base} is not available in k8slab's in-process kubectl (use -o yaml, json, name or wide)")
    raise KubectlError(
        f'unable to match a printer suitable for the output format "{fmt}", allowed formats are: {_ALLOWED_FORMATS}'
    )


def get(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, GET_FLAGS, "get")
    if flags.get("watch") or flags.get("watch-only"):
        raise KubectlError(
            "--watch is not available in k8slab's in-process kubectl: the cluster only moves when you run it "
            "(c.run() or c.step()), so run it and get again"
        )
    fmt = output_format(flags)
    if not positional:
        out.warn('You must specify the type of resource to get. Use "kubectl api-resources" for a complete list '
                 "of supported resources.\n\n")
        raise KubectlError(
            "Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed description of that "
            "resource (e.g. kubectl explain pods).",
            help_hint="kubectl get",
        )
    all_ns = bool(flags.get("all-namespaces"))
    request = parse_request(kubectl, positional, "get")
    named = any(t.names for t in request.targets)
    if named and (flags.get("selector") or flags.get("field-selector")):
        raise KubectlError("name cannot be provided when a selector is specified")
    if named and all_ns:
        raise KubectlError("a resource cannot be retrieved by name across all namespaces")
    namespace = None if all_ns else kubectl.namespace(flags)
    errors: list[str] = []
    try:
        _get(kubectl, request, flags, fmt, all_ns, namespace, out, errors)
    finally:
        for message in errors:  # kubectl reports what it could not get after what it printed
            out.error(message)


def _get(kubectl, request, flags: dict, fmt: str, all_ns: bool, namespace: str | None, out: Output,
         errors: list[str]) -> None:
    results = fetch(kubectl, request, out, namespace=namespace, label_selector=flags.get("selector"),
                    field_selector=flags.get("field-selector"), ignore_not_found=bool(flags.get("ignore-not-found")),
                    errors=errors)
    if flags.get("sort-by"):
        results = [(kind, sort_objects(objs, flags["sort-by"])) for kind, objs in results]
    everything = [(kind, obj) for kind, objs in results for obj in objs]

    if fmt in ("yaml", "json") or fmt.startswith("jsonpath="):
        # one named object prints as itself, anything else as a List of items
        if request.single_item and not everything:
            return
        if request.single_item and len(everything) == 1:
            doc = for_output(everything[0][1], everything[0][0])
        else:
            doc = as_list([for_output(o, k) for k, o in everything])
        out.write(encode(doc, fmt) if fmt in ("yaml", "json") else jsonpath_output(fmt.split("=", 1)[1], doc))
        return
    if fmt.startswith("custom-columns="):
        objects = [for_output(o, k) for k, o in everything]
        if objects:
            out.write(table(custom_columns(fmt.split("=", 1)[1], objects, no_headers=bool(flags.get("no-headers")))))
        elif not errors and not flags.get("ignore-not-found"):
            out.warn(f"No resources found in {namespace} namespace." if namespace else "No resources found")
        return
    if fmt == "name":
        for kind, obj in everything:
            out.print(object_name(kind, obj))
        return

    kinds_found = {kind for kind, obj in everything}
    opts = PrintOptions(
        output=fmt, all_namespaces=all_ns, show_labels=bool(flags.get("show-labels")),
        with_kind=request.multiple_types or len(kinds_found) > 1 or bool(flags.get("show-kind")),
        no_headers=bool(flags.get("no-headers")), label_columns=[c for v in flags.get("label-columns", []) for c in v.split(",")],
    )
    tables = [table_text(kind, objs, kubectl.time(), opts, _custom_columns(kubectl, kind) if objs else None)
              for kind, objs in results]
    out.write("\n".join(t for t in tables if t))
    if not everything and not errors and not flags.get("ignore-not-found"):
        if all(t.kind.namespaced for t in request.targets) and not all_ns:
            out.warn(f"No resources found in {namespace} namespace.")
        else:
            out.warn("No resources found")


def _custom_columns(kubectl, kind):
    """A custom resource's columns come from its CustomResourceDefinition (None for built-in kinds)."""
    if kind.group in BUILTIN_GROUPS:
        return None
    try:
        crd = kubectl.client.get("customresourcedefinitions.apiextensions.k8s.io", f"{kind.plural}.{kind.group}")
    except ApiError:
        crd = None
    return custom_resource_table(crd, kind.version)


API_RESOURCES_FLAGS = [
    Flag("output", "o", "string"),
    Flag("namespaced", "", "bool"),
    Flag("api-group", "", "string"),
    Flag("no-headers", "", "bool"),
    Flag("sort-by", "", "string"),
    Flag("verbs", "", "strings"),
    Flag("cached", "", "bool"),
]


def api_resources(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, API_RESOURCES_FLAGS, "api-resources")
    if positional:
        raise KubectlError(f"unexpected arguments: {positional}", help_hint="kubectl api-resources")
    fmt = flags.get("output") or ""
    if fmt not in ("", "wide", "name"):
        raise KubectlError(f"--output {fmt} is not available (only wide and name)")
    kinds = [k for k in kubectl.registry.all()]
    if "namespaced" in flags:
        kinds = [k for k in kinds if k.namespaced == flags["namespaced"]]
    if "api-group" in flags:
        kinds = [k for k in kinds if k.group == flags["api-group"]]
    sort_by = flags.get("sort-by")
    if sort_by == "kind":
        kinds.sort(key=lambda k: k.kind)
    elif sort_by == "name":
        kinds.sort(key=lambda k: k.plural)
    else:
        kinds.sort(key=lambda k: (k.group, k.plural))
    if fmt == "name":
        for k in kinds:
            out.print(k.group_resource)
        return
    rows = [] if flags.get("no-headers") else [["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]]
    if fmt == "wide" and rows:
        rows[0] += ["VERBS", "CATEGORIES"]
    verbs = "create,delete,deletecollection,get,list,patch,update,watch"
    for k in kinds:
        row = [k.plural, ",".join(k.short_names), k.api_version, "true" if k.namespaced else "false", k.kind]
        if fmt == "wide":
            row += [f"[{verbs.replace(',', ' ')}]", ",".join(k.categories)]
        rows.append(row)
    out.write(table(rows))


def version(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, [Flag("client", "", "bool"), Flag("output", "o", "string")], "version")
    if positional:
        raise KubectlError(f"unexpected arguments: {positional}", help_hint="kubectl version")
    out.print(f"Client Version: {kubectl.server_version}")
    out.print(f"Kustomize Version: {KUSTOMIZE_VERSION}")
    if not flags.get("client"):
        out.print(f"Server Version: {kubectl.server_version}")
