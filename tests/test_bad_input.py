"""Bad input gets the error a real API server or kubectl would give, and changes nothing."""

import pytest
from conftest import nginx_deployment

from k8slab.api import errors


@pytest.fixture
def c(cluster):
    return cluster


def _unchanged(c, fn):
    before = c.etcd.revision
    with pytest.raises(errors.K8sLabError) as info:
        fn()
    assert c.etcd.revision == before, "a rejected change must not touch the store"
    return info.value


def test_malformed_yaml_names_the_line(c):
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: {a: b}\n"
    err = _unchanged(c, lambda: c.apply(text))
    assert isinstance(err, errors.ManifestError)
    assert err.line is not None and err.line in (4, 5)
    assert "yaml" in str(err).lower()


def test_unknown_field_names_field_line_and_suggests(c):
    text = nginx_deployment(3).replace("  replicas: 3", "  replcas: 3")
    err = _unchanged(c, lambda: c.apply(text))
    assert isinstance(err, errors.ManifestError)
    assert "spec.replcas" in str(err)
    assert "replicas" in str(err).split("spec.replcas", 1)[1]  # did you mean replicas?
    assert err.line == 8


def test_wrong_type_names_field_and_type(c):
    text = nginx_deployment(3).replace("  replicas: 3", '  replicas: "three"')
    err = _unchanged(c, lambda: c.apply(text))
    assert "spec.replicas" in str(err)
    assert "integer" in str(err)
    assert err.line == 8


def test_unknown_kind_is_a_mapping_error_with_suggestion(c):
    text = nginx_deployment(3).replace("kind: Deployment", "kind: Deploymnt")
    err = _unchanged(c, lambda: c.apply(text))
    assert 'no matches for kind "Deploymnt" in version "apps/v1"' in str(err)
    assert "Deployment" in str(err).split("Deploymnt", 2)[-1]


def test_selector_that_does_not_match_template_labels(c):
    text = nginx_deployment(3).replace("      labels:\n        app: web", "      labels:\n        app: other")
    err = _unchanged(c, lambda: c.apply(text))
    assert "`selector` does not match template `labels`" in str(err)
    assert "spec.template.metadata.labels" in str(err)


def test_second_document_bad_means_first_is_not_applied(c):
    good = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"
    bad = nginx_deployment(3).replace("  replicas: 3", "  replicas: -1")
    err = _unchanged(c, lambda: c.apply(good + "---\n" + bad))
    assert "spec.replicas" in str(err)
    with pytest.raises(errors.NotFound):
        c.get("configmap", "settings")


def test_namespace_that_does_not_exist(c):
    text = nginx_deployment(1).replace("  name: web\n", "  name: web\n  namespace: nope\n", 1)
    err = _unchanged(c, lambda: c.apply(text))
    assert isinstance(err, errors.ApiError)
    assert err.code == 404
    assert 'namespaces "nope" not found' in str(err)


def test_stale_update_is_a_conflict_and_store_unchanged(c):
    c.apply(nginx_deployment(1))
    stale = c.get("deployment", "web")
    fresh = c.get("deployment", "web")
    fresh["spec"]["replicas"] = 2
    c.admin.update(fresh)
    stale["spec"]["replicas"] = 5
    err = _unchanged(c, lambda: c.admin.update(stale))
    assert isinstance(err, errors.Conflict)
    assert err.code == 409
    assert str(err) == (
        'Error from server (Conflict): Operation cannot be fulfilled on deployments.apps "web": '
        "the object has been modified; please apply your changes to the latest version and try again"
    )
    assert c.get("deployment", "web")["spec"]["replicas"] == 2


def test_create_twice_is_already_exists(c):
    c.apply(nginx_deployment(1))
    obj = c.get("deployment", "web")
    err = _unchanged(c, lambda: c.admin.create(obj))
    assert err.code == 409 and err.reason == "AlreadyExists"
    assert str(err) == 'Error from server (AlreadyExists): deployments.apps "web" already exists'


def test_kubectl_reports_errors_as_text_without_raising(c):
    out = c.kubectl("get pod nope")
    assert out.returncode == 1
    assert str(out).strip() == 'Error from server (NotFound): pods "nope" not found'
    out = c.kubectl("frobnicate pods")
    assert out.returncode == 1
    assert 'unknown command "frobnicate" for "kubectl"' in str(out)
