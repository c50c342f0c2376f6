"""Claims, volumes and storage classes: what every storage component reads from them.

A PersistentVolumeClaim asks for storage (size, access modes, class, maybe a
selector); a PersistentVolume is a piece of storage; a StorageClass says who
provisions volumes of its class and when a claim binds (``Immediate`` or
``WaitForFirstConsumer``). The PV controller (:mod:`k8slab.controlplane.volume`),
the local-path provisioner (:mod:`k8slab.controlplane.provisioner`), the in-use
protection (:mod:`k8slab.controlplane.volume_protection`) and the scheduler's
``VolumeBinding`` plugin all read them the same way, as the real components do
through ``k8s.io/component-helpers/storage/volume``: the annotations they use,
a claim's class and size, whether a volume fits a claim, which one fits best.

Example
-------
>>> claim = {"metadata": {"name": "data", "namespace": "default"},
...          "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
>>> claim_key(claim), claim_class(claim), claim_request(claim)
('default/data', '', 1073741824)
"""

from __future__ import annotations

from k8slab.api.quantity import to_bytes
from k8slab.api.selectors import LabelSelector
from k8slab.controlplane.scheduler.plugins.nodeaffinity import node_selector_term_matches

ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_DYNAMICALLY_PROVISIONED = "pv.kubernetes.io/provisioned-by"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"
ANN_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
ANN_BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class"
PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection"
#: A class with this provisioner has only pre-created volumes (``volume.NotSupportedProvisioner``).
NOT_SUPPORTED_PROVISIONER = "kubernetes.io/no-provisioner"
LOCAL_PATH_PROVISIONER = "rancher.io/local-path"
#: Index of pods by the ``namespace/claim`` of each claim they use.
POD_CLAIMS_INDEX = "persistentvolumeclaims"
#: Index of volumes by their class (``""`` for none).
VOLUME_CLASS_INDEX = "storageClassName"


# ---------------------------------------------------------------------------------------------
# Claims, volumes and classes (component-helpers/storage/volume)
# ---------------------------------------------------------------------------------------------
def default_storage_class() -> dict:
    """kind's default StorageClass: ``standard``, local-path, ``Delete``, ``WaitForFirstConsumer``.

    >>> sc = default_storage_class()
    >>> sc["provisioner"], sc["reclaimPolicy"], sc["volumeBindingMode"]
    ('rancher.io/local-path', 'Delete', 'WaitForFirstConsumer')
    """
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "standard", "annotations": {ANN_DEFAULT_CLASS: "true"}},
        "provisioner": LOCAL_PATH_PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def annotations_of(obj: dict) -> dict:
    """The object's annotations (an empty dict when it has none)."""
    return obj["metadata"].get("annotations") or {}


def claim_key(claim: dict) -> str:
    m = claim["metadata"]
    return f"{m.get('namespace')}/{m['name']}"


def claim_class(claim: dict) -> str:
    """``GetPersistentVolumeClaimClass``: the beta annotation wins, then ``spec.storageClassName``."""
    beta = annotations_of(claim).get(ANN_BETA_STORAGE_CLASS)
    if beta is not None:
        return beta
    return (claim.get("spec") or {}).get("storageClassName") or ""


def claim_has_class(claim: dict) -> bool:
    """Whether the user chose a class (``""`` counts: it asks for no class at all)."""
    return (claim.get("spec") or {}).get("storageClassName") is not None or ANN_BETA_STORAGE_CLASS in annotations_of(claim)


def volume_class(volume: dict) -> str:
    beta = annotations_of(volume).get(ANN_BETA_STORAGE_CLASS)
    if beta is not None:
        return beta
    return (volume.get("spec") or {}).get("storageClassName") or ""


def volume_class_index(volume: dict) -> list[str]:
    return [volume_class(volume)]


def claim_request(claim: dict) -> int:
    req = (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
    return to_bytes(req) if req is not None else 0


def volume_capacity(volume: dict) -> int:
    cap = ((volume.get("spec") or {}).get("capacity") or {}).get("storage")
    return to_bytes(cap) if cap is not None else 0


def access_modes_fit(claim: dict, volume: dict) -> bool:
    """``CheckAccessModes``: the volume offers every access mode the claim asks for."""
    offered = set((volume.get("spec") or {}).get("accessModes") or ())
    return all(m in offered for m in (claim.get("spec") or {}).get("accessModes") or ())


def volume_mode_mismatch(claim: dict, volume: dict) -> bool:
    want = (claim.get("spec") or {}).get("volumeMode") or "Filesystem"
    return ((volume.get("spec") or {}).get("volumeMode") or "Filesystem") != want


def is_volume_bound_to_claim(volume: dict, claim: dict) -> bool:
    """``IsVolumeBoundToClaim``: the claimRef names the claim (and its uid, when it has one)."""
    ref = (volume.get("spec") or {}).get("claimRef")
    m = claim["metadata"]
    if not ref or ref.get("name") != m["name"] or ref.get("namespace") != m.get("namespace"):
        return False
    return not ref.get("uid") or ref.get("uid") == m.get("uid")


def is_claim_fully_bound(claim: dict) -> bool:
    """The binding is complete: the claim names its volume and carries ``bind-completed``."""
    return bool((claim.get("spec") or {}).get("volumeName")) and ANN_BIND_COMPLETED in annotations_of(claim)


def volume_node_affinity_matches(volume: dict, node: dict) -> bool:
    """``CheckNodeAffinity``: the node satisfies the volume's required node affinity (if any)."""
    required = (((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required"))
    if not required:
        return True
    return any(node_selector_term_matches(t, node) for t in required.get("nodeSelectorTerms") or ())


def claim_reference(claim: dict) -> dict:
    """``reference.GetReference`` of a claim (keys in the Go struct's order)."""
    m = claim["metadata"]
    return {"kind": "PersistentVolumeClaim", "namespace": m.get("namespace"), "name": m["name"],
            "uid": m.get("uid"), "apiVersion": "v1", "resourceVersion": m.get("resourceVersion")}


def binding_mode(storage_class: dict | None) -> str:
    return (storage_class or {}).get("volumeBindingMode") or "Immediate"


def pod_claim_names(pod: dict) -> list[str]:
    """Names of the claims a pod's volumes use, in volume order."""
    return [v["persistentVolumeClaim"].get("claimName", "")
            for v in (pod.get("spec") or {}).get("volumes") or () if v.get("persistentVolumeClaim") is not None]


def pod_claim_keys(pod: dict) -> list[str]:
    ns = pod["metadata"].get("namespace")
    return [f"{ns}/{name}" for name in pod_claim_names(pod)]


def is_pod_terminated(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def default_class_of(classes: list[dict]) -> dict | None:
    """``GetDefaultClass``: among the classes marked default, the newest (then by name)."""
    marked = [c for c in classes if "true" in (annotations_of(c).get(ANN_DEFAULT_CLASS), annotations_of(c).get(ANN_BETA_DEFAULT_CLASS))]
    if not marked:
        return None
    marked.sort(key=lambda c: c["metadata"]["name"])
    return max(marked, key=lambda c: c["metadata"].get("creationTimestamp") or "")


def find_matching_volume(claim: dict, volumes: list[dict], node: dict | None = None,
                         excluded: set[str] | frozenset = frozenset(), delay_binding: bool = False) -> dict | None:
    """``FindMatchingVolume``: the volume pre-bound to the claim, else the smallest that fits.

    ``node`` is the scheduler's question (does the volume's node affinity admit this
    node?); the PV controller asks without a node, and then leaves the volumes of a
    ``delay_binding`` claim to the scheduler. Among volumes of equal size the one with
    the fewest access modes, then the first by name, is taken.
    """
    requested = claim_request(claim)
    cls = claim_class(claim)
    sel = (claim.get("spec") or {}).get("selector")
    selector = LabelSelector.from_dict(sel) if sel is not None else None
    best, best_key = None, None
    for volume in volumes:
        name = volume["metadata"]["name"]
        if name in excluded:
            continue
        spec = volume.get("spec") or {}
        bound_here = is_volume_bound_to_claim(volume, claim)
        if spec.get("claimRef") and not bound_here:
            continue
        if volume_capacity(volume) < requested or volume_mode_mismatch(claim, volume):
            continue
        if volume["metadata"].get("deletionTimestamp"):
            continue
        affinity_ok = node is None or volume_node_affinity_matches(volume, node)
        if bound_here:
            return volume if affinity_ok else None
        if node is None and delay_binding:
            continue
        if (volume.get("status") or {}).get("phase") != "Available":
            continue
        if selector is not None and not selector.matches(volume["metadata"].get("labels") or {}):
            continue
        if volume_class(volume) != cls or not affinity_ok or not access_modes_fit(claim, volume):
            continue
        key = (volume_capacity(volume), len(spec.get("accessModes") or ()), name)
        if best_key is None or key < best_key:
            best, best_key = volume, key
    return best


def check_volume_satisfies_claim(volume: dict, claim: dict) -> str | None:
    """``checkVolumeSatisfyClaim``: why a volume a claim names cannot be bound to it."""
    if volume["metadata"].get("deletionTimestamp"):
        return f'the volume is marked for deletion "{volume["metadata"]["name"]}"'
    if volume_capacity(volume) < claim_request(claim):
        return "requested PV is too small"
    if volume_class(volume) != claim_class(claim):
        return "storageClassName does not match"
    if volume_mode_mismatch(claim, volume):
        return "incompatible volumeMode"
    if not access_modes_fit(claim, volume):
        return "incompatible accessMode"
    return None
