"""A rolling update never goes past maxSurge, nor below the availability maxUnavailable allows.

The checks watch etcd itself (``c.etcd.watch``), so they see every write the control
plane makes, including two writes made within one sync of the Deployment controller.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import k8slab
from k8slab.api.objects import is_pod_ready
from k8slab.controlplane.rollout import RolloutStrategies, resolve_fenceposts


def deployment(image: str, replicas: int, probe: bool, strategy: tuple | None = None) -> dict:
    container = {"name": "web", "image": image}
    if probe:
        container["readinessProbe"] = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 2}
    spec = {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}}}
    if strategy is not None:
        spec["strategy"] = {"type": "RollingUpdate",
                            "rollingUpdate": {"maxSurge": strategy[0], "maxUnavailable": strategy[1]}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": spec}


class RolloutWatch:
    """Follows the ReplicaSets and pods of Deployment ``web`` at every etcd write.

    ``peak_replicas``: the largest sum of the ReplicaSets' ``spec.replicas``;
    ``peak_pods``: the most pods not being deleted; ``low_available``: the fewest of
    those pods that were Ready.
    """

    def __init__(self, c):
        self.c = c
        self.rss = {kv.key: kv.value for kv in c.etcd.range("/registry/replicasets/default/web-")}
        self.pods = {kv.key: kv.value for kv in c.etcd.range("/registry/pods/default/web-")}
        self.peak_replicas = self.peak_pods = 0
        self.low_available = None
        self.writes = 0
        c.etcd.watch("/registry/replicasets/default/web-", lambda ev: self._seen(self.rss, ev))
        c.etcd.watch("/registry/pods/default/web-", lambda ev: self._seen(self.pods, ev))

    def _seen(self, objects: dict, ev) -> None:
        if ev.type == "DELETE":
            objects.pop(ev.kv.key, None)
        else:
            objects[ev.kv.key] = ev.kv.value
        self.writes += 1
        live = [p for p in self.pods.values() if not p["metadata"].get("deletionTimestamp")]
        available = sum(1 for p in live if is_pod_ready(p))
        self.peak_replicas = max(self.peak_replicas, sum(rs["spec"]["replicas"] for rs in self.rss.values()))
        self.peak_pods = max(self.peak_pods, len(live))
        self.low_available = available if self.low_available is None else min(self.low_available, available)

    def reset(self) -> None:
        self.peak_replicas = self.peak_pods = 0
        self.low_available = None
        self.writes = 0


def roll_out(c, watch: RolloutWatch, image: str, replicas: int, probe: bool, strategy=None) -> None:
    """Apply ``image`` and run to the end, checking the bounds over every write on the way."""
    surge, unavailable = resolve_fenceposts(*(strategy or ("25%", "25%")), replicas)
    watch.reset()
    c.apply(deployment(image, replicas, probe, strategy))
    c.run()
    assert watch.writes > 0
    assert watch.peak_replicas <= replicas + surge, f"ReplicaSets sized {watch.peak_replicas} in all"
    assert watch.peak_pods <= replicas + surge, f"{watch.peak_pods} pods at once"
    assert watch.low_available >= replicas - unavailable, f"only {watch.low_available} pods available"
    # and it finished: every pod runs the new image and is ready
    pods = [p for p in c.get("pods") if p["metadata"]["name"].startswith("web-")]
    assert len(pods) == replicas
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {image}
    assert all(is_pod_ready(p) for p in pods)


def scaling_events(c) -> list[str]:
    events = [e for e in c.get("events") if e.get("reason") == "ScalingReplicaSet"]
    return [e["message"] for e in sorted(events, key=lambda e: (e.get("lastTimestamp") or "", e["metadata"]["name"]))]


def test_the_old_replicaset_is_never_scaled_back_up_during_a_rollout():
    c = k8slab.Cluster(workers=3, seed=0)
    c.apply(deployment("nginx:1.26", 4, probe=True))
    c.run()
    (old,) = [rs["metadata"]["name"] for rs in c.get("replicasets")]
    watch = RolloutWatch(c)
    c.apply(deployment("nginx:1.27", 4, probe=True))
    c.run()
    (new,) = [rs["metadata"]["name"] for rs in c.get("replicasets") if rs["metadata"]["name"] != old]
    messages = scaling_events(c)
    assert not [m for m in messages if m.startswith(f"Scaled up replica set {old} to ") and " from " in m]
    assert not [m for m in messages if m.startswith(f"Scaled down replica set {new} ")]
    # 4 replicas, 25 % surge: 5 at most, and the surge was used
    assert watch.peak_replicas == 5
    assert watch.peak_pods == 5
    assert watch.low_available >= 3
    sizes = {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in c.get("replicasets")}
    assert sizes == {old: 0, new: 4}


class _RecordingController(RolloutStrategies):
    """Just enough of a Deployment controller to see what cleanup asks for."""

    def __init__(self):
        self.asked = []

    def scale_replica_set_and_record_event(self, rs, new_scale, d):
        self.asked.append((rs["metadata"]["name"], new_scale))
        return True, {**rs, "spec": {**rs["spec"], "replicas": new_scale}}


def _rs(name: str, replicas: int, available: int, created: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "creationTimestamp": created,
                         "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": replicas}, "status": {"replicas": available + 1, "availableReplicas": available}}


def test_a_status_that_lags_a_scale_down_is_not_cleaned_up_upwards():
    # just scaled 3 -> 2; the ReplicaSet controller has not reported yet: 3 still available
    old = _rs("web-old", 2, 3, "2025-01-01T00:00:00Z")
    new = _rs("web-new", 3, 2, "2025-01-01T00:01:00Z")
    d = deployment("nginx:1.27", 4, probe=False)
    ctl = _RecordingController()
    assert ctl.reconcile_old_replica_sets([old, new], [old], new, d) is False
    assert ctl.asked == []  # nothing scaled, certainly not web-old back to 3


def test_unhealthy_old_pods_are_still_cleaned_up_first():
    old = _rs("web-old", 3, 1, "2025-01-01T00:00:00Z")
    new = _rs("web-new", 2, 2, "2025-01-01T00:01:00Z")
    d = deployment("nginx:1.27", 4, probe=False)
    ctl = _RecordingController()
    assert ctl.reconcile_old_replica_sets([old, new], [old], new, d) is True
    # 5 pods, 3 must stay available: 2 unready old pods go; 3 available left, no more
    assert ctl.asked == [("web-old", 1)]


@pytest.mark.parametrize("replicas,pre_scale,probe", [(4, (6, 4), False), (6, (), True), (6, (), False)])
def test_rollouts_after_scaling_and_wider_deployments_stay_in_bounds(replicas, pre_scale, probe):
    c = k8slab.Cluster(workers=3, seed=0)
    c.apply(deployment("nginx:1.26", replicas, probe))
    c.run()
    for size in pre_scale:
        c.apply(deployment("nginx:1.26", size, probe))
        c.run()
    watch = RolloutWatch(c)
    roll_out(c, watch, "nginx:1.27", replicas, probe)


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    replicas=st.integers(min_value=2, max_value=6),
    probe=st.booleans(),
    scale_first=st.booleans(),
    strategy=st.sampled_from([None, (1, 0), (0, 1), ("50%", "50%")]),
)
def test_every_step_of_several_rollouts_respects_surge_and_availability(replicas, probe, scale_first, strategy):
    c = k8slab.Cluster(workers=3, seed=0)
    c.apply(deployment("nginx:1.26", replicas, probe, strategy))
    c.run()
    if scale_first:
        c.apply(deployment("nginx:1.26", replicas + 2, probe, strategy))
        c.run()
        c.apply(deployment("nginx:1.26", replicas, probe, strategy))
        c.run()
    watch = RolloutWatch(c)
    roll_out(c, watch, "nginx:1.27", replicas, probe, strategy)
    # back to the first image: the old ReplicaSet becomes the new one again
    roll_out(c, watch, "nginx:1.26", replicas, probe, strategy)
    revisions = sorted(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                       for rs in c.get("replicasets"))
    assert revisions == ["2", "3"]
