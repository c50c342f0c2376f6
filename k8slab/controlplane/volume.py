"""Persistent storage: PersistentVolumes, claims, StorageClasses and who binds them.

A pod asks for storage through a **PersistentVolumeClaim** (size, access modes,
class); a **PersistentVolume** is a piece of storage; binding marries one claim
to one volume, both ways (``pv.spec.claimRef`` and ``pvc.spec.volumeName``).
Several components share the work, as on a kind cluster:

* :class:`PersistentVolumeController` (kube-controller-manager's
  ``persistentvolume-binder``, ``pkg/controller/volume/persistentvolume``):
  binds a claim to the *smallest* available volume that fits (capacity, access
  modes, class, selector, volume mode), completes bindings started by others,
  sets phases (claims ``Pending``/``Bound``/``Lost``; volumes
  ``Pending``/``Available``/``Bound``/``Released``/``Failed``) and reclaims a
  released volume (``Retain``: keep it; ``Delete``: delete it). A claim of a
  ``WaitForFirstConsumer`` class waits (event ``WaitForFirstConsumer``) until
  the scheduler picks a node for a pod using it (annotation
  ``volume.kubernetes.io/selected-node``); then a claim with no fitting volume
  is handed to its class's external provisioner (annotation
  ``volume.kubernetes.io/storage-provisioner``, event ``ExternalProvisioning``).
* :class:`LocalPathProvisioner`: kind's ``rancher.io/local-path`` provisioner.
  It creates a ``hostPath`` volume ``pvc-<claim uid>`` pinned (node affinity)
  to the selected node, bound to the claim, and deletes it once released.
* :class:`PVCProtectionController` / :class:`PVProtectionController`: a claim
  used by a scheduled pod, and a bound volume, keep their ``kubernetes.io/pvc-
  protection`` / ``kubernetes.io/pv-protection`` finalizer, so deleting them
  waits (``Terminating``) until nobody uses them.
* admission plugins :class:`DefaultStorageClass` (a claim without
  ``storageClassName`` gets the default class) and
  :class:`StorageObjectInUseProtection` (adds the finalizers at creation).

:func:`default_storage_class` is kind's ``standard`` class. The scheduler side
(``VolumeBinding``) is in :mod:`k8slab.controlplane.scheduler.plugins.volumebinding`;
the kubelet mounts only a ``Bound`` claim.

The PV controller is here; the shared reading of claims, volumes and classes is in
:mod:`k8slab.controlplane.storage`, the provisioner in :mod:`k8slab.controlplane.provisioner`,
the protection controllers and admission plugins in
:mod:`k8slab.controlplane.volume_protection` (all importable from here too).

k8slab simplifies: no in-tree provisioners, recycler or CSI; the only in-tree
deleter is ``hostPath`` under ``/tmp``; no volume expansion, no
``VolumeAttributesClass``; the local-path helper pod is a fixed 2 s delay, not a
pod; a failed provisioning is not handed back to the scheduler.

Example
-------
>>> claim = {"metadata": {"name": "data", "namespace": "default", "uid": "u1"},
...          "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
...                   "resources": {"requests": {"storage": "1Gi"}}}}
>>> def pv(name, size):
...     return {"metadata": {"name": name}, "status": {"phase": "Available"},
...             "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}}}
>>> find_matching_volume(claim, [pv("big", "5Gi"), pv("small", "2Gi"), pv("tiny", "512Mi")])["metadata"]["name"]
'small'
"""

from __future__ import annotations

import re

from k8slab.api import errors
from k8slab.api.objects import clone
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.workqueue import WorkQueue
from k8slab.controlplane.controller import Controller
from k8slab.controlplane.provisioner import LocalPathProvisioner
from k8slab.controlplane.storage import (
    ANN_BETA_DEFAULT_CLASS,
    ANN_BETA_STORAGE_CLASS,
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_DEFAULT_CLASS,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    LOCAL_PATH_PROVISIONER,
    NOT_SUPPORTED_PROVISIONER,
    POD_CLAIMS_INDEX,
    PV_PROTECTION_FINALIZER,
    PVC_PROTECTION_FINALIZER,
    VOLUME_CLASS_INDEX,
    access_modes_fit,
    annotations_of,
    binding_mode,
    check_volume_satisfies_claim,
    claim_class,
    claim_has_class,
    claim_key,
    claim_reference,
    claim_request,
    default_class_of,
    default_storage_class,
    find_matching_volume,
    is_claim_fully_bound,
    is_pod_terminated,
    is_volume_bound_to_claim,
    pod_claim_keys,
    pod_claim_names,
    volume_capacity,
    volume_class,
    volume_class_index,
    volume_mode_mismatch,
    volume_node_affinity_matches,
)
from k8slab.controlplane.volume_protection import (
    DefaultStorageClass,
    PVCProtectionController,
    PVProtectionController,
    StorageObjectInUseProtection,
)
from k8slab.sim.loop import timestamp

#: ``--pvclaimbinder-sync-period``: every claim and volume is synced again this often.
PV_CONTROLLER_RESYNC = 15.0
WAIT_FOR_FIRST_CONSUMER_MESSAGE = "waiting for first consumer to be created before binding"


def _latest(cached: dict | None, written: dict[str, dict], key: str) -> dict | None:
    """The newer of the informer's copy and the one this controller wrote last (by resourceVersion);
    ``None`` when the informer no longer has the object. Forgets what the informer caught up with."""
    mine = written.get(key)
    if cached is None or mine is None:
        if cached is None:
            written.pop(key, None)
        return cached
    if int(cached["metadata"].get("resourceVersion") or 0) >= int(mine["metadata"].get("resourceVersion") or 0):
        del written[key]
        return cached
    return mine


# ---------------------------------------------------------------------------------------------
# The PersistentVolume controller
# ---------------------------------------------------------------------------------------------
class PersistentVolumeController(Controller):
    """Binds claims to volumes, tracks their phases, reclaims released volumes (module docstring)."""

    name = "persistentvolume-controller"
    service_account = "persistent-volume-binder"

    def setup(self) -> None:
        self.client = self.manager.client_for(self.service_account)
        self.recorder = EventRecorder(self.client, self.name, enabled=self.manager.events_enabled)
        self.claims = self.informers.informer("persistentvolumeclaims")
        self.volumes = self.informers.informer("persistentvolumes")
        self.classes = self.informers.informer("storageclasses")
        self.pods = self.informers.informer("pods")
        self.pods.add_index(POD_CLAIMS_INDEX, pod_claim_keys)
        self.volumes.add_index(VOLUME_CLASS_INDEX, volume_class_index)
        # The last version this controller wrote of each claim and volume: its informer may not
        # have caught up yet (the real controller keeps the same caches, for the same reason).
        self._claims_written: dict[str, dict] = {}
        self._volumes_written: dict[str, dict] = {}
        self.volume_queue = WorkQueue(self.loop, "volumes", self._sync_volume_key, who=self.name,
                                      on_error=self._volume_failed)
        self.claims.add_event_handler(lambda c: self.queue.add(claim_key(c)),
                                      lambda old, new: self.queue.add(claim_key(new)), self._claim_deleted)
        self.volumes.add_event_handler(lambda v: self.volume_queue.add(v["metadata"]["name"]),
                                       lambda old, new: self.volume_queue.add(new["metadata"]["name"]),
                                       self._volume_deleted)
        self._resync_event = self.loop.call_later(PV_CONTROLLER_RESYNC, self._resync, who=self.name,
                                                  what="resync claims and volumes", background=True)

    def __repr__(self) -> str:
        return f"PersistentVolumeController({len(self.queue)} claims, {len(self.volume_queue)} volumes queued)"

    # -- informer events --------------------------------------------------------------------------
    def _claim_deleted(self, claim: dict) -> None:
        self._claims_written.pop(claim_key(claim), None)
        name = (claim.get("spec") or {}).get("volumeName")
        if name:
            self.volume_queue.add(name)  # its volume is released now

    def _volume_deleted(self, volume: dict) -> None:
        self._volumes_written.pop(volume["metadata"]["name"], None)
        ref = (volume.get("spec") or {}).get("claimRef")
        if ref:
            self.queue.add(f"{ref.get('namespace')}/{ref.get('name')}")

    def _resync(self) -> None:
        for c in self.claims.lister.list():
            self.queue.add(claim_key(c))
        for v in self.volumes.lister.list():
            self.volume_queue.add(v["metadata"]["name"])
        self._resync_event = self.loop.call_later(PV_CONTROLLER_RESYNC, self._resync, who=self.name,
                                                  what="resync claims and volumes", background=True)

    def _volume_failed(self, key: str, exc: Exception) -> None:
        self.record_failure(f"volume {key}", exc)
        self.volume_queue.add_rate_limited(key)

    # -- the caches --------------------------------------------------------------------------------
    def _claim(self, key: str) -> dict | None:
        ns, _, name = key.partition("/")
        return _latest(self.claims.lister.get(name, ns), self._claims_written, key)

    def _volume(self, name: str) -> dict | None:
        return _latest(self.volumes.lister.get(name), self._volumes_written, name)

    def _store_claim(self, claim: dict) -> dict:
        self._claims_written[claim_key(claim)] = claim
        return claim

    def _store_volume(self, volume: dict) -> dict:
        self._volumes_written[volume["metadata"]["name"]] = volume
        return volume

    def _class(self, name: str) -> dict | None:
        return self.classes.lister.get(name) if name else None

    def _is_delay_binding(self, claim: dict) -> bool:
        """``IsDelayBindingMode``: the claim's class binds at first consumer (a missing class: no)."""
        return binding_mode(self._class(claim_class(claim))) == "WaitForFirstConsumer"

    # -- syncClaim -----------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        claim = self._claim(key)
        if claim is None:
            return
        if ANN_BIND_COMPLETED not in annotations_of(claim):
            self._sync_unbound_claim(claim)
        else:
            self._sync_bound_claim(claim)

    def _sync_unbound_claim(self, claim: dict) -> None:
        wanted = (claim.get("spec") or {}).get("volumeName")
        if not wanted:
            delay = self._is_delay_binding(claim)
            volume = find_matching_volume(claim, self._volumes_of_class(claim_class(claim)), None, delay_binding=delay)
            if volume is not None:
                self._bind(volume, claim)
                return
            if self._assign_default_class(claim):
                return
            if delay and ANN_SELECTED_NODE not in annotations_of(claim):
                self._event_for_unbound_delay_binding(claim)
            elif claim_class(claim):
                self._provision_claim(claim)
                return
            else:
                self.recorder.event(claim, "Normal", "FailedBinding",
                                    "no persistent volumes available for this claim and no storage class is set")
            self._update_claim_status(claim, "Pending", None)
            return
        # The user asked for a particular volume.
        volume = self._volume(wanted)
        if volume is None:
            self._update_claim_status(claim, "Pending", None)
        elif not (volume.get("spec") or {}).get("claimRef"):
            why = check_volume_satisfies_claim(volume, claim)
            if why is None:
                self._bind(volume, claim)
                return
            self.recorder.event(claim, "Warning", "VolumeMismatch", f'Cannot bind to requested volume "{wanted}": {why}')
            self._update_claim_status(claim, "Pending", None)
        elif is_volume_bound_to_claim(volume, claim):
            self._bind(volume, claim)
        else:
            self.recorder.event(claim, "Warning", "FailedBinding", f'volume "{wanted}" already bound to a different claim.')
            if ANN_BOUND_BY_CONTROLLER in annotations_of(claim):
                ref = volume["spec"]["claimRef"]
                raise RuntimeError(f'invalid binding of claim "{claim_key(claim)}" to volume "{wanted}": volume already '
                                   f'claimed by "{ref.get("namespace")}/{ref.get("name")}"')
            self._update_claim_status(claim, "Pending", None)

    def _sync_bound_claim(self, claim: dict) -> None:
        name = (claim.get("spec") or {}).get("volumeName")
        if not name:
            self._claim_lost(claim, "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
            return
        volume = self._volume(name)
        if volume is None:
            self._claim_lost(claim, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
            return
        ref = (volume.get("spec") or {}).get("claimRef")
        if not ref or ref.get("uid") == claim["metadata"].get("uid"):
            self._bind(volume, claim)  # completes or confirms the binding (usually writes nothing)
        else:
            self._claim_lost(claim, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly")

    def _claim_lost(self, claim: dict, reason: str, message: str) -> None:
        if (claim.get("status") or {}).get("phase") == "Lost":
            return
        self._update_claim_status(claim, "Lost", None)
        self.recorder.event(claim, "Warning", reason, message)

    def _volumes_of_class(self, cls: str) -> list[dict]:
        # Newest known versions, in name order (stable choices among equals).
        out = [self._volume(v["metadata"]["name"]) for v in self.volumes.lister.by_index(VOLUME_CLASS_INDEX, cls)]
        return sorted((v for v in out if v is not None), key=lambda v: v["metadata"]["name"])

    def _assign_default_class(self, claim: dict) -> bool:
        """Give a claim created before any default class existed the default class, retroactively."""
        if claim_has_class(claim):
            return False
        default = default_class_of(self.classes.lister.list())
        if default is None:
            return False
        new = clone(claim)
        new["spec"]["storageClassName"] = default["metadata"]["name"]
        self._store_claim(self.client.update(new))
        return True

    def _event_for_unbound_delay_binding(self, claim: dict) -> None:
        pods = sorted(p["metadata"]["name"] for p in self.pods.lister.by_index(POD_CLAIMS_INDEX, claim_key(claim))
                      if not is_pod_terminated(p) and not (p.get("spec") or {}).get("nodeName"))
        if not pods:
            self.recorder.event(claim, "Normal", "WaitForFirstConsumer", WAIT_FOR_FIRST_CONSUMER_MESSAGE)
        elif len(pods) == 1:
            self.recorder.event(claim, "Normal", "WaitForPodScheduled", f"waiting for pod {pods[0]} to be scheduled")
        else:
            self.recorder.event(claim, "Normal", "WaitForPodScheduled", f"waiting for pods {','.join(pods)} to be scheduled")

    def _provision_claim(self, claim: dict) -> None:
        """``provisionClaim``: k8slab has no in-tree provisioners, so hand the claim to an external one."""
        cls = claim_class(claim)
        sc = self._class(cls)
        if sc is None:
            self.recorder.event(claim, "Warning", "ProvisioningFailed", f'storageclass.storage.k8s.io "{cls}" not found')
        elif (sc.get("provisioner") or "").startswith("kubernetes.io/"):
            self.recorder.event(claim, "Warning", "ProvisioningFailed",
                                f"no volume plugin matched name: {sc.get('provisioner')}")
        else:
            provisioner = sc["provisioner"]
            ann = annotations_of(claim)
            if ann.get(ANN_STORAGE_PROVISIONER) != provisioner or ann.get(ANN_BETA_STORAGE_PROVISIONER) != provisioner:
                new = clone(claim)
                new["metadata"].setdefault("annotations", {}).update(
                    {ANN_BETA_STORAGE_PROVISIONER: provisioner, ANN_STORAGE_PROVISIONER: provisioner})
                claim = self._store_claim(self.client.update(new))
            self.recorder.event(claim, "Normal", "ExternalProvisioning",
                                f"Waiting for a volume to be created either by the external provisioner '{provisioner}' "
                                "or manually by the system administrator. If volume creation is delayed, please verify "
                                "that the provisioner is running and correctly registered.")
        # A new claim already reads Pending on a real API server; k8slab's stores no status at creation.
        if not (claim.get("status") or {}).get("phase"):
            self._update_claim_status(claim, "Pending", None)

    # -- binding ---------------------------------------------------------------------------------------
    def _bind(self, volume: dict, claim: dict) -> None:
        """``bind``: claimRef on the volume, volume Bound, volumeName on the claim, claim Bound."""
        volume = self._bind_volume_to_claim(volume, claim)
        volume = self._update_volume_phase(volume, "Bound")
        claim = self._bind_claim_to_volume(claim, volume)
        self._update_claim_status(claim, "Bound", volume)

    def _bind_volume_to_claim(self, volume: dict, claim: dict) -> dict:
        """``GetBindVolumeToClaim``: point the volume's claimRef at the claim; mark a binding we chose."""
        ref = (volume.get("spec") or {}).get("claimRef") or {}
        m = claim["metadata"]
        chosen_by_us = not is_volume_bound_to_claim(volume, claim)
        new = None
        if (ref.get("name"), ref.get("namespace"), ref.get("uid")) != (m["name"], m.get("namespace"), m.get("uid")):
            new = clone(volume)
            new["spec"]["claimRef"] = claim_reference(claim)
        if chosen_by_us and ANN_BOUND_BY_CONTROLLER not in annotations_of(volume):
            new = new or clone(volume)
            new["metadata"].setdefault("annotations", {})[ANN_BOUND_BY_CONTROLLER] = "yes"
        if new is None:
            return volume
        return self._store_volume(self.client.update(new))

    def _update_volume_phase(self, volume: dict, phase: str, message: str = "") -> dict:
        if (volume.get("status") or {}).get("phase") == phase:
            return volume
        new = clone(volume)
        status = new.setdefault("status", {})
        status["phase"] = phase
        if message:
            status["message"] = message
        else:
            status.pop("message", None)
        # The API server stamps this on every phase change (PersistentVolumeLastPhaseTransitionTime);
        # k8slab's does not, so the controller writes it with the phase.
        status["lastPhaseTransitionTime"] = timestamp(self.now)
        return self._store_volume(self.client.update_status(new))

    def _update_volume_phase_with_event(self, volume: dict, phase: str, type_: str, reason: str, message: str) -> dict:
        if (volume.get("status") or {}).get("phase") == phase:
            return volume
        volume = self._update_volume_phase(volume, phase, message)
        self.recorder.event(volume, type_, reason, message)
        return volume

    def _bind_claim_to_volume(self, claim: dict, volume: dict) -> dict:
        name = volume["metadata"]["name"]
        new = None
        if (claim.get("spec") or {}).get("volumeName") != name:
            new = clone(claim)
            new["spec"]["volumeName"] = name
            new["metadata"].setdefault("annotations", {}).setdefault(ANN_BOUND_BY_CONTROLLER, "yes")
        if ANN_BIND_COMPLETED not in annotations_of(new or claim):
            new = new or clone(claim)
            new["metadata"].setdefault("annotations", {})[ANN_BIND_COMPLETED] = "yes"
        if new is None:
            return claim
        return self._store_claim(self.client.update(new))

    def _update_claim_status(self, claim: dict, phase: str, volume: dict | None) -> dict:
        status = claim.get("status") or {}
        new_status = dict(status, phase=phase)
        if volume is None:
            new_status.pop("accessModes", None)
            new_status.pop("capacity", None)
        else:
            new_status["accessModes"] = list((volume.get("spec") or {}).get("accessModes") or [])
            if status.get("phase") != phase:  # capacity is set when the claim becomes Bound
                new_status["capacity"] = dict((volume.get("spec") or {}).get("capacity") or {})
        if new_status == status:
            return claim
        new = clone(claim)
        new["status"] = clone(new_status)
        return self._store_claim(self.client.update_status(new))

    def _unbind_volume(self, volume: dict) -> None:
        """Undo a binding this controller made (or only its uid, when the user pre-bound the volume)."""
        new = clone(volume)
        if ANN_BOUND_BY_CONTROLLER in annotations_of(volume):
            new["spec"].pop("claimRef", None)
            del new["metadata"]["annotations"][ANN_BOUND_BY_CONTROLLER]
            if not new["metadata"]["annotations"]:
                del new["metadata"]["annotations"]
        else:
            new["spec"]["claimRef"]["uid"] = ""
        volume = self._store_volume(self.client.update(new))
        self._update_volume_phase(volume, "Available")

    # -- syncVolume --------------------------------------------------------------------------------------
    def _sync_volume_key(self, name: str) -> None:
        if not self.manager.is_leader:
            return
        volume = self._volume(name)
        if volume is not None:
            self._sync_volume(volume)
        self.volume_queue.forget(name)

    def _sync_volume(self, volume: dict) -> None:
        ref = (volume.get("spec") or {}).get("claimRef")
        if not ref or not ref.get("uid"):
            # unused, or reserved for a claim that has not been bound to it yet
            self._update_volume_phase(volume, "Available")
            return
        key = f"{ref.get('namespace')}/{ref.get('name')}"
        claim = self._claim(key)
        if claim is not None and claim["metadata"].get("uid") != ref.get("uid"):
            claim = None  # the claim it was bound to is gone; another of the same name exists
        phase = (volume.get("status") or {}).get("phase")
        if claim is None:
            if phase not in ("Released", "Failed"):
                volume = self._update_volume_phase(volume, "Released")
            self._reclaim(volume)
        elif not (claim.get("spec") or {}).get("volumeName"):
            self.queue.add(key)  # a provisioned or pre-bound volume: the claim's sync completes the binding
        elif claim["spec"]["volumeName"] == volume["metadata"]["name"]:
            self._update_volume_phase(volume, "Bound")
        elif ANN_DYNAMICALLY_PROVISIONED in annotations_of(volume) and self._policy(volume) == "Delete":
            # provisioned for a claim that got bound elsewhere: not needed any more
            if phase not in ("Released", "Failed"):
                volume = self._update_volume_phase(volume, "Released")
            self._reclaim(volume)
        else:
            self._unbind_volume(volume)

    @staticmethod
    def _policy(volume: dict) -> str:
        return (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"

    def _reclaim(self, volume: dict) -> None:
        """``reclaimVolume``: what the reclaim policy says to do with a released volume."""
        policy = self._policy(volume)
        if policy == "Retain":
            return
        if policy == "Recycle":
            self._update_volume_phase_with_event(volume, "Failed", "Warning", "VolumeFailedRecycle",
                                                 "No recycler plugin found for the volume!")
        elif policy == "Delete":
            self._delete_volume(volume)
        else:
            self._update_volume_phase_with_event(volume, "Failed", "Warning", "VolumeUnknownReclaimPolicy",
                                                 "Volume has unrecognized PersistentVolumeReclaimPolicy")

    def _delete_volume(self, volume: dict) -> None:
        """``deleteVolumeOperation``: an external provisioner deletes its own volumes; in-tree, only
        ``hostPath`` under ``/tmp`` has a deleter."""
        if volume["metadata"].get("deletionTimestamp"):
            return
        name = volume["metadata"]["name"]
        provisioned_by = annotations_of(volume).get(ANN_DYNAMICALLY_PROVISIONED)
        spec = volume.get("spec") or {}
        if (provisioned_by and not provisioned_by.startswith("kubernetes.io/")) or "csi" in spec:
            return  # waits for the external provisioner
        host_path = spec.get("hostPath")
        if host_path is not None:
            path = host_path.get("path", "")
            if re.match(r"^/tmp/.+", path):
                try:
                    self.client.delete("persistentvolumes", name)
                except errors.NotFound:
                    pass
                return
            message = (f'failed to create deleter for volume "{name}": host_path deleter only supports /tmp/.+ '
                       f"but received provided {path}")
        else:
            message = f'error getting deleter volume plugin for volume "{name}": no deletable volume plugin matched'
        self._update_volume_phase_with_event(volume, "Failed", "Warning", "VolumeFailedDelete", message)


#: Everything kube-controller-manager (and kind's provisioner) runs for persistent storage.
STORAGE_CONTROLLERS = (PersistentVolumeController, PVCProtectionController, PVProtectionController,
                       LocalPathProvisioner)


# the storage vocabulary and the other storage components stay importable from here
__all__ = [
    "ANN_BETA_DEFAULT_CLASS",
    "ANN_BETA_STORAGE_CLASS",
    "ANN_BETA_STORAGE_PROVISIONER",
    "ANN_BIND_COMPLETED",
    "ANN_BOUND_BY_CONTROLLER",
    "ANN_DEFAULT_CLASS",
    "ANN_DYNAMICALLY_PROVISIONED",
    "ANN_SELECTED_NODE",
    "ANN_STORAGE_PROVISIONER",
    "DefaultStorageClass",
    "LOCAL_PATH_PROVISIONER",
    "LocalPathProvisioner",
    "NOT_SUPPORTED_PROVISIONER",
    "POD_CLAIMS_INDEX",
    "PVCProtectionController",
    "PVC_PROTECTION_FINALIZER",
    "PVProtectionController",
    "PV_PROTECTION_FINALIZER",
    "PersistentVolumeController",
    "STORAGE_CONTROLLERS",
    "StorageObjectInUseProtection",
    "VOLUME_CLASS_INDEX",
    "access_modes_fit",
    "annotations_of",
    "binding_mode",
    "check_volume_satisfies_claim",
    "claim_class",
    "claim_has_class",
    "claim_key",
    "claim_reference",
    "claim_request",
    "default_class_of",
    "default_storage_class",
    "find_matching_volume",
    "is_claim_fully_bound",
    "is_pod_terminated",
    "is_volume_bound_to_claim",
    "pod_claim_keys",
    "pod_claim_names",
    "volume_capacity",
    "volume_class",
    "volume_class_index",
    "volume_mode_mismatch",
    "volume_node_affinity_matches",
]
