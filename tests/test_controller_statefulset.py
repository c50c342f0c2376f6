"""The StatefulSet controller in a whole cluster: ordered pods, their claims, rolling updates."""

import re

import pytest

from k8slab import Cluster
from k8slab.api.objects import is_pod_ready
from k8slab.controlplane.history import (
    CONTROLLER_REVISION_HASH_LABEL,
    POD_REVISION_LABEL,
    hash_controller_revision,
    template_patch,
)
from k8slab.controlplane.manager import ControllerManager
from k8slab.controlplane.statefulset import (
    StatefulSetController,
    claim_owner_matches,
    new_versioned_pod,
    parent_and_ordinal,
)
from k8slab.controlplane.volume import PersistentVolumeController

REVISION = re.compile(r"^web-[4-9bcdf]{1,10}$")
MAX_EVENTS = 20_000


def statefulset(replicas=3, image="nginx:1.26", policy=None, strategy=None, claims=True, **spec):
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "serviceName": "web",
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "nginx", "image": image}]}},
            **spec,
        },
    }
    if claims:
        sts["spec"]["volumeClaimTemplates"] = [{
            "metadata": {"name": "www"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    if policy:
        sts["spec"]["podManagementPolicy"] = policy
    if strategy:
        sts["spec"]["updateStrategy"] = strategy
    return sts


def persistent_volumes(n):
    """Volumes an administrator made in advance (static provisioning), one per claim to come."""
    return [{"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"pv-{i}"},
             "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                      "hostPath": {"path": f"/data/pv-{i}"}}} for i in range(n)]


class Controllers:
    """The controllers under test, wherever they run, and their failures."""

    def __init__(self, c, names):
        self.managers = [c.controller_manager]
        self.names = names

    @property
    def failures(self):
        return [f for m in self.managers for f in m.failures if f.controller in self.names]


def start(**kw):
    c = Cluster(workers=3, seed=0)
    wanted = [StatefulSetController]
    if PersistentVolumeController.name not in c.controllers:
        # the kubelet mounts only a Bound claim: something must bind the claims to volumes
        wanted.append(PersistentVolumeController)
        c.apply(persistent_volumes(6))
    cm = Controllers(c, [cls.name for cls in wanted])
    # (once the cluster runs a controller by default, the test does not start a second copy)
    extra = [cls for cls in wanted if cls.name not in c.controllers]
    if extra:
        manager = ControllerManager(c.api, c.loop, c.rng, extra)
        manager.start()
        cm.managers.append(manager)
    c.apply(statefulset(**kw))
    return c, cm


def pods(c):
    """The StatefulSet's pods by name."""
    return {p["metadata"]["name"]: p for p in c.get("pods", selector="app=web")}


def running_and_ready(pod):
    return pod is not None and pod["status"].get("phase") == "Running" and is_pod_ready(pod)


def sts_events(c, reason=None):
    evs = [e for e in c.get("events") if e["involvedObject"]["kind"] == "StatefulSet"
           and (reason is None or e["reason"] == reason)]
    return [e["message"] for e in sorted(evs, key=lambda e: e["metadata"]["name"])]


def event_counts(c):
    return {e["message"]: e["count"] for e in c.get("events") if e["involvedObject"]["kind"] == "StatefulSet"}


def step_until(c, done, check=None, max_events=MAX_EVENTS):
    """Run one event at a time, calling ``check(pods)`` after each, until ``done(pods)``."""
    for _ in range(max_events):
        if c.step() is None:
            break
        now = pods(c)
        if check is not None:
            check(now)
        if done(now):
            return now
    raise AssertionError(f"not done after {max_events} events: {sorted(pods(c))}")


def all_ready(n):
    return lambda ps: len(ps) == n and all(running_and_ready(p) and not p["metadata"].get("deletionTimestamp")
                                           for p in ps.values())


def set_image(c, image):
    c.admin.patch("statefulsets", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "nginx", "image": image}]}}}}, "default", patch_type="strategic")


def test_pod_names_parse_to_parent_and_ordinal():
    assert parent_and_ordinal("web-0") == ("web", 0)
    assert parent_and_ordinal("my-db-12") == ("my-db", 12)
    assert parent_and_ordinal("web") == ("", -1)
    assert parent_and_ordinal("web-99999999999") == ("web", -1)


def test_ordered_ready_creates_each_pod_only_once_the_previous_one_is_running_and_ready():
    c, cm = start()
    created, waited = [], []

    def check(ps):
        for name in ps:
            if name not in created:
                created.append(name)
        for i in range(1, 3):
            if f"web-{i}" in ps:
                # never the next ordinal before every lower one is Running and Ready
                for j in range(i):
                    assert running_and_ready(ps.get(f"web-{j}")), f"web-{i} exists but web-{j} is not ready"
        if "web-0" in ps and not running_and_ready(ps["web-0"]) and "web-1" not in ps:
            waited.append(c.now)

    final = step_until(c, all_ready(3), check)
    assert created == ["web-0", "web-1", "web-2"]
    assert waited, "web-0 was never seen waiting to be Ready"
    assert sts_events(c, "SuccessfulCreate") == [
        "create Claim www-web-0 Pod web-0 in StatefulSet web success",
        "create Pod web-0 in StatefulSet web successful",
        "create Claim www-web-1 Pod web-1 in StatefulSet web success",
        "create Pod web-1 in StatefulSet web successful",
        "create Claim www-web-2 Pod web-2 in StatefulSet web success",
        "create Pod web-2 in StatefulSet web successful",
    ]
    revision = final["web-0"]["metadata"]["labels"][POD_REVISION_LABEL]
    assert REVISION.match(revision)
    for i in range(3):
        p = final[f"web-{i}"]
        assert p["metadata"]["labels"] == {"app": "web", "apps.kubernetes.io/pod-index": str(i),
                                           POD_REVISION_LABEL: revision,
                                           "statefulset.kubernetes.io/pod-name": f"web-{i}"}
        assert p["spec"]["hostname"] == f"web-{i}" and p["spec"]["subdomain"] == "web"
        assert p["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
        assert p["metadata"]["generateName"] == "web-"
    c.run()
    assert cm.failures == []


def test_status_counts_replicas_and_names_the_revisions():
    c, cm = start()
    c.run()
    sts = c.get("statefulsets", "web")
    rev = c.get("controllerrevisions")
    assert [r["metadata"]["name"] for r in rev] == [sts["status"]["currentRevision"]]
    assert rev[0]["revision"] == 1
    assert rev[0]["metadata"]["labels"] == {"app": "web",
                                            CONTROLLER_REVISION_HASH_LABEL: rev[0]["metadata"]["name"][4:]}
    assert rev[0]["data"]["spec"]["template"]["$patch"] == "replace"
    assert sts["status"] == {
        "observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3, "updatedReplicas": 3,
        "currentRevision": rev[0]["metadata"]["name"], "updateRevision": rev[0]["metadata"]["name"],
        "collisionCount": 0, "availableReplicas": 3}
    assert c.kubectl("get sts web").splitlines()[1].split()[:2] == ["web", "3/3"]


def test_scale_down_deletes_from_the_highest_ordinal_one_at_a_time():
    c, cm = start(replicas=4)
    c.run()
    c.admin.patch("statefulsets", "web", {"spec": {"replicas": 1}}, "default")
    deleting = []

    def check(ps):
        terminating = sorted(n for n, p in ps.items() if p["metadata"].get("deletionTimestamp"))
        assert len(terminating) <= 1, f"more than one pod terminating at once: {terminating}"
        for name in terminating:
            if name not in deleting:
                deleting.append(name)
        # a lower ordinal goes only once every higher one is gone
        for name in terminating:
            ordinal = parent_and_ordinal(name)[1]
            assert all(f"web-{k}" not in ps for k in range(ordinal + 1, 4))

    step_until(c, lambda ps: sorted(ps) == ["web-0"], check)
    assert deleting == ["web-3", "web-2", "web-1"]
    assert sts_events(c, "SuccessfulDelete") == [
        "delete Pod web-3 in StatefulSet web successful",
        "delete Pod web-2 in StatefulSet web successful",
        "delete Pod web-1 in StatefulSet web successful",
    ]
    # claims are retained (whenScaled: Retain)
    assert sorted(p["metadata"]["name"] for p in c.get("pvc")) == [f"www-web-{i}" for i in range(4)]
    c.run()
    assert c.get("statefulsets", "web")["status"]["replicas"] == 1


def test_parallel_creates_every_pod_without_waiting():
    c, cm = start(policy="Parallel")
    seen = {}

    def check(ps):
        if len(ps) == 3 and not seen:
            seen["ready_when_all_existed"] = sum(running_and_ready(p) for p in ps.values())
            seen["time"] = c.now

    step_until(c, all_ready(3), check)
    assert seen["ready_when_all_existed"] == 0
    created = [e for e in c.get("events") if e["reason"] == "SuccessfulCreate" and "Pod web" in e["message"]]
    assert len({e["firstTimestamp"] for e in created}) == 1  # all in the same instant
    c.admin.patch("statefulsets", "web", {"spec": {"replicas": 0}}, "default")
    step_until(c, lambda ps: all(p["metadata"].get("deletionTimestamp") for p in ps.values()) or not ps)
    assert sorted(sts_events(c, "SuccessfulDelete")) == [
        f"delete Pod web-{i} in StatefulSet web successful" for i in range(3)]


def test_each_ordinal_keeps_its_claim_and_a_recreated_pod_gets_it_back():
    c, cm = start()
    c.run()
    claims = {p["metadata"]["name"]: p for p in c.get("pvc")}
    assert sorted(claims) == ["www-web-0", "www-web-1", "www-web-2"]
    assert claims["www-web-1"]["metadata"]["labels"] == {"app": "web"}
    assert claims["www-web-1"]["spec"]["resources"] == {"requests": {"storage": "1Gi"}}
    assert "ownerReferences" not in claims["www-web-1"]["metadata"]  # Retain: nobody owns it
    old = c.get("pods", "web-1")
    assert old["spec"]["volumes"][0] == {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}}

    c.admin.delete("pods", "web-1", "default")
    c.run()
    new = c.get("pods", "web-1")
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    assert running_and_ready(new)
    assert new["spec"]["volumes"][0] == {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}}
    after = {p["metadata"]["name"]: p for p in c.get("pvc")}
    assert {n: p["metadata"]["uid"] for n, p in after.items()} == {n: p["metadata"]["uid"]
                                                                   for n, p in claims.items()}
    counts = event_counts(c)
    assert counts["create Claim www-web-1 Pod web-1 in StatefulSet web success"] == 1
    # the recorder folds a repeated event into one with a count, as client-go does
    assert counts["create Pod web-1 in StatefulSet web successful"] == 2


def test_a_failed_pod_is_deleted_and_made_again_under_the_same_name():
    c, cm = start(claims=False)
    c.run()
    pod = c.get("pods", "web-2")
    pod["status"]["phase"] = "Failed"
    c.admin.update_status(pod)
    c.run()
    again = c.get("pods", "web-2")
    assert again["metadata"]["uid"] != pod["metadata"]["uid"] and running_and_ready(again)
    assert sts_events(c)[-1] == "delete Pod web-2 in StatefulSet web successful"
    assert event_counts(c)["create Pod web-2 in StatefulSet web successful"] == 2


def test_rolling_update_replaces_pods_in_reverse_order_each_once_the_previous_is_ready():
    c, cm = start(claims=False)
    c.run()
    old_rev = c.get("statefulsets", "web")["status"]["currentRevision"]
    set_image(c, "nginx:1.27")
    deleted = []

    def check(ps):
        for name, p in ps.items():
            if p["metadata"].get("deletionTimestamp") and name not in deleted:
                deleted.append(name)
                # every higher ordinal already runs the new template and is Ready
                ordinal = parent_and_ordinal(name)[1]
                for k in range(ordinal + 1, 3):
                    q = ps[f"web-{k}"]
                    assert q["spec"]["containers"][0]["image"] == "nginx:1.27" and running_and_ready(q)
        assert sum(1 for p in ps.values() if not running_and_ready(p) or p["metadata"].get("deletionTimestamp")) <= 1

    final = step_until(c, lambda ps: all_ready(3)(ps) and all(
        p["spec"]["containers"][0]["image"] == "nginx:1.27" for p in ps.values()), check)
    assert deleted == ["web-2", "web-1", "web-0"]
    c.run()
    sts = c.get("statefulsets", "web")
    new_rev = sts["status"]["updateRevision"]
    assert new_rev != old_rev and sts["status"]["currentRevision"] == new_rev
    assert {p["metadata"]["labels"][POD_REVISION_LABEL] for p in final.values()} == {new_rev}
    assert sorted((r["metadata"]["name"], r["revision"]) for r in c.get("controllerrevisions")) == sorted(
        [(old_rev, 1), (new_rev, 2)])
    assert sts["status"]["updatedReplicas"] == 3 and sts["status"]["currentReplicas"] == 3


def test_partition_updates_only_the_ordinals_at_or_above_it():
    c, cm = start(claims=False, strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    c.run()
    old_rev = c.get("statefulsets", "web")["status"]["currentRevision"]
    set_image(c, "nginx:1.27")
    c.run()
    images = {n: p["spec"]["containers"][0]["image"] for n, p in pods(c).items()}
    assert images == {"web-0": "nginx:1.26", "web-1": "nginx:1.26", "web-2": "nginx:1.27"}
    st = c.get("statefulsets", "web")["status"]
    assert st["currentRevision"] == old_rev and st["updateRevision"] != old_rev
    assert (st["currentReplicas"], st["updatedReplicas"]) == (2, 1)
    # a pod below the partition that is deleted comes back at the current revision
    c.admin.delete("pods", "web-0", "default")
    c.run()
    assert pods(c)["web-0"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    c.admin.patch("statefulsets", "web", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}},
                  "default", patch_type="strategic")
    c.run()
    assert {p["spec"]["containers"][0]["image"] for p in pods(c).values()} == {"nginx:1.27"}
    st = c.get("statefulsets", "web")["status"]
    assert st["currentRevision"] == st["updateRevision"] != old_rev


def test_on_delete_replaces_a_pod_only_when_it_is_deleted():
    c, cm = start(claims=False, strategy={"type": "OnDelete"})
    c.run()
    set_image(c, "nginx:1.27")
    c.run()
    assert {p["spec"]["containers"][0]["image"] for p in pods(c).values()} == {"nginx:1.26"}
    c.admin.delete("pods", "web-1", "default")
    c.run()
    images = {n: p["spec"]["containers"][0]["image"] for n, p in pods(c).items()}
    assert images == {"web-0": "nginx:1.26", "web-1": "nginx:1.27", "web-2": "nginx:1.26"}
    st = c.get("statefulsets", "web")["status"]
    assert (st["currentReplicas"], st["updatedReplicas"]) == (2, 1)


def test_going_back_to_an_old_template_reuses_its_revision():
    c, cm = start(claims=False)
    c.run()
    first = c.get("statefulsets", "web")["status"]["currentRevision"]
    set_image(c, "nginx:1.27")
    c.run()
    set_image(c, "nginx:1.26")
    c.run()
    st = c.get("statefulsets", "web")["status"]
    assert st["currentRevision"] == st["updateRevision"] == first
    revs = {r["metadata"]["name"]: r["revision"] for r in c.get("controllerrevisions")}
    assert revs[first] == 3 and len(revs) == 2


def test_revision_history_limit_deletes_the_oldest_unused_revisions():
    c, cm = start(claims=False, revisionHistoryLimit=1)
    c.run()
    for image in ("nginx:1.27", "httpd:2.4", "nginx:1.26-alpine"):
        set_image(c, image)
        c.run()
    revs = sorted((r["revision"], r["metadata"]["name"]) for r in c.get("controllerrevisions"))
    assert [n for n, _ in revs] == [3, 4]
    assert revs[-1][1] == c.get("statefulsets", "web")["status"]["currentRevision"]


@pytest.mark.parametrize("policy, scaled_down_owner, live_owner", [
    ({"whenDeleted": "Retain", "whenScaled": "Retain"}, None, None),
    ({"whenDeleted": "Delete", "whenScaled": "Retain"}, "StatefulSet", "StatefulSet"),
    ({"whenDeleted": "Retain", "whenScaled": "Delete"}, "Pod", None),
    ({"whenDeleted": "Delete", "whenScaled": "Delete"}, "Pod", "StatefulSet"),
])
def test_claim_owners_follow_the_retention_policy(policy, scaled_down_owner, live_owner):
    sts = {"metadata": {"name": "web", "namespace": "default", "uid": "s"},
           "spec": {"replicas": 1, "persistentVolumeClaimRetentionPolicy": policy}}
    kept = {"metadata": {"name": "web-0", "uid": "p0"}}
    condemned = {"metadata": {"name": "web-1", "uid": "p1"}}
    owners = {None: [], "StatefulSet": [{"uid": "s"}], "Pod": [{"uid": "p1"}]}
    live_claim = {"metadata": {"ownerReferences": [{"uid": "s"}] if live_owner else []}}
    assert claim_owner_matches(live_claim, sts, kept)
    down_claim = {"metadata": {"ownerReferences": owners[scaled_down_owner]}}
    assert claim_owner_matches(down_claim, sts, condemned)
    assert not claim_owner_matches({"metadata": {"ownerReferences": [{"uid": "x"}, {"uid": "s"}, {"uid": "p1"}]}},
                                   sts, condemned)


def test_scaled_down_claims_are_deleted_with_when_scaled_delete():
    c, cm = start(replicas=2, persistentVolumeClaimRetentionPolicy={"whenDeleted": "Retain",
                                                                      "whenScaled": "Delete"})
    c.run()
    c.admin.patch("statefulsets", "web", {"spec": {"replicas": 1}}, "default")
    c.run()
    assert sorted(pods(c)) == ["web-0"]
    assert [p["metadata"]["name"] for p in c.get("pvc")] == ["www-web-0"]
    assert cm.failures == []


def test_versioned_pod_keeps_ordinals_below_the_partition_at_the_current_revision():
    sts = statefulset(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}})
    sts["metadata"]["uid"] = "u"
    newer = statefulset(image="nginx:1.27")
    newer["metadata"]["uid"] = "u"
    below = new_versioned_pod(sts, newer, "web-a", "web-b", 0)
    above = new_versioned_pod(sts, newer, "web-a", "web-b", 1)
    assert below["metadata"]["labels"][POD_REVISION_LABEL] == "web-a"
    assert below["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert above["metadata"]["labels"][POD_REVISION_LABEL] == "web-b"
    assert above["spec"]["containers"][0]["image"] == "nginx:1.27"


def test_claims_go_with_the_set_when_deleted_with_when_deleted_delete():
    c, cm = start(replicas=2, persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete",
                                                                      "whenScaled": "Retain"})
    c.run()
    sts_uid = c.get("statefulsets", "web")["metadata"]["uid"]
    for claim in c.get("pvc"):
        assert [(r["kind"], r["uid"], r["controller"]) for r in claim["metadata"]["ownerReferences"]] == [
            ("StatefulSet", sts_uid, True)]
    c.admin.delete("statefulsets", "web", "default")
    c.run()
    assert c.get("pvc") == [] and pods(c) == {}


def test_a_revision_name_taken_by_other_data_bumps_the_collision_count():
    c = Cluster(workers=3, seed=0)
    cm = Controllers(c, [StatefulSetController.name])
    if StatefulSetController.name not in c.controllers:
        manager = ControllerManager(c.api, c.loop, c.rng, [StatefulSetController])
        manager.start()
        cm.managers.append(manager)
    sts = statefulset(claims=False)
    stored = c.admin.create(sts, dry_run=True)  # the template as the API server will default it
    taken = f"web-{hash_controller_revision(template_patch(stored), 0)}"
    c.admin.create({"apiVersion": "apps/v1", "kind": "ControllerRevision",
                    "metadata": {"name": taken, "namespace": "default"},
                    "data": {"something": "else"}, "revision": 7})
    c.apply(sts)
    c.run()
    st = c.get("statefulsets", "web")["status"]
    assert st["collisionCount"] == 1
    assert st["currentRevision"] == f"web-{hash_controller_revision(template_patch(stored), 1)}" != taken
    squatter = c.get("controllerrevisions", taken)
    assert "ownerReferences" not in squatter["metadata"] and squatter["revision"] == 7
    assert {p["metadata"]["labels"][POD_REVISION_LABEL] for p in pods(c).values()} == {st["currentRevision"]}
    assert cm.failures == []
