"""kubectl -v=6 shows the REST requests behind each command, on stderr."""

import re

import pytest

import k8slab

LINE = re.compile(r"^I0101 00:00:\d\d\.\d{6}    4242 round_trippers\.go:553\] (\w+) (\S+) (\d{3} [A-Za-z ]+) in 1 milliseconds$")


@pytest.fixture(scope="module")
def c():
    return k8slab.Cluster(workers=1, seed=0)


def requests(result) -> list[tuple[str, str, str]]:
    return [LINE.match(line).groups() for line in result.stderr.splitlines() if LINE.match(line)]


def test_core_and_group_resources_have_their_rest_paths(c):
    assert requests(c.kubectl("get pods -v=6")) == [
        ("GET", "https://127.0.0.1:6443/api/v1/namespaces/default/pods?limit=500", "200 OK")]
    out = c.kubectl("create deployment web --image=nginx:1.27 -v=6")
    assert out.stdout == "deployment.apps/web created\n"
    assert requests(out) == [("POST", "https://127.0.0.1:6443/apis/apps/v1/namespaces/default/deployments"
                                      "?fieldManager=kubectl-create&fieldValidation=Strict", "201 Created")]
    assert requests(c.kubectl("get nodes worker-1 -v=6")) == [
        ("GET", "https://127.0.0.1:6443/api/v1/nodes/worker-1", "200 OK")]


def test_failures_show_their_status_and_quiet_commands_log_nothing(c):
    assert requests(c.kubectl("get pod nope -v=6")) == [
        ("GET", "https://127.0.0.1:6443/api/v1/namespaces/default/pods/nope", "404 Not Found")]
    assert requests(c.kubectl("get pods -v=6 --as=alice"))[0][2] == "403 Forbidden"
    assert c.kubectl("get pods").stderr.startswith("No resources") or "round_trippers" not in c.kubectl("get pods")
    assert "round_trippers" not in c.kubectl("get pods -v=5")


def test_apply_goes_through_the_callers_client_and_reads_stdin():
    c = k8slab.Cluster(workers=1, seed=0)
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n"
    denied = c.kubectl("apply -f -", as_user="alice", input=manifest)
    assert denied.returncode == 1 and 'User "alice" cannot get resource "configmaps"' in denied
    assert c.kubectl("apply -f - --as=alice", input=manifest).returncode == 1
    assert [cm["metadata"]["name"] for cm in c.get("configmaps")] == ["kube-root-ca.crt"]
    assert c.kubectl("apply -f -", input=manifest) == "configmap/settings created\n"
    logged = requests(c.kubectl("apply -f - -v=6", input=manifest.replace("a: b", "a: c")))
    assert [(m, u.rsplit("/", 1)[1]) for m, u, _ in logged] == [
        ("GET", "settings"), ("PATCH", "settings?fieldManager=kubectl-patch&dryRun=All"),
        ("GET", "settings"), ("PATCH", "settings?fieldManager=kubectl-patch")]


def test_kubectl_output_can_be_piped_into_apply():
    c = k8slab.Cluster(workers=1, seed=0)
    generated = c.kubectl("create configmap x --from-literal=a=b --dry-run=client -o yaml")
    assert c.kubectl("apply -f -", input=generated) == "configmap/x created\n"
