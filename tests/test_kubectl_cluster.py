"""The in-process kubectl against a live simulated cluster."""

import re

from conftest import nginx_deployment


def test_apply_file_then_get_wide_and_name(cluster, tmp_path):
    f = tmp_path / "web.yaml"
    f.write_text(nginx_deployment(3))
    out = cluster.kubectl(f"apply -f {f}")
    assert (out.returncode, str(out).strip()) == (0, "deployment.apps/web created")
    assert str(cluster.kubectl(f"apply -f {f}")).strip() == "deployment.apps/web unchanged"
    cluster.run()
    wide = str(cluster.kubectl("get pods -o wide")).splitlines()
    assert re.split(r"\s{2,}", wide[0]) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                             "NOMINATED NODE", "READINESS GATES"]
    assert len(wide) == 4
    assert all(" Running " in line and "10.244." in line for line in wide[1:])
    names = str(cluster.kubectl("get deploy,rs -o name")).split()
    assert names[0] == "deployment.apps/web" and names[1].startswith("replicaset.apps/web-")


def test_apply_file_with_an_error_names_the_file(cluster, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(nginx_deployment(3).replace("  replicas: 3", "  replcas: 3"))
    out = cluster.kubectl(f"apply -f {f}")
    assert out.returncode == 1
    assert "bad.yaml" in str(out) and "spec.replcas" in str(out)
    assert "Traceback" not in str(out)


def test_scale_logs_describe_delete(cluster):
    c = cluster
    assert str(c.kubectl("create deployment hello --image=busybox -- sh -c 'echo hello from k8slab; sleep 3600'")
               ).strip() == "deployment.apps/hello created"
    c.run()
    assert str(c.kubectl("logs deploy/hello")).strip() == "hello from k8slab"
    assert str(c.kubectl("scale deployment hello --replicas=2")).strip() == "deployment.apps/hello scaled"
    c.run()
    assert len(c.get("pods", selector="app=hello")) == 2
    assert str(c.kubectl("rollout status deployment/hello")).strip() == 'deployment "hello" successfully rolled out'
    desc = str(c.kubectl("describe deployment hello"))
    assert "Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable" in desc
    assert "Scaled up replica set hello-" in desc
    node = str(c.kubectl("describe node worker-1"))
    for section in ("Taints:", "Conditions:", "Addresses:", "Capacity:", "Allocatable:", "System Info:",
                    "Non-terminated Pods:", "Allocated resources:"):
        assert section in node
    assert str(c.kubectl("delete deployment hello")).strip() == 'deployment.apps "hello" deleted'
    c.run()
    assert c.get("pods", selector="app=hello") == []


def test_kubectl_errors_like_the_real_one(cluster):
    out = cluster.kubectl("get pods --colour")
    assert out.returncode == 1
    assert str(out).startswith("error: unknown flag: --colour")
    out = cluster.kubectl("get flurbs")
    assert str(out).strip() == 'error: the server doesn\'t have a resource type "flurbs"'
    assert cluster.kubectl("get pods -n kube-system").returncode == 0
    assert str(cluster.kubectl("get pods")).strip() == "No resources found in default namespace."


def test_cordon_drain_uncordon(cluster):
    c = cluster
    c.apply(nginx_deployment(3))
    c.run()
    assert str(c.kubectl("cordon worker-2")).strip() == "node/worker-2 cordoned"
    out = str(c.kubectl("drain worker-2 --ignore-daemonsets"))
    assert out.strip().endswith("node/worker-2 drained")
    c.run()
    pods = c.get("pods")
    assert len(pods) == 3 and "worker-2" not in {p["spec"]["nodeName"] for p in pods}
    assert "Ready,SchedulingDisabled" in str(c.kubectl("get node worker-2"))
    assert str(c.kubectl("uncordon worker-2")).strip() == "node/worker-2 uncordoned"
