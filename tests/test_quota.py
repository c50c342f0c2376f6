"""LimitRanger and ResourceQuota: defaults and bounds on containers, a namespace's budget charged at
admission, and the controller that keeps status.used true."""

import pytest
from conftest import nginx_deployment

import k8slab
from k8slab.api import errors
from k8slab.apiserver.limitranger import effective_limits
from k8slab.apiserver.quota import enable_quota_admission, pod_resources, pretty_print, q_str
from k8slab.controlplane.manager import ControllerManager
from k8slab.controlplane.resourcequota import ResourceQuotaController


def with_quota(c):
    """The cluster with LimitRanger and ResourceQuota admission and the quota controller (every
    cluster has them, as kubeadm's does; a second copy would charge every object twice)."""
    if not any(p.name == "ResourceQuota" for p in c.api.validating):
        enable_quota_admission(c.api)
    if ResourceQuotaController.name not in c.controllers:
        ControllerManager(c.api, c.loop, c.rng, [ResourceQuotaController]).start()
    return c


@pytest.fixture
def cluster():
    return with_quota(k8slab.Cluster(workers=2, seed=0))


def pod(name, requests=None, limits=None, containers=1):
    res = {}
    if requests:
        res["requests"] = requests
    if limits:
        res["limits"] = limits
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [
        {"name": "nginx" if i == 0 else f"side{i}", "image": "nginx:1.27", "resources": dict(res)}
        for i in range(containers)]}}


def quota(name, hard, **spec):
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name}, "spec": {"hard": hard, **spec}}


def limit_range(*items):
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"}, "spec": {"limits": list(items)}}


def forbidden(c, obj) -> str:
    with pytest.raises(errors.Forbidden) as e:
        c.admin.create(obj)
    return e.value.message


# -- LimitRanger -------------------------------------------------------------------------------------------------


def test_limitranger_defaults_are_stored_on_the_pod(cluster):
    c = cluster
    c.apply(limit_range({"type": "Container", "default": {"cpu": "0.5", "memory": "256Mi"},
                         "defaultRequest": {"cpu": "250m"}}))
    c.admin.create(pod("plain"))
    c.admin.create(pod("own-cpu", requests={"cpu": "100m"}))
    stored = c.get("pod", "plain")
    assert stored["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}}
    assert stored["metadata"]["annotations"] == {"kubernetes.io/limit-ranger": (
        "LimitRanger plugin set: cpu, memory request for container nginx; cpu, memory limit for container nginx")}
    assert stored["status"]["qosClass"] == "Burstable"
    own = c.get("pod", "own-cpu")
    assert own["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    assert own["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: memory request for container nginx; cpu, memory limit for container nginx")
    # another namespace has no LimitRange: nothing set
    c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "free"}})
    c.run()  # its default ServiceAccount, which the pod runs as
    c.admin.create(pod("bare"), "free")
    assert c.get("pod", "bare", namespace="free")["spec"]["containers"][0]["resources"] == {}


def test_limitrange_items_are_defaulted_from_max_and_min():
    item = effective_limits(limit_range({"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}))[0]
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "64Mi"}


def test_limitranger_bounds_are_enforced_with_the_real_messages(cluster):
    c = cluster
    c.apply(limit_range({"type": "Container", "max": {"cpu": "1", "memory": "1Gi"}, "min": {"cpu": "100m"},
                         "maxLimitRequestRatio": {"cpu": "2"}}))
    assert forbidden(c, pod("big", requests={"cpu": "1500m"}, limits={"cpu": "2"})) == (
        'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2')
    assert forbidden(c, pod("tiny", requests={"cpu": "50m"}, limits={"cpu": "150m"})) == (
        'pods "tiny" is forbidden: [minimum cpu usage per Container is 100m, but request is 50m, '
        "cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000]")
    # a ratio of exactly 2 is allowed
    c.admin.create(pod("double", requests={"cpu": "400m"}, limits={"cpu": "800m"}))
    assert forbidden(c, pod("spiky", requests={"cpu": "200m"}, limits={"cpu": "1"})) == (
        'pods "spiky" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000')
    # within bounds: the defaults (from max) make it fit
    c.admin.create(pod("fits", requests={"cpu": "600m"}))
    assert c.get("pod", "fits")["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}


def test_a_pod_limit_bounds_the_sum_of_its_containers(cluster):
    c = cluster
    c.apply(limit_range({"type": "Pod", "max": {"memory": "1Gi"}}))
    assert forbidden(c, pod("pair", limits={"memory": "600Mi"}, containers=2)) == (
        'pods "pair" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 1200Mi')
    c.admin.create(pod("one", limits={"memory": "600Mi"}))


def test_pod_resources_count_init_containers_and_sidecars():
    p = {"spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}],
                  "initContainers": [{"resources": {"requests": {"cpu": "500m"}}},
                                     {"restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}}]}}
    assert pretty_print(pod_resources(p, "requests")) == "cpu=500m"
    p["spec"]["initContainers"].reverse()  # the sidecar starts first and keeps running
    assert q_str(pod_resources(p, "requests")["cpu"]) == "550m"


# -- ResourceQuota ------------------------------------------------------------------------------------------------


def test_quota_wants_cpu_stated_by_every_container(cluster):
    c = cluster
    c.apply(quota("compute", {"requests.cpu": "2", "limits.cpu": "4"}))
    c.run()
    assert forbidden(c, pod("nolimits")) == (
        'pods "nolimits" is forbidden: failed quota: compute: must specify limits.cpu for: nginx; '
        "requests.cpu for: nginx")
    assert forbidden(c, pod("half", requests={"cpu": "100m"}, containers=3)) == (
        'pods "half" is forbidden: failed quota: compute: must specify limits.cpu for: nginx,side1,side2')


def test_quota_status_is_unknown_until_the_controller_counted():
    c = with_quota(k8slab.Cluster(workers=1, seed=0))
    c.apply(quota("compute", {"pods": "2"}))
    c.admin.create(pod("before"))  # status.hard not set yet: the quota does not apply
    c.admin.update_status(dict(c.get("resourcequota", "compute"), status={"hard": {"pods": "2"}}))
    assert forbidden(c, pod("unknown")) == (
        'pods "unknown" is forbidden: status unknown for quota: compute, resources: pods')


def test_quota_rejects_what_would_exceed_it_and_counts_what_it_admits(cluster):
    c = cluster
    c.apply(quota("compute", {"requests.cpu": "2", "requests.memory": "1Gi", "pods": "10"}))
    c.run()
    assert c.get("resourcequota", "compute")["status"] == {
        "hard": {"pods": "10", "requests.cpu": "2", "requests.memory": "1Gi"},
        "used": {"pods": "0", "requests.cpu": "0", "requests.memory": "0"}}
    for i in range(3):
        c.admin.create(pod(f"web-{i}", requests={"cpu": "500m", "memory": "128Mi"}))
    # charged at admission, before the controller ever looked
    assert c.get("resourcequota", "compute")["status"]["used"] == {
        "pods": "3", "requests.cpu": "1500m", "requests.memory": "384Mi"}
    assert forbidden(c, pod("web-3", requests={"cpu": "600m", "memory": "128Mi"})) == (
        'pods "web-3" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, '
        "used: requests.cpu=1500m, limited: requests.cpu=2")
    assert forbidden(c, pod("web-3", requests={"cpu": "1", "memory": "1Gi"})) == (
        'pods "web-3" is forbidden: exceeded quota: compute, requested: requests.cpu=1,requests.memory=1Gi, '
        "used: requests.cpu=1500m,requests.memory=384Mi, limited: requests.cpu=2,requests.memory=1Gi")
    c.admin.create(pod("web-3", requests={"cpu": "500m", "memory": "128Mi"}))  # exactly up to the limit
    assert c.get("resourcequota", "compute")["status"]["used"]["requests.cpu"] == "2"
    c.run()
    # deleting gives the budget back once the pods are gone
    c.admin.delete("pods", "web-0", "default")
    c.admin.delete("pods", "web-1", "default")
    c.run()
    assert c.get("resourcequota", "compute")["status"]["used"] == {
        "pods": "2", "requests.cpu": "1", "requests.memory": "256Mi"}
    c.admin.create(pod("web-4", requests={"cpu": "1", "memory": "128Mi"}))
    assert c.get("resourcequota", "compute")["status"]["used"]["requests.cpu"] == "2"


def test_a_dry_run_is_checked_but_not_charged(cluster):
    c = cluster
    c.apply(quota("pods", {"pods": "1"}))
    c.run()
    c.admin.create(pod("dry"), dry_run=True)
    assert c.get("resourcequota", "pods")["status"]["used"] == {"pods": "0"}


def test_object_counts_and_service_ports(cluster):
    c = cluster
    c.apply(quota("objects", {"configmaps": "2", "count/deployments.apps": "1", "services.nodeports": "1",
                              "services": "5"}))
    c.run()
    used = c.get("resourcequota", "objects")["status"]["used"]
    # the namespace's kube-root-ca.crt (the root CA publisher's) counts, as every ConfigMap does
    assert used == {"configmaps": "1", "count/deployments.apps": "0", "services": "1", "services.nodeports": "0"}
    c.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}})
    assert forbidden(c, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two"}}) == (
        'configmaps "two" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=2, '
        "limited: configmaps=2")
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
           "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}}
    assert forbidden(c, svc) == (
        'services "np" is forbidden: exceeded quota: objects, requested: services.nodeports=2, '
        "used: services.nodeports=0, limited: services.nodeports=1")
    c.apply(nginx_deployment(replicas=1))
    with pytest.raises(errors.Forbidden) as e:
        c.apply(nginx_deployment(replicas=1).replace("name: web\n", "name: web2\n", 1))
    assert 'deployments.apps "web2" is forbidden: exceeded quota: objects, requested: count/deployments.apps=1' in (
        e.value.message)
    c.admin.delete("configmaps", "one", "default")
    c.run()
    assert c.get("resourcequota", "objects")["status"]["used"]["configmaps"] == "1"


def test_a_deployment_stops_at_the_quota_and_says_why(cluster):
    c = cluster
    c.apply(quota("pods", {"pods": "2"}))
    c.run()
    c.apply(nginx_deployment(replicas=3))
    c.run()
    pods = c.get("pods", selector="app=web")
    assert len(pods) == 2
    events = [e for e in c.get("events") if e["reason"] == "FailedCreate"]
    assert events, "the ReplicaSet controller reports why it cannot create the third pod"
    msg = events[0]["message"]
    assert msg.startswith('Error creating: pods "web-') and msg.endswith(
        '" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2')
    assert c.get("resourcequota", "pods")["status"]["used"] == {"pods": "2"}


def test_scoped_quotas_count_only_matching_pods(cluster):
    c = cluster
    c.apply(quota("best-effort", {"pods": "1"}, scopes=["BestEffort"]))
    c.run()
    c.admin.create(pod("be-1"))
    c.admin.create(pod("burstable", requests={"cpu": "100m"}))  # not BestEffort: not this quota's business
    assert forbidden(c, pod("be-2")) == (
        'pods "be-2" is forbidden: exceeded quota: best-effort, requested: pods=1, used: pods=1, limited: pods=1')
    c.admin.delete("pods", "be-1", "default")
    c.run()
    assert c.get("resourcequota", "best-effort")["status"]["used"] == {"pods": "0"}


def test_finished_pods_give_their_compute_back(cluster):
    c = cluster
    c.apply(quota("compute", {"pods": "5", "count/pods": "5"}))
    c.run()
    c.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job"}, "spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}})
    assert c.get("resourcequota", "compute")["status"]["used"] == {"count/pods": "1", "pods": "1"}
    c.run()
    assert c.get("pod", "job")["status"]["phase"] == "Succeeded"
    assert c.get("resourcequota", "compute")["status"]["used"] == {"count/pods": "1", "pods": "0"}
