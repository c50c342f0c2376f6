"""``kubectl taint nodes NAME key=value:Effect`` and ``key:Effect-``: a node's taints.

Follows ``staging/.../kubectl/pkg/cmd/taint/taint.go`` and ``utils.go``: a taint is
``key[=value]:NoSchedule|PreferNoSchedule|NoExecute``; a trailing ``-`` removes the
taints of that key (and effect, when given). Adding a taint whose key and effect a
node already has needs ``--overwrite`` (``error: node worker-1 already has
dedicated taint(s) with same effect(s) and --overwrite is false``); removing one
the node lacks fails with ``error: taint "dedicated:NoSchedule" not found``. The
line printed says what happened: ``node/worker-1 tainted``, ``untainted`` or
``modified``. New taints come first in ``spec.taints``, then the node's other ones,
as kubectl orders them.

Example
-------
>>> parse_taint("dedicated=gpu:NoSchedule")
{'key': 'dedicated', 'value': 'gpu', 'effect': 'NoSchedule'}
>>> taint_string({"key": "dedicated", "effect": "NoSchedule"})
'dedicated:NoSchedule'
"""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.api.names import label_value_errors, qualified_name_errors
from k8slab.kubectl.cmd_expose import dry_run_strategy
from k8slab.kubectl.cmd_label import print_errors
from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.flags import Flag

TAINT_FLAGS = [
    Flag("selector", "l", "string"),
    Flag("overwrite", "", "bool"),
    Flag("all", "", "bool"),
    Flag("dry-run", "", "string", no_value_default="unchanged"),
    Flag("output", "o", "string"),
    Flag("validate", "", "string", no_value_default="strict"),
    Flag("field-manager", "", "string"),
]

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def taint_string(taint: dict) -> str:
    """``Taint.ToString``: ``key=value:effect``, ``key:effect``, ``key=value:`` or ``key``."""
    key, value, effect = taint.get("key", ""), taint.get("value", ""), taint.get("effect", "")
    if not effect:
        return f"{key}={value}:" if value else key
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


def _usage(message: str) -> KubectlError:
    return KubectlError(message, help_hint="kubectl taint")


def parse_taint(spec: str) -> dict:
    """``parseTaint``: ``key=value:effect``, ``key:effect`` or ``key``."""
    parts = spec.split(":")
    value, effect = "", ""
    if len(parts) == 1:
        key = parts[0]
    elif len(parts) == 2:
        effect = parts[1]
        if effect not in EFFECTS:
            raise _usage(f"invalid taint effect: {effect}, unsupported taint effect")
        kv = parts[0].split("=")
        if len(kv) > 2:
            raise _usage(f"invalid taint spec: {spec}")
        key = kv[0]
        if len(kv) == 2:
            value = kv[1]
            errs = label_value_errors(value)
            if errs:
                raise _usage(f"invalid taint spec: {spec}, {'; '.join(errs)}")
    else:
        raise _usage(f"invalid taint spec: {spec}")
    errs = qualified_name_errors(key)
    if errs:
        raise _usage(f"invalid taint spec: {spec}, {'; '.join(errs)}")
    taint = {"key": key}
    if value:
        taint["value"] = value
    if effect:
        taint["effect"] = effect
    return taint


def parse_taints(specs: list[str]) -> tuple[list[dict], list[dict]]:
    """``parseTaints``: the taints to add and those to remove."""
    add, remove = [], []
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        if spec.endswith("-"):
            t = parse_taint(spec[:-1])
            remove.append({k: v for k, v in t.items() if k != "value"})
            continue
        t = parse_taint(spec)
        if not t.get("effect"):
            raise _usage(f"invalid taint spec: {spec}")
        if (t["effect"], t["key"]) in seen:
            raise _usage(f"duplicated taints with the same key and effect: "
                         f"{{{t['key']} {t.get('value', '')} {t['effect']} <nil>}}")
        seen.add((t["effect"], t["key"]))
        add.append(t)
    return add, remove


def _matches(a: dict, b: dict) -> bool:
    """``Taint.MatchTaint``: same key and effect."""
    return a.get("key") == b.get("key") and a.get("effect", "") == b.get("effect", "")


def reorganize_taints(node: dict, overwrite: bool, add: list[dict], remove: list[dict]) -> tuple[str, list[dict],
                                                                                                list[str]]:
    """``reorganizeTaints``: (what happened, the node's new taints, taints that were not there)."""
    old = list(((node.get("spec") or {}).get("taints")) or [])
    new = [dict(t) for t in add]
    for t in old:
        if not any(_matches(n, t) for n in new):
            new.append(t)
    added = len(old) != len(new)
    missing = []
    deleted = False
    for r in remove:
        before = len(new)
        if r.get("effect"):
            new = [t for t in new if not _matches(r, t)]
        else:
            new = [t for t in new if t.get("key") != r.get("key")]
        deleted = len(new) != before
        if not deleted:
            missing.append(f'taint "{taint_string(r)}" not found')
    if (added and deleted) or overwrite:
        return "modified", new, missing
    if added:
        return "tainted", new, missing
    return "untainted", new, missing


def taint(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, TAINT_FLAGS, "taint")
    dry = dry_run_strategy(flags)
    resources, specs = [], []
    for a in positional:
        is_taint = "=" in a or ":" in a or a.endswith("-")
        if is_taint:
            specs.append(a)
        elif specs:
            raise KubectlError(f"all resources must be specified before taint changes: {a}")
        else:
            resources.append(a)
    if not resources:
        raise KubectlError("one or more resources must be specified as <resource> <name>")
    if not specs:
        raise KubectlError("at least one taint update is required")
    add, remove = parse_taints(specs)
    kind = kubectl.registry.resolve(resources[0].lower())
    if kind is None:
        raise KubectlError(f'the server doesn\'t have a resource type "{resources[0]}"')
    if kind.kind != "Node":
        raise KubectlError(f"invalid resource type {resources[0].lower()}, only node types are supported")
    conflicts = [f'{{"{r["key"]}":"{r.get("effect", "")}"}}' for a in add for r in remove
                 if a["key"] == r["key"] and (not r.get("effect") or a.get("effect") == r.get("effect"))]
    if conflicts:
        raise KubectlError("can not both modify and remove the following taint(s) in the same command: "
                           + ", ".join(conflicts))
    if flags.get("all") and flags.get("selector"):
        raise KubectlError("setting 'all' parameter with a non empty selector is prohibited")
    if not flags.get("all") and not flags.get("selector") and len(resources) < 2:
        raise KubectlError("at least one resource name must be specified since 'all' parameter is not set")

    errors: list[tuple[str, bool]] = []
    if flags.get("all") or flags.get("selector"):
        nodes = kubectl.client.list("nodes", None, label_selector=flags.get("selector")).get("items") or []
        nodes.sort(key=lambda n: n["metadata"]["name"])
    else:
        nodes = []
        for name in resources[1:]:
            try:
                nodes.append(kubectl.client.get("nodes", name))
            except ApiError as e:
                errors.append((e.kubectl_message(), True))
    for node in nodes:
        name = node["metadata"]["name"]
        if not flags.get("overwrite"):
            existing = (node.get("spec") or {}).get("taints") or []
            same = [t["key"] for t in add for o in existing if t["key"] == o.get("key")
                    and t.get("effect") == o.get("effect")]
            if same:
                errors.append((f"node {name} already has {','.join(same)} taint(s) with same effect(s) and "
                               "--overwrite is false", False))
                continue
        operation, taints, missing = reorganize_taints(node, bool(flags.get("overwrite")), add, remove)
        if missing:
            errors.extend((m, False) for m in missing)
            continue
        if dry != "client":
            try:
                kubectl.client.patch("nodes", name, {"spec": {"taints": taints or None}}, None, patch_type="merge",
                                     dry_run=dry == "server")
            except ApiError as e:
                errors.append((e.kubectl_message(), True))
                continue
        suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry, "")
        out.print(f"node/{name}{'' if flags.get('output') == 'name' else ' ' + operation + suffix}")
    if errors:
        print_errors(out, errors)
