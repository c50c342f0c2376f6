"""Patches: JSON merge patch (RFC 7386), strategic merge patch, and kubectl apply's three-way patch.

A strategic merge patch is a merge patch that knows some lists are really maps:
``containers`` are merged by ``name``, ``ports`` by ``containerPort``. That is how
``kubectl apply`` changes one container's image without replacing the list.

Example
-------
>>> live = {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}, {"name": "log", "image": "busybox"}]}}
>>> strategic_merge(live, {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}})["spec"]["containers"]
[{'name': 'web', 'image': 'nginx:1.26'}, {'name': 'log', 'image': 'busybox'}]
>>> json_merge(live, {"spec": {"containers": [{"name": "web"}]}})["spec"]["containers"]
[{'name': 'web'}]
"""

from __future__ import annotations

import copy

# The list fields Kubernetes merges by key (patchMergeKey in the API types).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "conditions": "type",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}

# Service ports merge by port number rather than containerPort.
_SERVICE_PORT_KEY = "port"


def json_merge(target, patch):
    """RFC 7386 JSON merge patch: maps merge, ``None`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge(result.get(key), value)
    return result


def _merge_key(field: str, items: list) -> str | None:
    key = MERGE_KEYS.get(field)
    if field == "ports" and items and isinstance(items[0], dict) and "containerPort" not in items[0]:
        return _SERVICE_PORT_KEY if _SERVICE_PORT_KEY in items[0] else None
    return key


def strategic_merge(target, patch, field: str | None = None):
    """Strategic merge patch (the subset Kubernetes uses for built-in kinds).

    Lists named in :data:`MERGE_KEYS` merge item by item on their key; an item
    ``{"$patch": "delete", key: value}`` removes one. Other lists replace.
    """
    if isinstance(patch, list):
        key = _merge_key(field or "", patch) if field else None
        if key is None or not isinstance(target, list):
            return [x for x in copy.deepcopy(patch) if not (isinstance(x, dict) and x.get("$patch") == "delete")]
        result = copy.deepcopy(target)
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                result.append(copy.deepcopy(item))
                continue
            idx = next((i for i, t in enumerate(result) if isinstance(t, dict) and t.get(key) == item[key]), None)
            if item.get("$patch") == "delete":
                if idx is not None:
                    result.pop(idx)
            elif idx is None:
                result.append(copy.deepcopy(item))
            else:
                result[idx] = strategic_merge(result[idx], item)
        return result
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k == "$patch":
            continue
        if v is None:
            result.pop(k, None)
        else:
            result[k] = strategic_merge(result.get(k), v, k)
    return result


def three_way_patch(original: dict | None, modified: dict, current: dict) -> dict:
    """The patch ``kubectl apply`` sends: what ``modified`` changes relative to ``current``,
    plus deletions of what the last applied ``original`` had and ``modified`` dropped.

    Fields only the server or other actors set (status, defaults) are left alone.
    """
    original = original or {}

    def diff(orig, mod, cur, field=None):
        patch: dict = {}
        for k, mv in mod.items():
            cv = cur.get(k) if isinstance(cur, dict) else None
            ov = orig.get(k) if isinstance(orig, dict) else None
            if isinstance(mv, dict) and isinstance(cv, dict):
                sub = diff(ov if isinstance(ov, dict) else {}, mv, cv, k)
                if sub:
                    patch[k] = sub
            elif isinstance(mv, list) and isinstance(cv, list) and _merge_key(k, mv):
                sub = _list_diff(k, ov if isinstance(ov, list) else [], mv, cv)
                if sub is not None:
                    patch[k] = sub
            elif mv != cv:
                patch[k] = copy.deepcopy(mv)
        if isinstance(orig, dict):
            for k in orig:
                if k not in mod and isinstance(cur, dict) and k in cur:
                    patch[k] = None
        return patch

    def _list_diff(field, orig, mod, cur):
        key = _merge_key(field, mod)
        cur_by = {c.get(key): c for c in cur if isinstance(c, dict)}
        orig_by = {o.get(key): o for o in orig if isinstance(o, dict)}
        mod_keys = [m.get(key) for m in mod]
        items = []
        for m in mod:
            c = cur_by.get(m.get(key))
            if c is None:
                items.append(copy.deepcopy(m))
                continue
            sub = diff(orig_by.get(m.get(key), {}), m, c, field)
            if sub:
                sub[key] = m.get(key)
                items.append(sub)
        for k in orig_by:
            if k not in mod_keys and k in cur_by:
                items.append({"$patch": "delete", key: k})
        # Order changed (same keys, different order) is not a change for keyed lists.
        return items or None

    return diff(original, modified, current)


def is_empty_patch(patch: dict) -> bool:
    return not patch
