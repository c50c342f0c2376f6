"""Manifests load from text, files, directories and dicts, remembering the line of every field."""

import pathlib

import pytest

from k8slab.api.errors import ManifestError
from k8slab.api.manifest import Manifest, join_field_path, load_manifests, split_field_path

TWO_DOCS = """\
# a comment first
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
---
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: nginx
    image: nginx:1.27
    ports:
    - containerPort: 80
"""


def test_multi_document_text_keeps_lines_and_skips_empty_documents():
    config, pod = load_manifests(TWO_DOCS, filename="app.yaml")
    assert (config.kind, config.name, config.line, config.index) == ("ConfigMap", "settings", 2, 0)
    assert (pod.kind, pod.name, pod.line, pod.index) == ("Pod", "web", 10, 1)
    assert pod.source == "app.yaml"
    assert pod.line_of("spec.containers[0].image") == 17
    assert pod.line_of(("spec", "containers", 0, "ports", 0, "containerPort")) == 19
    assert pod.line_of("spec.containers[0]") == 16


def test_line_of_a_missing_field_falls_back_to_its_nearest_parent():
    _, pod = load_manifests(TWO_DOCS)
    assert pod.line_of("spec.containers[0].resources.limits") == 16
    assert pod.line_of("spec.nodeName") == 14
    assert pod.line_of("status.phase") == 10


def test_objects_are_plain_dicts_in_written_order():
    [pod] = load_manifests(
        "kind: Pod\napiVersion: v1\nmetadata: {name: p, labels: {b: '1', a: '2'}}\n"
    )
    assert type(pod.obj) is dict and type(pod.obj["metadata"]) is dict
    assert list(pod.obj) == ["kind", "apiVersion", "metadata"]
    assert list(pod.obj["metadata"]["labels"]) == ["b", "a"]


def test_yaml_values_become_json_values():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  day: 2024-01-31\n  eq: =\n  80: port\n"
    [m] = load_manifests(text)
    assert m.obj["data"] == {"day": "2024-01-31", "eq": "=", "80": "port"}


def test_anchors_do_not_share_objects():
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: &l {app: web}\n"
        "spec:\n  nodeSelector: *l\n  containers: []\n"
    )
    [m] = load_manifests(text)
    m.obj["spec"]["nodeSelector"]["disk"] = "ssd"
    assert m.obj["metadata"]["labels"] == {"app": "web"}


def test_list_kind_expands_to_its_items_with_their_lines():
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: b\n"
    )
    a, b = load_manifests(text)
    assert (a.name, a.line, b.name, b.line) == ("a", 4, "b", 7)
    assert b.line_of("metadata.name") == 10


def test_dict_and_list_sources():
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
    [m] = load_manifests(obj)
    assert m.obj == obj and m.obj is not obj
    assert (m.source, m.line, m.line_of("metadata.name")) == ("<dict>", None, None)
    ms = load_manifests([obj, {**obj, "metadata": {"name": "other"}}])
    assert [x.name for x in ms] == ["team", "other"]
    assert load_manifests("") == [] and load_manifests("---\n# nothing\n") == []


def test_files_and_directories(tmp_path: pathlib.Path):
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n")
    (tmp_path / "a.yml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    (tmp_path / "c.json").write_text(
        '{\n\t"apiVersion": "v1",\n\t"kind": "Namespace",\n\t"metadata": {"name": "c"}\n}\n'
    )
    (tmp_path / "notes.txt").write_text("not a manifest")
    ms = load_manifests(tmp_path)
    assert [m.name for m in ms] == ["a", "b", "c"]
    assert ms[1].source == str(tmp_path / "b.yaml")
    [one] = load_manifests(str(tmp_path / "b.yaml"))
    assert one.source == str(tmp_path / "b.yaml") and one.line_of("metadata.name") == 3
    with pytest.raises(ManifestError, match='the path "missing.yaml" does not exist'):
        load_manifests("missing.yaml")


def test_malformed_yaml_is_reported_with_file_and_line():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: a: b\n"
    with pytest.raises(ManifestError) as info:
        load_manifests(text, filename="cm.yaml")
    err = info.value
    assert (err.source, err.line) == ("cm.yaml", 5)
    assert str(err) == (
        "error: cm.yaml, line 5: error converting YAML to JSON: yaml: line 5: "
        "mapping values are not allowed in this context"
    )


def test_error_in_a_later_document_counts_lines_from_the_top_of_the_file():
    text = TWO_DOCS + "---\napiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n"
    with pytest.raises(ManifestError) as info:
        load_manifests(text)
    assert info.value.line == 24
    assert "found character that cannot start any token" in str(info.value)


def test_duplicate_keys_are_an_error():
    text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  replicas: 2\n"
    with pytest.raises(ManifestError) as info:
        load_manifests(text, filename="d.yaml")
    assert (info.value.line, info.value.field) == (7, "spec.replicas")
    assert (
        str(info.value)
        == 'error: d.yaml, line 7: spec.replicas: mapping key "replicas" already defined at line 6'
    )


def test_documents_must_be_objects_with_kind_and_api_version():
    with pytest.raises(ManifestError) as info:
        load_manifests("apiVersion: v1\nmetadata:\n  name: x\n", filename="x.yaml")
    assert str(info.value) == (
        "error: x.yaml, line 1: unable to decode \"x.yaml\": Object 'Kind' is missing in "
        '\'{"apiVersion":"v1","metadata":{"name":"x"}}\''
    )
    with pytest.raises(ManifestError, match="apiVersion not set"):
        load_manifests("kind: Pod\nmetadata: {name: x}\n")
    with pytest.raises(ManifestError, match="cannot unmarshal string into Go value"):
        load_manifests("just text\n")
    with pytest.raises(ManifestError, match="cannot unmarshal array into Go value"):
        load_manifests("- a\n- b\n")


def test_field_paths_round_trip():
    path = ("spec", "template", "spec", "containers", 0, "resources", "requests", "cpu")
    assert join_field_path(path) == "spec.template.spec.containers[0].resources.requests.cpu"
    assert split_field_path(join_field_path(path)) == path
    assert split_field_path("metadata.labels[app.kubernetes.io/name]") == (
        "metadata",
        "labels",
        "app.kubernetes.io/name",
    )
    assert (
        join_field_path(("metadata", "labels", "app.kubernetes.io/name"))
        == "metadata.labels[app.kubernetes.io/name]"
    )


def test_repr_is_short():
    [m] = load_manifests(TWO_DOCS.split("---")[0], filename="cm.yaml")
    assert repr(m) == "Manifest(ConfigMap/settings, cm.yaml:2)"
    assert isinstance(m, Manifest)


def test_docstring_examples_run():
    import doctest

    import k8slab.api.manifest as module

    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
