"""RBAC policy rules as kubectl shows them (``describe role``, ``auth can-i --list``).

kubectl's own ``pkg/util/rbac``: every rule is broken down into rules of one API
group, one resource and one verb (and at most one resource name); rules that then
differ only in their verb are merged back (``CompactRules``); the result is sorted
by the rule's Go ``String()`` form, which starts with the verbs, so ``[*]`` rules
come before ``[create]``, and ``[get list]`` before ``[get]``. A row names the
resource with its group (``deployments.apps``) and prints lists as Go does
(``[get list watch]``, ``[]``).

Example
-------
>>> rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
...          {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]
>>> [policy_row(r) for r in compact_and_sort(rules)]
[['pods', '[]', '[]', '[get list]'], ['deployments.apps', '[]', '[]', '[get]']]
"""

from __future__ import annotations


def go_list(values) -> str:
    """``fmt.Sprintf("%v", []string{...})``: ``[a b]``, and ``[]`` for none."""
    return "[" + " ".join(str(v) for v in values or ()) + "]"


def breakdown_rule(rule: dict) -> list[dict]:
    """``BreakdownRule``: one rule per (group, resource, verb[, resource name]) and per (URL, verb)."""
    out = []
    names = rule.get("resourceNames") or []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            for verb in rule.get("verbs") or []:
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                if names:
                    out.extend(dict(base, resourceNames=[n]) for n in names)
                else:
                    out.append(base)
    for url in rule.get("nonResourceURLs") or []:
        for verb in rule.get("verbs") or []:
            out.append({"nonResourceURLs": [url], "verbs": [verb]})
    return out


def _simple_key(rule: dict):
    """``isSimpleResourceRule``: the (group, resource, name) a rule of that shape is about, else None."""
    if len(rule.get("resourceNames") or []) > 1 or rule.get("nonResourceURLs"):
        return None
    if len(rule.get("apiGroups") or []) != 1 or len(rule.get("resources") or []) != 1:
        return None
    if set(rule) - {"apiGroups", "resources", "verbs", "resourceNames"}:
        return None
    names = rule.get("resourceNames") or []
    return rule["apiGroups"][0], rule["resources"][0], names[0] if names else None


def compact_rules(rules: list[dict]) -> list[dict]:
    """``CompactRules``: merge single-resource rules that differ only by verb (first-seen verb order)."""
    compacted: list[dict] = []
    simple: dict = {}
    for rule in rules:
        key = _simple_key(rule)
        if key is None:
            compacted.append(rule)
        elif key in simple:
            verbs = simple[key]["verbs"]
            verbs.extend(v for v in rule.get("verbs") or [] if v not in verbs)
        else:
            simple[key] = {k: list(v) for k, v in rule.items()}
    return compacted + list(simple.values())


def rule_string(rule: dict) -> str:
    """The generated ``PolicyRule.String()``, which kubectl sorts rules by."""
    return ("&PolicyRule{"
            f"Verbs:{go_list(rule.get('verbs'))},"
            f"APIGroups:{go_list(rule.get('apiGroups'))},"
            f"Resources:{go_list(rule.get('resources'))},"
            f"ResourceNames:{go_list(rule.get('resourceNames'))},"
            f"NonResourceURLs:{go_list(rule.get('nonResourceURLs'))},"
            "}")


def compact_and_sort(rules: list[dict]) -> list[dict]:
    """Break down, compact and sort ``rules`` as ``describe role`` and ``auth can-i --list`` do."""
    broken = [sub for rule in rules for sub in breakdown_rule(rule)]
    return sorted(compact_rules(broken), key=rule_string)


def combine_resource_group(resources: list[str] | None, groups: list[str] | None) -> str:
    """``CombineResourceGroup``: ``pods``, ``deployments.apps``, ``deployments.apps/scale``."""
    if not resources:
        return ""
    name, _, sub = resources[0].partition("/")
    if groups and groups[0]:
        name = f"{name}.{groups[0]}"
    return f"{name}/{sub}" if sub else name


def policy_row(rule: dict) -> list[str]:
    """Resources, Non-Resource URLs, Resource Names, Verbs."""
    return [combine_resource_group(rule.get("resources"), rule.get("apiGroups")), go_list(rule.get("nonResourceURLs")),
            go_list(rule.get("resourceNames")), go_list(rule.get("verbs"))]
