"""Storage object in-use protection: a claim or volume in use is not deleted under its user.

* :class:`PVCProtectionController` (``pkg/controller/volume/pvcprotection``): a
  claim used by a scheduled pod keeps its ``kubernetes.io/pvc-protection``
  finalizer, so deleting it waits (``Terminating``) until no such pod is left.
* :class:`PVProtectionController` (``pkg/controller/volume/pvprotection``): a
  ``Bound`` volume keeps ``kubernetes.io/pv-protection``.
* The admission plugins (``plugin/pkg/admission/storage``):
  :class:`StorageObjectInUseProtection` puts the finalizers on new claims and
  volumes; :class:`DefaultStorageClass` gives a new claim that names no class
  the default StorageClass (``storageClassName: ""`` stays: it asks for none).

Example
-------
>>> claim = {"metadata": {"name": "data", "deletionTimestamp": "2025-01-01T00:01:00Z",
...                       "finalizers": ["kubernetes.io/pvc-protection"]}}
>>> _deletion_candidate(claim, PVC_PROTECTION_FINALIZER), _needs_finalizer(claim, PVC_PROTECTION_FINALIZER)
(True, False)
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.objects import clone
from k8slab.apiserver.admission import AdmissionPlugin
from k8slab.controlplane.controller import Controller
from k8slab.controlplane.storage import (
    POD_CLAIMS_INDEX,
    PV_PROTECTION_FINALIZER,
    PVC_PROTECTION_FINALIZER,
    claim_has_class,
    claim_key,
    default_class_of,
    is_pod_terminated,
    pod_claim_keys,
)


def _deletion_candidate(obj: dict, finalizer: str) -> bool:
    m = obj["metadata"]
    return bool(m.get("deletionTimestamp")) and finalizer in (m.get("finalizers") or ())


def _needs_finalizer(obj: dict, finalizer: str) -> bool:
    m = obj["metadata"]
    return not m.get("deletionTimestamp") and finalizer not in (m.get("finalizers") or ())


def _set_finalizer(client, obj: dict, finalizer: str, present: bool) -> None:
    new = clone(obj)
    fins = [f for f in new["metadata"].get("finalizers") or () if f != finalizer]
    if present:
        fins.append(finalizer)
    if fins:
        new["metadata"]["finalizers"] = fins
    else:
        new["metadata"].pop("finalizers", None)
    try:
        client.update(new)
    except errors.NotFound:
        pass


class PVCProtectionController(Controller):
    """Keeps ``kubernetes.io/pvc-protection`` on a claim while a scheduled pod uses it."""

    name = "pvc-protection-controller"

    def setup(self) -> None:
        self.claims = self.informers.informer("persistentvolumeclaims")
        self.pods = self.informers.informer("pods")
        self.pods.add_index(POD_CLAIMS_INDEX + ":protection", pod_claim_keys)
        self.claims.add_event_handler(self._claim_changed, lambda old, new: self._claim_changed(new))
        self.pods.add_event_handler(on_update=lambda old, new: self._pod_changed(new, False),
                                    on_delete=lambda pod: self._pod_changed(pod, True))

    def _claim_changed(self, claim: dict) -> None:
        if _needs_finalizer(claim, PVC_PROTECTION_FINALIZER) or _deletion_candidate(claim, PVC_PROTECTION_FINALIZER):
            self.queue.add(claim_key(claim))

    def _pod_changed(self, pod: dict, deleted: bool) -> None:
        # only a pod that is gone, or never scheduled, or finished can free a claim
        if not deleted and not is_pod_terminated(pod) and (pod.get("spec") or {}).get("nodeName"):
            return
        for key in pod_claim_keys(pod):
            self.queue.add(key)

    def _in_use(self, claim: dict) -> bool:
        # A scheduled pod counts (the kubelet will not start one whose claim is being deleted).
        return any((p.get("spec") or {}).get("nodeName")
                   for p in self.pods.lister.by_index(POD_CLAIMS_INDEX + ":protection", claim_key(claim)))

    def sync(self, key: str) -> None:
        ns, _, name = key.partition("/")
        claim = self.claims.lister.get(name, ns)
        if claim is None:
            return
        if _deletion_candidate(claim, PVC_PROTECTION_FINALIZER):
            if not self._in_use(claim):
                _set_finalizer(self.client, claim, PVC_PROTECTION_FINALIZER, False)
        elif _needs_finalizer(claim, PVC_PROTECTION_FINALIZER):
            _set_finalizer(self.client, claim, PVC_PROTECTION_FINALIZER, True)


class PVProtectionController(Controller):
    """Keeps ``kubernetes.io/pv-protection`` on a volume while it is ``Bound``."""

    name = "pv-protection-controller"

    def setup(self) -> None:
        self.volumes = self.informers.informer("persistentvolumes")
        self.volumes.add_event_handler(self._changed, lambda old, new: self._changed(new))

    def _changed(self, volume: dict) -> None:
        if _needs_finalizer(volume, PV_PROTECTION_FINALIZER) or _deletion_candidate(volume, PV_PROTECTION_FINALIZER):
            self.queue.add(volume["metadata"]["name"])

    def sync(self, key: str) -> None:
        volume = self.volumes.lister.get(key)
        if volume is None:
            return
        if _deletion_candidate(volume, PV_PROTECTION_FINALIZER):
            if (volume.get("status") or {}).get("phase") != "Bound":
                _set_finalizer(self.client, volume, PV_PROTECTION_FINALIZER, False)
        elif _needs_finalizer(volume, PV_PROTECTION_FINALIZER):
            _set_finalizer(self.client, volume, PV_PROTECTION_FINALIZER, True)


# ---------------------------------------------------------------------------------------------
# Admission (plugin/pkg/admission/storage)
# ---------------------------------------------------------------------------------------------
class DefaultStorageClass(AdmissionPlugin):
    """A new claim that names no class gets the default StorageClass (``storageClassName: ""`` stays)."""

    name = "DefaultStorageClass"

    def admit(self, server, req, kind, user, obj, old):
        if kind.kind != "PersistentVolumeClaim" or old is not None or claim_has_class(obj):
            return
        sc_kind = server.kinds.resolve("storageclasses")
        default = default_class_of(server.list_objects(sc_kind)) if sc_kind is not None else None
        if default is not None:
            obj.setdefault("spec", {})["storageClassName"] = default["metadata"]["name"]


class StorageObjectInUseProtection(AdmissionPlugin):
    """New claims and volumes get their in-use protection finalizer."""

    name = "StorageObjectInUseProtection"

    def admit(self, server, req, kind, user, obj, old):
        if old is not None or kind.kind not in ("PersistentVolumeClaim", "PersistentVolume"):
            return
        finalizer = PVC_PROTECTION_FINALIZER if kind.kind == "PersistentVolumeClaim" else PV_PROTECTION_FINALIZER
        fins = obj["metadata"].setdefault("finalizers", [])
        if finalizer not in fins:
            fins.append(finalizer)
