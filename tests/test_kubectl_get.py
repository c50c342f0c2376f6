"""kubectl get: columns, STATUS of pods, node STATUS/ROLES, kinds together, -o name|yaml|json."""

import json

try:
    from .test_kubectl_fakeclient import (
        FakeClient,
        deployment,
        event,
        kubectl_for,
        namespace,
        node,
        pod,
        replicaset,
        service,
        ts,
    )
except ImportError:
    from test_kubectl_fakeclient import (
        FakeClient,
        deployment,
        event,
        kubectl_for,
        namespace,
        node,
        pod,
        replicaset,
        service,
        ts,
    )

import pytest

from k8slab.kubectl.pod_status import pod_status_text


def run(cmd, *objects):
    result = kubectl_for(FakeClient(*objects)).run(cmd)
    assert result.exception is None
    return result


# -- STATUS of a pod ----------------------------------------------------------------------------

WAITING = {"waiting": {"reason": "ContainerCreating"}}


@pytest.mark.parametrize(
    "kwargs, status",
    [
        ({}, "Running"),
        ({"phase": "Pending", "ready": False, "state": WAITING}, "ContainerCreating"),
        ({"phase": "Pending", "ready": False, "state": {"waiting": {"reason": "ErrImagePull"}}}, "ErrImagePull"),
        ({"phase": "Pending", "ready": False, "state": {"waiting": {"reason": "ImagePullBackOff"}}}, "ImagePullBackOff"),
        ({"ready": False, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}, "CrashLoopBackOff"),
        ({"phase": "Succeeded", "ready": False, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}, "Completed"),
        ({"phase": "Failed", "ready": False, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}, "Error"),
        ({"phase": "Failed", "ready": False, "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}, "OOMKilled"),
        ({"phase": "Failed", "ready": False, "state": {"terminated": {"exitCode": 2}}}, "ExitCode:2"),
        ({"phase": "Failed", "ready": False, "state": {"terminated": {"exitCode": 0, "signal": 9}}}, "Signal:9"),
        ({"deletion": "2025-01-01T00:59:00Z"}, "Terminating"),
        ({"phase": "Succeeded", "deletion": "2025-01-01T00:59:00Z", "ready": False,
          "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}, "Completed"),
        ({"phase": "Running", "deletion": "2025-01-01T00:59:00Z", "extra_status": {"reason": "NodeLost"}}, "Unknown"),
        ({"phase": "Failed", "ready": False, "statuses": [], "extra_status": {"reason": "Evicted"}}, "Evicted"),
        ({"phase": "Pending", "node_name": None, "ready": False, "statuses": []}, "Pending"),
    ],
)
def test_pod_status_column(kwargs, status):
    assert pod_status_text(pod("p", **kwargs))[0] == status


def test_pod_status_with_init_containers():
    p = pod("p", phase="Pending", ready=False, state=WAITING)
    p["spec"]["initContainers"] = [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]
    p["status"]["conditions"][1]["status"] = "False"
    p["status"]["initContainerStatuses"] = [
        {"name": "a", "ready": True, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "b", "ready": False, "restartCount": 0, "state": {"running": {"startedAt": ts(5)}}},
    ]
    assert pod_status_text(p)[0] == "Init:1/2"
    p["status"]["initContainerStatuses"][1]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
    assert pod_status_text(p)[0] == "Init:CrashLoopBackOff"
    p["status"]["initContainerStatuses"][1]["state"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
    assert pod_status_text(p)[0] == "Init:Error"


def test_get_pods_shows_ready_status_restarts_and_age():
    crash = pod("crash", ready=False, state={"waiting": {"reason": "CrashLoopBackOff"}}, restarts=5,
                last_state={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ts(90)}})
    young = pod("web-7d8b9c6f5-x2x4q", created=ts(35))
    result = run("get pods", crash, young, pod("other-ns", namespace="kube-system"))
    assert result == (
        "NAME                  READY   STATUS             RESTARTS      AGE\n"
        "crash                 0/1     CrashLoopBackOff   5 (90s ago)   60m\n"
        "web-7d8b9c6f5-x2x4q   1/1     Running            0             35s\n"
    )
    assert result.returncode == 0 and result.stderr == ""


def test_get_pods_wide_adds_ip_node_nominated_node_and_readiness_gates():
    assert run("get pods -o wide", pod("web", created=ts(35)), pod("pending", phase="Pending", node_name=None,
                                                                        ready=False, statuses=[], created=ts(35))) == (
        "NAME      READY   STATUS    RESTARTS   AGE   IP           NODE       NOMINATED NODE   READINESS GATES\n"
        "pending   0/1     Pending   0          35s   <none>       <none>     <none>           <none>\n"
        "web       1/1     Running   0          35s   10.244.1.5   worker-1   <none>           <none>\n"
    )


def test_get_nodes_status_and_roles():
    assert run("get nodes", node("control-plane", "172.18.0.2", control_plane=True),
               node("worker-1", "172.18.0.3"), node("worker-2", "172.18.0.4", ready="Unknown"),
               node("worker-3", "172.18.0.5", unschedulable=True)) == (
        "NAME            STATUS                     ROLES           AGE   VERSION\n"
        "control-plane   Ready                      control-plane   60m   v1.30.0\n"
        "worker-1        Ready                      <none>          60m   v1.30.0\n"
        "worker-2        NotReady                   <none>          60m   v1.30.0\n"
        "worker-3        Ready,SchedulingDisabled   <none>          60m   v1.30.0\n"
    )


def test_get_nodes_wide():
    assert run("get nodes -o wide", node("worker-1", "172.18.0.3")) == (
        "NAME       STATUS   ROLES    AGE   VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE                         "
        "KERNEL-VERSION   CONTAINER-RUNTIME\n"
        "worker-1   Ready    <none>   60m   v1.30.0   172.18.0.3    <none>        Debian GNU/Linux 12 (bookworm)   "
        "6.8.0-k8slab     containerd://1.7.15\n"
    )


def test_get_deployments_and_replicasets_wide():
    d = deployment("web", ready=2, available=2)
    assert run("get deploy -o wide", d) == (
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES       SELECTOR\n"
        "web    2/3     3            2           60m   nginx        nginx:1.27   app=web\n"
    )
    assert run("get rs -o wide", replicaset("web-7d8b9c6f5", d)) == (
        "NAME            DESIRED   CURRENT   READY   AGE   CONTAINERS   IMAGES       SELECTOR\n"
        "web-7d8b9c6f5   3         3         3       60m   nginx        nginx:1.27   app=web,pod-template-hash=7d8b9c6f5\n"
    )


def test_several_kinds_print_one_table_each_with_kind_prefixed_names():
    d = deployment("web")
    assert run("get deploy,rs", d, replicaset("web-7d8b9c6f5", d)) == (
        "NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "deployment.apps/web   3/3     3            3           60m\n"
        "\n"
        "NAME                            DESIRED   CURRENT   READY   AGE\n"
        "replicaset.apps/web-7d8b9c6f5   3         3         3       60m\n"
    )


def test_get_all_lists_the_all_category_in_kubectl_order():
    d = deployment("web", replicas=1, ready=1, updated=1, available=1)
    out = run("get all", service("kubernetes"), d, replicaset("web-7d8b9c6f5", d, replicas=1, ready=1),
              pod("web-7d8b9c6f5-x2x4q", created=ts(35)))
    assert out == (
        "NAME                      READY   STATUS    RESTARTS   AGE\n"
        "pod/web-7d8b9c6f5-x2x4q   1/1     Running   0          35s\n"
        "\n"
        "NAME                 TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\n"
        "service/kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP   60m\n"
        "\n"
        "NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "deployment.apps/web   1/1     1            1           60m\n"
        "\n"
        "NAME                            DESIRED   CURRENT   READY   AGE\n"
        "replicaset.apps/web-7d8b9c6f5   1         1         1       60m\n"
    )
    # Only the kubernetes Service: kubectl still names it service/kubernetes.
    assert run("get all", service("kubernetes")).splitlines()[1].startswith("service/kubernetes")


def test_all_namespaces_adds_namespace_column_and_show_labels_adds_labels():
    assert run("get pods -A --show-labels", pod("web", labels={"app": "web"}),
               pod("coredns", namespace="kube-system", labels={"k8s-app": "kube-dns"})) == (
        "NAMESPACE     NAME      READY   STATUS    RESTARTS   AGE   LABELS\n"
        "default       web       1/1     Running   0          60m   app=web\n"
        "kube-system   coredns   1/1     Running   0          60m   k8s-app=kube-dns\n"
    )


def test_namespaces_services_and_leases():
    assert run("get ns", namespace("default"), namespace("kube-system")) == (
        "NAME          STATUS   AGE\ndefault       Active   60m\nkube-system   Active   60m\n"
    )
    assert run("get svc", service("kubernetes"), service("web", cluster_ip="10.96.12.7", port=80, node_port=30080,
                                                         type_="NodePort", selector={"app": "web"})) == (
        "NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)        AGE\n"
        "kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP        60m\n"
        "web          NodePort    10.96.12.7   <none>        80:30080/TCP   60m\n"
    )
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "worker-1", "namespace": "kube-node-lease", "creationTimestamp": ts(600)},
             "spec": {"holderIdentity": "worker-1", "leaseDurationSeconds": 40}}
    assert run("get leases -n kube-node-lease", lease) == "NAME       HOLDER     AGE\nworker-1   worker-1   10m\n"


def test_kinds_without_printer_show_created_at():
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "reader", "namespace": "default", "creationTimestamp": "2025-01-01T00:00:00Z"}}
    assert run("get roles", role) == "NAME     CREATED AT\nreader   2025-01-01T00:00:00Z\n"


def test_get_events():
    p = pod("web", created=ts(300))
    evs = [event("web.1", p, "Scheduled", "Successfully assigned default/web to worker-1",
                 component="default-scheduler", first=ts(300)),
           event("web.2", p, "BackOff", "Back-off restarting failed container", type_="Warning", first=ts(250),
                 last=ts(20), count=7)]
    assert run("get events", *evs) == (
        "LAST SEEN   TYPE      REASON      OBJECT    MESSAGE\n"
        "5m          Normal    Scheduled   pod/web   Successfully assigned default/web to worker-1\n"
        "20s         Warning   BackOff     pod/web   Back-off restarting failed container\n"
    )


def test_no_resources_found_messages_go_to_stderr():
    result = run("get pods")
    assert (result, result.stdout, result.returncode) == ("No resources found in default namespace.\n", "", 0)
    assert run("get pods -n dev") == "No resources found in dev namespace.\n"
    assert run("get pods -A") == "No resources found\n"
    assert run("get nodes") == "No resources found\n"


def test_output_name():
    d = deployment("web")
    assert run("get deploy,pods -o name", d, pod("web-x")) == "deployment.apps/web\npod/web-x\n"


def test_output_yaml_of_one_named_object_is_the_object():
    text = run("get ns default -o yaml", namespace("default"))
    assert text.startswith("apiVersion: v1\nkind: Namespace\nmetadata:\n  creationTimestamp: \"2025-01-01T00:00:00Z\"\n")


def test_output_yaml_of_a_list_is_a_kind_list():
    assert run("get ns -o yaml", namespace("default")) == (
        "apiVersion: v1\n"
        "items:\n"
        "- apiVersion: v1\n"
        "  kind: Namespace\n"
        "  metadata:\n"
        '    creationTimestamp: "2025-01-01T00:00:00Z"\n'
        "    labels:\n"
        "      kubernetes.io/metadata.name: default\n"
        "    name: default\n"
        "    uid: uid-default\n"
        "  spec:\n"
        "    finalizers:\n"
        "    - kubernetes\n"
        "  status:\n"
        "    phase: Active\n"
        "kind: List\n"
        "metadata:\n"
        '  resourceVersion: ""\n'
    )
    assert run("get pods -o yaml") == 'apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n'


def test_output_json():
    doc = json.loads(run("get pods -o json", pod("a"), pod("b")))
    assert doc["kind"] == "List" and [i["metadata"]["name"] for i in doc["items"]] == ["a", "b"]
    assert run("get pod a -o json", pod("a")).startswith('{\n    "apiVersion": "v1",\n    "kind": "Pod",\n')


def test_label_and_field_selectors_are_sent_to_the_server():
    c = FakeClient(pod("a", labels={"app": "web"}), pod("b", labels={"app": "db"}))
    k = kubectl_for(c)
    assert k.run("get pods -l app=web -o name") == "pod/a\n"
    assert ("list", "pods", "default", "app=web", None) in c.calls


def test_partial_not_found_prints_the_table_then_the_error():
    result = run("get pods a missing", pod("a", created=ts(35)))
    assert result == (
        "NAME   READY   STATUS    RESTARTS   AGE\n"
        "a      1/1     Running   0          35s\n"
        'Error from server (NotFound): pods "missing" not found\n'
    )
    assert result.returncode == 1


def test_sort_by():
    assert run("get pods --sort-by=.metadata.creationTimestamp -o name", pod("old", created=ts(100)),
               pod("new", created=ts(10)), pod("mid", created=ts(50))) == "pod/old\npod/mid\npod/new\n"
