"""kubectl apply semantics: create, configure, unchanged — idempotent and convergent."""

from conftest import nginx_deployment


def test_apply_is_idempotent(cluster):
    c = cluster
    assert c.apply(nginx_deployment(2)) == ["deployment.apps/web created"]
    rev = c.etcd.revision
    assert c.apply(nginx_deployment(2)) == ["deployment.apps/web unchanged"]
    assert c.etcd.revision == rev


def test_apply_after_the_cluster_filled_in_status_and_defaults_is_still_unchanged(cluster):
    c = cluster
    c.apply(nginx_deployment(2))
    c.run()
    assert c.apply(nginx_deployment(2)) == ["deployment.apps/web unchanged"]


def test_apply_with_a_change_configures_only_that_change(cluster):
    c = cluster
    c.apply(nginx_deployment(2))
    c.run()
    gen = c.get("deployment", "web")["metadata"]["generation"]
    assert c.apply(nginx_deployment(3)) == ["deployment.apps/web configured"]
    d = c.get("deployment", "web")
    assert d["spec"]["replicas"] == 3
    assert d["metadata"]["generation"] == gen + 1
    c.run()
    assert len(c.get("pods")) == 3


def test_apply_removes_fields_the_user_dropped(cluster):
    c = cluster
    with_label = nginx_deployment(1).replace("  labels:\n    app: web\n", "  labels:\n    app: web\n    tier: front\n", 1)
    c.apply(with_label)
    assert c.get("deployment", "web")["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert c.apply(nginx_deployment(1)) == ["deployment.apps/web configured"]
    assert c.get("deployment", "web")["metadata"]["labels"] == {"app": "web"}


def test_apply_multi_document_and_dict(cluster):
    c = cluster
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    assert c.apply(ns) == ["namespace/shop created"]
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n---\n" + nginx_deployment(1)
    assert c.apply(text, namespace="shop") == ["configmap/a created", "deployment.apps/web created"]
    assert c.get("configmap", "a", namespace="shop")["data"] == {"k": "v"}


def test_last_applied_annotation_is_kept_like_kubectl(cluster):
    import json

    c = cluster
    c.apply(nginx_deployment(1))
    ann = c.get("deployment", "web")["metadata"]["annotations"]
    last = json.loads(ann["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["replicas"] == 1
    assert "status" not in last


def test_the_trace_marks_applys_dry_run_requests():
    import k8slab

    c = k8slab.Cluster(workers=1, seed=0)
    mark = c.trace.mark()
    c.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {color: blue}\n")
    creates = [str(e).split("apiserver: ")[1] for e in c.trace.since(mark) if e.verb == "create"]
    assert creates == ["create configmaps default/settings (dry run) → 201", "create configmaps default/settings → 201"]
    assert [e.dry_run for e in c.trace.since(mark) if e.verb == "create"] == [True, False]
