"""``kubectl label`` and ``kubectl annotate``: add, change or remove an object's labels and annotations.

Both follow ``staging/.../kubectl/pkg/cmd/label/label.go`` and ``annotate/annotate.go``:
objects come first, then changes (``app=web`` sets, ``app-`` removes); an existing
key is only replaced with ``--overwrite`` (labels: ``error: 'app' already has a value
(web), and --overwrite is false``; setting the value a key already has is not an
overwrite); the change goes to the API server as a JSON merge patch of
``metadata``. Objects are named (``pod web``, ``pod/web``), selected (``-l``) or all of
a type (``--all``). Each prints one line: ``pod/web labeled`` (or ``unlabeled``, ``not
labeled``, ``label(s) changed``), ``deployment.apps/web annotated``. Errors come after
the successes, as kubectl prints them once it has visited every object.

k8slab simplifies: ``--local`` and ``-f`` are not supported (objects come from the cluster).

Example
-------
>>> parse_label_changes(["app=web", "tier-"])
({'app': 'web'}, ['tier'])
>>> resources_and_pairs(["pod", "web", "app=web"], "label")
(['pod', 'web'], ['app=web'])
"""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.api.names import label_value_errors
from k8slab.kubectl.cmd_expose import dry_run_strategy
from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.printers import encode, for_output
from k8slab.kubectl.resources import fetch, parse_request

CHANGE_CAUSE = "kubernetes.io/change-cause"

METADATA_FLAGS = [
    Flag("overwrite", "", "bool"),
    Flag("list", "", "bool"),
    Flag("local", "", "bool"),
    Flag("all", "", "bool"),
    Flag("all-namespaces", "A", "bool"),
    Flag("selector", "l", "string"),
    Flag("field-selector", "", "string"),
    Flag("resource-version", "", "string"),
    Flag("filename", "f", "strings"),
    Flag("dry-run", "", "string", no_value_default="unchanged"),
    Flag("output", "o", "string"),
    Flag("field-manager", "", "string"),
    Flag("record", "", "bool"),
]


def resources_and_pairs(args: list[str], pair_type: str) -> tuple[list[str], list[str]]:
    """``cmdutil.GetResourcesAndPairs``: resources first, then ``key=value`` / ``key-`` changes."""
    resources, pairs = [], []
    for a in args:
        is_pair = ("=" in a and not a.startswith("=")) or (a.endswith("-") and a != "-")
        if is_pair:
            pairs.append(a)
        elif pairs:
            raise KubectlError(f"all resources must be specified before {pair_type} changes: {a}")
        else:
            resources.append(a)
    return resources, pairs


def parse_label_changes(specs: list[str]) -> tuple[dict[str, str], list[str]]:
    """``parseLabels``: what to set and what to remove, with kubectl's errors."""
    labels: dict[str, str] = {}
    remove: list[str] = []
    for spec in specs:
        if "=" in spec:
            parts = spec.split("=")
            if len(parts) != 2:
                raise KubectlError(f"invalid label spec: {spec}")
            errs = label_value_errors(parts[1])
            if errs:
                raise KubectlError(f'invalid label value: "{spec}": {";".join(errs)}')
            labels[parts[0]] = parts[1]
        elif spec.endswith("-"):
            remove.append(spec[:-1])
        else:
            raise KubectlError(f"unknown label spec: {spec}")
    if any(key in labels for key in remove):
        raise KubectlError("can not both modify and remove a label in the same command")
    return labels, remove


def parse_annotation_changes(specs: list[str]) -> tuple[dict[str, str], list[str]]:
    """``cmdutil.ParsePairs(args, "annotation", true)`` and ``validateAnnotations``."""
    new: dict[str, str] = {}
    remove: list[str] = []
    invalid = []
    for spec in specs:
        if "=" in spec and not spec.startswith("="):
            key, _, value = spec.partition("=")
            new[key] = value
        elif spec.endswith("-") and spec != "-":
            remove.append(spec[:-1])
        else:
            invalid.append(spec)
    if invalid:
        raise KubectlError(f"invalid annotation format: {', '.join(invalid)}")
    both = [key for key in remove if key in new]
    if both:
        raise KubectlError("can not both modify and remove the following annotation(s) in the same command: "
                           + ", ".join(both))
    return new, remove


def label_change_message(old: dict, new: dict) -> str:
    """``updateDataChangeMsg``: how the labels changed, in kubectl's words."""
    unlabeled = any(k not in new for k in old)
    labeled = any(k in new and new[k] != v for k, v in old.items()) or any(k not in old for k in new)
    if labeled and unlabeled:
        return "label(s) changed"
    if labeled:
        return "labeled"
    if unlabeled:
        return "unlabeled"
    return "not labeled"


def _overwrite_errors(current: dict, wanted: dict, field: str) -> list[str]:
    conflicts = sorted(k for k, v in wanted.items() if k in current and current[k] != v
                       and not (field == "annotations" and k == CHANGE_CAUSE))
    if field == "labels":
        return [f"'{k}' already has a value ({current[k]}), and --overwrite is false" for k in conflicts]
    if not conflicts:
        return []
    found = "; ".join(f"'{k}' already has a value ({current[k]})" for k in conflicts)
    return [f"--overwrite is false but found the following declared annotation(s): {found}"]


def print_errors(out: Output, messages: list[tuple[str, bool]]) -> None:
    """Errors as ``cmdutil.CheckErr`` prints them: one gets ``error: ``, several one per line.

    Each message says whether it is final already (an API error's ``Error from server (...): ...``).
    """
    if len(messages) == 1:
        text, final = messages[0]
        out.error(text if final or text.startswith("error: ") else f"error: {text}")
        return
    for text, _ in messages:
        out.error(text)


def label(kubectl, args: list[str], out: Output, stdin=None) -> None:
    _update_metadata(kubectl, args, out, "labels")


def annotate(kubectl, args: list[str], out: Output, stdin=None) -> None:
    _update_metadata(kubectl, args, out, "annotations")


def _update_metadata(kubectl, args: list[str], out: Output, field: str) -> None:
    command = "label" if field == "labels" else "annotate"
    positional, flags = kubectl.parse(args, METADATA_FLAGS, command)
    pair_type = "label" if field == "labels" else "annotation"
    resources, pairs = resources_and_pairs(positional, pair_type)
    if field == "labels":
        new, remove = parse_label_changes(pairs)
    else:
        new, remove = parse_annotation_changes(pairs)
    if flags.get("list") and flags.get("output"):
        raise KubectlError("--list and --output may not be specified together")
    if flags.get("all") and flags.get("selector"):
        raise KubectlError("cannot set --all and --selector at the same time")
    if flags.get("all") and flags.get("field-selector"):
        raise KubectlError("cannot set --all and --field-selector at the same time")
    if flags.get("local") or flags.get("filename"):
        raise KubectlError(f"{command} --local and -f are not available in k8slab's in-process kubectl: "
                           "name the objects in the cluster")
    if not resources:
        raise KubectlError("one or more resources must be specified as <resource> <name> or <resource>/<name>")
    if not new and not remove and not flags.get("list"):
        raise KubectlError(f"at least one {pair_type} update is required")
    dry = dry_run_strategy(flags)

    request = parse_request(kubectl, resources, command)
    named = any(t.names for t in request.targets)
    selector, field_selector = flags.get("selector"), flags.get("field-selector")
    if not named and not selector and not field_selector and not flags.get("all"):
        raise KubectlError("resource(s) were provided, but no name was specified")
    if named and (selector or field_selector):
        raise KubectlError("name cannot be provided when a selector is specified")
    all_ns = bool(flags.get("all-namespaces"))
    namespace = None if all_ns else kubectl.namespace(flags)
    api_errors: list[str] = []
    results = fetch(kubectl, request, out, namespace=namespace, label_selector=selector,
                    field_selector=field_selector, errors=api_errors)
    objects = [(kind, obj) for kind, objs in results for obj in objs]
    single = request.single_item and len(objects) == 1
    if flags.get("resource-version") and not single:
        raise KubectlError("--resource-version may only be used with a single resource")

    errors: list[tuple[str, bool]] = []
    for kind, obj in objects:
        try:
            _change_one(kubectl, out, kind, obj, field, new, remove, flags, dry, single)
        except ApiError as e:
            errors.append((e.kubectl_message(), True))
        except _Refused as e:
            errors.extend((m, False) for m in e.messages)
    errors.extend((m, True) for m in api_errors)
    if errors:
        print_errors(out, errors)


class _Refused(Exception):
    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _change_one(kubectl, out: Output, kind, obj: dict, field: str, new: dict, remove: list[str], flags: dict,
                dry: str, single: bool) -> None:
    meta = obj.get("metadata") or {}
    name, ns = meta.get("name", "") or "", meta.get("namespace")
    current = dict(meta.get(field) or {})
    listing = bool(flags.get("list"))
    if field == "labels" and dry == "none" and not listing:
        for key in remove:
            if key not in current:
                out.print(f'label "{key}" not found.')
    if not flags.get("overwrite"):
        refused = _overwrite_errors(current, new, field)
        if refused:
            raise _Refused(refused)
    updated = dict(current)
    updated.update(new)
    for key in remove:
        updated.pop(key, None)
    if listing:
        # --list shows the result of the changes without sending them
        if not single:
            out.print(f"Listing {field} for {kind.kind}.{kind.group}/{name}:")
        for key in sorted(updated):
            out.print(f"{'' if single else ' '}{key}={updated[key]}")
        return
    if field == "labels":
        operation = label_change_message(current, updated)
    else:
        operation = "annotated"
    result = dict(obj, metadata=dict(meta, **{field: updated}))
    if dry != "client":
        patch: dict = {}
        changes = {k: v for k, v in updated.items() if current.get(k) != v}
        changes.update({k: None for k in current if k not in updated})
        if changes:
            patch[field] = changes
        if flags.get("resource-version"):
            patch["resourceVersion"] = flags["resource-version"]
        if patch:
            result = kubectl.client.patch(kind.group_resource, name, {"metadata": patch}, ns if kind.namespaced
                                          else None, patch_type="merge", dry_run=dry == "server")
    fmt = flags.get("output") or ""
    if fmt in ("yaml", "json"):
        out.write(encode(for_output(result, kind), fmt))
        return
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry, "")
    if fmt == "name":
        out.print(f"{kind.resource_ref}/{name}")
        return
    out.print(f"{kind.resource_ref}/{name} {operation}{suffix}")
