"""Name and label rules give the API server's messages; generated names have the real form."""

import random

import pytest

from k8slab.api.names import (
    SUFFIX_ALPHABET,
    GoLiteral,
    fnv32a,
    go_value,
    invalid,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    label_value_errors,
    not_supported,
    pod_template_hash,
    port_name_errors,
    qualified_name_errors,
    random_suffix,
    required,
    safe_encode,
    validate_labels,
    validate_object_name,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
    "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


@pytest.mark.parametrize(
    "name, subdomain, label",
    [
        ("web", True, True),
        ("web-1", True, True),
        ("web.v1", True, False),
        ("1web", True, True),
        ("Web", False, False),
        ("web_1", False, False),
        ("-web", False, False),
        ("web-", False, False),
        ("", False, False),
        ("a" * 63, True, True),
        ("a" * 64, True, False),
        ("a." * 126 + "a", True, False),  # 253 characters
        ("a." * 127, False, False),
    ],
)
def test_dns_names(name, subdomain, label):
    assert is_dns1123_subdomain(name) is subdomain
    assert is_dns1123_label(name) is label


def test_dns1035_labels_start_with_a_letter():
    assert is_dns1035_label("web")
    assert not is_dns1035_label("1web")


def test_most_names_are_subdomains_with_the_real_message():
    assert validate_object_name("Pod", "web.v1") == []
    assert validate_object_name("Deployment", "Web") == [SUBDOMAIN_MSG]
    assert validate_object_name("ConfigMap", "x" * 254) == ["must be no more than 253 characters"]
    assert validate_object_name("ConfigMap", "X" * 254) == [
        "must be no more than 253 characters",
        SUBDOMAIN_MSG,
    ]


def test_namespace_names_are_labels():
    assert validate_object_name("Namespace", "team.a") == [LABEL_MSG]
    assert validate_object_name("Namespace", "a" * 64) == ["must be no more than 63 characters"]


def test_service_names_must_start_with_a_letter():
    [msg] = validate_object_name("Service", "1st")
    assert msg.startswith(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with"
    )
    assert validate_object_name("Service", "web") == []


def test_generate_name_prefix_may_end_with_a_dash():
    assert validate_object_name("Pod", "web-", prefix=True) == []
    assert validate_object_name("Pod", "web-") == [SUBDOMAIN_MSG]


def test_cronjob_names_are_limited_to_52_characters():
    assert validate_object_name("CronJob", "c" * 53) == ["must be no more than 52 characters"]
    assert validate_object_name("CronJob", "c" * 52) == []


def test_qualified_names():
    assert qualified_name_errors("app.kubernetes.io/name") == []
    assert qualified_name_errors("app:web") == [NAME_PART_MSG]
    assert qualified_name_errors("/name") == ["prefix part must be non-empty"]
    assert qualified_name_errors("a/b/c")[0].startswith("a qualified name must consist of")
    assert qualified_name_errors("Example.com/x")[0].startswith(
        "prefix part a lowercase RFC 1123 subdomain"
    )
    assert qualified_name_errors("x" * 64) == ["name part must be no more than 63 characters"]


def test_label_values():
    assert label_value_errors("") == []
    assert label_value_errors("v1.2_beta-3") == []
    [msg] = label_value_errors("a b")
    assert msg.startswith(
        "a valid label must be an empty string or consist of alphanumeric characters"
    )
    assert msg.endswith(
        "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    )


def test_validate_labels_names_the_map_and_quotes_the_bad_key_or_value():
    causes = validate_labels({"app": "my app", "my key": "x"}, "metadata.labels")
    assert [c["field"] for c in causes] == ["metadata.labels", "metadata.labels"]
    assert causes[0]["message"].startswith('Invalid value: "my app": a valid label must be')
    assert causes[1]["message"] == 'Invalid value: "my key": ' + NAME_PART_MSG
    assert all(c["reason"] == "FieldValueInvalid" for c in causes)
    assert validate_labels({"app": "web"}, "metadata.labels") == []


def test_port_names():
    assert port_name_errors("http") == []
    assert port_name_errors("HTTP") == [
        "must contain only alphanumeric characters (a-z, 0-9), and hyphens (-)",
        "must contain at least one letter (a-z)",
    ]
    assert "must not contain consecutive hyphens" in port_name_errors("a--b")


def test_go_value_formats_like_go():
    assert go_value("Web") == '"Web"'
    assert go_value('say "hi"\n') == '"say \\"hi\\"\\n"'
    assert go_value(-1) == "-1"
    assert go_value(False) == "false"
    assert go_value(None) == "null"
    assert go_value(1.5) == "1.5"
    assert go_value(1e6) == "1e+06"
    assert go_value({"tier": "db", "app": "web"}) == 'map[string]string{"app":"web", "tier":"db"}'
    assert go_value({}) == "map[string]string{}"
    assert go_value(["a", "b"]) == '[]string{"a", "b"}'
    assert go_value(GoLiteral("v1.X{}")) == "v1.X{}"


def test_cause_builders():
    assert invalid("spec.replicas", -1, "must be greater than or equal to 0") == {
        "reason": "FieldValueInvalid",
        "message": "Invalid value: -1: must be greater than or equal to 0",
        "field": "spec.replicas",
    }
    assert required("metadata.name", "name or generateName is required")["message"] == (
        "Required value: name or generateName is required"
    )
    assert not_supported("spec.restartPolicy", "Sometimes", ["Always", "OnFailure", "Never"])[
        "message"
    ] == ('Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"')


def test_safe_encode_maps_digits_into_the_alphabet():
    assert safe_encode("0123456789") == "456789bcdf"
    assert safe_encode("abc") == "".join(SUFFIX_ALPHABET[ord(c) % 27] for c in "abc")


def test_fnv32a_known_values():
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert fnv32a(b"foobar") == 0xBF9CF968


def test_pod_template_hash_has_the_real_form_and_follows_the_template():
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
    }
    h = pod_template_hash(template)
    assert 1 <= len(h) <= 10 and set(h) <= set("456789bcdf")
    same_keys_other_order = {"spec": template["spec"], "metadata": template["metadata"]}
    assert pod_template_hash(same_keys_other_order) == h
    changed = {
        "metadata": template["metadata"],
        "spec": {"containers": [{"name": "web", "image": "nginx:2"}]},
    }
    assert pod_template_hash(changed) != h
    assert pod_template_hash(template, collision_count=1) != h
    assert pod_template_hash(template, collision_count=1) == pod_template_hash(template, 1)


def test_random_suffix_is_seeded_and_uses_the_alphabet():
    a = [random_suffix(random.Random(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = random.Random(7)
    many = {random_suffix(rng) for _ in range(200)}
    assert len(many) == 200
    assert all(len(s) == 5 and set(s) <= set(SUFFIX_ALPHABET) for s in many)
    assert len(random_suffix(random.Random(1), n=10)) == 10


def test_docstring_examples_run():
    import doctest

    import k8slab.api.field_errors as field_errors
    import k8slab.api.names as names

    # The cause builders moved from names to field_errors; names still exports them.
    for module in (names, field_errors):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__
