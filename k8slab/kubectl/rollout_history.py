"""Where a rollout's history lives, and how ``kubectl rollout undo`` puts an old revision back.

Follows ``staging/.../kubectl/pkg/polymorphichelpers/history.go`` and ``rollback.go``:

* a **Deployment**'s history is its ReplicaSets: each carries the revision it
  served in ``deployment.kubernetes.io/revision`` and the reason in
  ``kubernetes.io/change-cause``. Undo is done by kubectl itself: a JSON patch
  copies the chosen ReplicaSet's pod template (without ``pod-template-hash``)
  and annotations back into the Deployment; the Deployment controller then finds
  that old ReplicaSet is the new one again and gives it the next revision number.
* a **DaemonSet** or **StatefulSet** keeps ControllerRevisions, whose ``data`` is
  the patch restoring its pod template; undo sends that template back.

``--to-revision=0`` (the default) means the revision before the current one.

k8slab simplifies: a ControllerRevision's patch is applied as a replacement of
``spec.template`` (all such a patch holds) rather than as a strategic merge.
"""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.api.objects import clone
from k8slab.kubectl.command import KubectlError
from k8slab.kubectl.describe import Context, Writer
from k8slab.kubectl.describe_pod import describe_pod_template
from k8slab.kubectl.describe_workloads import replica_sets_of
from k8slab.kubectl.selectors import selector_string
from k8slab.kubectl.tabwriter import DESCRIBE_MINWIDTH, DESCRIBE_PADDING, tabwrite

CHANGE_CAUSE = "kubernetes.io/change-cause"
REVISION = "deployment.kubernetes.io/revision"
POD_TEMPLATE_HASH = "pod-template-hash"
#: Annotations a rollback keeps from the Deployment instead of taking them from the ReplicaSet.
ANNOTATIONS_TO_SKIP = (
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
)
HISTORY_KINDS = ("Deployment", "DaemonSet", "StatefulSet")


def group_kind(kind) -> str:
    """``schema.GroupKind.String()``: ``ReplicaSet.apps``, ``Pod``."""
    return f"{kind.kind}.{kind.group}" if kind.group else kind.kind


def revision_number(obj: dict) -> int | None:
    """``deploymentutil.Revision``: the revision annotation (0 when absent, None when not a number)."""
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION)
    if text is None:
        return 0
    try:
        return int(text)
    except ValueError:
        return None


def pod_template_text(template: dict | None) -> str:
    """``printTemplate``: ``DescribePodTemplate`` written straight out, tabs and all (no alignment)."""
    w = Writer()
    describe_pod_template(w, template)
    return "".join(w.parts)


def _history_table(rows: list[tuple[int, str]]) -> str:
    text = "REVISION\tCHANGE-CAUSE\n" + "".join(f"{r}\t{cause or '<none>'}\n" for r, cause in rows)
    return tabwrite(text, DESCRIBE_MINWIDTH, DESCRIBE_PADDING)


# -- what each kind keeps ------------------------------------------------------------------------


def deployment_revisions(kubectl, deployment: dict) -> dict[int, dict]:
    """Revision -> ReplicaSet, for the ReplicaSets the Deployment controls (``GetAllReplicaSets``)."""
    old, new = replica_sets_of(Context(kubectl.client, kubectl.time()), deployment)
    found: dict[int, dict] = {}
    for rs in [*old, *([new] if new else [])]:
        number = revision_number(rs)
        if number is not None:
            found[number] = rs
    return found


def controller_revisions(kubectl, owner: dict) -> list[dict]:
    """The ControllerRevisions ``owner`` (a DaemonSet or StatefulSet) controls (``controlledHistory``)."""
    meta = owner.get("metadata") or {}
    selector = selector_string((owner.get("spec") or {}).get("selector"))
    listed = kubectl.client.list("controllerrevisions.apps", meta.get("namespace"),
                                 label_selector=selector or None).get("items") or []
    owned = []
    for rev in listed:
        for ref in (rev.get("metadata") or {}).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("uid") == meta.get("uid"):
                owned.append(rev)
    return sorted(owned, key=lambda r: (int(r.get("revision") or 0), r["metadata"]["name"]))


def revision_template(revision: dict) -> dict:
    """The pod template a ControllerRevision restores (its patch applied to ``spec.template``)."""
    template = clone((((revision.get("data") or {}).get("spec") or {}).get("template")) or {})
    template.pop("$patch", None)
    return template


# -- kubectl rollout history ------------------------------------------------------------------------


def view_history(kubectl, kind, obj: dict, revision: int) -> str:
    """``HistoryViewer.ViewHistory``: the REVISION / CHANGE-CAUSE table, or one revision's pod template."""
    if kind.kind == "Deployment":
        found = deployment_revisions(kubectl, obj)
        if not found:
            return "No rollout history found."
        templates = {}
        for number, rs in found.items():
            template = clone((rs.get("spec") or {}).get("template") or {})
            cause = ((rs.get("metadata") or {}).get("annotations") or {}).get(CHANGE_CAUSE)
            if cause:
                # kubectl adds the change cause to the template it shows
                tmeta = template.setdefault("metadata", {})
                tmeta["annotations"] = {**(tmeta.get("annotations") or {}), CHANGE_CAUSE: cause}
            templates[number] = (template, cause)
        if revision > 0:
            if revision not in templates:
                raise KubectlError("unable to find the specified revision")
            return pod_template_text(templates[revision][0])
        return _history_table([(n, templates[n][1]) for n in sorted(templates)])
    revisions = {int(r.get("revision") or 0): r for r in controller_revisions(kubectl, obj)}
    if not revisions:
        return "No rollout history found."
    if revision > 0:
        if revision not in revisions:
            raise KubectlError("unable to find the specified revision")
        return pod_template_text(revision_template(revisions[revision]))
    return _history_table([(n, ((revisions[n].get("metadata") or {}).get("annotations") or {}).get(CHANGE_CAUSE))
                           for n in sorted(revisions)])


def history_objects(kubectl, kind, obj: dict) -> dict[int, dict]:
    """``HistoryViewer.GetHistory`` (``rollout history -o yaml``): ReplicaSets, or the object at each revision."""
    if kind.kind == "Deployment":
        return deployment_revisions(kubectl, obj)
    out = {}
    for rev in controller_revisions(kubectl, obj):
        applied = clone(obj)
        applied.setdefault("spec", {})["template"] = revision_template(rev)
        out[int(rev.get("revision") or 0)] = applied
    return out


# -- kubectl rollout undo -------------------------------------------------------------------------------


def _without_hash(template: dict) -> dict:
    t = clone(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(POD_TEMPLATE_HASH, None)
    return t


def _semantic(x):
    # apimachinery's Semantic.DeepEqual: empty maps and lists equal missing ones
    if isinstance(x, dict):
        return {k: _semantic(v) for k, v in x.items() if v not in (None, {}, [])}
    if isinstance(x, list):
        return [_semantic(v) for v in x]
    return x


def _revision_not_found(revision: int) -> KubectlError:
    return KubectlError(f"unable to find specified revision {revision} in history")


def rollback(kubectl, kind, obj: dict, to_revision: int, dry_run: str) -> str:
    """``Rollbacker.Rollback``: put revision ``to_revision`` back; returns kubectl's word for what happened."""
    if to_revision < 0:
        raise _revision_not_found(to_revision)
    if kind.kind == "Deployment":
        return _rollback_deployment(kubectl, kind, obj, to_revision, dry_run)
    return _rollback_controller_revision(kubectl, kind, obj, to_revision, dry_run)


def _rollback_deployment(kubectl, kind, d: dict, to_revision: int, dry_run: str) -> str:
    meta = d.get("metadata") or {}
    found = deployment_revisions(kubectl, d)
    if to_revision > 0:
        if to_revision not in found:
            raise _revision_not_found(to_revision)
        rs = found[to_revision]
    else:
        numbers = sorted(found)
        if len(numbers) < 2:
            raise KubectlError(f'no rollout history found for deployment "{meta.get("name", "")}"')
        rs = found[numbers[-2]]
    template = (rs.get("spec") or {}).get("template") or {}
    if dry_run == "client":
        return pod_template_text(template)
    if (d.get("spec") or {}).get("paused"):
        raise KubectlError("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume "
                           f"deployment/{meta.get('name', '')}' and try again")
    if _semantic(_without_hash(template)) == _semantic(_without_hash((d.get("spec") or {}).get("template") or {})):
        return f"skipped rollback (current template already matches revision {to_revision})"
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k in ANNOTATIONS_TO_SKIP}
    for k, v in ((rs.get("metadata") or {}).get("annotations") or {}).items():
        if k not in ANNOTATIONS_TO_SKIP:
            annotations[k] = v
    patch = [
        {"op": "replace", "path": "/spec/template", "value": _without_hash(template)},
        {"op": "replace", "path": "/metadata/annotations", "value": dict(sorted(annotations.items()))},
    ]
    try:
        kubectl.client.patch(kind.group_resource, meta.get("name", ""), patch, meta.get("namespace"),
                             patch_type="json", dry_run=dry_run == "server")
    except ApiError as e:
        raise KubectlError(f"failed restoring revision {to_revision}: {e.message}") from None
    return "rolled back"


def _rollback_controller_revision(kubectl, kind, obj: dict, to_revision: int, dry_run: str) -> str:
    meta = obj.get("metadata") or {}
    history = controller_revisions(kubectl, obj)
    if to_revision == 0 and len(history) <= 1:
        raise KubectlError("no last revision to roll back to")
    if to_revision == 0:
        target = history[-2]
    else:
        target = next((h for h in history if int(h.get("revision") or 0) == to_revision), None)
        if target is None:
            raise _revision_not_found(to_revision)
    template = revision_template(target)
    if dry_run == "client":
        return "will roll back to " + pod_template_text(template)
    if _semantic(template) == _semantic((obj.get("spec") or {}).get("template") or {}):
        return f"skipped rollback (current template already matches revision {to_revision})"
    try:
        kubectl.client.patch(kind.group_resource, meta.get("name", ""),
                             [{"op": "replace", "path": "/spec/template", "value": template}],
                             meta.get("namespace"), patch_type="json", dry_run=dry_run == "server")
    except ApiError as e:
        raise KubectlError(f"failed restoring revision {to_revision}: {e.message}") from None
    return "rolled back"
