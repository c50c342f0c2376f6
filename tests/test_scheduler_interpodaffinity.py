"""InterPodAffinity: required pod affinity / anti-affinity as a filter, preferred terms as a score.

Most tests use the scheduler harness of ``test_scheduler`` (API server + scheduler,
pods created by hand); the first one runs a whole cluster with a Deployment.
"""

from __future__ import annotations

import numpy as np
from test_scheduler import Harness

import k8slab
from k8slab.controlplane.scheduler.framework import CycleState, PodInfo
from k8slab.controlplane.scheduler.plugins.interpodaffinity import (
    ERR_REASON_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
)

HOST = "kubernetes.io/hostname"
TAINT_REASON = "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector:
              matchLabels: {app: web}
            topologyKey: kubernetes.io/hostname
      containers:
      - name: web
        image: nginx:1.27
"""


def _term(labels, key=HOST, **extra):
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key, **extra}


def required(kind, *terms):
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def preferred(kind, *weighted):
    return {kind: {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": w, "podAffinityTerm": t} for w, t in weighted]}}


def test_required_anti_affinity_spreads_replicas_and_leaves_the_fourth_pending():
    c = k8slab.Cluster(workers=3, seed=0)
    c.apply(DEPLOYMENT)
    c.run()
    pods = c.get("pods", namespace="default")
    assert len(pods) == 4
    running = [p for p in pods if p["status"].get("phase") == "Running"]
    pending = [p for p in pods if p["status"].get("phase") == "Pending"]
    # one replica per worker, never two on one node, none on the tainted control plane
    assert sorted(p["spec"]["nodeName"] for p in running) == ["worker-1", "worker-2", "worker-3"]
    assert len(pending) == 1 and not pending[0]["spec"].get("nodeName")
    name = pending[0]["metadata"]["name"]
    message = (f"0/4 nodes are available: 1 {TAINT_REASON}, 3 {ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH}. "
               "preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, "
               "3 No preemption victims found for incoming pod.")
    events = [e for e in c.get("events", namespace="default")
              if e["involvedObject"]["name"] == name and e["reason"] == "FailedScheduling"]
    assert events and events[-1]["message"] == message
    cond = next(x for x in pending[0]["status"]["conditions"] if x["type"] == "PodScheduled")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", message)
    # explain() names the plugin and its reason for every worker
    ex = c.scheduler.explain(name)
    for w in ("worker-1", "worker-2", "worker-3"):
        row = ex.node(w)
        assert (row.filtered_by, row.reason) == ("InterPodAffinity", ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH)
    assert "✗ InterPodAffinity: node(s) didn't match pod anti-affinity rules" in str(ex)
    # a fourth worker joins: the pending replica goes there
    c.add_node("worker-4")
    c.run()
    assert c.get("pod", name)["spec"].get("nodeName") == "worker-4"


def test_required_affinity_colocates_with_the_target_pod():
    h = Harness()
    h.add_pod("cache", labels={"app": "cache"}, nodeSelector={HOST: "worker-2"})
    h.run()
    for i in range(3):
        h.add_pod(f"web-{i}", labels={"app": "web"}, affinity=required("podAffinity", _term({"app": "cache"})))
    h.run()
    assert {h.node_of(f"web-{i}") for i in range(3)} == {"worker-2"}
    row = h.scheduler.explain("web-0").node("worker-1")
    assert (row.filtered_by, row.reason) == ("InterPodAffinity", ERR_REASON_AFFINITY_RULES_NOT_MATCH)


def test_affinity_pod_waits_for_its_target_then_follows_it():
    h = Harness()
    h.add_pod("web", labels={"app": "web"}, affinity=required("podAffinity", _term({"app": "cache"})))
    h.run()
    assert h.node_of("web") is None
    cond = h.condition("web")
    # Unresolvable: preemption cannot create a matching pod
    assert cond["message"] == (f"0/4 nodes are available: 1 {TAINT_REASON}, 3 {ERR_REASON_AFFINITY_RULES_NOT_MATCH}. "
                               "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
    h.add_pod("cache", labels={"app": "cache"}, nodeSelector={HOST: "worker-3"})
    h.run(seconds=5)  # AssignedPodAdded moves it at once, long before the 5-minute flush
    assert h.node_of("web") == "worker-3"


def test_first_pod_of_a_self_affine_group_may_go_anywhere_and_the_rest_follow():
    h = Harness()
    aff = required("podAffinity", _term({"app": "db"}))
    for i in range(3):
        h.add_pod(f"db-{i}", labels={"app": "db"}, affinity=aff)
        h.run()
    nodes = {h.node_of(f"db-{i}") for i in range(3)}
    assert len(nodes) == 1 and nodes <= {"worker-1", "worker-2", "worker-3"}
    # a pod whose affinity does not select itself gets no such pass
    h.add_pod("lonely", labels={"app": "other"}, affinity=required("podAffinity", _term({"app": "nothing"})))
    h.run()
    assert h.node_of("lonely") is None


def test_missing_topology_label_fails_affinity_on_that_node():
    h = Harness()
    h.add_node("zoned", labels={"topology.kubernetes.io/zone": "a"})
    h.run()
    h.add_pod("z", labels={"app": "z"}, affinity=required("podAffinity", _term({"app": "z"},
                                                                            "topology.kubernetes.io/zone")))
    h.run()
    assert h.node_of("z") == "zoned"  # the only node with the topology label


def _two_targets(h):
    h.add_pod("db", labels={"app": "db"}, nodeSelector={HOST: "worker-1"})
    h.add_pod("cache", labels={"app": "cache"}, nodeSelector={HOST: "worker-2"})
    h.run()


def test_preferred_weights_pick_the_winner():
    for w_db, w_cache, winner in ((10, 80, "worker-2"), (80, 10, "worker-1")):
        h = Harness()
        _two_targets(h)
        h.add_pod("app", affinity=preferred("podAffinity", (w_db, _term({"app": "db"})),
                                            (w_cache, _term({"app": "cache"}))))
        h.run()
        assert h.node_of("app") == winner
        ex = h.scheduler.explain("app")
        raw = {n: ex.node(n).scores["InterPodAffinity"].raw for n in ("worker-1", "worker-2", "worker-3")}
        assert raw == {"worker-1": w_db, "worker-2": w_cache, "worker-3": 0}
        top = max(w_db, w_cache)
        norm = {n: ex.node(n).scores["InterPodAffinity"].score for n in raw}
        # (score - min) / (max - min) * 100, truncated
        assert norm == {n: int(100 * (raw[n] / top)) for n in raw}
        assert ex.node(winner).scores["InterPodAffinity"].weighted == 200
        assert "InterPodAffinity×2" in str(ex)


def test_preferred_anti_affinity_and_existing_pods_preferences_count():
    h = Harness()
    _two_targets(h)
    # anti-affinity to db: worker-1 scores lowest
    h.add_pod("a", affinity=preferred("podAntiAffinity", (50, _term({"app": "db"}))))
    h.run()
    ex = h.scheduler.explain("a")
    assert ex.node("worker-1").scores["InterPodAffinity"].raw == -50
    assert ex.node("worker-1").scores["InterPodAffinity"].score == 0
    assert ex.node("worker-2").scores["InterPodAffinity"].score == 100
    assert h.node_of("a") != "worker-1"
    # symmetric: an existing pod that prefers pods labelled role=friend pulls such a newcomer
    h.add_pod("host", labels={"app": "host"}, nodeSelector={HOST: "worker-3"},
              affinity=preferred("podAffinity", (30, _term({"role": "friend"}))))
    h.run()
    h.add_pod("friend", labels={"role": "friend"})
    h.run()
    ex = h.scheduler.explain("friend")
    assert ex.node("worker-3").scores["InterPodAffinity"].raw == 30
    assert h.node_of("friend") == "worker-3"


def test_existing_pod_anti_affinity_blocks_the_newcomer():
    h = Harness()
    h.add_pod("loner", labels={"app": "loner"}, nodeSelector={HOST: "worker-1"},
              affinity=required("podAntiAffinity", _term({"app": "noisy"})))
    h.run()
    assert h.node_of("loner") == "worker-1"
    # the newcomer has no affinity of its own, yet worker-1 is closed to it
    h.add_pod("noisy", labels={"app": "noisy"}, nodeSelector={HOST: "worker-1"})
    h.run()
    assert h.node_of("noisy") is None
    msg = h.condition("noisy")["message"]
    assert msg.startswith(f"0/4 nodes are available: 1 {ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH}, "
                          f"1 {TAINT_REASON}, 2 node(s) didn't match Pod's node affinity/selector.")
    row = h.scheduler.explain("noisy").node("worker-1")
    assert (row.filtered_by, row.reason) == ("InterPodAffinity", ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH)
    # while the loner terminates (no kubelet here to finish it) its anti-affinity still holds
    h.admin.delete("pods", "loner", "default")
    h.run(seconds=5)
    assert h.pod("loner")["metadata"].get("deletionTimestamp")
    assert h.node_of("noisy") is None
    # once it is gone the newcomer is retried (AssignedPodDelete) and fits
    h.admin.delete("pods", "loner", "default", grace_period_seconds=0, force=True)
    h.run(seconds=5)
    assert h.node_of("noisy") == "worker-1"


def test_namespace_selector_chooses_the_namespaces_that_count():
    h = Harness()
    h.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "labels": {"team": "a"}}})
    h.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}})
    h.add_pod("db", namespace="team-b", labels={"app": "db"}, nodeSelector={HOST: "worker-1"})
    h.add_pod("db", namespace="team-a", labels={"app": "db"}, nodeSelector={HOST: "worker-2"})
    h.run()
    # affinity to app=db in namespaces labelled team=a only: worker-2, not worker-1
    h.add_pod("near", affinity=required("podAffinity",
                                        _term({"app": "db"}, namespaceSelector={"matchLabels": {"team": "a"}})))
    # anti-affinity to app=db in every namespace ({}): neither worker-1 nor worker-2
    h.add_pod("far", affinity=required("podAntiAffinity", _term({"app": "db"}, namespaceSelector={})))
    # without namespaces or namespaceSelector only the pod's own namespace counts: no db in default
    h.add_pod("own", affinity=required("podAffinity", _term({"app": "db"})))
    h.run()
    assert h.node_of("near") == "worker-2"
    assert h.node_of("far") == "worker-3"
    assert h.node_of("own") is None
    # an existing pod's term with a namespaceSelector is matched against the newcomer's namespace labels
    h.add_pod("guard", namespace="team-b", labels={"app": "guard"}, nodeSelector={HOST: "worker-3"},
              affinity=required("podAntiAffinity", _term({"app": "x"}, namespaceSelector={
                  "matchLabels": {"team": "a"}})))
    h.run()
    h.add_pod("x", namespace="team-a", labels={"app": "x"}, nodeSelector={HOST: "worker-3"})
    h.add_pod("x", namespace="default", labels={"app": "x"}, nodeSelector={HOST: "worker-3"})
    h.run()
    assert h.admin.get("pods", "x", "team-a")["spec"].get("nodeName") is None
    assert h.admin.get("pods", "x", "default")["spec"].get("nodeName") == "worker-3"


def test_preemption_can_evict_a_lower_priority_pod_that_repels():
    h = Harness(workers=1)
    h.admin.create({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"},
                    "value": 1000})
    h.add_pod("low", labels={"app": "web"}, nodeSelector={HOST: "worker-1"})
    h.run()
    # priority given with its class (what the Priority admission plugin would compute from it)
    h.add_pod("high", labels={"app": "web"}, priorityClassName="high", priority=1000,
              affinity=required("podAntiAffinity", _term({"app": "web"})))
    h.run()
    # the dry run removed "low" and the anti-affinity was satisfied: low is the victim
    assert h.pod("low")["metadata"].get("deletionTimestamp")
    assert any(e["reason"] == "Preempted" for e in h.events("low"))
    assert h.pod("high")["status"].get("nominatedNodeName") == "worker-1"
    assert h.node_of("high") is None  # it waits while the victim terminates (no kubelet here)
    h.admin.delete("pods", "low", "default", grace_period_seconds=0, force=True)
    h.run(seconds=5)
    assert h.node_of("high") == "worker-1"


def test_vectorised_filter_and_score_match_the_per_node_reference():
    h = Harness()
    h.add_node("zoned", labels={"topology.kubernetes.io/zone": "a"})
    h.add_pod("db", labels={"app": "db"}, nodeSelector={HOST: "worker-1"},
              affinity=preferred("podAffinity", (7, _term({"app": "x"}))))
    h.add_pod("guard", labels={"app": "guard"}, nodeSelector={HOST: "worker-2"},
              affinity=required("podAntiAffinity", _term({"app": "x"})))
    h.run()
    obj = h.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "x", "namespace": "default", "labels": {"app": "x"}}, "spec": {
        "schedulerName": "nobody", "containers": [{"name": "c", "image": "nginx"}],
        "affinity": {**preferred("podAffinity", (5, _term({"app": "db"}))),
                     **required("podAntiAffinity", _term({"app": "x"}, "topology.kubernetes.io/zone"))}}})
    h.run()
    s, pod = h.scheduler, PodInfo(obj)
    plugin = s.framework.plugin("InterPodAffinity")
    state = CycleState()
    assert plugin.pre_filter(state, pod) is None
    rej = plugin.filter_nodes(state, pod, s.cache)
    verdicts = {}
    for slot in s.cache.order:
        node = s.cache.node_info(int(slot))
        ref = plugin.filter(state, pod, node)
        got = rej.status_of(int(slot))
        assert (None if ref is None else ref.reasons) == (None if got is None else got.reasons), node.name
        verdicts[node.name] = None if got is None else got.reasons[0]
    assert verdicts["worker-2"] == ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH
    slots = s.cache.order
    assert plugin.pre_score(state, pod, slots) is None
    raw = plugin.score_nodes(state, pod, s.cache, slots)
    ref = np.array([plugin.score(state, pod, s.cache.node_info(int(x))) for x in slots])
    assert raw.tolist() == ref.tolist()
    by_name = dict(zip((s.cache.names[int(x)] for x in slots), raw.tolist(), strict=True))
    assert by_name["worker-1"] == 5 + 7  # its own preference for db, db's preference for app=x


def test_no_affinity_anywhere_costs_nothing():
    h = Harness()
    h.add_pod("plain")
    h.run()
    state = CycleState()
    plugin = h.scheduler.framework.plugin("InterPodAffinity")
    info = PodInfo(h.pod("plain"))
    assert plugin.pre_filter(state, info).code == "Skip"
    assert plugin.pre_score(state, info, h.scheduler.cache.order).code == "Skip"
