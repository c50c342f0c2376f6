"""kubectl's verbs and error messages: create, apply, delete, scale, logs, rollout, cordon, drain, version."""

try:
    from .test_kubectl_fakeclient import FakeClient, deployment, kubectl_for, node, pod, ts
except ImportError:
    from test_kubectl_fakeclient import FakeClient, deployment, kubectl_for, node, pod, ts

import pytest

from k8slab.api.errors import ManifestError
from k8slab.kubectl import Kubectl, KubectlResult


def kubectl(*objects, apply=None):
    client = FakeClient(*objects)
    return kubectl_for(client, apply=apply), client


def run(cmd, *objects, **kw):
    k, _ = kubectl(*objects, **kw)
    result = k.run(cmd)
    assert result.exception is None
    return result


# -- the result object ---------------------------------------------------------------------------


def test_result_is_the_terminal_text_with_streams_and_exit_code():
    r = KubectlResult("out\n", "err\n", 1)
    assert r == "out\nerr\n" and r.stdout == "out\n" and r.stderr == "err\n" and r.returncode == 1
    assert repr(r) == "out\nerr"  # a notebook shows plain text, not a quoted string

    class Printer:
        def __init__(self):
            self.parts = []

        def text(self, t):
            self.parts.append(t)

    p = Printer()
    r._repr_pretty_(p, False)
    assert p.parts == ["out\nerr"]


def test_leading_kubectl_and_argv_lists_are_accepted():
    k, _ = kubectl(pod("a"))
    assert k.run("kubectl get pods -o name") == k.run(["get", "pods", "-o", "name"]) == "pod/a\n"
    assert k.run("-n default get pods -o name") == "pod/a\n"


# -- errors, exactly as kubectl prints them ----------------------------------------------------------


def test_unknown_command_with_suggestions():
    r = run("gett pods")
    assert (r, r.returncode) == ('error: unknown command "gett" for "kubectl"\n\nDid you mean this?\n\tset\n\tget\n', 1)
    assert run("describ pod x") == 'error: unknown command "describ" for "kubectl"\n\nDid you mean this?\n\tdescribe\n'
    assert run("frobnicate") == 'error: unknown command "frobnicate" for "kubectl"\n'


def test_unknown_flags():
    assert run("get pods --foo") == "error: unknown flag: --foo\nSee 'kubectl get --help' for usage.\n"
    assert run("get pods -x") == "error: unknown shorthand flag: 'x' in -x\nSee 'kubectl get --help' for usage.\n"
    assert run("get pods -n") == "error: flag needs an argument: 'n' in -n\nSee 'kubectl get --help' for usage.\n"
    assert run("scale deploy web --replicas=two") == (
        'error: invalid argument "two" for "--replicas" flag: strconv.ParseInt: parsing "two": invalid syntax\n'
        "See 'kubectl scale --help' for usage.\n"
    )


def test_unknown_resource_type_and_missing_objects():
    assert run("get foos") == 'error: the server doesn\'t have a resource type "foos"\n'
    r = run("get pod x")
    assert (r.stderr, r.stdout, r.returncode) == ('Error from server (NotFound): pods "x" not found\n', "", 1)
    assert run("get deploy web") == 'Error from server (NotFound): deployments.apps "web" not found\n'


def test_get_without_a_type():
    assert run("get") == (
        'You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported '
        "resources.\n\n"
        "error: Required resource not specified.\n"
        'Use "kubectl explain <resource>" for a detailed description of that resource (e.g. kubectl explain pods).\n'
        "See 'kubectl get -h' for help and examples\n"
    )


def test_mixing_type_and_type_slash_name_is_refused():
    assert run("get pods pod/x") == (
        "error: there is no need to specify a resource type as a separate argument when passing arguments in "
        "resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of "
        "'kubectl get resource resource/<resource_name>'\n"
    )


def test_watch_is_refused_politely():
    r = run("get pods -w")
    assert r.returncode == 1 and r.startswith("error: --watch is not available")


def test_bad_quoting_is_an_error_not_an_exception():
    r = run("get pods -l 'app=web")
    assert (r, r.returncode) == ("error: No closing quotation\n", 1)


def test_unexpected_exception_becomes_an_error_line():
    class Broken:
        def list(self, *a, **kw):
            raise RuntimeError("boom")

    from k8slab.api.kinds import default_registry

    k = Kubectl(Broken(), default_registry(), now=lambda: None)
    r = k.run("get pods")
    assert (r, r.returncode, type(r.exception)) == ("error: RuntimeError: boom\n", 1, RuntimeError)


# -- create ------------------------------------------------------------------------------------------


def test_create_deployment_builds_kubectls_object():
    k, client = kubectl()
    assert k.run("create deployment web --image=docker.io/library/nginx:1.27 --replicas=3 --port=80") == (
        "deployment.apps/web created\n"
    )
    verb, obj, ns = client.calls[-1]
    assert (verb, ns) == ("create", "default")
    assert obj == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"creationTimestamp": None, "labels": {"app": "web"}, "name": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
                "spec": {"containers": [{"image": "docker.io/library/nginx:1.27", "name": "nginx", "resources": {},
                                         "ports": [{"containerPort": 80}]}]},
            },
        },
        "status": {},
    }


def test_create_deployment_errors():
    assert run("create deployment web") == 'error: required flag(s) "image" not set\n'
    assert run("create deployment --image=nginx") == (
        "error: exactly one NAME is required, got 0\nSee 'kubectl create deployment -h' for help and examples\n"
    )
    k, _ = kubectl(deployment("web"))
    assert k.run("create deployment web --image=nginx") == (
        'Error from server (AlreadyExists): deployments.apps "web" already exists\n'
    )


def test_create_deployment_dry_run_prints_yaml():
    text = run("create deployment web --image=nginx --dry-run=client -o yaml")
    assert text.startswith("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  creationTimestamp: null\n")


def test_create_namespace():
    k, client = kubectl()
    assert k.run("create namespace dev") == "namespace/dev created\n"
    assert client.get("namespaces", "dev")["metadata"]["name"] == "dev"


def test_create_from_file_uses_the_apply_hooks_loader():
    def hook(source, namespace):
        return ["deployment.apps/web created"]

    hook.load = lambda text: [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {}}]
    assert run("create -f cfg.yaml", apply=hook) == "configmap/cfg created\n"


# -- apply -------------------------------------------------------------------------------------------------


def test_apply_calls_the_hook_and_prints_its_lines():
    seen = []

    def hook(source, namespace):
        seen.append((source, namespace))
        return ["deployment.apps/web created", "service/web unchanged"]

    assert run("apply -f web.yaml -n prod", apply=hook) == "deployment.apps/web created\nservice/web unchanged\n"
    assert seen == [("web.yaml", "prod")]
    k, _ = kubectl(apply=hook)
    assert k.run("apply -f -", input="kind: x") == "deployment.apps/web created\nservice/web unchanged\n"


def test_apply_errors():
    assert run("apply -f x.yaml") == "error: apply is not connected to a cluster in this kubectl (no apply hook)\n"
    assert run("apply", apply=lambda s, n: []) == (
        "error: must specify one of -f and -k\nSee 'kubectl apply -h' for help and examples\n"
    )

    def bad(source, namespace):
        raise ManifestError("unknown field \"replcas\"", source="web.yaml", line=7, field="spec.replcas")

    r = run("apply -f web.yaml", apply=bad)
    assert (r, r.returncode) == ('error: web.yaml, line 7: spec.replcas: unknown field "replcas"\n', 1)


# -- delete ---------------------------------------------------------------------------------------------


def test_delete_messages_name_the_kind():
    k, client = kubectl(pod("web-x"), deployment("web"))
    assert k.run("delete pod web-x") == 'pod "web-x" deleted\n'
    assert k.run("delete deployment/web") == 'deployment.apps "web" deleted\n'
    assert client.calls[-1] == ("delete", "deployments.apps", "web", "default", "Background", None)
    assert k.run("delete pod web-x") == 'Error from server (NotFound): pods "web-x" not found\n'


def test_delete_by_selector_and_all():
    k, _ = kubectl(pod("a", labels={"app": "web"}), pod("b", labels={"app": "web"}), pod("c"))
    assert k.run("delete pods -l app=web") == 'pod "a" deleted\npod "b" deleted\n'
    assert k.run("delete pods -l app=web") == "No resources found\n"
    assert k.run("delete pods") == "error: resource(s) were provided, but no name was specified\n"
    assert k.run("delete pods --all") == 'pod "c" deleted\n'


def test_force_delete_warns_first():
    r = run("delete pod a --force --grace-period=0", pod("a"))
    assert r == (
        "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. "
        "The resource may continue to run on the cluster indefinitely.\n"
        'pod "a" force deleted\n'
    )
    assert r.stdout == 'pod "a" force deleted\n' and r.returncode == 0


# -- scale ---------------------------------------------------------------------------------------------


def test_scale_uses_the_scale_subresource():
    k, client = kubectl(deployment("web"))
    assert k.run("scale deploy/web --replicas=5") == "deployment.apps/web scaled\n"
    assert client.calls[-1] == ("patch", "deployments.apps", "web", {"spec": {"replicas": 5}}, "default", "merge", "scale")
    assert k.run("scale deployment web --replicas=1") == "deployment.apps/web scaled\n"
    assert client.get("deployments", "web", "default")["spec"]["replicas"] == 1


def test_scale_errors():
    assert run("scale deploy/web") == 'error: required flag(s) "replicas" not set\n'
    assert run("scale deploy/web --replicas=-1", deployment("web")) == (
        "error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0\n"
        "See 'kubectl scale -h' for help and examples\n"
    )
    assert run("scale deploy/nope --replicas=2") == 'Error from server (NotFound): deployments.apps "nope" not found\n'


# -- logs ---------------------------------------------------------------------------------------------------


def test_logs_of_a_pod_and_of_a_deployment():
    labels = {"app": "web"}
    a = pod("web-a", labels=labels, created=ts(100))
    b = pod("web-b", labels=labels, created=ts(200))
    k, client = kubectl(deployment("web"), a, b)
    client.log_text[("default", "web-a", "nginx")] = "a1\na2\n"
    client.log_text[("default", "web-b", "nginx")] = "b1\nb2\nb3\n"
    assert k.run("logs web-a") == "a1\na2\n"
    assert k.run("logs web-b --tail=1") == "b3\n"
    r = k.run("logs deploy/web")
    assert (r.stdout, r.stderr) == ("b1\nb2\nb3\n", "Found 2 pods, using pod/web-b\n")  # the older pod


def test_logs_defaults_to_the_first_container():
    p = pod("two", containers=[{"name": "app", "image": "app"}, {"name": "sidecar", "image": "envoy"}])
    k, client = kubectl(p)
    client.log_text[("default", "two", "app")] = "hello\n"
    r = k.run("logs two")
    assert (r.stdout, r.stderr) == ("hello\n", 'Defaulted container "app" out of: app, sidecar\n')
    k.run("logs two -c sidecar --previous")
    assert [c for c in client.calls if c[0] == "logs"] == [
        ("logs", "two", "default", "app", False, None),
        ("logs", "two", "default", "sidecar", True, None),
    ]


def test_logs_errors():
    assert run("logs") == (
        "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
        "POD or TYPE/NAME is a required argument for the logs command\n"
        "See 'kubectl logs -h' for help and examples\n"
    )
    assert run("logs nope") == 'Error from server (NotFound): pods "nope" not found\n'


# -- rollout -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, 'deployment "web" successfully rolled out'),
        ({"updated": 1, "available": 1, "ready": 1}, 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...'),
        ({"total": 4}, 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...'),
        ({"available": 1}, 'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...'),
    ],
)
def test_rollout_status_reports_once(kwargs, message):
    assert run("rollout status deployment/web", deployment("web", **kwargs)) == message + "\n"
    assert run("rollout status deployment web", deployment("web", **kwargs)) == message + "\n"


def test_rollout_status_waits_for_the_spec_to_be_observed_and_reports_deadlines():
    d = deployment("web")
    d["metadata"]["generation"] = 2
    assert run("rollout status deploy/web", d) == "Waiting for deployment spec update to be observed...\n"
    d = deployment("web")
    d["status"]["conditions"][1]["reason"] = "ProgressDeadlineExceeded"
    assert run("rollout status deploy/web", d) == 'error: deployment "web" exceeded its progress deadline\n'


def test_rollout_restart_stamps_the_template():
    k, client = kubectl(deployment("web"))
    assert k.run("rollout restart deployment/web") == "deployment.apps/web restarted\n"
    ann = client.get("deployments", "web", "default")["spec"]["template"]["metadata"]["annotations"]
    assert ann == {"kubectl.kubernetes.io/restartedAt": "2025-01-01T01:00:00Z"}


# -- nodes ---------------------------------------------------------------------------------------------


def test_cordon_and_uncordon():
    k, client = kubectl(node("worker-1", "172.18.0.3"))
    assert k.run("cordon worker-1") == "node/worker-1 cordoned\n"
    assert client.get("nodes", "worker-1")["spec"]["unschedulable"] is True
    assert k.run("cordon worker-1") == "node/worker-1 already cordoned\n"
    assert k.run("uncordon worker-1") == "node/worker-1 uncordoned\n"
    assert "unschedulable" not in client.get("nodes", "worker-1")["spec"]
    assert k.run("uncordon worker-1") == "node/worker-1 already uncordoned\n"
    assert k.run("cordon") == "error: USAGE: cordon NODE [flags]\nSee 'kubectl cordon -h' for help and examples\n"
    assert k.run("cordon nope") == 'Error from server (NotFound): nodes "nope" not found\n'


def _drain_cluster():
    managed = pod("web-x", owner=("ReplicaSet", "web-7d8b9c6f5"))
    bare = pod("bare")
    proxy = pod("kube-proxy-abcde", namespace="kube-system", owner=("DaemonSet", "kube-proxy"))
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-proxy", "namespace": "kube-system"}}
    elsewhere = pod("other", node_name="worker-2")
    return kubectl(node("worker-1", "172.18.0.3"), managed, bare, proxy, ds, elsewhere)


def test_drain_refuses_unmanaged_and_daemonset_pods():
    k, client = _drain_cluster()
    r = k.run("drain worker-1")
    assert r == (
        "node/worker-1 cordoned\n"
        'error: unable to drain node "worker-1" due to error:[cannot delete DaemonSet-managed Pods (use '
        "--ignore-daemonsets to ignore): kube-system/kube-proxy-abcde, cannot delete Pods declare no controller (use "
        "--force to override): default/bare], continuing command...\n"
        "There are pending nodes to be drained:\n"
        " worker-1\n"
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/kube-proxy-abcde\n"
        "cannot delete Pods declare no controller (use --force to override): default/bare\n"
    )
    assert r.returncode == 1
    assert not [c for c in client.calls if c[0] == "evict"]


def test_drain_with_force_and_ignore_daemonsets_evicts():
    k, client = _drain_cluster()
    r = k.run("drain worker-1 --ignore-daemonsets --force")
    assert r == (
        "node/worker-1 cordoned\n"
        "WARNING: deleting Pods that declare no controller: default/bare; ignoring DaemonSet-managed Pods: "
        "kube-system/kube-proxy-abcde\n"
        "evicting pod default/bare\n"
        "evicting pod default/web-x\n"
        "pod/bare evicted\n"
        "pod/web-x evicted\n"
        "node/worker-1 drained\n"
    )
    assert r.returncode == 0
    assert [c for c in client.calls if c[0] == "evict"] == [("evict", "bare", "default"), ("evict", "web-x", "default")]


# -- information ----------------------------------------------------------------------------------------


def test_version():
    assert run("version") == (
        "Client Version: v1.30.0\nKustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3\nServer Version: v1.30.0\n"
    )


def test_api_resources_table():
    lines = run("api-resources").splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert "pods                        po           v1                             true         Pod" in lines
    deploy = next(line for line in lines if line.startswith("deployments "))
    assert deploy.split() == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert run("api-resources --namespaced=false -o name").splitlines()[:2] == ["namespaces", "nodes"]
