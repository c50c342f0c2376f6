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
from k8slab.api.quantity import to_bytes
from k8slab.api.selectors import LabelSelector
from k8slab.apiserver.admission import AdmissionPlugin
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.request import UserInfo
from k8slab.apiserver.workqueue import WorkQueue
from k8slab.controlplane.controller import Controller, ControllerFailure
from k8slab.controlplane.scheduler.plugins.nodeaffinity import node_selector_term_matches
from k8slab.sim.loop import timestamp

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
#: ``--pvclaimbinder-sync-period``: every claim and volume is synced again this often.
PV_CONTROLLER_RESYNC = 15.0
#: Index of pods by the ``namespace/claim`` of each claim they use.
POD_CLAIMS_INDEX = "persistentvolumeclaims"
#: Index of volumes by their class (``""`` for none).
VOLUME_CLASS_INDEX = "storageClassName"

WAIT_FOR_FIRST_CONSUMER_MESSAGE = "waiting for first consumer to be created before binding"


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


def _ann(obj: dict) -> dict:
    return obj["metadata"].get("annotations") or {}


def claim_key(claim: dict) -> str:
    m = claim["metadata"]
    return f"{m.get('namespace')}/{m['name']}"


def claim_class(claim: dict) -> str:
    """``GetPersistentVolumeClaimClass``: the beta annotation wins, then ``spec.storageClassName``."""
    beta = _ann(claim).get(ANN_BETA_STORAGE_CLASS)
    if beta is not None:
        return beta
    return (claim.get("spec") or {}).get("storageClassName") or ""


def claim_has_class(claim: dict) -> bool:
    """Whether the user chose a class (``""`` counts: it asks for no class at all)."""
    return (claim.get("spec") or {}).get("storageClassName") is not None or ANN_BETA_STORAGE_CLASS in _ann(claim)


def volume_class(volume: dict) -> str:
    beta = _ann(volume).get(ANN_BETA_STORAGE_CLASS)
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
    return bool((claim.get("spec") or {}).get("volumeName")) and ANN_BIND_COMPLETED in _ann(claim)


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
    marked = [c for c in classes if "true" in (_ann(c).get(ANN_DEFAULT_CLASS), _ann(c).get(ANN_BETA_DEFAULT_CLASS))]
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
        err = exc.kubectl_message() if isinstance(exc, errors.ApiError) else f"{type(exc).__name__}: {exc}"
        self.failures.append(ControllerFailure(self.loop.now, self.name, f"volume {key}", err))
        del self.failures[:-100]
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
        if ANN_BIND_COMPLETED not in _ann(claim):
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
            if delay and ANN_SELECTED_NODE not in _ann(claim):
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
            if ANN_BOUND_BY_CONTROLLER in _ann(claim):
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
            ann = _ann(claim)
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
        if chosen_by_us and ANN_BOUND_BY_CONTROLLER not in _ann(volume):
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
        if ANN_BIND_COMPLETED not in _ann(new or claim):
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
        if ANN_BOUND_BY_CONTROLLER in _ann(volume):
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
        elif ANN_DYNAMICALLY_PROVISIONED in _ann(volume) and self._policy(volume) == "Delete":
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
        provisioned_by = _ann(volume).get(ANN_DYNAMICALLY_PROVISIONED)
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


# ---------------------------------------------------------------------------------------------
# kind's local-path provisioner (an external provisioner, sig-storage-lib-external-provisioner)
# ---------------------------------------------------------------------------------------------
class LocalPathProvisioner(Controller):
    """Creates node-local ``hostPath`` volumes for claims of its classes, and deletes them when released.

    It acts on a claim once the PV controller annotated it with
    ``volume.kubernetes.io/storage-provisioner: rancher.io/local-path`` (and, for a
    ``WaitForFirstConsumer`` class, the scheduler chose a node).
    """

    name = "local-path-provisioner"
    provisioner = LOCAL_PATH_PROVISIONER
    #: Who signs the events (the real one adds the provisioner pod's name and a random id).
    identity = f"{LOCAL_PATH_PROVISIONER}_local-path-provisioner"
    #: Where volumes live on the node (kind's local-path ``config.json``).
    base_path = "/var/local-path-provisioner"
    #: How long the helper pod that creates (or removes) the directory takes.
    helper_seconds = 2.0

    def setup(self) -> None:
        self.client = self.manager.api.client(self.name, user=UserInfo(
            "system:serviceaccount:local-path-storage:local-path-provisioner-service-account",
            ("system:serviceaccounts", "system:serviceaccounts:local-path-storage", "system:authenticated")),
            shared_results=True)
        self.recorder = EventRecorder(self.client, self.identity, enabled=self.manager.events_enabled)
        self.claims = self.informers.informer("persistentvolumeclaims")
        self.volumes = self.informers.informer("persistentvolumes")
        self.classes = self.informers.informer("storageclasses")
        self.nodes = self.informers.informer("nodes")
        self.volume_queue = WorkQueue(self.loop, "local-path-volumes", self._delete_sync, who=self.name,
                                      on_error=lambda key, exc: self.volume_queue.add_rate_limited(key))
        self._helpers: dict[str, object] = {}  # claim or volume key -> the helper pod's completion event
        self.claims.add_event_handler(self._claim_changed, lambda old, new: self._claim_changed(new))
        self.volumes.add_event_handler(self._volume_changed, lambda old, new: self._volume_changed(new))

    def _claim_changed(self, claim: dict) -> None:
        if self._should_provision(claim):
            self.queue.add(claim_key(claim))

    def _volume_changed(self, volume: dict) -> None:
        if self._should_delete(volume):
            self.volume_queue.add(volume["metadata"]["name"])

    def _should_provision(self, claim: dict) -> bool:
        """``shouldProvision``: not bound, addressed to us, and (delay binding) a node was chosen."""
        if (claim.get("spec") or {}).get("volumeName"):
            return False
        ann = _ann(claim)
        if ann.get(ANN_STORAGE_PROVISIONER, ann.get(ANN_BETA_STORAGE_PROVISIONER)) != self.provisioner:
            return False
        sc = self.classes.lister.get(claim_class(claim))
        if sc is None:
            return False
        return binding_mode(sc) != "WaitForFirstConsumer" or bool(ann.get(ANN_SELECTED_NODE))

    def _should_delete(self, volume: dict) -> bool:
        return (not volume["metadata"].get("deletionTimestamp")
                and (volume.get("status") or {}).get("phase") == "Released"
                and (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete"
                and _ann(volume).get(ANN_DYNAMICALLY_PROVISIONED) == self.provisioner)

    # -- provisioning ----------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        ns, _, name = key.partition("/")
        claim = self.claims.lister.get(name, ns)
        if claim is None or key in self._helpers or not self._should_provision(claim):
            return
        pv_name = f"pvc-{claim['metadata']['uid']}"
        if self.volumes.lister.get(pv_name) is not None:
            return  # provisioned already
        cls = claim_class(claim)
        node_name = _ann(claim).get(ANN_SELECTED_NODE)
        node = self.nodes.lister.get(node_name) if node_name else None
        self.recorder.event(claim, "Normal", "Provisioning", f'External provisioner is provisioning volume for claim "{key}"')
        problem = None
        if (claim.get("spec") or {}).get("selector") is not None:
            problem = "claim.Spec.Selector is not supported"
        elif any(m not in ("ReadWriteOnce", "ReadWriteOncePod") for m in (claim.get("spec") or {}).get("accessModes") or ()):
            problem = "NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes"
        elif node is None:
            problem = "configuration error, no node was specified"
        if problem is not None:
            self.recorder.event(claim, "Warning", "ProvisioningFailed",
                                f'failed to provision volume with StorageClass "{cls}": {problem}')
            return
        self._helpers[key] = self.loop.call_later(self.helper_seconds, self._create_volume, key, claim["metadata"]["uid"],
                                                  who=self.name, what=f"helper pod created {pv_name}")

    def _create_volume(self, key: str, uid: str) -> None:
        self._helpers.pop(key, None)
        ns, _, name = key.partition("/")
        claim = self.claims.lister.get(name, ns)
        if claim is None or claim["metadata"].get("uid") != uid or not self._should_provision(claim):
            return
        sc = self.classes.lister.get(claim_class(claim)) or {}
        node = self.nodes.lister.get(_ann(claim).get(ANN_SELECTED_NODE, ""))
        node_name = node["metadata"]["name"] if node is not None else ""
        host = ((node or {}).get("metadata", {}).get("labels") or {}).get("kubernetes.io/hostname", node_name)
        pv_name = f"pvc-{uid}"
        spec = claim.get("spec") or {}
        volume = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {
                ANN_SELECTED_NODE.replace("volume.kubernetes.io", "local.path.provisioner"): node_name,
                ANN_DYNAMICALLY_PROVISIONED: self.provisioner}},
            "spec": {
                "accessModes": list(spec.get("accessModes") or []),
                "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage", "0")},
                "claimRef": claim_reference(claim),
                "hostPath": {"path": f"{self.base_path}/{pv_name}_{ns}_{name}", "type": "DirectoryOrCreate"},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}},
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                "storageClassName": claim_class(claim),
                "volumeMode": "Filesystem",
            },
        }
        try:
            self.client.create(volume, hand_over=True)
        except errors.AlreadyExists:
            return
        except errors.ApiError:
            self.queue.add_rate_limited(key)
            return
        self.recorder.event(claim, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}")

    # -- deleting ------------------------------------------------------------------------------------------
    def _delete_sync(self, name: str) -> None:
        volume = self.volumes.lister.get(name)
        if volume is None or name in self._helpers or not self._should_delete(volume):
            return
        self._helpers[name] = self.loop.call_later(self.helper_seconds, self._volume_removed, name,
                                                   who=self.name, what=f"helper pod deleted {name}")

    def _volume_removed(self, name: str) -> None:
        self._helpers.pop(name, None)
        volume = self.volumes.lister.get(name)
        if volume is None or not self._should_delete(volume):
            return
        try:
            self.client.delete("persistentvolumes", name)
        except errors.NotFound:
            pass


# ---------------------------------------------------------------------------------------------
# Storage object in-use protection (pkg/controller/volume/pvcprotection, pvprotection)
# ---------------------------------------------------------------------------------------------
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


#: Everything kube-controller-manager (and kind's provisioner) runs for persistent storage.
STORAGE_CONTROLLERS = (PersistentVolumeController, PVCProtectionController, PVProtectionController,
                       LocalPathProvisioner)


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


__all__ = [
    "DefaultStorageClass",
    "LocalPathProvisioner",
    "PVCProtectionController",
    "PVProtectionController",
    "PersistentVolumeController",
    "STORAGE_CONTROLLERS",
    "StorageObjectInUseProtection",
    "default_storage_class",
    "find_matching_volume",
]
