"""The ReplicaSet controller on its own: an API server, a controller manager, and us as the kubelet."""

import re

from k8slab.api import errors
from k8slab.api.objects import is_pod_ready
from k8slab.apiserver import APIServer
from k8slab.controlplane.manager import ControllerManager
from k8slab.controlplane.replicaset import (
    BURST_REPLICAS,
    ReplicaSetController,
    pods_to_delete,
    slow_start_batch,
)
from k8slab.etcd import Etcd
from k8slab.sim import EventLoop, Randomness, Trace
from k8slab.sim.loop import timestamp

SUFFIX = "[bcdfghjklmnpqrstvwxz2456789]{5}"


class Harness:
    """A control plane without nodes: the test plays kubelet and scheduler by hand."""

    def __init__(self, controllers, seed=0, watch_latency=0.001, events=True):
        self.loop = EventLoop()
        self.rng = Randomness(seed)
        self.trace = Trace()
        self.api = APIServer(Etcd(), self.loop, self.trace, self.rng, watch_latency=watch_latency)
        self.admin = self.api.client("kubectl")
        for ns in ("default", "kube-system"):
            self.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        self.cm = ControllerManager(self.api, self.loop, self.rng, controllers, events=events)
        self.cm.start()

    def run(self, seconds=None, max_events=50_000):
        if seconds is None:
            # like run_until_settled, but a runaway controller fails the test instead of hanging it
            for _ in range(max_events):
                if self.loop.settled() or self.loop.step() is None:
                    return self
            raise AssertionError(f"not settled after {max_events} events")
        else:
            self.loop.run_until(self.loop.now + seconds)
        return self

    def list(self, resource, ns="default", selector=None):
        return self.admin.list(resource, ns, label_selector=selector)["items"]

    def get(self, resource, name, ns="default"):
        return self.admin.get(resource, name, ns)

    def pods(self, selector=None, live=True):
        pods = self.list("pods", selector=selector)
        if live:
            pods = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        return pods

    def bind(self, pod, node):
        self.admin.bind(pod, node)

    def set_running(self, pod, ready=True, restarts=0, ready_at=None):
        """What a kubelet would report: Running, and Ready or not."""
        p = self.get("pods", pod["metadata"]["name"])
        t = timestamp(self.loop.now if ready_at is None else ready_at)
        p["status"]["phase"] = "Running"
        p["status"]["conditions"] = [c for c in p["status"].get("conditions", []) if c["type"] != "Ready"] + [
            {"type": "Ready", "status": "True" if ready else "False", "lastProbeTime": None,
             "lastTransitionTime": t}]
        p["status"]["containerStatuses"] = [{"name": "c", "restartCount": restarts, "ready": ready}]
        return self.admin.update_status(p)

    def kubelet(self, limit=None, node="worker-1", stuck_image="does-not-exist"):
        """Play every kubelet at once: finish graceful deletions, start and ready new pods.

        ``limit`` bounds how many pods change, to walk a rollout through small steps;
        pods whose image contains ``stuck_image`` never become ready. Returns the changes made.
        """
        n = 0
        for p in sorted(self.list("pods"), key=lambda p: p["metadata"]["name"]):
            if limit is not None and n >= limit:
                break
            m = p["metadata"]
            if m.get("deletionTimestamp"):
                self.admin.delete("pods", m["name"], "default", grace_period_seconds=0)
                n += 1
            elif not is_pod_ready(p) and stuck_image not in p["spec"]["containers"][0]["image"]:
                if not p["spec"].get("nodeName"):
                    self.bind(p, node)
                self.set_running(p)
                n += 1
        return n

    def events(self, reason=None):
        evs = self.list("events")
        return [e for e in evs if reason is None or e["reason"] == reason]

    def requests(self, actor, verb, resource):
        return [e for e in self.trace if e.type == "request" and e.actor == actor and e.verb == verb
                and e.resource == resource and e.code < 400]


def replicaset(name="web-abc", replicas=3, labels=None, min_ready=0):
    labels = labels or {"app": "web"}
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": dict(labels)},
        "template": {"metadata": {"labels": dict(labels)},
                     "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}},
    }
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


def bare_pod(name, labels, node=None):
    spec = {"containers": [{"name": "c", "image": "nginx:1.27"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": spec}


def test_creates_replicas_with_generated_names_owner_references_and_events():
    h = Harness([ReplicaSetController])
    rs = h.admin.create(replicaset("web-7d8b9c6f5", 3))
    h.run()
    pods = h.pods()
    assert len(pods) == 3
    for p in pods:
        m = p["metadata"]
        assert re.fullmatch(rf"web-7d8b9c6f5-{SUFFIX}", m["name"]), m["name"]
        assert m["generateName"] == "web-7d8b9c6f5-"
        assert m["labels"] == {"app": "web"}
        (ref,) = m["ownerReferences"]
        assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d8b9c6f5",
                       "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    created = sorted(e["message"] for e in h.events("SuccessfulCreate"))
    assert created == sorted(f"Created pod: {p['metadata']['name']}" for p in pods)
    assert all(e["source"]["component"] == "replicaset-controller" for e in h.events("SuccessfulCreate"))
    status = h.get("replicasets", "web-7d8b9c6f5")["status"]
    assert status == {"replicas": 3, "fullyLabeledReplicas": 3, "observedGeneration": 1}


def test_status_counts_ready_and_available_pods_honouring_min_ready_seconds():
    h = Harness([ReplicaSetController])
    h.admin.create(replicaset(replicas=2, min_ready=10))
    h.run()
    for p in h.pods():
        h.bind(p, "worker-1")
        h.set_running(p)
    h.run(seconds=1)
    st = h.get("replicasets", "web-abc")["status"]
    assert (st.get("readyReplicas"), st.get("availableReplicas", 0)) == (2, 0)
    h.run()  # the controller requeues itself to notice availability after minReadySeconds
    st = h.get("replicasets", "web-abc")["status"]
    assert (st["readyReplicas"], st["availableReplicas"]) == (2, 2)
    assert h.loop.now >= 10


def test_slow_start_creates_in_doubling_batches_and_stops_after_a_failed_batch():
    calls = []

    def fn():
        calls.append(len(calls))
        if len(calls) == 5:
            raise errors.Forbidden('pods "x" is forbidden: exceeded quota')

    successes, err = slow_start_batch(20, 1, fn)
    # batches of 1, 2, then 4 (whose 2nd call fails): 7 attempts, 6 successes, no 4th batch
    assert len(calls) == 7
    assert successes == 6
    assert isinstance(err, errors.Forbidden)


def test_burst_limits_creations_per_sync():
    h = Harness([ReplicaSetController], events=False)
    h.admin.create(replicaset(replicas=BURST_REPLICAS + 20))
    h.run()
    assert len(h.pods()) == BURST_REPLICAS + 20
    creates = h.requests("replicaset-controller", "create", "pods")
    assert len(creates) == BURST_REPLICAS + 20
    # one sync is one instant of virtual time: the first stopped at the burst limit
    first = [e for e in creates if e.time == creates[0].time]
    assert len(first) == BURST_REPLICAS


def test_expectations_prevent_over_creation_while_the_cache_lags():
    # A slow watch: the controller's cache learns of its own pods only 2 s after it created them.
    h = Harness([ReplicaSetController], watch_latency=2.0)
    h.admin.create(replicaset(replicas=4))
    h.run(seconds=2.5)  # the RS has arrived, the controller created 4 pods: none is in its cache yet
    ctrl = h.cm.controllers["replicaset-controller"]
    assert len(h.pods()) == 4
    # more wake-ups while blind (as status writes and resyncs would cause)
    for _ in range(3):
        ctrl.queue.add("default/web-abc")
        h.run(seconds=0.1)
    h.run()
    assert len(h.pods()) == 4
    assert len(h.requests("replicaset-controller", "create", "pods")) == 4


def test_without_expectations_the_same_lag_would_over_create():
    # The control experiment for the test above: it shows what expectations guard against.
    h = Harness([ReplicaSetController], watch_latency=2.0)
    ctrl = h.cm.controllers["replicaset-controller"]
    ctrl.expectations.satisfied = lambda key: True
    h.admin.create(replicaset(replicas=4))
    h.run(seconds=2.5)
    ctrl.queue.add("default/web-abc")
    h.run(seconds=0.1)
    assert len(h.pods()) > 4


def test_scale_down_deletes_the_least_useful_pods_first():
    h = Harness([ReplicaSetController])
    h.admin.create(replicaset(replicas=5))
    h.run()
    pods = sorted(h.pods(), key=lambda p: p["metadata"]["name"])
    unscheduled, pending, not_ready, restarted, healthy = pods
    h.bind(pending, "worker-1")
    for p in (not_ready, restarted, healthy):
        h.bind(p, "worker-2" if p is healthy else "worker-1")
    h.set_running(not_ready, ready=False)
    h.set_running(restarted, restarts=3)
    h.set_running(healthy)
    h.run()
    rs = h.get("replicasets", "web-abc")
    rs["spec"]["replicas"] = 1
    h.admin.update(rs)
    h.run()
    names = {p["metadata"]["name"] for p in h.pods()}
    assert names == {healthy["metadata"]["name"]}
    deleted = [e["message"] for e in h.events("SuccessfulDelete")]
    assert sorted(deleted) == sorted(f"Deleted pod: {p['metadata']['name']}"
                                     for p in (unscheduled, pending, not_ready, restarted))


def test_victim_order_follows_active_pods_with_ranks():
    def pod(name, node="n1", phase="Running", ready=True, ready_at=0.0, restarts=0, created=0.0, cost=None):
        p = {"metadata": {"name": name, "uid": name, "creationTimestamp": timestamp(created)},
             "spec": {"nodeName": node},
             "status": {"phase": phase, "containerStatuses": [{"restartCount": restarts}],
                        "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                        "lastTransitionTime": timestamp(ready_at)}]}}
        if cost is not None:
            p["metadata"]["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
        return p

    old = pod("old", ready_at=10, created=5)
    young = pod("young", ready_at=990, created=980)
    crashy = pod("crashy", ready_at=10, created=5, restarts=4)
    precious = pod("precious", ready_at=990, created=980, cost=100)
    unready = pod("unready", ready=False)
    pods = [old, young, crashy, precious, unready]
    order = [p["metadata"]["name"] for p in pods_to_delete(pods, pods, 4, now=1000.0)]
    assert order == ["unready", "young", "crashy", "old"]
    # a pod crowded with its siblings on one node goes before a lonely one
    a, b, c = pod("a", node="n1"), pod("b", node="n1"), pod("c", node="n2")
    assert [p["metadata"]["name"] for p in pods_to_delete([c, a], [a, b, c], 1, now=1000.0)] == ["a"]


def test_replaces_a_deleted_pod_and_records_the_replacement():
    h = Harness([ReplicaSetController])
    h.admin.create(replicaset(replicas=2))
    h.run()
    victim = h.pods()[0]["metadata"]["name"]
    h.admin.delete("pods", victim, "default")
    h.run()
    names = {p["metadata"]["name"] for p in h.pods()}
    assert len(names) == 2 and victim not in names
    assert len(h.events("SuccessfulCreate")) == 3


def test_adopts_matching_orphans_instead_of_creating_new_pods():
    h = Harness([ReplicaSetController])
    h.admin.create(bare_pod("stray-1", {"app": "web"}))
    h.admin.create(bare_pod("other", {"app": "db"}))
    rs = h.admin.create(replicaset(replicas=2))
    h.run()
    pods = {p["metadata"]["name"]: p for p in h.pods()}
    assert len(pods) == 3  # stray-1 adopted, one new pod, "other" untouched
    (ref,) = pods["stray-1"]["metadata"]["ownerReferences"]
    assert ref["uid"] == rs["metadata"]["uid"] and ref["controller"] is True
    assert "ownerReferences" not in pods["other"]["metadata"]
    assert len(h.requests("replicaset-controller", "create", "pods")) == 1


def test_releases_a_pod_whose_labels_no_longer_match_and_replaces_it():
    h = Harness([ReplicaSetController])
    h.admin.create(replicaset(replicas=2))
    h.run()
    pod = h.pods()[0]
    name = pod["metadata"]["name"]
    h.admin.patch("pods", name, {"metadata": {"labels": {"app": "debug"}}}, "default")
    h.run()
    released = h.get("pods", name)
    assert "ownerReferences" not in released["metadata"]  # no empty list left behind
    owned = h.pods(selector="app=web")
    assert len(owned) == 2 and name not in {p["metadata"]["name"] for p in owned}


def test_failed_creation_is_reported_as_event_and_condition():
    h = Harness([ReplicaSetController])

    from k8slab.apiserver.admission import FunctionAdmission

    quota = FunctionAdmission("quota", lambda req, obj, old: "exceeded quota: compute" if old is None else None,
                              mutating=False, kinds={"Pod"})
    h.api.validating.append(quota)
    h.admin.create(replicaset(replicas=3))
    h.run(seconds=1)
    (ev, *_) = h.events("FailedCreate")
    assert ev["type"] == "Warning" and ev["message"].startswith("Error creating: ")
    assert "exceeded quota: compute" in ev["message"]
    cond = h.get("replicasets", "web-abc")["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("ReplicaFailure", "True", "FailedCreate")
    h.api.validating.remove(quota)
    h.run()
    assert len(h.pods()) == 3
    assert "conditions" not in h.get("replicasets", "web-abc")["status"]


def test_incremental_status_matches_a_full_recount_through_random_churn():
    import random

    from k8slab.controlplane.replicaset import calculate_status, is_pod_active

    rnd = random.Random(7)
    h = Harness([ReplicaSetController], events=False)
    h.admin.create(replicaset(replicas=12, min_ready=0))
    h.run()
    for _round in range(25):
        pods = h.pods()
        for p in rnd.sample(pods, k=min(4, len(pods))):
            name = p["metadata"]["name"]
            action = rnd.choice(["ready", "unready", "relabel", "release", "delete", "bind"])
            if action == "ready":
                h.set_running(p)
            elif action == "unready":
                h.set_running(p, ready=False)
            elif action == "relabel":
                h.admin.patch("pods", name, {"metadata": {"labels": {"app": "web", "extra": "x"}}}, "default")
            elif action == "release":
                h.admin.patch("pods", name, {"metadata": {"labels": {"app": "gone"}}}, "default")
            elif action == "delete":
                h.admin.delete("pods", name, "default")
            elif not p["spec"].get("nodeName"):
                h.bind(p, "worker-1")
        if _round % 5 == 4:
            rs = h.get("replicasets", "web-abc")
            rs["spec"]["replicas"] = rnd.randint(5, 15)
            h.admin.update(rs)
        h.run()
        rs = h.get("replicasets", "web-abc")
        owned = [p for p in h.list("pods") if is_pod_active(p)
                 and p["metadata"].get("ownerReferences", [{}])[0].get("uid") == rs["metadata"]["uid"]]
        expected = calculate_status(rs, owned, None, h.loop.now)
        got = rs["status"]
        assert {k: got.get(k, 0) for k in ("replicas", "fullyLabeledReplicas", "readyReplicas",
                                           "availableReplicas")} == \
               {k: expected.get(k, 0) for k in ("replicas", "fullyLabeledReplicas", "readyReplicas",
                                                "availableReplicas")}
        assert got["replicas"] == rs["spec"]["replicas"]
