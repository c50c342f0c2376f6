"""PersistentVolumes and claims: default class, static binding, WaitForFirstConsumer provisioning,
the scheduler's VolumeBinding plugin, reclaim policies, in-use protection and the kubelet's mount."""

import pytest

from k8slab import Cluster
from k8slab.api import errors
from k8slab.controlplane.manager import ControllerManager
from k8slab.controlplane.scheduler.plugins.volumebinding import VolumeBinding
from k8slab.controlplane.volume import (
    STORAGE_CONTROLLERS,
    DefaultStorageClass,
    StorageObjectInUseProtection,
    default_storage_class,
    find_matching_volume,
)

EXTERNAL_PROVISIONING = (
    "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path' or manually by "
    "the system administrator. If volume creation is delayed, please verify that the provisioner is running and "
    "correctly registered.")


def storage_cluster(workers: int = 2) -> Cluster:
    """A cluster running the storage controllers, admission plugins, VolumeBinding and kind's class
    (each added only if the cluster does not have it already)."""
    c = Cluster(workers=workers, seed=0)
    missing = [cls for cls in STORAGE_CONTROLLERS if cls.name not in c.controllers]
    if missing:
        ControllerManager(c.api, c.loop, c.rng, missing).start()
    for plugin in (DefaultStorageClass(), StorageObjectInUseProtection()):
        if plugin.name not in [p.name for p in c.api.mutating]:
            c.api.mutating.append(plugin)
    if "VolumeBinding" not in [p.name for p in c.scheduler.plugins]:
        c.scheduler.add_plugin(VolumeBinding(), before="PodTopologySpread")
    try:
        c.admin.create(default_storage_class())
    except errors.AlreadyExists:
        pass
    return c


def claim(name="data", size="1Gi", cls=None, modes=("ReadWriteOnce",), **spec) -> dict:
    spec = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, **spec}
    if cls is not None:
        spec["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def volume(name, size, cls="", modes=("ReadWriteOnce",), policy="Retain", path=None, labels=None, node=None) -> dict:
    spec = {"capacity": {"storage": size}, "accessModes": list(modes), "persistentVolumeReclaimPolicy": policy,
            "storageClassName": cls, "hostPath": {"path": path or f"/mnt/{name}"}}
    if node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    meta = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta, "spec": spec}


def pod(name, command, claim_name="data", restart="Never", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "restartPolicy": restart,
        "containers": [{"name": "c", "image": "busybox", "command": command,
                        "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim_name}}], **spec}}


def without_kubectl(annotations: dict) -> dict:
    return {k: v for k, v in annotations.items() if not k.startswith("kubectl.kubernetes.io/")}


def events_of(c: Cluster, kind: str, name: str) -> list[tuple[str, str]]:
    evs = [e for e in c.get("events", namespace=None)
           if e["involvedObject"].get("kind") == kind and e["involvedObject"].get("name") == name]
    # in the order they were first recorded (event names grow with the virtual clock)
    evs.sort(key=lambda e: int(e["metadata"]["name"].rsplit(".", 1)[1], 16))
    return [(e["reason"], e["message"]) for e in evs]


def test_default_storage_class_is_kinds_standard():
    sc = default_storage_class()
    assert sc["metadata"] == {"name": "standard",
                              "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}
    assert (sc["provisioner"], sc["reclaimPolicy"], sc["volumeBindingMode"]) == (
        "rancher.io/local-path", "Delete", "WaitForFirstConsumer")
    c = storage_cluster()
    assert c.kubectl("get storageclass").splitlines()[1].split()[:4] == [
        "standard", "(default)", "rancher.io/local-path", "Delete"]


def test_claim_without_class_gets_the_default_and_an_empty_class_stays_empty():
    c = storage_cluster()
    c.apply([claim("a"), claim("b", cls="")])
    assert c.get("pvc", "a")["spec"]["storageClassName"] == "standard"
    assert c.get("pvc", "b")["spec"]["storageClassName"] == ""
    # and both are protected while in use
    assert c.get("pvc", "a")["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]


def test_wait_for_first_consumer_keeps_the_claim_pending():
    c = storage_cluster()
    c.apply(claim())
    c.run()
    pvc = c.get("pvc", "data")
    assert pvc["status"] == {"phase": "Pending"}
    assert "volumeName" not in pvc["spec"]
    assert c.get("pv") == []
    assert events_of(c, "PersistentVolumeClaim", "data") == [
        ("WaitForFirstConsumer", "waiting for first consumer to be created before binding")]
    (ev,) = [e for e in c.get("events") if e["reason"] == "WaitForFirstConsumer"]
    assert ev["source"] == {"component": "persistentvolume-controller"}
    # said once when the claim arrives (t=10.5 s), then again at every 15 s resync of the
    # controller, which started with the cluster (t=15 s, 30 s), as kind shows it: "(x3 over 20s)"
    assert ev["count"] == 1
    c.run(seconds=31)
    (ev,) = [e for e in c.get("events") if e["reason"] == "WaitForFirstConsumer"]
    assert ev["count"] == 3 and ev["lastTimestamp"] == "2025-01-01T00:00:30Z"


def test_first_consumer_gets_a_provisioned_volume_on_its_node_before_it_is_bound():
    c = storage_cluster()
    c.apply(claim())
    c.run()
    c.apply(pod("writer", ["sh", "-c", "echo hi > /data/f"]))
    c.run()
    writer = c.get("pod", "writer")
    node = writer["spec"]["nodeName"]
    pvc = c.get("pvc", "data")
    uid = pvc["metadata"]["uid"]
    assert pvc["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    assert pvc["spec"]["volumeName"] == f"pvc-{uid}"
    ann = pvc["metadata"]["annotations"]
    assert without_kubectl(ann) == {
        "pv.kubernetes.io/bind-completed": "yes",
        "pv.kubernetes.io/bound-by-controller": "yes",
        "volume.beta.kubernetes.io/storage-provisioner": "rancher.io/local-path",
        "volume.kubernetes.io/selected-node": node,
        "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path",
    }
    (pv,) = c.get("pv")
    assert pv["metadata"]["name"] == f"pvc-{uid}"
    assert pv["metadata"]["annotations"] == {"local.path.provisioner/selected-node": node,
                                             "pv.kubernetes.io/provisioned-by": "rancher.io/local-path"}
    assert pv["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    spec = pv["spec"]
    assert spec["hostPath"] == {"path": f"/var/local-path-provisioner/pvc-{uid}_default_data",
                                "type": "DirectoryOrCreate"}
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"] == [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]
    assert (spec["persistentVolumeReclaimPolicy"], spec["storageClassName"], spec["capacity"]) == (
        "Delete", "standard", {"storage": "1Gi"})
    assert (spec["claimRef"]["name"], spec["claimRef"]["namespace"], spec["claimRef"]["uid"]) == ("data", "default", uid)
    assert pv["status"]["phase"] == "Bound"
    assert writer["status"]["phase"] == "Succeeded"
    assert events_of(c, "PersistentVolumeClaim", "data") == [
        ("WaitForFirstConsumer", "waiting for first consumer to be created before binding"),
        ("ExternalProvisioning", EXTERNAL_PROVISIONING),
        ("Provisioning", 'External provisioner is provisioning volume for claim "default/data"'),
        ("ProvisioningSucceeded", f"Successfully provisioned volume pvc-{uid}"),
    ]
    # the scheduler bound the pod only once its claim was bound (PreBind waited)
    scheduled = next(e for e in c.get("events") if e["reason"] == "Scheduled")
    assert scheduled["message"] == f"Successfully assigned default/writer to {node}"
    assert scheduled["firstTimestamp"] >= pv["metadata"]["creationTimestamp"]
    trace = [(r.verb, r.resource, r.name) for r in c.trace.filter(type="request") if r.resource in
             ("persistentvolumes", "pods/binding")]
    assert trace.index(("create", "persistentvolumes", f"pvc-{uid}")) < trace.index(("create", "pods/binding", "writer"))


def test_data_written_through_a_claim_is_read_by_a_later_pod_on_the_same_node():
    c = storage_cluster()
    c.apply(claim())
    c.apply(pod("writer", ["sh", "-c", "echo hi > /data/f"]))
    c.run()
    assert c.get("pod", "writer")["status"]["phase"] == "Succeeded"
    c.admin.delete("pods", "writer", "default")
    c.run()
    c.apply(pod("reader", ["cat", "/data/f"]))
    c.run()
    reader = c.get("pod", "reader")
    assert reader["status"]["phase"] == "Succeeded"
    assert c.kubectl("logs reader") == "hi\n"
    node = c.get("pvc", "data")["metadata"]["annotations"]["volume.kubernetes.io/selected-node"]
    assert reader["spec"]["nodeName"] == node
    other = next(n for n in ("worker-1", "worker-2") if n != node)
    explanation = c.scheduler.explain("reader")
    assert explanation.node(other).reason == "node(s) had volume node affinity conflict"
    assert explanation.node(other).filtered_by == "VolumeBinding"


def test_a_pod_whose_claim_cannot_bind_on_a_node_reports_why():
    c = storage_cluster()
    c.apply(claim())
    c.apply(pod("writer", ["true"]))
    c.run()
    node = c.get("pod", "writer")["spec"]["nodeName"]
    other = next(n for n in ("worker-1", "worker-2") if n != node)
    c.admin.patch("nodes", node, {"spec": {"unschedulable": True}})
    c.apply(pod("again", ["true"]))
    c.run()
    assert "nodeName" not in c.get("pod", "again")["spec"]
    failed = [e["message"] for e in c.get("events") if e["reason"] == "FailedScheduling"]
    assert failed[-1] == ("0/3 nodes are available: 1 node(s) had untolerated taint "
                          "{node-role.kubernetes.io/control-plane: }, 1 node(s) had volume node affinity conflict, "
                          "1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not "
                          "helpful for scheduling.")
    assert other in c.nodes


def test_static_binding_picks_the_smallest_volume_that_fits():
    c = storage_cluster()
    c.apply([volume("pv-5g", "5Gi"), volume("pv-2g", "2Gi"), volume("pv-1g", "1Gi"),
             volume("pv-rwx", "2Gi", modes=("ReadWriteMany",)), volume("pv-fast", "2Gi", cls="fast")])
    c.run()
    assert {v["metadata"]["name"]: v["status"]["phase"] for v in c.get("pv")} == {
        "pv-1g": "Available", "pv-2g": "Available", "pv-5g": "Available", "pv-fast": "Available",
        "pv-rwx": "Available"}
    c.apply(claim("small", size="1500Mi", cls=""))
    c.run()
    pvc = c.get("pvc", "small")
    assert pvc["spec"]["volumeName"] == "pv-2g"
    assert pvc["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2Gi"}}
    bound = c.get("pv", "pv-2g")
    assert bound["status"]["phase"] == "Bound"
    assert without_kubectl(bound["metadata"]["annotations"]) == {"pv.kubernetes.io/bound-by-controller": "yes"}
    assert bound["spec"]["claimRef"]["uid"] == pvc["metadata"]["uid"]
    # a claim asking for ReadWriteMany gets the only volume that offers it
    c.apply(claim("shared", size="1Gi", cls="", modes=("ReadWriteMany",)))
    c.run()
    assert c.get("pvc", "shared")["spec"]["volumeName"] == "pv-rwx"
    assert c.kubectl("get pv pv-2g").splitlines()[1].split()[:6] == [
        "pv-2g", "2Gi", "RWO", "Retain", "Bound", "default/small"]


def test_static_binding_honours_the_claims_selector():
    c = storage_cluster()
    c.apply([volume("plain", "1Gi"), volume("ssd", "3Gi", labels={"disk": "ssd"})])
    c.apply(claim("fast", cls="", selector={"matchLabels": {"disk": "ssd"}}))
    # the volumes were not Available yet when the claim arrived: the controller binds at its next
    # 15 s resync, as the real one does
    c.run(seconds=15)
    assert c.get("pvc", "fast")["spec"]["volumeName"] == "ssd"
    assert c.get("pv", "plain")["status"]["phase"] == "Available"


def test_a_claim_with_no_class_and_no_volume_stays_pending_and_blocks_its_pod():
    c = storage_cluster()
    c.apply(claim(cls=""))
    c.apply(pod("p", ["true"]))
    c.run()
    assert c.get("pvc", "data")["status"]["phase"] == "Pending"
    assert ("FailedBinding", "no persistent volumes available for this claim and no storage class is set") in \
        events_of(c, "PersistentVolumeClaim", "data")
    p = c.get("pod", "p")
    assert "nodeName" not in p["spec"]
    cond = next(x for x in p["status"]["conditions"] if x["type"] == "PodScheduled")
    assert cond["message"] == ("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                               "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    # a volume appears: the claim binds at the controller's next 15 s resync, then the pod runs
    c.apply(volume("late", "1Gi"))
    c.run()
    assert c.get("pvc", "data")["status"]["phase"] == "Pending"
    c.run(seconds=15)
    c.run()
    assert c.get("pvc", "data")["spec"]["volumeName"] == "late"
    assert c.get("pod", "p")["status"]["phase"] == "Succeeded"


def test_a_pod_naming_a_missing_claim_is_unschedulable():
    c = storage_cluster()
    c.apply(pod("p", ["true"], claim_name="nope"))
    c.run()
    cond = next(x for x in c.get("pod", "p")["status"]["conditions"] if x["type"] == "PodScheduled")
    assert cond["message"].startswith('0/3 nodes are available: persistentvolumeclaim "nope" not found. ')


def test_a_local_volume_waits_for_its_consumer_and_pins_the_pod_to_its_node():
    c = storage_cluster()
    c.admin.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local"},
                    "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"})
    c.apply([volume("disk-2", "10Gi", cls="local", node="worker-2"), claim(cls="local")])
    c.run()
    assert c.get("pvc", "data")["status"]["phase"] == "Pending"
    assert c.get("pv", "disk-2")["status"]["phase"] == "Available"
    c.apply(pod("p", ["true"]))
    c.run()
    p = c.get("pod", "p")
    assert p["spec"]["nodeName"] == "worker-2"
    pv = c.get("pv", "disk-2")
    # the scheduler wrote the claimRef (PreBind); the PV controller completed the binding
    assert without_kubectl(pv["metadata"]["annotations"]) == {"pv.kubernetes.io/bound-by-controller": "yes"}
    assert pv["status"]["phase"] == "Bound"
    pvc = c.get("pvc", "data")
    assert pvc["spec"]["volumeName"] == "disk-2"
    assert "volume.kubernetes.io/selected-node" not in pvc["metadata"]["annotations"]


def test_no_node_fits_when_a_class_cannot_provision():
    c = storage_cluster()
    c.admin.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local"},
                    "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"})
    c.apply([claim(cls="local"), pod("p", ["true"])])
    c.run()
    cond = next(x for x in c.get("pod", "p")["status"]["conditions"] if x["type"] == "PodScheduled")
    assert cond["message"] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't find available persistent volumes to bind. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling.")


def test_a_claim_waiting_for_an_unschedulable_pod_says_so():
    c = storage_cluster()
    c.apply(claim())
    big = pod("big", ["true"])
    big["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "64"}}
    c.apply(big)
    c.run(seconds=16)
    assert ("WaitForPodScheduled", "waiting for pod big to be scheduled") in events_of(c, "PersistentVolumeClaim", "data")
    assert c.get("pvc", "data")["status"]["phase"] == "Pending"


def test_prebind_gives_up_when_nobody_provisions_the_volume():
    c = storage_cluster()
    c.admin.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "nfs"},
                    "provisioner": "example.com/nfs", "volumeBindingMode": "WaitForFirstConsumer"})
    c.apply([claim(cls="nfs"), pod("p", ["true"])])
    c.run(seconds=30)
    p = c.get("pod", "p")
    assert "nodeName" not in p["spec"]
    assert c.scheduler.cache.is_assumed("default/p")  # holding its node while the volume is awaited
    pvc = c.get("pvc", "data")
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == "example.com/nfs"
    c.run(seconds=600)
    failed = [e for e in c.get("events") if e["reason"] == "FailedScheduling"]
    assert failed[0]["message"] == 'running PreBind plugin "VolumeBinding": binding volumes: context deadline exceeded'
    cond = next(x for x in c.get("pod", "p")["status"]["conditions"] if x["type"] == "PodScheduled")
    assert (cond["status"], cond["reason"]) == ("False", "SchedulerError")


def test_deleting_the_claim_deletes_its_provisioned_volume():
    c = storage_cluster()
    c.apply([claim(), pod("p", ["true"])])
    c.run()
    pv_name = c.get("pvc", "data")["spec"]["volumeName"]
    c.admin.delete("pods", "p", "default")
    c.admin.delete("persistentvolumeclaims", "data", "default")
    c.run()
    with pytest.raises(errors.NotFound):
        c.get("pvc", "data")
    with pytest.raises(errors.NotFound):
        c.get("pv", pv_name)
    deleted = c.trace.filter(type="request", verb="delete", resource="persistentvolumes")
    assert [(r.actor, r.name) for r in deleted] == [("local-path-provisioner", pv_name)]


def test_deleting_the_claim_of_a_retained_volume_leaves_it_released():
    c = storage_cluster()
    c.apply([volume("keep", "1Gi"), claim(cls="")])
    c.run()
    assert c.get("pvc", "data")["spec"]["volumeName"] == "keep"
    c.admin.delete("persistentvolumeclaims", "data", "default")
    c.run()
    pv = c.get("pv", "keep")
    assert pv["status"]["phase"] == "Released"
    assert pv["spec"]["claimRef"]["name"] == "data"  # nobody else can bind it until an admin says so
    c.apply(claim("other", cls=""))
    c.run()
    assert c.get("pvc", "other")["status"]["phase"] == "Pending"


def test_a_delete_policy_volume_without_a_deleter_fails():
    c = storage_cluster()
    c.apply([volume("mnt", "1Gi", policy="Delete"), volume("tmp", "1Gi", policy="Delete", path="/tmp/tmp"),
             claim("a", cls="", size="1Gi"), claim("b", cls="", size="1Gi")])
    c.run()
    by_claim = {c.get("pvc", n)["spec"]["volumeName"]: n for n in ("a", "b")}
    for name in ("a", "b"):
        c.admin.delete("persistentvolumeclaims", name, "default")
    c.run()
    with pytest.raises(errors.NotFound):
        c.get("pv", "tmp")  # the in-tree hostPath deleter handles /tmp
    pv = c.get("pv", "mnt")
    message = ('failed to create deleter for volume "mnt": host_path deleter only supports /tmp/.+ but received '
               "provided /mnt/mnt")
    assert (pv["status"]["phase"], pv["status"]["message"]) == ("Failed", message)
    assert events_of(c, "PersistentVolume", "mnt")[-1] == ("VolumeFailedDelete", message)
    assert set(by_claim) == {"mnt", "tmp"}


def test_a_claim_in_use_is_deleted_only_after_its_pod():
    c = storage_cluster()
    c.apply([claim(), pod("p", ["sleep", "3600"])])
    c.run()
    assert c.get("pod", "p")["status"]["phase"] == "Running"
    c.admin.delete("persistentvolumeclaims", "data", "default")
    c.run()
    pvc = c.get("pvc", "data")
    assert pvc["metadata"]["deletionTimestamp"]
    assert pvc["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert c.kubectl("get pvc data").splitlines()[1].split()[1] == "Terminating"
    c.admin.delete("pods", "p", "default")
    c.run()
    with pytest.raises(errors.NotFound):
        c.get("pvc", "data")
    assert c.get("pv") == []


def test_the_kubelet_does_not_start_a_pod_whose_claim_is_not_bound():
    c = storage_cluster()
    c.apply([claim(), pod("p", ["true"], nodeName="worker-1")])  # bypasses the scheduler
    c.run(seconds=10)
    p = c.get("pod", "p")
    assert p["status"]["phase"] == "Pending"
    mounts = [m for r, m in events_of(c, "Pod", "p") if r == "FailedMount"]
    assert mounts[0] == 'MountVolume.SetUp failed for volume "d" : error processing PVC default/data: PVC is not bound'
    # nobody scheduled a consumer, so the claim still waits
    assert c.get("pvc", "data")["status"]["phase"] == "Pending"


def test_find_matching_volume_prefers_a_volume_prebound_to_the_claim():
    want = claim(cls="")
    want["metadata"].update(namespace="default", uid="u1")
    free = volume("free", "1Gi")
    free["status"] = {"phase": "Available"}
    reserved = volume("reserved", "8Gi")
    reserved["spec"]["claimRef"] = {"name": "data", "namespace": "default"}
    reserved["status"] = {"phase": "Available"}
    assert find_matching_volume(want, [free, reserved])["metadata"]["name"] == "reserved"
    taken = volume("taken", "1Gi")
    taken["spec"]["claimRef"] = {"name": "other", "namespace": "default", "uid": "u2"}
    taken["status"] = {"phase": "Bound"}
    assert find_matching_volume(want, [taken]) is None
    assert find_matching_volume(want, [free], delay_binding=True) is None  # left to the scheduler
