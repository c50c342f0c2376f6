"""More of the API server's defaulting, decoding, registry strategies and rules.

Defaults, decoding and strategies are in :mod:`k8slab.api.defaults`
(``apply_defaults``, ``prepare_for_create``, ``prepare_for_update``); the
rules in :mod:`k8slab.api.rules` / :mod:`k8slab.api.rules_pod`
(``semantic_causes``). Expected values are those of a v1.30 API server.
"""

from __future__ import annotations

import copy

import pytest

from k8slab.api import errors
from k8slab.api.defaults import (
    ANNOTATION_TEMPLATE_GENERATION,
    apply_defaults,
    decode_base64,
    prepare_for_create,
    prepare_for_update,
)
from k8slab.api.rules import semantic_causes

NOW = "2025-01-01T00:00:10Z"
_IMMUTABLE = "Forbidden: field is immutable when `immutable` is set"


def _causes(obj, old=None):
    return [(c["field"], c["message"]) for c in semantic_causes(obj, old)]


# -- decoding: base64, stringData ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("af76fsdK_cQ89_Hj1Aq", 8),  # "_" is not in the standard alphabet
        ("bsdfmkwegwegwe", 12),  # 14 characters: the last quantum is cut short
        ("abc", 0),
        ("YQ=", 3),  # "==" expected, the input ends after one
        ("YQ=x", 2),  # "==" expected, something else came
        ("YQ==x", 4),  # trailing garbage after the padding
        ("=QQ=", 0),
        ("Y===", 1),
    ],
)
def test_base64_errors_name_go_offsets(text, offset):
    with pytest.raises(ValueError) as e:
        decode_base64(text)
    assert str(e.value) == f"illegal base64 data at input byte {offset}"


def test_base64_skips_newlines_and_accepts_padding():
    assert decode_base64("YWRt\naW4=\n") == b"admin"
    assert decode_base64("YQ==") == b"a"
    assert decode_base64("YWI=") == b"ab"
    assert decode_base64("") == b""


def test_secret_stringdata_becomes_data_and_data_is_written_canonically():
    secret = apply_defaults({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "data": {"user": "YWRt\naW4=", "password": "b2xk"},
        "stringData": {"password": "new", "host": "db.local"},
    })
    assert secret == {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "type": "Opaque",
        "data": {"host": "ZGIubG9jYWw=", "password": "bmV3", "user": "YWRtaW4="},
    }
    assert list(secret["data"]) == ["host", "password", "user"]
    assert apply_defaults(copy.deepcopy(secret)) == secret
    # an empty stringData is dropped too, and an empty type is Opaque
    assert apply_defaults({"kind": "Secret", "type": "", "stringData": {}}) == {"kind": "Secret", "type": "Opaque"}


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"kind": "Secret", "data": {"k": "s3cret"}},
         'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 4'),
        ({"kind": "Secret", "data": {"k": 5}},
         'Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal number into Go '
         'struct field Secret.data of type []uint8'),
        ({"kind": "Secret", "stringData": {"port": 8080}},
         'Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal number into Go '
         'struct field Secret.stringData of type string'),
        ({"kind": "ConfigMap", "data": {"replicas": 3}},
         'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go '
         'struct field ConfigMap.data of type string'),
        ({"kind": "ConfigMap", "data": {"debug": True}},
         'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal bool into Go '
         'struct field ConfigMap.data of type string'),
        ({"kind": "ConfigMap", "binaryData": {"blob": "a"}},
         'ConfigMap in version "v1" cannot be handled as a ConfigMap: illegal base64 data at input byte 0'),
    ],
)
def test_values_the_server_cannot_decode_are_a_bad_request(obj, message):
    with pytest.raises(errors.BadRequest) as e:
        apply_defaults(obj)
    assert (e.value.code, e.value.message) == (400, message)


def test_null_config_values_read_as_empty_strings():
    assert apply_defaults({"kind": "ConfigMap", "data": {"a": None}})["data"] == {"a": ""}


# -- defaults -----------------------------------------------------------------------------------------------


def test_priority_class_preemption_policy():
    pc = apply_defaults({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                         "metadata": {"name": "high"}, "value": 1000})
    assert pc["preemptionPolicy"] == "PreemptLowerPriority"
    never = apply_defaults({"kind": "PriorityClass", "preemptionPolicy": "Never"})
    assert never["preemptionPolicy"] == "Never"


def test_volumes_and_claims():
    pv = apply_defaults({"kind": "PersistentVolume", "spec": {"hostPath": {"path": "/mnt/data"}}})
    assert pv["spec"] == {"hostPath": {"path": "/mnt/data", "type": ""},
                          "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem"}
    assert pv["status"] == {"phase": "Pending"}
    pvc = apply_defaults({"kind": "PersistentVolumeClaim", "spec": {"resources": {}}})
    assert (pvc["spec"]["volumeMode"], pvc["status"]) == ("Filesystem", {"phase": "Pending"})
    block = apply_defaults({"kind": "PersistentVolume", "spec": {"volumeMode": "Block",
                                                                 "persistentVolumeReclaimPolicy": "Delete"}})
    assert (block["spec"]["volumeMode"], block["spec"]["persistentVolumeReclaimPolicy"]) == ("Block", "Delete")


def test_pod_volume_sources():
    pod = apply_defaults({"kind": "Pod", "spec": {"containers": [], "volumes": [
        {"name": "host", "hostPath": {"path": "/var/log"}},
        {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}},
        {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 0o400}},
        {"name": "blank"},
    ]}})
    host, token, scratch, cfg, blank = pod["spec"]["volumes"]
    assert host["hostPath"] == {"path": "/var/log", "type": ""}
    assert token["projected"] == {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}],
                                  "defaultMode": 420}
    assert scratch["ephemeral"]["volumeClaimTemplate"]["spec"]["volumeMode"] == "Filesystem"
    assert cfg["configMap"]["defaultMode"] == 256
    assert blank == {"name": "blank", "emptyDir": {}}


def test_service_session_affinity_config():
    client_ip = apply_defaults({"kind": "Service", "spec": {"sessionAffinity": "ClientIP", "ports": []}})["spec"]
    assert client_ip["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    kept = apply_defaults({"kind": "Service", "spec": {
        "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}})
    assert kept["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 60}}
    # with no affinity the config is dropped
    none = apply_defaults({"kind": "Service", "spec": {
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}})["spec"]
    assert "sessionAffinityConfig" not in none and none["sessionAffinity"] == "None"
    node_port = apply_defaults({"kind": "Service", "spec": {"type": "NodePort", "externalTrafficPolicy": "",
                                                            "ports": [{"port": 80, "targetPort": 0}]}})["spec"]
    assert (node_port["externalTrafficPolicy"], node_port["internalTrafficPolicy"]) == ("Cluster", "Cluster")
    assert node_port["ports"] == [{"port": 80, "targetPort": 80, "protocol": "TCP"}]
    external = apply_defaults({"kind": "Service", "spec": {"type": "ExternalName", "externalName": "db.example"}})
    assert "internalTrafficPolicy" not in external["spec"] and "externalTrafficPolicy" not in external["spec"]


def test_empty_strings_count_as_unset_like_in_go():
    pod = apply_defaults({"kind": "Pod", "spec": {"restartPolicy": "", "dnsPolicy": "", "containers": [
        {"name": "c", "image": "nginx:1.27", "imagePullPolicy": "", "ports": [{"containerPort": 80, "protocol": ""}],
         "readinessProbe": {"httpGet": {"port": 80, "path": ""}, "periodSeconds": 0}}]}})
    spec = pod["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"]) == ("Always", "ClusterFirst")
    ctr = spec["containers"][0]
    assert (ctr["imagePullPolicy"], ctr["ports"][0]["protocol"]) == ("IfNotPresent", "TCP")
    assert ctr["readinessProbe"]["httpGet"]["path"] == "/" and ctr["readinessProbe"]["periodSeconds"] == 10
    deploy = apply_defaults({"kind": "Deployment", "spec": {"replicas": None, "strategy": {"type": ""}}})["spec"]
    assert deploy["replicas"] == 1 and deploy["strategy"]["type"] == "RollingUpdate"


def test_a_statefulset_strategy_gets_a_rolling_update_block_only_when_it_named_no_type():
    explicit = apply_defaults({"kind": "StatefulSet", "spec": {"updateStrategy": {"type": "RollingUpdate"}}})
    assert explicit["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    partial = apply_defaults({"kind": "StatefulSet", "spec": {
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {}}}})
    assert partial["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    on_delete = apply_defaults({"kind": "StatefulSet", "spec": {"updateStrategy": {"type": "OnDelete"}}})
    assert on_delete["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_statefulset_claim_templates_are_typed_claims():
    sts = apply_defaults({"kind": "StatefulSet", "spec": {"volumeClaimTemplates": [
        {"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}})
    assert sts["spec"]["volumeClaimTemplates"] == [{
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "www"},
        "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"},
    }]


# -- registry strategies ------------------------------------------------------------------------------------


def _daemon_set(image="agent:1", annotations=None):
    meta = {"name": "agent", "namespace": "default"}
    if annotations is not None:
        meta["annotations"] = annotations
    return apply_defaults({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta, "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {"metadata": {"labels": {"app": "agent"}},
                     "spec": {"containers": [{"name": "agent", "image": image}]}}}})


def test_daemonset_template_generation_starts_at_one_and_counts_template_changes():
    created = prepare_for_create(_daemon_set(annotations={"team": "ops"}), NOW)
    assert created["metadata"]["annotations"] == {ANNOTATION_TEMPLATE_GENERATION: "1", "team": "ops"}
    # a change elsewhere in the spec does not count...
    same = _daemon_set()
    same["spec"]["minReadySeconds"] = 5
    assert prepare_for_update(same, created)["metadata"]["annotations"] == {ANNOTATION_TEMPLATE_GENERATION: "1"}
    # ...a new template does, and what the request says is ignored
    changed = prepare_for_update(_daemon_set("agent:2", {ANNOTATION_TEMPLATE_GENERATION: "7"}), created)
    assert changed["metadata"]["annotations"] == {ANNOTATION_TEMPLATE_GENERATION: "2"}
    again = prepare_for_update(_daemon_set("agent:3"), changed)
    assert again["metadata"]["annotations"][ANNOTATION_TEMPLATE_GENERATION] == "3"
    # on create a larger value given by the user is kept
    given = prepare_for_create(_daemon_set(annotations={ANNOTATION_TEMPLATE_GENERATION: "4"}), NOW)
    assert given["metadata"]["annotations"] == {ANNOTATION_TEMPLATE_GENERATION: "4"}


def test_a_daemonset_generation_that_is_not_a_number_cannot_be_decoded():
    with pytest.raises(errors.BadRequest) as e:
        prepare_for_create(_daemon_set(annotations={ANNOTATION_TEMPLATE_GENERATION: "two"}), NOW)
    assert e.value.message == ('DaemonSet in version "v1" cannot be handled as a DaemonSet: '
                               'strconv.ParseInt: parsing "two": invalid syntax')


def test_new_volumes_and_claims_start_pending_whatever_status_they_were_given():
    pv = prepare_for_create({"kind": "PersistentVolume", "status": {"phase": "Available"}}, NOW)
    assert pv["status"] == {"phase": "Pending", "lastPhaseTransitionTime": NOW}
    pvc = prepare_for_create({"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}}, NOW)
    assert pvc["status"] == {"phase": "Pending"}
    pod = {"kind": "Pod", "status": {"phase": "Running"}}
    assert prepare_for_create(copy.deepcopy(pod), NOW) == pod


# -- StatefulSet rules ---------------------------------------------------------------------------------------

# The StatefulSet of the Kubernetes documentation ("StatefulSets" concept page).
DOCS_STATEFULSET = {
    "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
    "spec": {
        "selector": {"matchLabels": {"app": "nginx"}},
        "serviceName": "nginx", "replicas": 3, "minReadySeconds": 10,
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "terminationGracePeriodSeconds": 10,
                "containers": [{
                    "name": "nginx", "image": "registry.k8s.io/nginx-slim:0.24",
                    "ports": [{"containerPort": 80, "name": "web"}],
                    "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}],
                }],
            },
        },
        "volumeClaimTemplates": [{
            "metadata": {"name": "www"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "my-storage-class",
                     "resources": {"requests": {"storage": "1Gi"}}},
        }],
    },
}


def test_the_docs_statefulset_mounting_a_claim_template_is_valid():
    assert _causes(DOCS_STATEFULSET) == []
    assert _causes(apply_defaults(copy.deepcopy(DOCS_STATEFULSET))) == []


def test_other_workloads_cannot_mount_a_volume_they_do_not_have():
    for kind in ("Deployment", "ReplicaSet", "DaemonSet"):
        obj = copy.deepcopy(DOCS_STATEFULSET)
        obj["kind"] = kind
        del obj["spec"]["volumeClaimTemplates"], obj["spec"]["serviceName"]
        if kind == "DaemonSet":
            del obj["spec"]["replicas"]
        assert _causes(obj) == [("spec.template.spec.containers[0].volumeMounts[0].name", 'Not found: "www"')]


def test_a_statefulset_pod_spec_is_not_validated_only_its_labels_and_policies():
    sts = copy.deepcopy(DOCS_STATEFULSET)
    # a container without image would fail when the controller creates the pods, not here
    sts["spec"]["template"]["spec"]["containers"][0].pop("image")
    assert _causes(sts) == []
    sts["metadata"]["name"] = "web.v1"
    sts["spec"]["podManagementPolicy"] = "Random"
    sts["spec"]["template"]["metadata"]["labels"] = {"app": "nginx", "tier": "front end"}
    sts["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    sts["spec"]["template"]["spec"]["activeDeadlineSeconds"] = 60
    sts["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": "Keep"}
    assert _causes(sts) == [
        ("metadata.name", 'Invalid value: "web.v1": a lowercase RFC 1123 label must consist of lower case '
                          "alphanumeric characters or '-', and must start and end with an alphanumeric character "
                          "(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
        ("spec.podManagementPolicy", "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"),
        ("spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
         'Unsupported value: "Keep": supported values: "Retain", "Delete"'),
        ("spec.template.labels", 'Invalid value: "front end": a valid label must be an empty string or consist of '
                                 "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                 "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
                                 "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
        ("spec.template.spec.restartPolicy", 'Unsupported value: "OnFailure": supported values: "Always"'),
        ("spec.template.spec.activeDeadlineSeconds", "Forbidden: activeDeadlineSeconds in StatefulSet is not Supported"),
    ]


def test_statefulset_update_strategies():
    sts = copy.deepcopy(DOCS_STATEFULSET)
    sts["spec"]["updateStrategy"] = {"type": "OnDelete", "rollingUpdate": {"partition": 2}}
    assert _causes(sts) == [(
        "spec.updateStrategy.rollingUpdate",
        "Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:2, MaxUnavailable:(*intstr.IntOrString)(nil)}: "
        "only allowed for updateStrategy 'RollingUpdate'")]
    sts["spec"]["updateStrategy"] = {"type": "Rolling"}
    assert _causes(sts) == [(
        "spec.updateStrategy",
        'Invalid value: apps.StatefulSetUpdateStrategy{Type:"Rolling", '
        "RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}: must be 'RollingUpdate' or 'OnDelete'")]
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}
    assert _causes(sts) == [("spec.updateStrategy.rollingUpdate.partition",
                             "Invalid value: -1: must be greater than or equal to 0")]


def test_replicaset_and_daemonset_templates_may_not_set_a_deadline():
    for kind, owner in (("Deployment", "ReplicaSet"), ("ReplicaSet", "ReplicaSet"), ("DaemonSet", "DaemonSet")):
        obj = {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "w"}, "spec": {
            "selector": {"matchLabels": {"app": "w"}},
            "template": {"metadata": {"labels": {"app": "w"}}, "spec": {
                "activeDeadlineSeconds": 30, "containers": [{"name": "w", "image": "nginx"}]}}}}
        assert _causes(obj) == [("spec.template.spec.activeDeadlineSeconds",
                                 f"Forbidden: activeDeadlineSeconds in {owner} is not Supported")]


# -- ConfigMap and Secret rules -------------------------------------------------------------------------------

_KEY_RULE = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
             "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")


def test_configmap_keys():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
          "data": {"my key": "x", "..hidden": "y", "ok.txt": "z", "both": "1"},
          "binaryData": {"both": "MQ==", ".": "MQ=="}}
    assert _causes(cm) == [
        ("data[..hidden]", "Invalid value: \"..hidden\": must not start with '..'"),
        ("data[both]", 'Invalid value: "both": duplicate of key present in binaryData'),
        ("data[my key]", f'Invalid value: "my key": {_KEY_RULE}'),
        ("binaryData[.]", "Invalid value: \".\": must not be '.'"),
        ("binaryData[both]", 'Invalid value: "both": duplicate of key present in data'),
    ]


def test_configmap_size_limit():
    big = {"kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"a": "x" * (1024 * 1024), "b": "y"}}
    assert _causes(big) == [("", "Too long: must have at most 1048576 bytes")]
    big["data"].pop("b")
    assert _causes(big) == []


def test_immutable_configmap_updates():
    old = {"kind": "ConfigMap", "metadata": {"name": "cfg"}, "immutable": True, "data": {"a": "1"}}
    assert _causes(copy.deepcopy(old), old) == []
    relabelled = copy.deepcopy(old)
    relabelled["metadata"]["labels"] = {"tier": "web"}
    assert _causes(relabelled, old) == []
    changed = {"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "2"}, "binaryData": {"b": "MQ=="}}
    assert _causes(changed, old) == [("immutable", _IMMUTABLE), ("data", _IMMUTABLE), ("binaryData", _IMMUTABLE)]
    # a mutable one may become immutable (and change its data on the way)
    mutable = {"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}
    assert _causes({**mutable, "immutable": True, "data": {"a": "3"}}, mutable) == []


def test_secret_keys_count_stringdata_as_data():
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"ok": "MQ=="}, "stringData": {"bad key": "x"}}
    assert _causes(secret) == [("data[bad key]", f'Invalid value: "bad key": {_KEY_RULE}')]


@pytest.mark.parametrize(
    ("stype", "data", "string_data", "expected"),
    [
        ("kubernetes.io/tls", {}, {}, [("data[tls.crt]", "Required value"), ("data[tls.key]", "Required value")]),
        ("kubernetes.io/tls", {"tls.crt": "Qw=="}, {"tls.key": "K"}, []),
        ("kubernetes.io/dockerconfigjson", {}, {}, [("data[.dockerconfigjson]", "Required value")]),
        ("kubernetes.io/dockerconfigjson", {}, {".dockerconfigjson": '{"auths": {}}'}, []),
        ("kubernetes.io/dockerconfigjson", {}, {".dockerconfigjson": "auths"},
         [("data[.dockerconfigjson]", 'Invalid value: "<secret contents redacted>": '
                                      "invalid character 'a' looking for beginning of value")]),
        ("kubernetes.io/dockerconfigjson", {}, {".dockerconfigjson": '{"auths": {}'},
         [("data[.dockerconfigjson]", 'Invalid value: "<secret contents redacted>": unexpected end of JSON input')]),
        ("kubernetes.io/dockerconfigjson", {}, {".dockerconfigjson": '{"auths" {}}'},
         [("data[.dockerconfigjson]", 'Invalid value: "<secret contents redacted>": '
                                      "invalid character '{' after object key")]),
        ("kubernetes.io/dockerconfigjson", {}, {".dockerconfigjson": '["a"]'},
         [("data[.dockerconfigjson]", 'Invalid value: "<secret contents redacted>": '
                                      "json: cannot unmarshal array into Go value of type map[string]interface {}")]),
        ("kubernetes.io/dockercfg", {}, {}, [("data[.dockercfg]", "Required value")]),
        ("kubernetes.io/basic-auth", {}, {}, [("data[username]", "Required value"),
                                             ("data[password]", "Required value")]),
        ("kubernetes.io/basic-auth", {}, {"password": ""}, []),
        ("kubernetes.io/ssh-auth", {}, {"ssh-privatekey": ""}, [("data[ssh-privatekey]", "Required value")]),
        ("kubernetes.io/service-account-token", {}, {},
         [("metadata.annotations[kubernetes.io/service-account.name]", "Required value")]),
        ("example.com/custom", {}, {}, []),
    ],
)
def test_secret_types_and_their_keys(stype, data, string_data, expected):
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "type": stype, "data": data, "stringData": string_data}
    assert _causes(secret) == expected
    # the same after the API server has decoded it (stringData merged into data)
    assert _causes(apply_defaults(copy.deepcopy(secret))) == expected


def test_secret_updates():
    old = apply_defaults({"kind": "Secret", "metadata": {"name": "s"}, "immutable": True,
                          "stringData": {"password": "one"}})
    # the same data, written through stringData, is no change
    assert _causes({"kind": "Secret", "metadata": {"name": "s"}, "immutable": True,
                    "stringData": {"password": "one"}}, old) == []
    assert _causes({"kind": "Secret", "metadata": {"name": "s"}, "type": "kubernetes.io/basic-auth",
                    "immutable": True, "stringData": {"password": "two"}}, old) == [
        ("type", 'Invalid value: "kubernetes.io/basic-auth": field is immutable'),
        ("data", _IMMUTABLE),
    ]


# -- pod spec rules for configuration --------------------------------------------------------------------------


def _pod(container=None, volumes=None):
    ctr = {"name": "c", "image": "busybox"}
    ctr.update(container or {})
    spec = {"containers": [ctr]}
    if volumes is not None:
        spec["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def test_configmap_and_secret_volume_sources():
    pod = _pod({"volumeMounts": [{"name": "cfg", "mountPath": "/a"}, {"name": "ok", "mountPath": "/b"}]}, [
        {"name": "cfg", "configMap": {"defaultMode": 0o1000, "items": [
            {"key": "a", "path": "/etc/a"}, {"key": "", "path": "../up", "mode": -1}, {"key": "b", "path": "..b"}]}},
        {"name": "ok", "secret": {"secretName": "s", "items": [{"key": "a", "path": "dir/a"}]}},
        {"name": "both", "secret": {}, "configMap": {"name": "x"}},
    ])
    assert _causes(pod) == [
        ("spec.volumes[0].configMap.name", "Required value"),
        ("spec.volumes[0].configMap.defaultMode",
         "Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive"),
        ("spec.volumes[0].configMap.items[0].path", 'Invalid value: "/etc/a": must be a relative path'),
        ("spec.volumes[0].configMap.items[1].key", "Required value"),
        ("spec.volumes[0].configMap.items[1].path", "Invalid value: \"../up\": must not contain '..'"),
        ("spec.volumes[0].configMap.items[1].mode",
         "Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive"),
        ("spec.volumes[0].configMap.items[2].path", "Invalid value: \"..b\": must not start with '..'"),
        ("spec.volumes[2].secret.secretName", "Required value"),
        ("spec.volumes[2].configMap", "Forbidden: may not specify more than 1 volume type"),
        # a volume with errors cannot be mounted either
        ("spec.containers[0].volumeMounts[0].name", 'Not found: "cfg"'),
    ]


def test_other_volume_sources():
    pod = _pod(volumes=[
        {"name": "host", "hostPath": {"path": "/var/../etc", "type": "Dir"}},
        {"name": "claim", "persistentVolumeClaim": {"claimName": ""}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "-1Gi"}},
        {"name": "api", "downwardAPI": {"items": []}, "emptyDir": {}},
    ])
    assert _causes(pod) == [
        ("spec.volumes[0].hostPath.path", "Invalid value: \"/var/../etc\": must not contain '..'"),
        ("spec.volumes[0].hostPath.type", 'Unsupported value: "Dir": supported values: "", "BlockDevice", '
                                          '"CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", '
                                          '"Socket"'),
        ("spec.volumes[1].persistentVolumeClaim.claimName", "Required value"),
        ("spec.volumes[2].emptyDir.sizeLimit", "Forbidden: SizeLimit field must be a valid resource quantity"),
        # (sic: Go's path for this error)
        ("spec.volumes[3].downwarAPI", "Forbidden: may not specify more than 1 volume type"),
    ]


def test_env_value_from_sources():
    pod = _pod({"env": [
        {"name": "A", "valueFrom": {}},
        {"name": "B", "value": "x", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "b"}}},
        {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "c"},
                                    "secretKeyRef": {"name": "s", "key": "c"}}},
        {"name": "D", "valueFrom": {"configMapKeyRef": {"name": "Cfg"}}},
        {"name": "E", "valueFrom": {"secretKeyRef": {"key": "bad key"}}},
    ]})
    subdomain = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    assert _causes(pod) == [
        ("spec.containers[0].env[0].valueFrom", 'Invalid value: "": must specify one of: `fieldRef`, '
                                                "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),
        ("spec.containers[0].env[1].valueFrom", 'Invalid value: "": may not be specified when `value` is not empty'),
        ("spec.containers[0].env[2].valueFrom",
         'Invalid value: "": may not have more than one field specified at a time'),
        ("spec.containers[0].env[3].valueFrom.configMapKeyRef.name", f'Invalid value: "Cfg": {subdomain}'),
        ("spec.containers[0].env[3].valueFrom.configMapKeyRef.key", "Required value"),
        ("spec.containers[0].env[4].valueFrom.secretKeyRef.name", f'Invalid value: "": {subdomain}'),
        ("spec.containers[0].env[4].valueFrom.secretKeyRef.key", f'Invalid value: "bad key": {_KEY_RULE}'),
    ]


def test_env_from_sources():
    env_name = ("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or "
                "'.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', "
                "regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')")
    pod = _pod({"envFrom": [
        {"prefix": "1_", "configMapRef": {"name": "cfg"}},
        {"prefix": "APP_"},
        {"configMapRef": {"name": "cfg"}, "secretRef": {"name": "s"}},
        {"secretRef": {}},
        {"configMapRef": {"name": "gen-"}},
    ]})
    assert _causes(pod) == [
        ("spec.containers[0].envFrom[0].prefix", f'Invalid value: "1_": {env_name}'),
        # (sic: these point at the list)
        ("spec.containers[0].envFrom", 'Invalid value: "": must specify one of: `configMapRef` or `secretRef`'),
        ("spec.containers[0].envFrom", 'Invalid value: "": may not have more than one field specified at a time'),
        ("spec.containers[0].envFrom[3].secretRef.name", "Required value"),
    ]


def test_a_mount_without_a_name_is_required_and_not_found():
    pod = _pod({"volumeMounts": [{"mountPath": "/a"}]}, [{"name": "data", "emptyDir": {}}])
    assert _causes(pod) == [
        ("spec.containers[0].volumeMounts[0].name", "Required value"),
        ("spec.containers[0].volumeMounts[0].name", 'Not found: ""'),
    ]


def test_a_volume_with_only_a_name_is_an_emptydir_not_an_error():
    # the server defaults it before validating, so kubectl's check must not complain either
    pod = _pod({"volumeMounts": [{"name": "scratch", "mountPath": "/tmp/x"}]}, [{"name": "scratch"}])
    assert _causes(pod) == []
