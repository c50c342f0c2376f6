"""kind's local-path provisioner: node-local ``hostPath`` volumes made on demand.

An *external* provisioner (``rancher.io/local-path``, built on
``sig-storage-lib-external-provisioner``): it acts on a claim once the PV
controller has annotated it with ``volume.kubernetes.io/storage-provisioner:
rancher.io/local-path`` and, for a ``WaitForFirstConsumer`` class, the scheduler
has chosen a node (``volume.kubernetes.io/selected-node``). It then creates the
volume ``pvc-<claim uid>``: a ``hostPath`` directory under
``/var/local-path-provisioner`` pinned (node affinity) to that node and
pre-bound to the claim (``claimRef``), which the PV controller completes. A
released volume of reclaim policy ``Delete`` it made is deleted again.

Simplified: the helper pod that creates or removes the directory is a fixed
2-second delay, not a pod.

Example
-------
>>> LocalPathProvisioner.provisioner, LocalPathProvisioner.base_path
('rancher.io/local-path', '/var/local-path-provisioner')
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.request import UserInfo
from k8slab.apiserver.workqueue import WorkQueue
from k8slab.controlplane.controller import Controller
from k8slab.controlplane.storage import (
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    LOCAL_PATH_PROVISIONER,
    annotations_of,
    binding_mode,
    claim_class,
    claim_key,
    claim_reference,
)


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
        ann = annotations_of(claim)
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
                and annotations_of(volume).get(ANN_DYNAMICALLY_PROVISIONED) == self.provisioner)

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
        node_name = annotations_of(claim).get(ANN_SELECTED_NODE)
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
        node = self.nodes.lister.get(annotations_of(claim).get(ANN_SELECTED_NODE, ""))
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
