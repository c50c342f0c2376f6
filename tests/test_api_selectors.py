"""Label and field selectors match, print and fail like Kubernetes' labels and fields packages."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8slab.api.selectors import (
    LabelSelector,
    parse_field_selector,
    parse_selector,
    selector_from_set,
    validate_label_selector,
)


def test_from_dict_prints_sorted_requirements_and_values():
    sel = LabelSelector.from_dict(
        {
            "matchLabels": {"tier": "web", "app": "shop"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "NotIn", "values": ["b"]},
                {"key": "owner", "operator": "Exists"},
            ],
        }
    )
    assert str(sel) == "app=shop,!canary,env in (dev,prod),owner,tier=web,zone notin (b)"


def test_matching_follows_each_operator():
    sel = parse_selector("app=web,env in (prod,staging),zone notin (b),owner,!canary")
    base = {"app": "web", "env": "prod", "owner": "ann"}
    assert sel.matches(base)
    assert sel.matches({**base, "zone": "a"})
    assert not sel.matches({**base, "zone": "b"})
    assert not sel.matches({**base, "canary": "yes"})
    assert not sel.matches({k: v for k, v in base.items() if k != "owner"})
    assert not sel.matches({**base, "env": "dev"})
    assert not sel.matches({**base, "app": "api"})


def test_not_equal_and_notin_match_a_missing_label():
    assert parse_selector("tier!=db").matches({})
    assert parse_selector("tier notin (db)").matches({"app": "x"})
    assert not parse_selector("tier in (db)").matches({})


def test_empty_selector_matches_everything_but_none_matches_nothing():
    everything = LabelSelector.from_dict({})
    nothing = LabelSelector.from_dict(None)
    assert everything.empty and everything.matches({"a": "b"}) and everything.matches({})
    assert not nothing.empty and nothing.nothing
    assert not nothing.matches({"a": "b"}) and not nothing.matches({})
    assert str(everything) == str(nothing) == ""


def test_selector_from_set():
    sel = selector_from_set({"tier": "web", "app": "shop"})
    assert str(sel) == "app=shop,tier=web"
    assert sel.matches({"app": "shop", "tier": "web", "x": "y"})
    assert selector_from_set({}).empty


def test_unknown_operator_in_yaml_form():
    with pytest.raises(ValueError, match='^"Equals" is not a valid label selector operator$'):
        LabelSelector.from_dict(
            {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}
        )


def test_in_without_values_is_rejected_with_the_machinery_message():
    with pytest.raises(ValueError) as info:
        LabelSelector.from_dict(
            {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}
        )
    assert (
        str(info.value)
        == "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"
    )


@pytest.mark.parametrize(
    "text, printed",
    [
        ("app=web", "app=web"),
        ("app==web", "app==web"),
        ("app!=web", "app!=web"),
        ("env in (b, a)", "env in (a,b)"),
        ("env notin (a)", "env notin (a)"),
        ("key", "key"),
        ("!key", "!key"),
        (" tier = web , app = shop ", "app=shop,tier=web"),
        ("app=", "app="),
        ("x in (in, notin)", "x in (in,notin)"),
        ("in=notin", "in=notin"),
        ("a.b/c=d", "a.b/c=d"),
        ("", ""),
    ],
)
def test_parse_selector_text_forms(text, printed):
    assert str(parse_selector(text)) == printed


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "app:web",
            'unable to parse requirement: <nil>: Invalid value: "app:web": name part must consist of alphanumeric '
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
            "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ),
        ("env in a", "unable to parse requirement: found 'a' expected: '('"),
        (
            "app web",
            "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt",
        ),
        ("app=web,", "found '', expected: identifier after ','"),
        ("app=web x", "found 'x', expected: ',' or 'end of string'"),
        (",app=web", "found ',', expected: !, identifier, or 'end of string'"),
        ("env in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ],
)
def test_parse_selector_errors_read_like_kubernetes(text, message):
    with pytest.raises(ValueError) as info:
        parse_selector(text)
    assert str(info.value) == message


def test_bad_label_value_in_text_names_the_value():
    with pytest.raises(ValueError) as info:
        parse_selector("env=a@b")
    assert str(info.value).startswith(
        'unable to parse requirement: values[0][env]: Invalid value: "a@b": a valid label'
    )


def test_set_values_may_include_the_empty_value():
    assert parse_selector("env in (,a)").matches({"env": ""})
    assert parse_selector("env in ()").matches({"env": ""})


_keys = st.sampled_from(["app", "tier", "env", "example.com/team", "x"])
_values = st.lists(
    st.sampled_from(["a", "b", "web", "db", "v1.2"]), min_size=1, max_size=3, unique=True
)
_expression = st.one_of(
    st.builds(lambda k, v: {"key": k, "operator": "In", "values": v}, _keys, _values),
    st.builds(lambda k, v: {"key": k, "operator": "NotIn", "values": v}, _keys, _values),
    st.builds(lambda k: {"key": k, "operator": "Exists"}, _keys),
    st.builds(lambda k: {"key": k, "operator": "DoesNotExist"}, _keys),
)
_labels = st.dictionaries(_keys, st.sampled_from(["a", "b", "web", "db", "v1.2"]), max_size=4)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(_keys, st.sampled_from(["a", "web"]), max_size=3),
    st.lists(_expression, max_size=3),
    _labels,
)
def test_printed_selector_parses_back_to_the_same_selection(match_labels, expressions, labels):
    sel = LabelSelector.from_dict({"matchLabels": match_labels, "matchExpressions": expressions})
    again = parse_selector(str(sel))
    assert str(again) == str(sel)
    assert again.matches(labels) == sel.matches(labels)


def test_field_selector_reads_dotted_paths():
    pod = {
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"nodeName": "worker-1", "hostNetwork": False},
        "status": {"phase": "Running"},
    }
    assert parse_field_selector("spec.nodeName=worker-1").matches(pod)
    assert parse_field_selector("spec.nodeName==worker-1,status.phase=Running").matches(pod)
    assert not parse_field_selector("status.phase!=Running").matches(pod)
    assert parse_field_selector("metadata.namespace=default,metadata.name=web-1").matches(pod)
    assert parse_field_selector("spec.hostNetwork=false").matches(pod)
    # A missing field reads as "", which is how `spec.nodeName=` finds pending pods.
    assert parse_field_selector("spec.nodeName=").matches({"spec": {}})
    assert not parse_field_selector("spec.nodeName=").matches(pod)


def test_field_selector_prints_its_terms_sorted():
    assert (
        str(parse_field_selector("status.phase!=Failed,spec.nodeName=a"))
        == "spec.nodeName=a,status.phase!=Failed"
    )
    assert parse_field_selector("").empty


def test_field_selector_errors():
    with pytest.raises(ValueError, match=r"^invalid selector: 'a=b=c'; can't understand 'a=b=c'$"):
        parse_field_selector("a=b=c")
    with pytest.raises(ValueError, match="^field label not supported: spec.foo$"):
        parse_field_selector("spec.foo=bar").check_supported("Pod")
    parse_field_selector("spec.nodeName=a,metadata.name=b").check_supported("Pod")
    with pytest.raises(ValueError, match="^field label not supported: metadata.namespace$"):
        parse_field_selector("metadata.namespace=x").check_supported("Node", namespaced=False)


def test_validate_label_selector_causes():
    causes = validate_label_selector(
        {
            "matchLabels": {"app": "my app"},
            "matchExpressions": [
                {"key": "env", "operator": "In"},
                {"key": "zone", "operator": "Exists", "values": ["a"]},
                {"key": "tier", "operator": "Equals", "values": ["a"]},
            ],
        },
        "spec.selector",
    )
    got = [(c["field"], c["message"].split(":")[0], c["reason"]) for c in causes]
    assert got == [
        ("spec.selector.matchLabels", "Invalid value", "FieldValueInvalid"),
        ("spec.selector.matchExpressions[0].values", "Required value", "FieldValueRequired"),
        ("spec.selector.matchExpressions[1].values", "Forbidden", "FieldValueForbidden"),
        ("spec.selector.matchExpressions[2].operator", "Invalid value", "FieldValueInvalid"),
    ]
    assert causes[3]["message"] == 'Invalid value: "Equals": not a valid selector operator'
    assert validate_label_selector({"matchLabels": {"app": "web"}}, "spec.selector") == []


@pytest.mark.parametrize(
    ("selector", "field", "given", "expected"),
    [
        ({"matchLabels": 1}, "matchLabels", "integer", "object"),
        ({"matchLabels": "0"}, "matchLabels", "string", "object"),
        ({"matchLabels": ["app"]}, "matchLabels", "array", "object"),
        ({"matchLabels": {"app": {"a": "b"}}}, "matchLabels.app", "object", "string"),
        ({"matchExpressions": {"key": "a"}}, "matchExpressions", "object", "array"),
        ({"matchExpressions": [1]}, "matchExpressions[0]", "integer", "object"),
        (
            {"matchExpressions": [{"key": "a", "operator": {"In": 1}, "values": ["b"]}]},
            "matchExpressions[0].operator",
            "object",
            "string",
        ),
        (
            {"matchExpressions": [{"key": ["a"], "operator": "Exists"}]},
            "matchExpressions[0].key",
            "array",
            "string",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": "b"}]},
            "matchExpressions[0].values",
            "string",
            "array",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": [["b"]]}]},
            "matchExpressions[0].values[0]",
            "array",
            "string",
        ),
    ],
)
def test_from_dict_rejects_fields_of_the_wrong_type_with_a_value_error(
    selector, field, given, expected
):
    # Regression: these raised TypeError/IndexError (or iterated a string's letters).
    with pytest.raises(ValueError) as info:
        LabelSelector.from_dict(selector)
    assert str(info.value) == (
        f'{field}: Invalid value: "{given}": {field} in body must be of type {expected}: "{given}"'
    )
    [cause] = validate_label_selector(selector, "spec.selector")
    assert cause["reason"] == "FieldValueTypeInvalid"
    assert cause["field"] == f"spec.selector.{field}"


def test_scalars_where_label_values_belong_are_still_read_as_text():
    sel = LabelSelector.from_dict(
        {
            "matchLabels": {"on": True},
            "matchExpressions": [{"key": "n", "operator": "In", "values": [1]}],
        }
    )
    assert str(sel) == "n in (1),on=true"


def test_docstring_examples_run():
    import doctest

    import k8slab.api.selectors as module

    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
