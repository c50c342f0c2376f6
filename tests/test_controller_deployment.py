"""The Deployment controller with the ReplicaSet controller, the test playing the kubelets."""

import re

import pytest
from test_controller_replicaset import SUFFIX, Harness

import k8slab
from k8slab.api.names import pod_template_hash
from k8slab.api.objects import is_pod_ready
from k8slab.controlplane.deployment import DeploymentController
from k8slab.controlplane.replicaset import ReplicaSetController
from k8slab.controlplane.rollout import resolve_fenceposts

HASH = "[4-9bcdf]{1,10}"


def deployment(replicas=3, image="nginx:1.27", strategy=None, **spec):
    d = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": image}]}},
            **spec,
        },
    }
    if strategy is not None:
        d["spec"]["strategy"] = strategy
    return d


def harness(**kw):
    return Harness([DeploymentController, ReplicaSetController], **kw)


def settle(h, rounds=50):
    """Run the control plane and the fake kubelets until nothing changes."""
    for _ in range(rounds):
        h.run()
        if h.kubelet() == 0:
            h.run()
            return h
    raise AssertionError("did not settle")


def set_image(h, image):
    d = h.get("deployments", "web")
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return h.admin.update(d)


def replicasets(h):
    return {rs["metadata"]["name"]: rs for rs in h.list("replicasets")}


def scaling_events(h):
    return [e["message"] for e in sorted(h.events("ScalingReplicaSet"), key=lambda e: e["metadata"]["name"])]


def test_fenceposts_round_surge_up_and_unavailability_down():
    assert resolve_fenceposts("25%", "25%", 4) == (1, 1)
    assert resolve_fenceposts("25%", "25%", 3) == (1, 0)
    assert resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert resolve_fenceposts(0, "10%", 5) == (0, 1)


def test_creates_a_replicaset_named_by_the_pod_template_hash():
    h = harness()
    d = h.admin.create(deployment(3))
    h.run()
    (rs,) = h.list("replicasets")
    m = rs["metadata"]
    h_ = pod_template_hash(d["spec"]["template"])
    assert re.fullmatch(HASH, h_)
    assert m["name"] == f"web-{h_}"
    assert m["labels"] == {"app": "web", "pod-template-hash": h_}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": h_}}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": h_}
    assert rs["spec"]["replicas"] == 3
    assert m["annotations"] == {"deployment.kubernetes.io/desired-replicas": "3",
                                "deployment.kubernetes.io/max-replicas": "4",
                                "deployment.kubernetes.io/revision": "1"}
    (ref,) = m["ownerReferences"]
    assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == ("Deployment", "web", d["metadata"]["uid"], True)
    for p in h.pods():
        assert re.fullmatch(rf"web-{h_}-{SUFFIX}", p["metadata"]["name"])
        assert p["metadata"]["labels"]["pod-template-hash"] == h_
    assert scaling_events(h) == [f"Scaled up replica set web-{h_} to 3"]
    (ev,) = h.events("ScalingReplicaSet")
    assert ev["involvedObject"]["kind"] == "Deployment" and ev["source"]["component"] == "deployment-controller"
    assert h.get("deployments", "web")["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"


def test_status_and_conditions_once_the_pods_are_ready():
    h = harness()
    h.admin.create(deployment(3))
    h.run()
    d = h.get("deployments", "web")
    rs_name = h.list("replicasets")[0]["metadata"]["name"]
    avail = next(c for c in d["status"]["conditions"] if c["type"] == "Available")
    assert (avail["status"], avail["reason"]) == ("False", "MinimumReplicasUnavailable")
    assert avail["message"] == "Deployment does not have minimum availability."
    assert d["status"]["unavailableReplicas"] == 3
    settle(h)
    d = h.get("deployments", "web")
    st = d["status"]
    assert {k: st.get(k) for k in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
                                   "availableReplicas")} == {"observedGeneration": 1, "replicas": 3,
                                                             "updatedReplicas": 3, "readyReplicas": 3,
                                                             "availableReplicas": 3}
    assert "unavailableReplicas" not in st
    conds = {c["type"]: c for c in st["conditions"]}
    assert (conds["Available"]["status"], conds["Available"]["reason"], conds["Available"]["message"]) == (
        "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    prog = conds["Progressing"]
    assert (prog["status"], prog["reason"], prog["message"]) == (
        "True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
    assert prog["lastUpdateTime"].startswith("2025-01-01T00:00:")


@pytest.mark.parametrize("replicas,strategy,max_total,min_ready", [
    (4, None, 5, 3),
    (10, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}, 13, 8),
    (3, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}, 3, 2),
    (5, {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0}}, 8, 5),
])
def test_rolling_update_stays_within_surge_and_unavailability_at_every_step(replicas, strategy, max_total,
                                                                             min_ready):
    h = harness()
    h.admin.create(deployment(replicas, "nginx:1.26", strategy))
    settle(h)
    (old_name,) = replicasets(h)
    set_image(h, "nginx:1.27")
    seen_total = set()
    for _round in range(500):
        while h.loop.step() is not None and not h.loop.settled():
            live = h.pods()
            ready = [p for p in live if is_pod_ready(p)]
            seen_total.add(len(live))
            assert len(live) <= max_total, f"{len(live)} pods at t={h.loop.now}"
            assert len(ready) >= min_ready, f"only {len(ready)} ready at t={h.loop.now}"
        if h.kubelet(limit=1) == 0:
            break
    settle(h)
    rss = replicasets(h)
    assert rss[old_name]["spec"]["replicas"] == 0
    assert rss[old_name]["status"]["replicas"] == 0
    (new_name,) = [n for n in rss if n != old_name]
    assert rss[new_name]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert rss[new_name]["status"]["readyReplicas"] == replicas
    assert {p["spec"]["containers"][0]["image"] for p in h.pods()} == {"nginx:1.27"}
    assert max(seen_total) == max_total  # the surge was used, not just respected
    d = h.get("deployments", "web")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert d["status"]["updatedReplicas"] == replicas


def test_rolling_update_events_read_like_kubectl_describe():
    h = harness()
    h.admin.create(deployment(2, "nginx:1.26"))
    settle(h)
    (old,) = replicasets(h)
    set_image(h, "nginx:1.27")
    settle(h)
    (new,) = [n for n in replicasets(h) if n != old]
    assert scaling_events(h) == [
        f"Scaled up replica set {old} to 2",
        f"Scaled up replica set {new} to 1",
        f"Scaled down replica set {old} to 1 from 2",
        f"Scaled up replica set {new} to 2 from 1",
        f"Scaled down replica set {old} to 0 from 1",
    ]


def test_a_stuck_rollout_keeps_the_old_pods_and_stops_at_the_surge():
    h = harness()
    h.admin.create(deployment(4, "nginx:1.26"))
    settle(h)
    set_image(h, "nginx:does-not-exist")
    settle(h)
    rss = sorted(replicasets(h).values(), key=lambda r: r["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
    old, new = rss
    # 1 surge pod + 1 allowed unavailable: old 3, new 2, all of the new ones not ready
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (3, 2)
    assert len([p for p in h.pods() if is_pod_ready(p)]) == 3
    prog = next(c for c in h.get("deployments", "web")["status"]["conditions"] if c["type"] == "Progressing")
    assert prog["reason"] == "ReplicaSetUpdated"
    # ten minutes later the progress deadline has passed
    h.run(seconds=700)
    prog = next(c for c in h.get("deployments", "web")["status"]["conditions"] if c["type"] == "Progressing")
    assert (prog["status"], prog["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert prog["message"] == f'ReplicaSet "{new["metadata"]["name"]}" has timed out progressing.'


def test_recreate_removes_every_old_pod_before_the_new_replicaset_exists():
    h = harness()
    h.admin.create(deployment(3, "nginx:1.26", {"type": "Recreate"}))
    settle(h)
    (old_name,) = replicasets(h)
    set_image(h, "nginx:1.27")
    for _round in range(100):
        while h.loop.step() is not None and not h.loop.settled():
            images = {p["spec"]["containers"][0]["image"] for p in h.list("pods")}
            assert len(images) <= 1, f"old and new pods together at t={h.loop.now}"
            if any(p["metadata"].get("deletionTimestamp") for p in h.list("pods")):
                assert len(replicasets(h)) == 1, "new ReplicaSet created while old pods terminate"
        if h.kubelet(limit=1) == 0:
            break
    settle(h)
    rss = replicasets(h)
    assert rss[old_name]["spec"]["replicas"] == 0
    assert len(h.pods()) == 3
    assert {p["spec"]["containers"][0]["image"] for p in h.pods()} == {"nginx:1.27"}
    (new_name,) = [n for n in rss if n != old_name]
    assert scaling_events(h)[1:] == [f"Scaled down replica set {old_name} to 0 from 3",
                                     f"Scaled up replica set {new_name} to 3"]


def test_scaling_without_a_template_change_resizes_the_replicaset():
    h = harness()
    h.admin.create(deployment(3))
    settle(h)
    d = h.get("deployments", "web")
    d["spec"]["replicas"] = 5
    h.admin.update(d)
    settle(h)
    (rs,) = h.list("replicasets")
    assert rs["spec"]["replicas"] == 5
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "5"
    assert len(h.pods()) == 5
    assert scaling_events(h)[-1] == f"Scaled up replica set {rs['metadata']['name']} to 5 from 3"


def test_scaling_during_a_rollout_is_proportional():
    # the example of the Kubernetes documentation: 10 replicas, maxSurge 3, maxUnavailable 2,
    # a rollout to an image that never starts, then a scale to 15
    h = harness()
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    h.admin.create(deployment(10, "nginx:1.26", strategy))
    settle(h)
    set_image(h, "nginx:does-not-exist")
    settle(h)
    by_rev = lambda: sorted(replicasets(h).values(),  # noqa: E731
                            key=lambda r: r["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
    old, new = by_rev()
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (8, 5)
    d = h.get("deployments", "web")
    d["spec"]["replicas"] = 15
    h.admin.update(d)
    settle(h)
    old, new = by_rev()
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (11, 7)


def test_a_paused_deployment_does_not_roll_out_until_resumed():
    h = harness()
    h.admin.create(deployment(2, "nginx:1.26"))
    settle(h)
    d = h.get("deployments", "web")
    d["spec"]["paused"] = True
    h.admin.update(d)
    settle(h)
    set_image(h, "nginx:1.27")
    settle(h)
    assert len(replicasets(h)) == 1
    prog = next(c for c in h.get("deployments", "web")["status"]["conditions"] if c["type"] == "Progressing")
    assert (prog["status"], prog["reason"], prog["message"]) == ("Unknown", "DeploymentPaused",
                                                                 "Deployment is paused")
    d = h.get("deployments", "web")
    d["spec"]["paused"] = False
    h.admin.update(d)
    settle(h)
    assert len(replicasets(h)) == 2
    assert {p["spec"]["containers"][0]["image"] for p in h.pods()} == {"nginx:1.27"}


def test_old_replicasets_beyond_the_revision_history_limit_are_deleted():
    h = harness()
    h.admin.create(deployment(1, "nginx:1.20", revisionHistoryLimit=2))
    settle(h)
    for minor in range(21, 25):
        set_image(h, f"nginx:1.{minor}")
        settle(h)
    rss = replicasets(h)
    revisions = sorted(int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) for r in rss.values())
    assert revisions == [3, 4, 5]  # the live one and two old ones
    images = {r["spec"]["template"]["spec"]["containers"][0]["image"] for r in rss.values()}
    assert images == {"nginx:1.22", "nginx:1.23", "nginx:1.24"}


def test_a_hash_collision_bumps_collision_count_and_picks_another_name():
    h = harness()
    d = deployment(2)
    # an unrelated ReplicaSet already holds the name the Deployment would pick
    h.admin.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": f"web-{pod_template_hash(_defaulted_template(h, d))}",
                                 "namespace": "default"},
                    "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "other"}},
                             "template": {"metadata": {"labels": {"app": "other"}},
                                          "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    h.admin.create(d)
    settle(h)
    st = h.get("deployments", "web")["status"]
    assert st["collisionCount"] == 1
    owned = [r for r in h.list("replicasets") if r["metadata"].get("ownerReferences")]
    (rs,) = owned
    live = h.get("deployments", "web")
    assert rs["metadata"]["name"] == f"web-{pod_template_hash(live['spec']['template'], 1)}"
    assert len(h.pods()) == 2


def _defaulted_template(h, d):
    # the template as the API server stores it (defaults applied), which is what gets hashed
    dry = h.admin.create(d, dry_run=True)
    return dry["spec"]["template"]


def test_adopts_an_orphan_replicaset_with_the_same_template():
    h = harness()
    d = deployment(2)
    tmpl = _defaulted_template(h, d)
    hsh = pod_template_hash(tmpl)
    labels = {"app": "web", "pod-template-hash": hsh}
    h.admin.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": "hand-made", "namespace": "default", "labels": labels},
                    "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                             "template": {**tmpl, "metadata": {"labels": labels}}}})
    settle(h)
    created = h.admin.create(d)
    settle(h)
    (rs,) = h.list("replicasets")
    assert rs["metadata"]["name"] == "hand-made"
    assert rs["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    assert len(h.pods()) == 2


def test_a_second_stuck_rollout_still_reaches_its_progress_deadline():
    # the first deadline check fires while the newer rollout is still young; it must be rescheduled
    c = k8slab.Cluster(workers=1, seed=0)
    c.kubectl("create deployment web --image=nginx:1.26 --replicas=2")
    c.run()
    c.kubectl("set image deployment/web nginx=nginx:9.99")
    c.run(seconds=30)
    c.kubectl("set image deployment/web nginx=nginx:9.98")
    c.run(seconds=590)
    progressing = [x for x in c.get("deployment", "web")["status"]["conditions"] if x["type"] == "Progressing"]
    assert progressing[0]["reason"] == "ReplicaSetUpdated"
    c.run(seconds=60)
    progressing = [x for x in c.get("deployment", "web")["status"]["conditions"] if x["type"] == "Progressing"]
    assert (progressing[0]["status"], progressing[0]["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert c.kubectl("rollout status deployment/web") == 'error: deployment "web" exceeded its progress deadline\n'
