"""Operators written in a notebook: a Website kind kept in sync with a Deployment and a Service.

The operator runs inside the simulation like the built-in controllers (informer,
work queue, back-off) and a reconcile that raises is reported on the operator,
never on the cluster.
"""

import pytest

import k8slab
from k8slab import operator
from k8slab.api import errors
from k8slab.controlplane.apiextensions import APIExtensionsServer
from k8slab.operator import Operator, Requeue

WEBSITE_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: websites.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: websites, singular: website, kind: Website, shortNames: [ws]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Image, type: string, jsonPath: .spec.image}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Ready, type: integer, jsonPath: .status.readyReplicas}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [image]
            properties:
              image: {type: string}
              replicas: {type: integer, minimum: 0, default: 1}
          status:
            type: object
            properties:
              readyReplicas: {type: integer}
"""


def website(name="shop", image="nginx:1.26", replicas=2):
    return {"apiVersion": "example.com/v1", "kind": "Website", "metadata": {"name": name},
            "spec": {"image": image, "replicas": replicas}}


def reconcile_website(obj, client):
    """The learner's reconcile: a Deployment and a Service per Website, and its ready count in status."""
    if obj is None:
        return None
    name = obj["metadata"]["name"]
    labels = {"app.kubernetes.io/name": name}
    deployment = client.apply({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": obj["spec"]["replicas"], "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                     {"name": "web", "image": obj["spec"]["image"], "ports": [{"containerPort": 80}]}]}}}})
    client.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                  "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 80}]}})
    ready = (deployment.get("status") or {}).get("readyReplicas", 0)
    if (obj.get("status") or {}).get("readyReplicas") != ready:
        obj["status"] = {"readyReplicas": ready}
        client.update_status(obj)
    return None


def with_apiextensions(c):
    ext = getattr(c, "apiextensions", None)
    if ext is None:
        ext = APIExtensionsServer(c.api, c.loop, c.rng)
        ext.start()
    return ext


@pytest.fixture
def c():
    cluster = k8slab.Cluster(workers=2, seed=0)
    with_apiextensions(cluster)
    cluster.apply(WEBSITE_CRD)
    cluster.run()
    return cluster


@pytest.fixture
def op(c):
    return operator.controller(c, "websites.example.com", owns=["deployments", "services"])(reconcile_website)


def pods_of(c, name):
    return sorted((p["spec"]["containers"][0]["image"], p["status"]["phase"])
                  for p in c.get("pods", selector=f"app.kubernetes.io/name={name}"))


def test_operator_keeps_a_deployment_and_a_service_in_sync(c, op):
    c.apply(website())
    c.run()
    ws = c.get("website", "shop")
    dep = c.get("deployment", "shop")
    svc = c.get("service", "shop")
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert svc["spec"]["selector"] == {"app.kubernetes.io/name": "shop"}
    for child in (dep, svc):
        assert child["metadata"]["ownerReferences"] == [
            {"apiVersion": "example.com/v1", "kind": "Website", "name": "shop", "uid": ws["metadata"]["uid"],
             "controller": True, "blockOwnerDeletion": True}]
    assert pods_of(c, "shop") == [("nginx:1.26", "Running")] * 2
    assert ws["status"] == {"readyReplicas": 2}  # owned Deployment's changes reconciled the Website again
    assert c.kubectl("get ws").splitlines() == ["NAME   IMAGE        REPLICAS   READY", "shop   nginx:1.26   2          2"]
    assert op.failures == [] and c.errors == []
    assert op.pending == [] and [o["metadata"]["name"] for o in op.informer.lister.list()] == ["shop"]


def test_operator_reacts_to_a_spec_change(c, op):
    c.apply(website())
    c.run()
    c.apply(website(image="nginx:1.27", replicas=3))
    c.run()
    dep = c.get("deployment", "shop")
    assert (dep["spec"]["replicas"], dep["spec"]["template"]["spec"]["containers"][0]["image"]) == (3, "nginx:1.27")
    assert pods_of(c, "shop") == [("nginx:1.27", "Running")] * 3
    assert c.get("website", "shop")["status"] == {"readyReplicas": 3}
    assert c.get("website", "shop")["metadata"]["generation"] == 2


def test_operator_recreates_a_deleted_deployment(c, op):
    c.apply(website())
    c.run()
    before = c.get("deployment", "shop")["metadata"]["uid"]
    assert c.kubectl("delete deployment shop") == 'deployment.apps "shop" deleted\n'
    c.run()
    after = c.get("deployment", "shop")
    assert after["metadata"]["uid"] != before
    assert after["metadata"]["ownerReferences"][0]["name"] == "shop"
    assert len(pods_of(c, "shop")) == 2


def test_operator_requests_are_traced_under_its_name(c, op):
    mark = c.trace.mark()
    c.apply(website())
    c.run()
    mine = [e for e in c.trace.since(mark) if e.actor == "websites-controller" and e.type == "request"]
    assert [(e.verb, e.resource, e.code) for e in mine[:5]] == [
        ("get", "deployments", 404), ("create", "deployments", 201),
        ("get", "services", 404), ("create", "services", 201),
        ("update", "websites/status", 200)]
    # once in sync, a reconcile only reads: nothing is written again
    assert {(e.verb, e.resource) for e in mine[5:]} <= {("get", "deployments"), ("get", "services"),
                                                         ("update", "websites/status")}
    assert op.reconciles == sum(1 for e in c.trace.since(mark) if e.actor == "websites-controller"
                                and e.type == "request" and e.resource == "services" and e.verb == "get")


def test_operator_registered_before_its_crd_waits_for_it():
    c = k8slab.Cluster(workers=1, seed=0)
    with_apiextensions(c)
    op = operator.controller(c, "websites.example.com", owns=["deployments", "services"])(reconcile_website)
    assert op.informer is None and op.kind is None
    c.apply(WEBSITE_CRD)
    c.run()
    assert op.kind.kind == "Website"
    c.apply(website(replicas=1))
    c.run()
    assert c.get("deployment", "shop")["spec"]["replicas"] == 1


def test_class_form_with_requeue_after():
    c = k8slab.Cluster(workers=1, seed=0)
    with_apiextensions(c)
    c.apply(WEBSITE_CRD)
    c.run()
    seen = []

    class WebsiteChecker(Operator):
        resource = "ws"

        def reconcile(self, key, obj):
            seen.append((round(self.now - start, 3), key, obj is not None))
            return Requeue(after=30) if obj is not None else None

    start = c.now
    op = c.controller(WebsiteChecker) if hasattr(c, "controller") else operator.controller(c, WebsiteChecker)
    assert op.name == "website-checker"
    c.apply(website())
    c.run()
    assert [t for t, _, _ in seen] == [0.001]  # a periodic look does not keep run() going
    c.run(seconds=65 - (c.now - start))
    assert [t for t, _, _ in seen] == [0.001, 30.001, 60.001]
    assert {k for _, k, _ in seen} == {"default/shop"}
    assert repr(op) == "Operator(website-checker on ws: 3 reconciles, 0 failures)"


def test_crashing_reconcile_is_reported_and_retried_with_back_off(c):
    def broken(obj, client):
        if obj is not None:
            raise ValueError(f"no idea how to run {obj['spec']['image']}")

    op = operator.controller(c, "websites", name="broken-operator")(broken)
    c.apply(website())
    t0 = c.now
    c.apply("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: "nginx:1.27"}]}
""")
    c.run(seconds=30)
    times = [f.time - t0 for f in op.failures]
    # client-go's default back-off: 5 ms, doubling at each failure
    gaps = [round(b - a, 6) for a, b in zip(times, times[1:], strict=False)]
    assert round(times[0], 6) == 0.001  # the first try: as soon as the watch delivers the Website
    assert gaps == [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24]
    assert {(f.controller, f.key, f.error) for f in op.failures} == {
        ("broken-operator", "default/shop", "ValueError: no idea how to run nginx:1.26")}
    assert isinstance(op.failures[0].exception, ValueError)
    events = [e for e in c.get("events") if e["involvedObject"]["kind"] == "Website"]
    assert [(e["type"], e["reason"], e["message"], e["count"]) for e in events] == [
        ("Warning", "ReconcileError", "ValueError: no idea how to run nginx:1.26", len(op.failures))]
    # the rest of the cluster keeps working
    assert sorted(p["status"]["phase"] for p in c.get("pods", selector="app=web")) == ["Running", "Running"]
    assert c.errors == []


def test_a_bad_return_value_is_a_failure_and_requeue_without_delay_backs_off(c):
    calls = []

    def odd(obj, client):
        calls.append(client.now)
        return "done" if len(calls) == 1 else (Requeue() if len(calls) < 4 else None)

    op = operator.controller(c, "websites")(odd)
    c.apply(website())
    c.run()
    assert [f.error for f in op.failures] == ["TypeError: reconcile returned 'done'; return None, or "
                                              "Requeue(after=seconds)"]
    gaps = [round(b - a, 6) for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps == [0.005, 0.01, 0.02]  # Requeue() without a delay backs off like a failure


def test_an_api_error_in_reconcile_is_reported_with_kubectl_wording(c):
    def picky(obj, client):
        if obj is not None:
            client.get("configmaps", "settings")

    op = operator.controller(c, "websites")(picky)
    c.apply(website())
    c.run(seconds=1)
    assert op.failures[0].error == 'Error from server (NotFound): configmaps "settings" not found'
    c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}})
    c.run(seconds=5)
    assert op.queue.num_requeues("default/shop") == 0  # the next retry succeeded: back-off forgotten


def test_owning_an_unknown_resource_is_refused(c):
    with pytest.raises(ValueError, match='owns "widgets", which the server does not serve'):
        operator.controller(c, "websites", owns=["widgets"])(reconcile_website)


def test_operator_client_apply_leaves_a_matching_object_alone(c, op):
    c.apply(website())
    c.run()
    rv = c.get("deployment", "shop")["metadata"]["resourceVersion"]
    op.queue.add("default/shop")
    c.run()
    assert c.get("deployment", "shop")["metadata"]["resourceVersion"] == rv


def test_deleting_the_website_garbage_collects_what_it_owns(c, op):
    c.apply(website())
    c.run()
    c.kubectl("delete website shop")
    c.run()
    assert c.get("deployments") == [] and [s["metadata"]["name"] for s in c.get("services")] == ["kubernetes"]


def test_get_a_missing_object_from_the_client_raises(c, op):
    with pytest.raises(errors.ApiError, match='the server doesn\'t have a resource type "widgets"'):
        op.client.get("widgets", "x")
