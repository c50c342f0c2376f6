"""-o yaml and -o json as kubectl writes them (go-yaml v2 and encoding/json)."""

from k8slab.kubectl.cmd_write import deployment_object
from k8slab.kubectl.encoding import to_json, to_yaml


def test_yaml_of_create_deployment_dry_run_matches_kubectl():
    # kubectl create deployment web --image=nginx --dry-run=client -o yaml
    assert to_yaml(deployment_object("web", ["nginx"])) == (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        "  creationTimestamp: null\n"
        "  labels:\n"
        "    app: web\n"
        "  name: web\n"
        "spec:\n"
        "  replicas: 1\n"
        "  selector:\n"
        "    matchLabels:\n"
        "      app: web\n"
        "  strategy: {}\n"
        "  template:\n"
        "    metadata:\n"
        "      creationTimestamp: null\n"
        "      labels:\n"
        "        app: web\n"
        "    spec:\n"
        "      containers:\n"
        "      - image: nginx\n"
        "        name: nginx\n"
        "        resources: {}\n"
        "status: {}\n"
    )


def test_yaml_quotes_strings_that_would_read_back_as_other_types():
    text = to_yaml({"a": "2025-01-01T00:00:35Z", "b": "80", "c": "true", "d": "", "e": "*", "f": "nginx",
                    "g": "0", "h": "1.5", "i": "no", "j": '["agent"]', "k": "a: b", "l": "10.96.0.1"})
    assert text == (
        'a: "2025-01-01T00:00:35Z"\n'
        'b: "80"\n'
        'c: "true"\n'
        'd: ""\n'
        "e: '*'\n"
        "f: nginx\n"
        'g: "0"\n'
        'h: "1.5"\n'
        'i: "no"\n'
        "j: '[\"agent\"]'\n"
        "k: 'a: b'\n"
        "l: 10.96.0.1\n"
    )


def test_yaml_lists_sit_at_their_keys_indent_and_nest():
    assert to_yaml({"items": [{"a": 1, "b": [1, 2]}, [3, 4]], "empty": [], "none": None}) == (
        "empty: []\n"
        "items:\n"
        "- a: 1\n"
        "  b:\n"
        "  - 1\n"
        "  - 2\n"
        "- - 3\n"
        "  - 4\n"
        "none: null\n"
    )


def test_yaml_key_order_is_go_yaml_natural_order():
    # Marks before letters, digit runs by value: not plain code-point order.
    assert to_yaml({"k10": 1, "k9": 1, "app": 1, "app-x": 1, "Z": 1, "_a": 1}).split("\n")[:-1] == [
        "_a: 1", "Z: 1", "app: 1", "app-x: 1", "k9: 1", "k10: 1",
    ]


def test_yaml_multiline_strings_are_literal_blocks():
    # ("y" is a YAML 1.1 boolean, so go-yaml quotes it even as a key.)
    text = to_yaml({"metadata": {"annotations": {"x": '{"a":1}\n', "z": "one\ntwo", "y": "yes"}}})
    assert text == (
        "metadata:\n"
        "  annotations:\n"
        "    x: |\n"
        '      {"a":1}\n'
        '    "y": "yes"\n'
        "    z: |-\n"
        "      one\n"
        "      two\n"
    )


def test_yaml_folds_long_strings_after_column_80():
    msg = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
           "3 No preemption victims found for incoming pod.")
    text = to_yaml({"status": {"conditions": [{"message": msg, "type": "PodScheduled"}]}})
    assert text == (
        "status:\n"
        "  conditions:\n"
        "  - message: '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are\n"
        "      available: 3 No preemption victims found for incoming pod.'\n"
        "    type: PodScheduled\n"
    )


def test_json_is_sorted_four_space_indented_and_html_escaped():
    assert to_json({"status": {}, "kind": "Pod", "items": [], "x": "<none> & more", "n": 2.0}) == (
        "{\n"
        '    "items": [],\n'
        '    "kind": "Pod",\n'
        '    "n": 2,\n'
        '    "status": {},\n'
        '    "x": "\\u003cnone\\u003e \\u0026 more"\n'
        "}\n"
    )
