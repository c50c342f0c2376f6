"""The garbage collector: background, foreground and orphan deletion along ownerReferences."""

import pytest
from test_controller_deployment import deployment, settle
from test_controller_replicaset import Harness, bare_pod, replicaset

from k8slab.api import errors
from k8slab.controlplane.deployment import DeploymentController
from k8slab.controlplane.garbagecollector import GarbageCollector
from k8slab.controlplane.replicaset import ReplicaSetController


def harness(**kw):
    return Harness([DeploymentController, ReplicaSetController, GarbageCollector], **kw)


def gc_requests(h, verb):
    return [e for e in h.trace if e.type == "request" and e.actor == "generic-garbage-collector" and e.verb == verb]


def exists(h, resource, name):
    try:
        h.get(resource, name)
        return True
    except errors.NotFound:
        return False


def test_background_deletion_removes_replicasets_then_pods():
    h = harness()
    h.admin.create(deployment(3))
    settle(h)
    (rs,) = h.list("replicasets")
    mark = len(h.trace)
    h.admin.delete("deployments", "web", "default")  # kubectl delete: Background
    settle(h)
    assert h.list("replicasets") == []
    assert h.list("pods") == []
    deletes = [e for e in list(h.trace)[mark:] if e.type == "request" and e.verb == "delete"
               and e.actor == "generic-garbage-collector"]
    # the ReplicaSet first (its owner is gone), then each pod (their owner is gone)
    assert deletes[0].resource == "replicasets" and deletes[0].name == rs["metadata"]["name"]
    assert sorted(e.resource for e in deletes[1:]) == ["pods"] * 3


def test_a_deleted_owner_is_remembered_as_absent_so_dependents_cost_no_owner_lookup():
    h = harness()
    h.admin.create(replicaset("web-abc", 5))
    settle(h)
    gets_before = len(gc_requests(h, "get"))
    h.admin.delete("replicasets", "web-abc", "default")
    settle(h)
    assert h.list("pods") == []
    owner_gets = [e for e in gc_requests(h, "get")[gets_before:] if e.resource == "replicasets"]
    assert owner_gets == []  # the graph saw it deleted: no GET per dependent
    pod_gets = [e for e in gc_requests(h, "get")[gets_before:] if e.resource == "pods"]
    assert len(pod_gets) == 5  # each dependent itself is read live before it is deleted


def test_foreground_deletion_deletes_dependents_first_then_the_owner():
    h = harness()
    d = h.admin.create(deployment(2))
    settle(h)
    (rs,) = h.list("replicasets")
    for p in h.pods():
        assert p["spec"]["nodeName"]  # bound: their deletion is graceful, the kubelet must finish it
    h.admin.delete("deployments", "web", "default", propagation_policy="Foreground")
    h.run()
    # the owner waits, marked for deletion, while its dependents go
    live = h.get("deployments", "web")
    assert live["metadata"]["deletionTimestamp"] and live["metadata"]["finalizers"] == ["foregroundDeletion"]
    rs_now = h.get("replicasets", rs["metadata"]["name"])
    assert rs_now["metadata"]["finalizers"] == ["foregroundDeletion"]  # the RS cascades in the foreground too
    assert all(p["metadata"].get("deletionTimestamp") for p in h.list("pods"))
    assert len(h.list("pods")) == 2
    h.kubelet()  # the kubelets finish the pods' graceful termination
    h.run()
    assert h.list("pods") == []
    assert not exists(h, "replicasets", rs["metadata"]["name"])
    assert not exists(h, "deployments", "web")
    order = [(e.resource, e.name) for e in h.trace if e.type == "watch" and e.verb == "DELETED"
             and e.actor == "kube-controller-manager" and e.resource in ("pods", "replicasets", "deployments")]
    kinds = [r for r, _ in order]
    assert kinds.index("deployments") > kinds.index("replicasets") > max(i for i, k in enumerate(kinds) if k == "pods")
    assert d["metadata"]["uid"] not in h.cm.controllers["garbage-collector-controller"].graph


def test_orphan_deletion_keeps_dependents_without_the_owner_reference():
    h = harness()
    h.admin.create(deployment(2))
    settle(h)
    (rs,) = h.list("replicasets")
    pods_before = {p["metadata"]["name"] for p in h.pods()}
    h.admin.delete("deployments", "web", "default", propagation_policy="Orphan")
    settle(h)
    assert not exists(h, "deployments", "web")
    kept = h.get("replicasets", rs["metadata"]["name"])
    assert "ownerReferences" not in kept["metadata"]
    assert {p["metadata"]["name"] for p in h.pods()} == pods_before  # the ReplicaSet still owns them
    assert all(p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"] for p in h.pods())


def test_an_owner_that_never_existed_gets_its_dependents_collected_after_a_live_check():
    h = harness()
    ghost = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "ghost", "uid": "0000-ghost",
             "controller": True, "blockOwnerDeletion": True}
    for i in range(3):
        p = bare_pod(f"orphaned-{i}", {"app": "x"})
        p["metadata"]["ownerReferences"] = [ghost]
        h.admin.create(p)
    h.run()
    assert not any(exists(h, "pods", f"orphaned-{i}") for i in range(3))
    ghost_gets = [e for e in gc_requests(h, "get") if e.resource == "replicasets" and e.name == "ghost"]
    assert [e.code for e in ghost_gets] == [404]  # checked once, then remembered as absent


def test_a_dependent_with_one_live_owner_survives_and_loses_the_dead_reference():
    h = harness()
    live = h.admin.create(replicaset("live", 0, labels={"app": "live"}))
    h.run()
    dead = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "dead", "uid": "0000-dead",
            "controller": False, "blockOwnerDeletion": True}
    p = bare_pod("shared", {"app": "x"})
    p["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "live", "uid": live["metadata"]["uid"],
         "controller": False, "blockOwnerDeletion": True}, dead]
    h.admin.create(p)
    h.run()
    pod = h.get("pods", "shared")
    assert [r["name"] for r in pod["metadata"]["ownerReferences"]] == ["live"]


def test_an_object_recreated_under_the_same_name_is_not_an_owner_of_the_old_dependents():
    h = harness()
    rs = h.admin.create(replicaset("web-abc", 0, labels={"app": "nothing"}))
    h.run()
    p = bare_pod("child", {"app": "x"})
    p["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc",
                                         "uid": rs["metadata"]["uid"], "controller": False}]
    h.admin.create(p)
    h.run()
    assert exists(h, "pods", "child")
    h.admin.delete("replicasets", "web-abc", "default")
    h.admin.create(replicaset("web-abc", 0, labels={"app": "nothing"}))  # same name, new uid
    h.run()
    assert not exists(h, "pods", "child")


def test_the_graph_tracks_owners_and_dependents_incrementally():
    h = harness()
    d = h.admin.create(deployment(2))
    settle(h)
    gc = h.cm.controllers["garbage-collector-controller"]
    (rs,) = h.list("replicasets")
    assert gc.dependents_of(d["metadata"]["uid"]) == [
        f"ReplicaSet default/{rs['metadata']['name']} {rs['metadata']['uid']}"]
    assert len(gc.dependents_of(rs["metadata"]["uid"])) == 2
    victim = h.pods()[0]
    h.admin.delete("pods", victim["metadata"]["name"], "default", grace_period_seconds=0)
    h.run()
    deps = gc.dependents_of(rs["metadata"]["uid"])
    assert len(deps) == 2 and not any(victim["metadata"]["uid"] in k for k in deps)  # replaced, not leaked


@pytest.mark.parametrize("policy", [None, "Background", "Foreground", "Orphan"])
def test_every_policy_ends_with_the_deployment_gone(policy):
    h = harness()
    h.admin.create(deployment(3))
    settle(h)
    h.admin.delete("deployments", "web", "default", propagation_policy=policy)
    settle(h)
    assert h.list("deployments") == []
    expect_pods = 3 if policy == "Orphan" else 0
    assert len(h.pods()) == expect_pods
    assert h.cm.failures == [] or all("Conflict" in f.error for f in h.cm.failures)


def test_in_a_full_cluster_foreground_deletion_waits_for_the_kubelets():
    from conftest import nginx_deployment

    import k8slab

    c = k8slab.Cluster(workers=2, seed=3)
    c.apply(nginx_deployment(2))
    c.run()
    c.admin.delete("deployments", "web", "default", propagation_policy="Foreground")
    c.run(seconds=0.01)
    assert c.get("deployment", "web")["metadata"]["finalizers"] == ["foregroundDeletion"]
    c.run()
    assert c.get("deployments") == [] and c.get("replicasets") == [] and c.get("pods") == []
    kubelet_done = [e for e in c.trace if e.type == "request" and e.actor.startswith("kubelet/")
                    and e.verb == "delete" and e.resource == "pods"]
    gone = [e for e in c.trace if e.type == "request" and e.actor == "generic-garbage-collector"
            and e.verb == "patch" and e.resource == "deployments"]
    assert len(kubelet_done) == 2 and gone  # the finalizer came off only after the kubelets finished
    assert max(e.seq for e in kubelet_done) < gone[-1].seq
