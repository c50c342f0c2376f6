"""ControllerRevisions: the saved pod templates of StatefulSets and DaemonSets.

A Deployment keeps its history in old ReplicaSets. StatefulSets and DaemonSets
own their pods directly, so they record each template they have ever run in an
``apps/v1`` ``ControllerRevision``: ``data`` holds a strategic-merge patch that
puts the template back (``{"spec": {"template": {..., "$patch": "replace"}}}``),
``revision`` a number that grows with every change, and the revision's name a
hash of that data. A pod's ``controller-revision-hash`` label says which
revision it was made from; rolling updates compare it with the newest one;
``kubectl rollout undo`` re-applies an older one.

This module follows ``pkg/controller/history/controller_history.go``: name and
hash (:func:`hash_controller_revision`, FNV-32 of the data, a collision count
mixed in), creation that retries under a new name on a collision
(:func:`create_controller_revision`), listing the revisions a parent owns or may
adopt, ordering, equality, and truncation to ``revisionHistoryLimit``.

Simplified: the data is hashed as canonical JSON (sorted keys), not Go's
encoding of the struct, so hashes differ from a real cluster's (same form).

Example
-------
>>> sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
...        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
...        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}}}
>>> rev = new_controller_revision(sts, {"app": "web"}, template_patch(sts), 1, 0)
>>> rev["metadata"]["name"] == "web-" + rev["metadata"]["labels"][CONTROLLER_REVISION_HASH_LABEL]
True
>>> rev["data"]["spec"]["template"]["$patch"], rev["revision"]
('replace', 1)
"""

from __future__ import annotations

import json
from functools import cmp_to_key

from k8slab.api import errors
from k8slab.api.names import safe_encode
from k8slab.api.objects import clone, controller_of, owner_reference
from k8slab.sim.loop import parse_timestamp

#: Label with the hash of a revision's data (``history.ControllerRevisionHashLabel``).
CONTROLLER_REVISION_HASH_LABEL = "controller.kubernetes.io/hash"
#: Label on pods (and on DaemonSet revisions) naming the revision they come from
#: (``apps.ControllerRevisionHashLabelKey``, also ``DefaultDaemonSetUniqueLabelKey``).
POD_REVISION_LABEL = "controller-revision-hash"

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def fnv32(data: bytes) -> int:
    """The 32-bit FNV-1 hash (Go's ``hash/fnv.New32``: multiply, then xor).

    Example
    -------
    >>> fnv32(b""), fnv32(b"a")
    (2166136261, 84696446)
    """
    h = _FNV32_OFFSET
    for byte in data:
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
        h ^= byte
    return h


def canonical_json(data) -> bytes:
    """The bytes a revision's data is stored and compared as (sorted keys, no spaces)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def template_patch(obj: dict) -> dict:
    """``getPatch``: the patch that restores ``obj``'s pod template (all that a revision saves).

    Example
    -------
    >>> template_patch({"spec": {"replicas": 3, "template": {"spec": {"containers": []}}}})
    {'spec': {'template': {'spec': {'containers': []}, '$patch': 'replace'}}}
    """
    template = clone((obj.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: dict) -> dict:
    """The pod template a revision saved (``ApplyRevision`` for the only field it holds)."""
    template = clone(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def hash_controller_revision(data, probe: int | None = None) -> str:
    """``HashControllerRevision``: FNV-32 of the data, then ``probe`` (the collision count) in decimal.

    The number is written in decimal and each digit mapped by
    :func:`~k8slab.api.names.safe_encode`, so a hash only holds ``4-9 b c d f``.

    Example
    -------
    >>> h = hash_controller_revision({"spec": {}}, 0)
    >>> set(h) <= set("456789bcdf"), h != hash_controller_revision({"spec": {}}, 1)
    (True, True)
    """
    raw = canonical_json(data)
    if probe is not None:
        raw += str(probe).encode()
    return safe_encode(str(fnv32(raw)))


def controller_revision_name(prefix: str, hash_: str) -> str:
    """``<parent>-<hash>``, the parent's name cut to 223 characters so the whole fits in 253."""
    return f"{prefix[:223]}-{hash_}"


def new_controller_revision(parent: dict, template_labels: dict | None, data: dict, revision: int,
                            collision_count: int | None) -> dict:
    """``NewControllerRevision``: a revision owned by ``parent``, named and labelled by its hash."""
    hash_ = hash_controller_revision(data, collision_count)
    labels = dict(template_labels or {})
    labels[CONTROLLER_REVISION_HASH_LABEL] = hash_
    m = parent["metadata"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": controller_revision_name(m["name"], hash_),
            "namespace": m.get("namespace"),
            "labels": labels,
            "ownerReferences": [owner_reference(parent)],
        },
        "data": data,
        "revision": revision,
    }


def create_controller_revision(client, parent: dict, revision: dict, collision_count: int) -> tuple[dict, int]:
    """``CreateControllerRevision``: create ``revision``; on a name taken by other data, bump the
    collision count, rehash, rename and try again. Returns the stored revision and the count.

    A revision of the same name holding the same data is the one we made before: it is returned.
    """
    body = clone(revision)
    m = parent["metadata"]
    while True:
        hash_ = hash_controller_revision(revision["data"], collision_count)
        body["metadata"]["name"] = controller_revision_name(m["name"], hash_)
        body["metadata"].setdefault("labels", {})[CONTROLLER_REVISION_HASH_LABEL] = hash_
        try:
            return client.create(clone(body), m.get("namespace")), collision_count
        except errors.AlreadyExists:
            existing = client.get("controllerrevisions", body["metadata"]["name"], m.get("namespace"))
            if canonical_json(existing.get("data")) == canonical_json(body["data"]):
                return existing, collision_count
            collision_count += 1


def update_controller_revision(client, revision: dict, new_revision: int) -> dict:
    """``UpdateControllerRevision``: give an older revision a new number (a roll back to it)."""
    if revision.get("revision") == new_revision:
        return revision
    body = clone(revision)
    body["revision"] = new_revision
    try:
        return client.update(body)
    except errors.Conflict:
        m = revision["metadata"]
        fresh = client.get("controllerrevisions", m["name"], m.get("namespace"))
        fresh["revision"] = new_revision
        return client.update(fresh)


def list_controller_revisions(indexer, parent: dict, selector, *, by_owner: str, orphans: str) -> list[dict]:
    """``ListControllerRevisions``: the revisions matching ``selector`` that ``parent`` owns, or nobody does.

    ``by_owner`` and ``orphans`` name informer indexes (by controller uid; orphans by
    namespace), so this costs the parent's revisions, not every revision in the namespace.
    """
    m = parent["metadata"]
    out = [r for r in indexer.by_index(by_owner, m.get("uid", ""))
           if selector.matches(r["metadata"].get("labels"))]
    out += [r for r in indexer.by_index(orphans, m.get("namespace") or "")
            if selector.matches(r["metadata"].get("labels"))]
    return out


def _created(rev: dict) -> float:
    ts = rev["metadata"].get("creationTimestamp")
    return parse_timestamp(ts) if ts else 0.0


def _by_revision(a: dict, b: dict) -> int:
    ra, rb = a.get("revision") or 0, b.get("revision") or 0
    if ra != rb:
        return -1 if ra < rb else 1
    ca, cb = _created(a), _created(b)
    if ca != cb:
        return -1 if ca < cb else 1
    na, nb = a["metadata"]["name"], b["metadata"]["name"]
    return (na > nb) - (na < nb)


def sort_controller_revisions(revisions: list[dict]) -> list[dict]:
    """``SortControllerRevisions``: by revision number, then creation time, then name (a new list).

    Example
    -------
    >>> revs = [{"metadata": {"name": "b"}, "revision": 2}, {"metadata": {"name": "a"}, "revision": 1}]
    >>> [r["metadata"]["name"] for r in sort_controller_revisions(revs)]
    ['a', 'b']
    """
    return sorted(revisions, key=cmp_to_key(_by_revision))


def equal_revision(a: dict | None, b: dict | None) -> bool:
    """``EqualRevision``: both absent, or both holding the same data."""
    if a is None or b is None:
        return a is b
    # (The real one first compares the hash labels parsed as numbers; safe-encoded hashes
    # rarely parse, and the data decides anyway.)
    return canonical_json(a.get("data")) == canonical_json(b.get("data"))


def find_equal_revisions(revisions: list[dict], needle: dict) -> list[dict]:
    """``FindEqualRevisions``: the revisions holding the same data as ``needle``, in order."""
    want = canonical_json(needle.get("data"))
    return [r for r in revisions if canonical_json(r.get("data")) == want]


def next_revision(revisions: list[dict]) -> int:
    """One more than the last (sorted) revision's number; 1 for the first."""
    return (revisions[-1].get("revision") or 0) + 1 if revisions else 1


def adopt_controller_revision(client, parent: dict, revision: dict) -> dict:
    """``AdoptControllerRevision``: make ``parent`` the controller of an orphaned revision."""
    if controller_of(revision) is not None:
        raise errors.Conflict("controllerrevisions.apps", revision["metadata"]["name"])
    m = revision["metadata"]
    body = {"metadata": {"ownerReferences": [owner_reference(parent)], "uid": m.get("uid")}}
    return client.patch("controllerrevisions", m["name"], body, m.get("namespace"), patch_type="strategic")


def truncate_history(client, revisions: list[dict], live: set[str], limit: int | None) -> list[str]:
    """Delete the oldest revisions that nothing uses until at most ``limit`` unused remain.

    ``revisions`` must be sorted (oldest first); ``live`` holds the names still in use
    (current and update revision, and those pods run). Returns the deleted names.
    """
    if limit is None or limit < 0:
        return []
    history = [r for r in revisions if r["metadata"]["name"] not in live]
    deleted = []
    for rev in history[:max(0, len(history) - limit)]:
        m = rev["metadata"]
        try:
            client.delete("controllerrevisions", m["name"], m.get("namespace"))
        except errors.NotFound:
            pass
        deleted.append(m["name"])
    return deleted
