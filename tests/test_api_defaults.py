"""Defaults fill in what a real API server shows in `kubectl get -o yaml`, and nothing the user set."""

import copy

import pytest

from k8slab.api.defaults import (
    apply_defaults,
    default_toleration_seconds,
    image_pull_policy,
    int_or_percent,
)

CONTAINER_DEFAULTS = {
    "imagePullPolicy": "IfNotPresent",
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "resources": {},
}
POD_SPEC_DEFAULTS = {
    "restartPolicy": "Always",
    "dnsPolicy": "ClusterFirst",
    "schedulerName": "default-scheduler",
    "terminationGracePeriodSeconds": 30,
    "securityContext": {},
}


def minimal_deployment():
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    }


def test_minimal_deployment_gets_the_real_defaults():
    d = apply_defaults(minimal_deployment())
    assert d["spec"] == {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        **CONTAINER_DEFAULTS,
                    }
                ],
                **POD_SPEC_DEFAULTS,
            },
        },
        "replicas": 1,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
        },
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }
    assert d["metadata"] == {"name": "web"}  # apps/v1 does not copy template labels


def test_defaults_are_idempotent_and_keep_user_values():
    d = minimal_deployment()
    d["spec"]["replicas"] = 0
    d["spec"]["strategy"] = {"type": "Recreate"}
    d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    once = apply_defaults(d)
    assert once["spec"]["replicas"] == 0
    assert once["spec"]["strategy"] == {"type": "Recreate"}
    assert once["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"
    assert apply_defaults(copy.deepcopy(once)) == once


def test_pod_gets_admission_values_and_requests_from_limits():
    pod = apply_defaults(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "busybox",
                        "resources": {
                            "limits": {"cpu": "1", "memory": "1Gi"},
                            "requests": {"cpu": "500m"},
                        },
                    }
                ]
            },
        }
    )
    spec = pod["spec"]
    for key, value in POD_SPEC_DEFAULTS.items():
        assert spec[key] == value
    assert spec["enableServiceLinks"] is True
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    # priority and preemptionPolicy are the Priority admission plugin's, not defaults
    assert "priority" not in spec and "preemptionPolicy" not in spec
    assert "tolerations" not in spec  # that is admission's job: default_toleration_seconds
    ctr = spec["containers"][0]
    assert ctr["imagePullPolicy"] == "Always"
    assert ctr["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}


def test_templates_do_not_get_pod_only_values():
    spec = apply_defaults(minimal_deployment())["spec"]["template"]["spec"]
    for key in ("enableServiceLinks", "serviceAccountName", "priority", "preemptionPolicy"):
        assert key not in spec


@pytest.mark.parametrize(
    "image, policy",
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:v2", "IfNotPresent"),
        ("nginx@sha256:0123abcd", "IfNotPresent"),
    ],
)
def test_image_pull_policy(image, policy):
    assert image_pull_policy(image) == policy


def test_probes_and_volumes_get_their_defaults():
    pod = apply_defaults(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {"name": "c", "image": "i:1", "livenessProbe": {"httpGet": {"port": 80}}}
                ],
                "volumes": [
                    {"name": "cfg", "configMap": {"name": "settings"}},
                    {"name": "scratch"},
                ],
            },
        }
    )
    assert pod["spec"]["containers"][0]["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert pod["spec"]["volumes"] == [
        {"name": "cfg", "configMap": {"name": "settings", "defaultMode": 420}},
        {"name": "scratch", "emptyDir": {}},
    ]


def test_other_workloads():
    rs = apply_defaults({"kind": "ReplicaSet", "spec": {"template": {"spec": {"containers": []}}}})
    assert (
        rs["spec"]["replicas"] == 1 and rs["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    )
    sts = apply_defaults({"kind": "StatefulSet", "spec": {"volumeClaimTemplates": [{"spec": {}}]}})[
        "spec"
    ]
    assert sts["podManagementPolicy"] == "OrderedReady"
    assert sts["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    assert sts["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    assert (sts["replicas"], sts["revisionHistoryLimit"]) == (1, 10)
    ds = apply_defaults({"kind": "DaemonSet", "spec": {}})["spec"]
    assert ds["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }


def test_job_and_cronjob():
    job = apply_defaults(
        {
            "kind": "Job",
            "metadata": {"name": "pi"},
            "spec": {
                "template": {
                    "metadata": {"labels": {"app": "pi"}},
                    "spec": {"restartPolicy": "Never"},
                }
            },
        }
    )
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert (spec["completionMode"], spec["suspend"], spec["podReplacementPolicy"]) == (
        "NonIndexed",
        False,
        "TerminatingOrFailed",
    )
    assert job["metadata"]["labels"] == {"app": "pi"}
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    only_parallel = apply_defaults({"kind": "Job", "spec": {"parallelism": 3}})["spec"]
    assert "completions" not in only_parallel
    cron = apply_defaults(
        {
            "kind": "CronJob",
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {}}}}},
        }
    )
    cspec = cron["spec"]
    assert (
        cspec["concurrencyPolicy"],
        cspec["suspend"],
        cspec["successfulJobsHistoryLimit"],
        cspec["failedJobsHistoryLimit"],
    ) == ("Allow", False, 3, 1)
    assert cspec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert "backoffLimit" not in cspec["jobTemplate"]["spec"]


def test_service_namespace_and_secret():
    svc = apply_defaults(
        {"kind": "Service", "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}}
    )["spec"]
    assert svc == {
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "selector": {"app": "web"},
        "type": "ClusterIP",
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
    }
    lb = apply_defaults(
        {
            "kind": "Service",
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": "http"}]},
        }
    )["spec"]
    assert lb["externalTrafficPolicy"] == "Cluster" and lb["allocateLoadBalancerNodePorts"] is True
    assert lb["ports"][0]["targetPort"] == "http"
    ns = apply_defaults({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    assert apply_defaults({"kind": "Secret"})["type"] == "Opaque"
    assert apply_defaults({"kind": "ConfigMap", "data": {}}) == {"kind": "ConfigMap", "data": {}}


def test_default_toleration_seconds():
    pod = default_toleration_seconds({"kind": "Pod", "spec": {"containers": []}})
    assert pod["spec"]["tolerations"] == [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]
    assert default_toleration_seconds(copy.deepcopy(pod)) == pod  # not added twice
    own = {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 30,
    }
    pod = default_toleration_seconds({"spec": {"tolerations": [own]}})
    assert [t["key"] for t in pod["spec"]["tolerations"]] == [
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/not-ready",
    ]
    everything = default_toleration_seconds({"spec": {"tolerations": [{"operator": "Exists"}]}})
    assert everything["spec"]["tolerations"] == [{"operator": "Exists"}]


@pytest.mark.parametrize(
    "value, total, up, expected",
    [
        ("25%", 3, True, 1),
        ("25%", 3, False, 0),
        ("25%", 4, True, 1),
        ("25%", 10, True, 3),
        ("25%", 10, False, 2),
        ("0%", 5, True, 0),
        ("100%", 7, False, 7),
        (2, 10, True, 2),
        ("50%", 0, True, 0),
    ],
)
def test_int_or_percent(value, total, up, expected):
    assert int_or_percent(value, total, round_up=up) == expected


def test_int_or_percent_rejects_non_percent_strings():
    with pytest.raises(ValueError, match="^invalid type: string is not a percentage$"):
        int_or_percent("3", 10, round_up=True)
    with pytest.raises(ValueError, match='^invalid value "x%"'):
        int_or_percent("x%", 10, round_up=True)


def test_docstring_examples_run():
    import doctest

    import k8slab.api.defaults as module

    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
