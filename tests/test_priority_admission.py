"""The Priority admission plugin: priorityClassName -> spec.priority, and preemption through it.

The plugin is installed explicitly (unless the API server's default chain already has it),
before DefaultTolerationSeconds as in kube-apiserver's plugin order.
"""

from __future__ import annotations

import pytest

import k8slab
from k8slab.api import errors
from k8slab.apiserver.priority import (
    SYSTEM_PRIORITY_CLASSES,
    Priority,
    ensure_system_priority_classes,
)


def install(api) -> None:
    if any(p.name == "Priority" for p in api.mutating):
        return
    names = [p.name for p in api.mutating]
    at = names.index("DefaultTolerationSeconds") if "DefaultTolerationSeconds" in names else len(names)
    api.mutating.insert(at, Priority())


def priority_class(name, value, *, default=False, policy=None):
    pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
          "value": value, "globalDefault": default}
    if policy:
        pc["preemptionPolicy"] = policy
    return pc


def pod(name, *, cls=None, cpu=None, **spec):
    c = {"name": "app", "image": "nginx:1.27"}
    if cpu:
        c["resources"] = {"requests": {"cpu": cpu}}
    if cls:
        spec["priorityClassName"] = cls
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [c], **spec}}


@pytest.fixture(scope="module")
def cluster():
    c = k8slab.Cluster(workers=1, seed=0)
    install(c.api)
    ensure_system_priority_classes(c.api)
    c.run()
    return c


def test_class_name_resolves_to_priority_and_policy(cluster):
    admin = cluster.api.client("kubectl")
    admin.create(priority_class("gold", 1000))
    admin.create(priority_class("polite", 500, policy="Never"))
    a = admin.create(pod("a", cls="gold"))
    b = admin.create(pod("b", cls="polite"))
    assert (a["spec"]["priority"], a["spec"]["preemptionPolicy"]) == (1000, "PreemptLowerPriority")
    assert (b["spec"]["priority"], b["spec"]["preemptionPolicy"]) == (500, "Never")
    plain = admin.create(pod("plain"))
    assert plain["spec"]["priority"] == 0 and not plain["spec"].get("priorityClassName")


def test_system_classes_exist_and_resolve(cluster):
    admin = cluster.api.client("kubectl")
    for name, value in (("system-node-critical", 2000001000), ("system-cluster-critical", 2000000000)):
        assert admin.get("priorityclasses", name)["value"] == value == SYSTEM_PRIORITY_CLASSES[name]["value"]
    p = admin.create({**pod("critical", cls="system-cluster-critical"),
                      "metadata": {"name": "critical", "namespace": "kube-system"}})
    assert p["spec"]["priority"] == 2000000000
    # the static control-plane pods carry the node-critical value their class gives
    sched = [x for x in cluster.get("pods", namespace="kube-system")
             if x["metadata"]["name"].startswith("kube-scheduler")]
    assert sched and sched[0]["spec"]["priority"] == 2000001000
    assert sched[0]["spec"]["priorityClassName"] == "system-node-critical"


def test_unknown_class_is_rejected_with_the_real_message(cluster, tmp_path):
    admin = cluster.api.client("kubectl")
    with pytest.raises(errors.Forbidden) as e:
        admin.create(pod("x", cls="foo"))
    assert e.value.message == 'pods "x" is forbidden: no PriorityClass with name foo was found'
    path = tmp_path / "x.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  priorityClassName: foo\n"
                    "  containers:\n  - name: app\n    image: nginx\n")
    out = cluster.kubectl(f"apply -f {path}")
    assert out.returncode != 0
    assert str(out).strip() == (f'Error from server (Forbidden): error when creating "{path}": pods "x" is '
                                'forbidden: no PriorityClass with name foo was found')


def test_priority_that_disagrees_with_the_class_is_rejected(cluster):
    admin = cluster.api.client("kubectl")
    if not any(x["metadata"]["name"] == "silver" for x in admin.list("priorityclasses")["items"]):
        admin.create(priority_class("silver", 300))
    with pytest.raises(errors.Forbidden) as e:
        admin.create(pod("y", cls="silver", priority=5))
    assert e.value.message == ('pods "y" is forbidden: the integer value of priority (5) must not be provided in '
                               'pod spec; priority admission controller computed 300 from the given PriorityClass '
                               'name')
    # the same value as the class is fine
    assert admin.create(pod("z", cls="silver", priority=300))["spec"]["priority"] == 300


def test_global_default_class_applies_to_pods_without_a_name():
    c = k8slab.Cluster(workers=1, seed=1)
    install(c.api)
    c.run()
    admin = c.api.client("kubectl")
    admin.create(priority_class("baseline", 10, default=True))
    p = admin.create(pod("d"))
    assert (p["spec"]["priority"], p["spec"]["priorityClassName"]) == (10, "baseline")
    # only one default class may exist
    with pytest.raises(errors.Forbidden) as e:
        admin.create(priority_class("another", 20, default=True))
    assert e.value.message == ('priorityclasses.scheduling.k8s.io "another" is forbidden: PriorityClass baseline is '
                               'already marked as default. Only one default can exist')


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: filler
spec:
  replicas: 3
  selector:
    matchLabels: {app: filler}
  template:
    metadata:
      labels: {app: filler}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        resources:
          requests: {cpu: "1"}
"""


def test_a_high_priority_class_preempts_through_admission():
    c = k8slab.Cluster(workers=1, seed=0)
    install(c.api)
    c.run()
    alloc = c.get("node", "worker-1")["status"]["allocatable"]["cpu"]
    c.apply(DEPLOYMENT.replace("replicas: 3", f"replicas: {int(alloc)}"))
    c.run()
    fillers = [p for p in c.get("pods", namespace="default") if p["metadata"]["name"].startswith("filler")]
    running = [p for p in fillers if p["status"].get("phase") == "Running"]
    assert running and all(p["spec"]["priority"] == 0 for p in fillers)
    admin = c.api.client("kubectl")
    admin.create(priority_class("urgent", 100000))
    admin.create(priority_class("urgent-but-polite", 100000, policy="Never"))
    admin.create(pod("polite", cls="urgent-but-polite", cpu="1"))
    c.run(seconds=30)
    polite = c.get("pod", "polite")
    assert polite["spec"]["priority"] == 100000 and not polite["spec"].get("nodeName")
    msg = next(x for x in polite["status"]["conditions"] if x["type"] == "PodScheduled")["message"]
    assert msg.endswith("preemption: not eligible due to preemptionPolicy=Never.")
    admin.delete("pods", "polite", "default", grace_period_seconds=0, force=True)
    admin.create(pod("vip", cls="urgent", cpu="1"))
    c.run()
    vip = c.get("pod", "vip")
    assert vip["spec"]["priority"] == 100000
    assert vip["spec"]["nodeName"] == "worker-1" and vip["status"]["phase"] == "Running"
    preempted = [e for e in c.get("events", namespace="default") if e["reason"] == "Preempted"]
    assert len(preempted) == 1 and preempted[0]["involvedObject"]["name"].startswith("filler")


def test_a_priorityclass_and_a_pod_using_it_apply_together():
    import k8slab

    c = k8slab.Cluster(workers=1, seed=0)
    assert c.apply("""\
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: critical}
value: 100000
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {priorityClassName: critical, containers: [{name: a, image: "nginx:1.27"}]}
""") == ["priorityclass.scheduling.k8s.io/critical created", "pod/p created"]
    assert c.get("pod", "p")["spec"]["priority"] == 100000
