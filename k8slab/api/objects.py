"""Small accessors for Kubernetes-shaped object dicts.

Objects are plain dicts (``apiVersion``, ``kind``, ``metadata``, ``spec``, ``status``),
exactly what ``kubectl get -o json`` shows. Objects held in a cache or the store are
shared, never mutated: copy with :func:`clone` before changing one.

Example
-------
>>> pod = {"metadata": {"name": "web", "namespace": "default"}}
>>> object_key(pod)
'default/web'
>>> copy = clone(pod); copy["metadata"]["name"] = "x"; pod["metadata"]["name"]
'web'
"""

from __future__ import annotations


def clone(obj):
    """Deep copy of JSON-shaped data (dicts, lists, scalars); several times faster than copy.deepcopy.

    Only plain dicts and lists are copied; every other value (strings, numbers, ...) is shared.
    """
    t = type(obj)
    if t is dict:
        return _clone_dict(obj)
    if t is list:
        return _clone_list(obj)
    return obj


def _clone_dict(d: dict) -> dict:
    # copy the dict in C (keeping key order), then replace only the nested containers
    out = d.copy()
    for k, v in d.items():
        t = type(v)
        if t is dict:
            out[k] = _clone_dict(v)
        elif t is list:
            out[k] = _clone_list(v)
    return out


def _clone_list(seq: list) -> list:
    out = seq.copy()
    for i, v in enumerate(seq):
        t = type(v)
        if t is dict:
            out[i] = _clone_dict(v)
        elif t is list:
            out[i] = _clone_list(v)
    return out


def meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def name_of(obj: dict) -> str:
    return meta(obj).get("name", "")


def namespace_of(obj: dict) -> str | None:
    return meta(obj).get("namespace")


def labels_of(obj: dict) -> dict:
    return meta(obj).get("labels") or {}


def uid_of(obj: dict) -> str:
    return meta(obj).get("uid", "")


def object_key(obj: dict) -> str:
    """The cache key client-go uses: ``namespace/name``, or ``name`` for cluster-scoped objects."""
    m = meta(obj)
    ns = m.get("namespace")
    return f"{ns}/{m.get('name')}" if ns else m.get("name", "")


def split_key(key: str) -> tuple[str | None, str]:
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, ns)


def controller_of(obj: dict) -> dict | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in meta(obj).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def owner_reference(owner: dict, controller: bool = True) -> dict:
    """An ownerReference pointing at ``owner`` (as controllers set on what they create)."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": name_of(owner),
        "uid": uid_of(owner),
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def is_terminating(obj: dict) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def get_path(obj, path: str, default=None):
    """Read a dotted path (``spec.nodeName``); missing parts give ``default``."""
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return default
        cur = cur.get(part)
        if cur is None:
            return default
    return cur


def condition(obj: dict, ctype: str) -> dict | None:
    for c in (obj.get("status") or {}).get("conditions") or ():
        if c.get("type") == ctype:
            return c
    return None


def is_pod_ready(pod: dict) -> bool:
    c = condition(pod, "Ready")
    return bool(c and c.get("status") == "True")


def is_node_ready(node: dict) -> bool:
    c = condition(node, "Ready")
    return bool(c and c.get("status") == "True")
