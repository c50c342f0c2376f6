"""The API server's pipeline, storage semantics and watches, through the client every component uses."""

import pytest

from k8slab.api import errors
from k8slab.apiserver import APIServer, Informer, UserInfo
from k8slab.etcd import Etcd
from k8slab.sim import EventLoop, Randomness, Trace


@pytest.fixture
def api():
    server = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
    admin = server.client("kubectl")
    for ns in ("default", "kube-system"):
        admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    return server


def deployment(name="web", replicas=1, image="nginx"):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": image}]}},
        },
    }


def pod(name="p", node=None, labels=None):
    spec = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {}}, "spec": spec}


def test_create_sets_server_fields_and_defaults(api):
    d = api.client("kubectl").create(deployment())
    m = d["metadata"]
    assert m["generation"] == 1
    assert m["creationTimestamp"] == "2025-01-01T00:00:00Z"
    assert len(m["uid"]) == 36
    assert m["resourceVersion"] == str(api.etcd.revision)
    assert d["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    assert d["spec"]["revisionHistoryLimit"] == 10
    tmpl = d["spec"]["template"]["spec"]
    assert tmpl["restartPolicy"] == "Always"
    assert tmpl["containers"][0]["imagePullPolicy"] == "Always"  # no tag means :latest
    assert api.etcd.get("/registry/deployments/default/web") is not None


def test_generation_moves_with_spec_not_with_status(api):
    c = api.client("kubectl")
    d = c.create(deployment())
    d["spec"]["replicas"] = 3
    d = c.update(d)
    assert d["metadata"]["generation"] == 2
    d["status"] = {"replicas": 3}
    d = c.update_status(d)
    assert d["metadata"]["generation"] == 2
    assert d["status"] == {"replicas": 3}
    # the main resource cannot change status; the status subresource cannot change spec
    d["status"] = {"replicas": 99}
    d["spec"]["replicas"] = 4
    d = c.update(d)
    assert d["status"] == {"replicas": 3} and d["spec"]["replicas"] == 4
    d["spec"]["replicas"] = 7
    d = c.update_status(d)
    assert d["spec"]["replicas"] == 4


def test_no_op_update_is_not_written(api):
    c = api.client("kubectl")
    d = c.create(deployment())
    rev = api.etcd.revision
    same = c.update(d)
    assert api.etcd.revision == rev
    assert same["metadata"]["resourceVersion"] == d["metadata"]["resourceVersion"]


def test_generate_name_gets_the_real_suffix_alphabet(api):
    p = pod()
    del p["metadata"]["name"]
    p["metadata"]["generateName"] = "web-"
    created = api.client("x").create(p)
    name = created["metadata"]["name"]
    assert name.startswith("web-") and len(name) == 9
    assert set(name[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_invalid_object_is_422_with_field_causes(api):
    d = deployment()
    d["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(errors.Invalid) as info:
        api.client("kubectl").create(d)
    assert info.value.code == 422
    assert any(c["field"] == "spec.template.metadata.labels" for c in info.value.causes)
    assert str(info.value).startswith('The Deployment "web" is invalid: spec.template.metadata.labels')
    assert info.value.message.startswith('Deployment.apps "web" is invalid: spec.template.metadata.labels')


def test_scale_subresource(api):
    c = api.client("kubectl")
    c.create(deployment())
    scale = c.get("deployments", "web", "default", subresource="scale")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1
    assert scale["status"]["selector"] == "app=web"
    c.patch("deployments", "web", {"spec": {"replicas": 5}}, "default", subresource="scale")
    assert c.get("deployments", "web", "default")["spec"]["replicas"] == 5


def test_binding_assigns_once(api):
    c = api.client("kube-scheduler")
    p = api.client("kubectl").create(pod())
    c.bind(p, "worker-1")
    assert c.get("pods", "p", "default")["spec"]["nodeName"] == "worker-1"
    with pytest.raises(errors.Conflict) as info:
        c.bind(p, "worker-2")
    assert 'pod p is already assigned to node "worker-1"' in str(info.value)


def test_bound_pod_deletion_is_graceful_until_the_kubelet_confirms(api):
    c = api.client("kubectl")
    c.create(pod(node="worker-1"))
    c.delete("pods", "p", "default")
    p = c.get("pods", "p", "default")
    assert p["metadata"]["deletionTimestamp"] == "2025-01-01T00:00:30Z"
    assert p["metadata"]["deletionGracePeriodSeconds"] == 30
    api.client("kubelet/worker-1").delete("pods", "p", "default", grace_period_seconds=0)
    with pytest.raises(errors.NotFound):
        c.get("pods", "p", "default")


def test_unbound_pod_is_deleted_at_once(api):
    c = api.client("kubectl")
    c.create(pod())
    c.delete("pods", "p", "default")
    with pytest.raises(errors.NotFound):
        c.get("pods", "p", "default")


def test_finalizers_hold_deletion_until_removed(api):
    c = api.client("kubectl")
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "c", "namespace": "default", "finalizers": ["example.com/keep"]}}
    c.create(cm)
    c.delete("configmaps", "c", "default")
    live = c.get("configmaps", "c", "default")
    assert live["metadata"]["deletionTimestamp"]
    live["metadata"]["finalizers"] = []
    c.update(live)
    with pytest.raises(errors.NotFound):
        c.get("configmaps", "c", "default")


def test_namespace_lifecycle(api):
    c = api.client("kubectl")
    with pytest.raises(errors.NotFound) as info:
        c.create(pod() | {"metadata": {"name": "p", "namespace": "ghost"}})
    assert str(info.value) == 'Error from server (NotFound): namespaces "ghost" not found'
    c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    c.delete("namespaces", "team")
    assert c.get("namespaces", "team")["status"]["phase"] == "Terminating"
    with pytest.raises(errors.Forbidden) as info:
        c.create(pod() | {"metadata": {"name": "p", "namespace": "team"}})
    assert "because it is being terminated" in str(info.value)
    with pytest.raises(errors.Forbidden):
        c.delete("namespaces", "default")


def test_list_with_label_and_field_selectors(api):
    c = api.client("kubectl")
    c.create(pod("a", node="worker-1", labels={"app": "web"}))
    c.create(pod("b", node="worker-2", labels={"app": "web"}))
    c.create(pod("c", node="worker-1", labels={"app": "db"}))
    names = lambda lst: [o["metadata"]["name"] for o in lst["items"]]  # noqa: E731
    assert names(c.list("pods", "default", label_selector="app=web")) == ["a", "b"]
    assert names(c.list("pods", "default", field_selector="spec.nodeName=worker-1")) == ["a", "c"]
    assert names(c.list("pods", None, label_selector="app in (db)")) == ["c"]


def test_watch_delivers_later_on_the_clock_with_selector_transitions(api):
    c = api.client("kubectl")
    seen = []
    api.client("kubelet/worker-1").watch("pods", lambda t, o: seen.append((t, o["metadata"]["name"])),
                                        field_selector="spec.nodeName=worker-1")
    p = c.create(pod("a"))
    assert seen == []  # the pod is not on worker-1 yet
    api.client("kube-scheduler").bind(p, "worker-1")
    assert seen == []  # delivery is an event of its own
    api.loop.run_until_settled()
    assert seen == [("ADDED", "a")]
    c.delete("pods", "a", "default", grace_period_seconds=0)
    api.loop.run_until_settled()
    assert seen[-1] == ("DELETED", "a")
    assert [e.verb for e in api.trace.filter(type="watch")] == ["ADDED", "DELETED"]


def test_informer_cache_follows_the_server(api):
    c = api.client("kubectl")
    inf = Informer(api.client("ctrl"), "deployments")
    events = []
    inf.add_event_handler(on_add=lambda o: events.append("add"), on_update=lambda a, b: events.append("update"),
                          on_delete=lambda o: events.append("delete"))
    inf.start()
    d = c.create(deployment())
    d["spec"]["replicas"] = 2
    c.update(d)
    api.loop.run_until_settled()
    assert inf.lister.get("web", "default")["spec"]["replicas"] == 2
    c.delete("deployments", "web", "default")
    api.loop.run_until_settled()
    assert events == ["add", "update", "delete"]
    assert inf.lister.list() == []


def test_unknown_token_is_unauthorized_and_authorizer_can_forbid(api):
    from k8slab.apiserver.client import Client

    with pytest.raises(errors.ApiError) as info:
        Client(api, "stranger", "bad-token").list("pods", "default")
    assert info.value.code == 401
    api.authorizer = lambda user, a: (
        None if user.name != "alice" else
        f'{a["resource"]} is forbidden: User "alice" cannot {a["verb"]} resource "{a["resource"]}" '
        f'in API group "{a["group"]}" in the namespace "{a["namespace"]}"')
    alice = api.client("alice", user=UserInfo("alice"))
    with pytest.raises(errors.Forbidden) as info:
        alice.list("pods", "default")
    assert str(info.value) == ('Error from server (Forbidden): pods is forbidden: User "alice" cannot list '
                               'resource "pods" in API group "" in the namespace "default"')


def test_merge_and_strategic_patches(api):
    c = api.client("kubectl")
    d = deployment()
    d["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    c.create(d)
    patched = c.patch("deployments", "web",
                      {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}},
                      "default", patch_type="strategic")
    imgs = [x["image"] for x in patched["spec"]["template"]["spec"]["containers"]]
    assert imgs == ["nginx:1.27", "busybox"]
    patched = c.patch("deployments", "web", {"metadata": {"labels": {"tier": "front"}}}, "default")
    assert patched["metadata"]["labels"] == {"tier": "front"}


def test_every_request_is_traced_with_its_status_code(api):
    c = api.client("kubectl")
    c.create(deployment())
    with pytest.raises(errors.NotFound):
        c.get("deployments", "nope", "default")
    reqs = [(e.actor, e.verb, e.resource, e.name, e.code) for e in api.trace.filter(type="request")][-2:]
    assert reqs == [("kubectl", "create", "deployments", "web", 201), ("kubectl", "get", "deployments", "nope", 404)]


def test_components_share_stored_objects_and_the_check_catches_in_place_changes(api):
    shared = api.client("kube-scheduler", shared_results=True)
    private = api.client("kubectl")
    mine = private.create(pod("a"))
    mine["metadata"]["labels"]["x"] = "changed"  # a private copy: harmless
    assert api.etcd.changed_in_place() == []
    stored = shared.get("pods", "a", "default")
    assert stored is api.etcd.get("/registry/pods/default/a").value
    stored["metadata"]["labels"]["x"] = "oops"  # what a component must never do
    assert api.etcd.changed_in_place() == ["/registry/pods/default/a"]
    stored["metadata"]["labels"].pop("x")  # undo, so the suite-wide check stays green
    assert api.etcd.changed_in_place() == []


def test_deployment_status_update_keeps_annotations_but_not_labels_or_spec(api):
    c = api.client("deployment-controller")
    d = c.create(deployment())
    d["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    d["metadata"]["labels"] = {"sneaky": "yes"}
    d["spec"]["replicas"] = 9
    d["status"] = {"observedGeneration": 1}
    stored = c.update_status(d)
    assert stored["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
    assert "labels" not in stored["metadata"]
    assert stored["spec"]["replicas"] == 1
    assert stored["status"] == {"observedGeneration": 1}
    # other kinds' status updates change nothing but status
    p = c.create(pod("a"))
    p["metadata"]["annotations"] = {"x": "y"}
    p["status"] = {"phase": "Running"}
    assert "annotations" not in c.update_status(p)["metadata"]


def test_job_selector_is_generated_from_its_uid():
    import k8slab

    c = k8slab.Cluster(workers=1, seed=0, boot=False)
    job = c.admin.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"},
                          "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                         "containers": [{"name": "pi", "image": "perl:5.34.0"}]}}}})
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert job["spec"]["template"]["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
        "controller-uid": uid, "job-name": "pi"}
    # the selector is fixed at creation
    job["spec"]["selector"] = {"matchLabels": {"job-name": "pi"}}
    with pytest.raises(errors.Invalid, match="spec.selector: Invalid value: .*field is immutable"):
        c.admin.update(job)
