"""Manifests are checked like kubectl apply and the API server check them: kind, schema, then rules."""

import copy

import pytest
from conftest import nginx_deployment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8slab.api.errors import Invalid, ManifestError
from k8slab.api.kinds import Kind, default_registry
from k8slab.api.manifest import load_manifests
from k8slab.api.validation import (
    UnknownFieldError,
    schema_errors,
    semantic_causes,
    suggest,
    validate_manifest,
)

DEPLOYMENT = nginx_deployment(3)
CONFIGMAP = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n---\n"  # 7 lines
)


def _error(text: str, registry=None) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        for m in load_manifests(text, filename="deploy.yaml"):
            validate_manifest(m, registry)
    return info.value


def test_a_good_deployment_passes():
    [m] = load_manifests(DEPLOYMENT)
    assert validate_manifest(m) is None


def test_unknown_field_gives_path_line_and_suggestion_in_a_multi_document_file():
    err = _error(CONFIGMAP + DEPLOYMENT.replace("  replicas: 3", "  replcas: 3"))
    assert isinstance(err, UnknownFieldError)
    assert (err.line, err.field) == (15, "spec.replcas")
    assert (
        str(err)
        == 'error: deploy.yaml, line 15: unknown field "spec.replcas" — did you mean "replicas"?'
    )


def test_unknown_nested_field_uses_list_indices():
    err = _error(DEPLOYMENT.replace("        ports:", "        prots:"))
    assert err.field == "spec.template.spec.containers[0].prots"
    assert err.line == 20
    assert str(err).endswith('— did you mean "ports"?')


def test_wrong_type_names_the_field_and_both_types():
    err = _error(DEPLOYMENT.replace("  replicas: 3", '  replicas: "three"'))
    assert (err.line, err.field) == (8, "spec.replicas")
    assert (
        str(err)
        == "error: deploy.yaml, line 8: spec.replicas: Invalid type. Expected: integer, given: string"
    )


def test_int_or_string_fields_name_both_types():
    text = DEPLOYMENT.replace(
        "  replicas: 3", "  replicas: 3\n  strategy:\n    rollingUpdate:\n      maxSurge: [1]"
    )
    err = _error(text)
    assert err.field == "spec.strategy.rollingUpdate.maxSurge"
    assert err.detail == "Invalid type. Expected: string or integer, given: array"


def test_missing_required_field_points_at_its_parent():
    err = _error(DEPLOYMENT.replace("      - name: nginx\n        image", "      - image"))
    assert err.field == "spec.template.spec.containers[0].name"
    assert err.detail == "Required value"
    assert err.line == 18


def test_null_fields_count_as_unset():
    [m] = load_manifests(
        DEPLOYMENT.replace("  name: web\n", "  name: web\n  creationTimestamp: null\n", 1)
    )
    assert validate_manifest(m) is None


def test_first_problem_by_line_is_reported():
    text = DEPLOYMENT.replace("  replicas: 3", "  replcas: 3").replace(
        "        ports:", "        prots:"
    )
    assert _error(text).field == "spec.replcas"


def test_unknown_kind_is_a_mapping_error_with_a_suggestion():
    err = _error(DEPLOYMENT.replace("kind: Deployment", "kind: Deploymnt"))
    assert err.line == 2
    assert str(err) == (
        'error: deploy.yaml, line 2: resource mapping not found for name: "web" namespace: "" from "deploy.yaml": '
        'no matches for kind "Deploymnt" in version "apps/v1"\nensure CRDs are installed first — did you mean "Deployment"?'
    )


def test_known_kind_in_the_wrong_version_suggests_the_api_version():
    err = _error(DEPLOYMENT.replace("apps/v1", "extensions/v1beta1"))
    assert 'no matches for kind "Deployment" in version "extensions/v1beta1"' in str(err)
    assert str(err).endswith('did you mean apiVersion "apps/v1"?')


def test_custom_resources_are_known_through_the_registry_and_skip_the_schema():
    text = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  anything: [1, 2]\n"
    assert "no matches for kind" in str(_error(text))
    registry = default_registry()
    registry.register(Kind("Widget", "widgets", group="example.com"))
    [m] = load_manifests(text)
    assert validate_manifest(m, registry) is None
    assert schema_errors(m.obj) == []


def test_selector_that_does_not_match_template_labels():
    err = _error(
        DEPLOYMENT.replace(
            "      labels:\n        app: web", "      labels:\n        app: nginx\n        tier: fe"
        )
    )
    assert err.field == "spec.template.metadata.labels"
    assert err.line == 14
    assert err.detail == (
        'Invalid value: map[string]string{"app":"nginx", "tier":"fe"}: `selector` does not match template `labels`'
    )


def test_negative_replicas():
    err = _error(CONFIGMAP + DEPLOYMENT.replace("  replicas: 3", "  replicas: -1"))
    assert (err.line, err.field, err.detail) == (
        15,
        "spec.replicas",
        "Invalid value: -1: must be greater than or equal to 0",
    )


@pytest.mark.parametrize(
    "change, field, detail",
    [
        (
            ("  name: web\n", "  name: Web\n"),
            "metadata.name",
            'Invalid value: "Web": a lowercase RFC 1123 subdomain',
        ),
        (
            ("        image: nginx:1.27\n", ""),
            "spec.template.spec.containers[0].image",
            "Required value",
        ),
        (
            ("- containerPort: 80", "- containerPort: 0"),
            "spec.template.spec.containers[0].ports[0].containerPort",
            "Required value",
        ),
        (
            ("- containerPort: 80", "- containerPort: 70000"),
            "spec.template.spec.containers[0].ports[0].containerPort",
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (
            ("      containers:", "      restartPolicy: Sometimes\n      containers:"),
            "spec.template.spec.restartPolicy",
            'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        ),
        (
            ("      containers:", "      restartPolicy: Never\n      containers:"),
            "spec.template.spec.restartPolicy",
            'Unsupported value: "Never": supported values: "Always"',
        ),
        (
            (
                "        ports:",
                "        resources:\n          requests:\n            cpu: abc\n        ports:",
            ),
            "spec.template.spec.containers[0].resources.requests[cpu]",
            "Invalid value: \"abc\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
        (
            (
                "        ports:",
                "        resources:\n          requests: {cpu: '2'}\n          limits: {cpu: 1000m}\n        ports:",
            ),
            "spec.template.spec.containers[0].resources.requests",
            'Invalid value: "2": must be less than or equal to cpu limit of 1',
        ),
        (
            ("  selector:\n    matchLabels:\n      app: web\n", "  selector: {}\n"),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
        ),
        (
            ("  selector:\n    matchLabels:\n      app: web\n", ""),
            "spec.selector",
            "Required value",
        ),
    ],
)
def test_api_server_rules(change, field, detail):
    err = _error(DEPLOYMENT.replace(*change))
    assert err.field == field
    assert err.detail.startswith(detail)


def test_duplicate_container_names():
    text = DEPLOYMENT + "      - name: nginx\n        image: busybox\n"
    err = _error(text)
    assert (err.field, err.detail, err.line) == (
        "spec.template.spec.containers[1].name",
        'Duplicate value: "nginx"',
        22,
    )


def test_job_needs_a_restart_policy_that_ends():
    job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: pi\nspec:\n  template:\n    spec:\n      containers:\n      - name: pi\n        image: perl\n"
    err = _error(job)
    assert (err.field, err.detail) == (
        "spec.template.spec.restartPolicy",
        'Required value: valid values: "OnFailure", "Never"',
    )
    [m] = load_manifests(job.replace("    spec:\n", "    spec:\n      restartPolicy: Never\n"))
    assert validate_manifest(m) is None


def test_service_rules():
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "type": "NodePort",
            "selector": {"app": "web"},
            "ports": [{"port": 80, "nodePort": 80}],
        },
    }
    [cause] = semantic_causes(svc)
    assert cause == {
        "reason": "FieldValueInvalid",
        "field": "spec.ports[0].nodePort",
        "message": "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
    }
    two_ports = copy.deepcopy(svc)
    two_ports["spec"] = {"ports": [{"port": 80}, {"name": "b", "port": 81}]}
    assert [(c["field"], c["message"]) for c in semantic_causes(two_ports)] == [
        ("spec.ports[0].name", "Required value")
    ]
    bad_type = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "1web"},
        "spec": {"type": "Foo", "ports": [{"port": 80}]},
    }
    fields = [c["field"] for c in semantic_causes(bad_type)]
    assert fields == ["metadata.name", "spec.type"]
    assert semantic_causes(bad_type)[1]["message"] == (
        'Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'
    )


def test_semantic_causes_build_an_invalid_error_like_the_api_server():
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {},
        "spec": {"containers": [{"name": "web", "image": "nginx"}, {"name": "web", "image": ""}]},
    }
    causes = semantic_causes(pod)
    assert [(c["field"], c["message"]) for c in causes] == [
        ("metadata.name", "Required value: name or generateName is required"),
        ("spec.containers[1].name", 'Duplicate value: "web"'),
        ("spec.containers[1].image", "Required value"),
    ]
    err = Invalid("Pod", "", "", causes)
    # the server's message lists the causes in brackets; kubectl prints one per line
    assert err.message.startswith('Pod "" is invalid: [metadata.name: Required value: name or generateName is required, ')
    assert str(err) == ('The Pod "" is invalid: \n'
                        "* metadata.name: Required value: name or generateName is required\n"
                        '* spec.containers[1].name: Duplicate value: "web"\n'
                        "* spec.containers[1].image: Required value")


def test_volume_mount_must_name_a_volume():
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {"name": "c", "image": "i", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}
            ]
        },
    }
    assert semantic_causes(pod) == [
        {
            "reason": "FieldValueNotFound",
            "message": 'Not found: "data"',
            "field": "spec.containers[0].volumeMounts[0].name",
        }
    ]
    pod["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    assert semantic_causes(pod) == []


def test_selector_is_immutable_on_update():
    [m] = load_manifests(DEPLOYMENT)
    old = m.obj
    new = copy.deepcopy(old)
    new["spec"]["selector"]["matchLabels"]["app"] = "web2"
    new["spec"]["template"]["metadata"]["labels"]["app"] = "web2"
    assert semantic_causes(new) == []
    [cause] = semantic_causes(new, old)
    assert cause["field"] == "spec.selector"
    assert cause["message"] == (
        'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    )
    scaled = copy.deepcopy(old)
    scaled["spec"]["replicas"] = 10
    assert semantic_causes(scaled, old) == []


def test_pod_updates_may_only_change_images_and_a_few_fields():
    old = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "c", "image": "nginx:1", "ports": [{"containerPort": 80}]}]
        },
    }
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:2"
    new["spec"]["tolerations"] = [{"key": "k", "operator": "Exists"}]
    assert semantic_causes(new, old) == []
    new["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080
    [cause] = semantic_causes(new, old)
    assert cause["field"] == "spec" and cause["reason"] == "FieldValueForbidden"
    assert cause["message"].startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`"
    )
    assert "spec.containers[0].ports[0].containerPort: 80 -> 8080" in cause["message"]


def test_suggest():
    assert suggest("replcas", ["replicas", "selector"]) == "replicas"
    assert suggest("Replicas", ["replicas"]) == "replicas"
    assert suggest("containres", ["containers", "volumes"]) == "containers"
    assert suggest("zzz", ["replicas"]) is None
    assert suggest("replicas", ["replicas"]) is None


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.text(max_size=5)
    | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "metadata",
                    "spec",
                    "name",
                    "containers",
                    "image",
                    "ports",
                    "containerPort",
                    "selector",
                    "matchLabels",
                    "template",
                    "labels",
                    "replicas",
                    "resources",
                    "requests",
                    "cpu",
                    "restartPolicy",
                    "volumes",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        ["Pod", "Deployment", "Service", "Job", "CronJob", "StatefulSet", "ConfigMap", "Widget"]
    ),
    _json,
    _json,
)
def test_semantic_causes_never_raise_on_junk(kind, spec, metadata):
    obj = {"apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": spec}
    causes = semantic_causes(obj)
    assert all(set(c) == {"reason", "message", "field"} for c in causes)
    semantic_causes(obj, obj)


def _deployment_with_selector(selector) -> dict:
    [m] = load_manifests(DEPLOYMENT)
    obj = copy.deepcopy(m.obj)
    obj["spec"]["selector"] = selector
    return obj


@pytest.mark.parametrize(
    ("selector", "field", "given", "expected"),
    [
        ({"matchLabels": 1}, "spec.selector.matchLabels", "integer", "object"),  # the saved example
        ({"matchLabels": "0"}, "spec.selector.matchLabels", "string", "object"),
        ({"matchLabels": ["app"]}, "spec.selector.matchLabels", "array", "object"),
        (
            {"matchExpressions": [{"key": "app", "operator": ["In"], "values": ["web"]}]},
            "spec.selector.matchExpressions[0].operator",
            "array",
            "string",
        ),
        (1, "spec.selector", "integer", "object"),
    ],
)
def test_a_workload_selector_of_the_wrong_type_is_one_type_cause(selector, field, given, expected):
    # Regression: LabelSelector.from_dict raised TypeError/IndexError out of semantic_causes.
    causes = semantic_causes(_deployment_with_selector(selector))
    assert causes == [
        {
            "reason": "FieldValueTypeInvalid",
            "message": f'Invalid value: "{given}": {field} in body must be of type {expected}: "{given}"',
            "field": field,
        }
    ]


def test_a_missing_workload_selector_is_required_and_matches_no_template():
    causes = semantic_causes(_deployment_with_selector(None))
    assert [(c["field"], c["reason"]) for c in causes] == [
        ("spec.selector", "FieldValueRequired"),
        ("spec.template.metadata.labels", "FieldValueInvalid"),
    ]


def test_volume_names_and_mount_paths_of_the_wrong_type_are_type_causes():
    # Regression: a map or list as a volume name or mount path went into a set (TypeError).
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "volumes": [{"name": {"a": 1}}, {"name": "data"}, 3],
            "containers": [
                {
                    "name": "c",
                    "image": "i",
                    "volumeMounts": [
                        {"name": ["data"], "mountPath": "/d"},
                        {"name": "data", "mountPath": {"p": 1}},
                        {"name": "data", "mountPath": "/d"},
                        "x",
                    ],
                }
            ],
        },
    }
    got = [(c["field"], c["reason"]) for c in semantic_causes(pod)]
    assert got == [
        ("spec.volumes[0].name", "FieldValueTypeInvalid"),
        ("spec.volumes[2]", "FieldValueTypeInvalid"),
        ("spec.containers[0].volumeMounts[0].name", "FieldValueTypeInvalid"),
        ("spec.containers[0].volumeMounts[1].mountPath", "FieldValueTypeInvalid"),
        ("spec.containers[0].volumeMounts[2].mountPath", "FieldValueInvalid"),  # "/d" again
        ("spec.containers[0].volumeMounts[3]", "FieldValueTypeInvalid"),
    ]


def test_service_port_fields_of_the_wrong_type_are_type_causes():
    # Regression: a list as a port name, or a map as a protocol (in the port key), went into a set.
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {
            "type": "NodePort",
            "ports": [
                {"name": ["a"], "port": 80, "protocol": {"x": 1}},
                {"name": "b", "port": "80", "targetPort": {"p": 1}, "nodePort": "30001"},
            ],
        },
    }
    causes = semantic_causes(svc)
    assert [(c["field"], c["reason"]) for c in causes] == [
        ("spec.ports[0].name", "FieldValueTypeInvalid"),
        ("spec.ports[0].protocol", "FieldValueTypeInvalid"),
        ("spec.ports[1].port", "FieldValueTypeInvalid"),
        ("spec.ports[1].targetPort", "FieldValueTypeInvalid"),
        ("spec.ports[1].nodePort", "FieldValueTypeInvalid"),
    ]
    assert causes[3]["message"] == (
        'Invalid value: "object": spec.ports[1].targetPort in body must be of type integer,string: "object"'
    )


@pytest.mark.parametrize("junk", [True, 5, "ab", {"key": "k"}])
def test_pod_update_with_tolerations_or_gates_of_the_wrong_type(junk):
    # Regression: pod_update iterated them (and tested membership in them) as lists.
    old = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "c", "image": "i"}],
            "tolerations": [{"key": "k", "operator": "Exists"}],
            "schedulingGates": [{"name": "g"}],
        },
    }
    new = copy.deepcopy(old)
    new["spec"]["tolerations"] = junk
    new["spec"]["schedulingGates"] = junk
    causes = semantic_causes(new, old)
    assert [(c["field"], c["reason"]) for c in causes] == [
        ("spec.tolerations", "FieldValueTypeInvalid"),
        (
            "spec",
            "FieldValueForbidden",
        ),  # neither an addition of tolerations nor a removal of gates
    ]
    assert "spec.tolerations: " in causes[1]["message"]
    assert "spec.schedulingGates: " in causes[1]["message"]
    assert [c["reason"] for c in semantic_causes(old, new)] == ["FieldValueForbidden"]
    assert semantic_causes(new, new) == causes[:1]  # unchanged: only the type


def test_validating_many_objects_is_fast():
    import time

    [m] = load_manifests(DEPLOYMENT)
    validate_manifest(m)  # builds and caches the schema validator
    start = time.perf_counter()
    for _ in range(200):
        validate_manifest(m)
    assert time.perf_counter() - start < 2.0


def test_docstring_examples_run():
    import doctest

    import k8slab.api.rules as rules
    import k8slab.api.rules_pod as rules_pod
    import k8slab.api.schema as schema
    import k8slab.api.validation as validation

    for module in (validation, schema, rules, rules_pod):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_unknown_fields_are_reported_before_missing_ones():
    text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replcas: 3\n"
    err = _error(text)
    assert err.field == "spec.replcas"
    err = _error(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n"
    )
    assert (err.field, err.detail, err.line) == ("spec.selector", "Required value", 5)
