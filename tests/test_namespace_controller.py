"""The namespace controller: a deleted namespace is Terminating while its content is deleted, then goes."""

import pytest

from k8slab import Cluster
from k8slab.api import errors
from k8slab.controlplane.manager import ControllerManager
from k8slab.controlplane.namespace import NamespaceController, finalizers_message, remaining_message

TEAM = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: nginx:1.27}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: team}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team}
data: {color: blue}
"""


def namespace_cluster() -> Cluster:
    """A cluster with the namespace controller and a namespace ``team``."""
    c = Cluster(workers=2, seed=0)
    if NamespaceController.name not in c.controllers:
        ControllerManager(c.api, c.loop, c.rng, [NamespaceController]).start()
    c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    return c


def conditions(ns: dict) -> dict:
    return {x["type"]: (x["status"], x["reason"], x["message"]) for x in ns["status"].get("conditions") or ()}


def names(c: Cluster, resource: str, namespace: str = "team") -> list[str]:
    return sorted(o["metadata"]["name"] for o in c.get(resource, namespace=namespace))


def test_deleting_a_namespace_removes_its_content_then_the_namespace():
    c = namespace_cluster()
    c.apply(TEAM)
    c.run()
    assert len(names(c, "pods")) == 2
    c.kubectl("delete namespace team --wait=false")
    ns = c.get("namespace", "team")
    assert ns["status"]["phase"] == "Terminating"
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    c.run(seconds=1)
    # the controller deleted everything it could; the pods are shutting down gracefully
    ns = c.get("namespace", "team")
    assert ns["status"]["phase"] == "Terminating"
    assert conditions(ns) == {
        "NamespaceDeletionDiscoveryFailure": ("False", "ResourcesDiscovered", "All resources successfully discovered"),
        "NamespaceDeletionGroupVersionParsingFailure": ("False", "ParsedGroupVersions",
                                                        "All legacy kube types successfully parsed"),
        "NamespaceDeletionContentFailure": ("False", "ContentDeleted",
                                            "All content successfully deleted, may be waiting on finalization"),
        "NamespaceContentRemaining": ("True", "SomeResourcesRemain",
                                     "Some resources are remaining: pods. has 2 resource instances"),
        "NamespaceFinalizersRemaining": ("False", "ContentRemoved", "All content successfully removed"),
    }
    assert names(c, "deployments") == names(c, "replicasets") == names(c, "services") == []
    assert names(c, "configmaps") == []
    assert all(p["metadata"].get("deletionTimestamp") for p in c.get("pods", namespace="team"))
    assert c.kubectl("get ns team").splitlines()[1].split()[1] == "Terminating"
    deleted_at = c.now
    c.run()
    assert names(c, "pods") == []
    with pytest.raises(errors.NotFound):
        c.get("namespace", "team")
    # it looked again after half the pods' 30 s grace period (+1 s), found nothing, and finalized
    finalize = c.trace.filter(type="request", resource="namespaces/finalize")
    assert [(r.actor, r.verb, r.name, r.code) for r in finalize] == [("namespace-controller", "update", "team", 200)]
    assert 15 < finalize[0].time - deleted_at < 17


def test_nothing_new_can_be_created_in_a_terminating_namespace():
    c = namespace_cluster()
    c.apply(TEAM)
    c.run()
    c.kubectl("delete namespace team --wait=false")
    with pytest.raises(errors.Forbidden) as err:
        c.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late", "namespace": "team"}})
    assert err.value.message == ('configmaps "late" is forbidden: unable to create new content in namespace team '
                                 "because it is being terminated")


def test_an_object_held_by_a_finalizer_keeps_the_namespace_terminating():
    c = namespace_cluster()
    c.apply({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "held", "namespace": "team", "finalizers": ["example.com/keep"]}})
    c.admin.delete("namespaces", "team")
    c.run(seconds=60)
    ns = c.get("namespace", "team")
    got = conditions(ns)
    assert got["NamespaceContentRemaining"] == ("True", "SomeResourcesRemain",
                                                "Some resources are remaining: configmaps. has 1 resource instances")
    assert got["NamespaceFinalizersRemaining"] == (
        "True", "SomeFinalizerRemain", "Some finalizers are remaining: example.com/keep in 1 resource instances")
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    # whoever owns the finalizer finishes: the config map goes, then the namespace
    held = c.get("configmap", "held", namespace="team")
    held["metadata"]["finalizers"] = []
    c.admin.update(held)
    c.run(seconds=20)
    with pytest.raises(errors.NotFound):
        c.get("namespace", "team")


def test_a_namespace_with_another_finalizer_waits_for_it_after_its_content_is_gone():
    c = namespace_cluster()
    c.admin.patch("namespaces", "team", {"spec": {"finalizers": ["kubernetes", "example.com/audit"]}})
    c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "team"}})
    c.admin.delete("namespaces", "team")
    c.run()
    ns = c.get("namespace", "team")
    assert ns["spec"]["finalizers"] == ["example.com/audit"]
    assert ns["status"]["phase"] == "Terminating"
    assert names(c, "configmaps") == []
    assert {t: s for t, (s, _r, _m) in conditions(ns).items()} == {
        "NamespaceDeletionDiscoveryFailure": "False", "NamespaceDeletionGroupVersionParsingFailure": "False",
        "NamespaceDeletionContentFailure": "False", "NamespaceContentRemaining": "False",
        "NamespaceFinalizersRemaining": "False"}


def test_condition_messages_read_as_the_real_controllers():
    assert remaining_message({"pods": 2, "deployments.apps": 1}) == (
        "Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource instances")
    assert finalizers_message({"b/x": 2, "a/y": 1}) == (
        "Some finalizers are remaining: a/y in 1 resource instances, b/x in 2 resource instances")
