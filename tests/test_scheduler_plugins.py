"""The vectorised plugins agree with their per-node reference implementations.

Every built-in plugin has a readable per-node ``filter``/``score`` (what a learner
reads, and what a learner's own plugin implements) and a fast numpy version over
all nodes. Hypothesis builds random clusters and pods and checks both give the
same verdicts, reasons and scores.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scheduler import Harness

from k8slab.controlplane.scheduler.framework import (
    CycleState,
    PodInfo,
    as_status,
    default_normalize,
)
from k8slab.controlplane.scheduler.resources import non_zero_requests, pod_requests
from k8slab.controlplane.scheduler.runtime import fit_error_message

CPUS = ["500m", "1", "2", "4", "7500m"]
MEMS = ["512Mi", "1Gi", "4Gi", "8Gi"]
TAINTS = [
    {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
    {"key": "spot", "value": "true", "effect": "PreferNoSchedule"},
    {"key": "maint", "effect": "NoExecute"},
]
LABELS = [{"disk": "ssd"}, {"disk": "hdd"}, {"zone-ish": "a"}, {}]

node_st = st.fixed_dictionaries({
    "cpu": st.sampled_from(CPUS), "memory": st.sampled_from(MEMS), "pods": st.sampled_from(["3", "110"]),
    "labels": st.sampled_from(LABELS), "taints": st.lists(st.sampled_from(TAINTS), max_size=2, unique_by=str),
    "unschedulable": st.booleans(),
})
req_st = st.fixed_dictionaries({"cpu": st.sampled_from([None, "100m", "700m", "2"]),
                                "memory": st.sampled_from([None, "64Mi", "1Gi", "3Gi"])})
pod_st = st.fixed_dictionaries({
    "req": req_st,
    "selector": st.sampled_from([None, {"disk": "ssd"}]),
    "tolerations": st.sampled_from([[], [{"key": "dedicated", "operator": "Exists"}],
                                    [{"operator": "Exists"}], [{"key": "spot", "operator": "Equal", "value": "true"}]]),
    "preferred": st.booleans(),
    "host_port": st.sampled_from([None, 8080]),
})


def _spec(p: dict) -> dict:
    c = {"name": "app", "image": "nginx:1.27"}
    req = {k: v for k, v in p["req"].items() if v is not None}
    if req:
        c["resources"] = {"requests": req}
    if p["host_port"]:
        c["ports"] = [{"containerPort": 80, "hostPort": p["host_port"]}]
    spec = {"containers": [c], "tolerations": p["tolerations"]}
    if p["selector"]:
        spec["nodeSelector"] = p["selector"]
    if p["preferred"]:
        spec["affinity"] = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 30, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["hdd"]}]}}]}}
    return spec


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes=st.lists(node_st, min_size=1, max_size=6), placed=st.lists(st.tuples(st.integers(0, 5), pod_st), max_size=8),
       pending=pod_st)
def test_vectorised_plugins_match_the_per_node_reference(nodes, placed, pending):
    h = Harness(workers=0)
    for i, n in enumerate(nodes):
        h.add_node(f"n{i}", cpu=n["cpu"], memory=n["memory"], pods=n["pods"], labels=n["labels"], taints=n["taints"],
                   unschedulable=n["unschedulable"])
    h.run()
    obj = h.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "default"},
                          "spec": {**_spec(pending), "schedulerName": "nobody"}})  # evaluated, never bound
    h.run()
    _check(h.scheduler, PodInfo(obj))
    # Place pods one by one and check again: this exercises the incremental (memo) paths.
    for j, (where, p) in enumerate(placed):
        h.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"bound-{j}", "namespace": "default"},
                        "spec": {**_spec(p), "nodeName": f"n{where % len(nodes)}"}})
        h.run()
        _check(h.scheduler, PodInfo(obj))


def _check(s, pod):
    state = CycleState()
    fr = s.framework.run_filters(state, pod)
    cache = s.cache
    for slot in cache.order:
        node = cache.node_info(int(slot))
        expected = None
        for plugin in s.framework.filter_plugins:
            if plugin.name in state.skip_filter:
                continue
            st_ = as_status(plugin.filter(state, pod, node))
            if st_ is not None:
                expected = (plugin.name, st_.reasons)
                break
        got = fr.status_of(int(slot))
        assert (None if got is None else (got[0], got[1].reasons)) == expected, node.name
    feasible = cache.order[fr.feasible[cache.order]]
    if len(feasible) == 0:
        return
    scores, _total = s.framework.run_scores(state, pod, feasible)
    for plugin, raw, norm in scores:
        if raw is None or plugin.name == "PodTopologySpread":
            continue
        ref = np.array([plugin.score(state, pod, cache.node_info(int(slot))) for slot in feasible], dtype=np.int64)
        assert np.array_equal(np.broadcast_to(raw, ref.shape), ref), plugin.name
        ref_norm = np.broadcast_to(np.asarray(plugin.normalize(state, pod, ref)), ref.shape)
        assert np.array_equal(np.broadcast_to(norm, ref.shape), ref_norm), plugin.name


def test_requests_follow_the_init_container_max_rule():
    pod = {"spec": {
        "initContainers": [{"name": "i1", "resources": {"requests": {"cpu": "2", "memory": "100Mi"}}},
                           {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "300m"}}},
                           {"name": "i2", "resources": {"requests": {"cpu": "1"}}}],
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
                       {"name": "b", "resources": {"requests": {"cpu": "250m"}}}]}}
    # containers 750m + sidecar 300m = 1050m; init max(2000, 300 + 1000) = 2000 -> 2000m
    assert pod_requests(pod) == {"cpu": 2000, "memory": 1024 * 1024 * 1024}
    # scoring defaults for what a container does not request: b gets 200Mi, i2 200Mi (+ sidecar's 200Mi)
    assert non_zero_requests({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}) == (200, 400 * 1024 * 1024)


def test_fit_error_reasons_sort_as_text():
    msg = fit_error_message(12, {"Insufficient cpu": 10, "node(s) were unschedulable": 2})
    # Go's sort.Strings: "10 Insufficient cpu" < "2 node(s) ..." (compared as text)
    assert msg == "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were unschedulable."


def test_default_normalize():
    assert default_normalize(np.array([0, 0])).tolist() == [0, 0]
    assert default_normalize(np.array([0, 0]), reverse=True).tolist() == [100, 100]
    assert default_normalize(np.array([1, 3]), reverse=True).tolist() == [67, 0]
