"""kubectl's imperative commands: create <generator>, run, set image, patch, diff, -o jsonpath / custom-columns."""

import base64

import pytest

import k8slab

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: nginx:1.26}]}
"""


@pytest.fixture(scope="module")
def booted():
    return k8slab.Cluster(workers=1, seed=0)


@pytest.fixture
def c():
    return k8slab.Cluster(workers=1, seed=0)


def test_a_generic_secret_stores_base64_that_anyone_who_can_read_it_can_decode(c):
    assert c.kubectl("create secret generic db --from-literal=password=s3cret --from-literal=user=admin") == \
        "secret/db created\n"
    encoded = c.kubectl("get secret db -o jsonpath={.data.password}")
    assert encoded == base64.b64encode(b"s3cret").decode()
    assert base64.b64decode(str(encoded)) == b"s3cret"
    assert c.get("secret", "db")["type"] == "Opaque"  # defaulted by the API server, not sent by kubectl


def test_configmap_from_literal_file_and_env_file(c, tmp_path):
    (tmp_path / "app.properties").write_text("color=blue\n")
    (tmp_path / "env").write_text("# comment\nMODE=prod\n\nLEVEL=3\n")
    out = c.kubectl(f"create configmap app --from-literal=greeting=hi --from-file={tmp_path}/app.properties "
                    f"--from-env-file={tmp_path}/env")
    assert out == "configmap/app created\n"
    assert c.get("configmap", "app")["data"] == {"LEVEL": "3", "MODE": "prod", "app.properties": "color=blue\n",
                                                 "greeting": "hi"}
    out = c.kubectl(f"create configmap renamed --from-file=settings={tmp_path}/app.properties")
    assert c.get("configmap", "renamed")["data"] == {"settings": "color=blue\n"}


def test_client_dry_run_prints_the_generated_manifest_and_creates_nothing(c):
    out = c.kubectl("create configmap app --from-literal=color=blue --dry-run=client -o yaml")
    assert out == ("apiVersion: v1\ndata:\n  color: blue\nkind: ConfigMap\nmetadata:\n  creationTimestamp: null\n"
                   "  name: app\n")
    assert "app" not in [cm["metadata"]["name"] for cm in c.get("configmaps")]


@pytest.mark.parametrize("command, message", [
    ("create configmap x --from-literal=color", "error: invalid literal source color, expected key=value\n"),
    ("create secret generic x --from-literal=a=1 --from-literal=a=2",
     'error: cannot add key a, another key by that name already exists in Data for Secret "x"\n'),
    ("create role r --verb=fly --resource=pods", "error: invalid verb: 'fly'\n"),
    ("create role r --verb=get --resource=gizmos", 'error: the server doesn\'t have a resource type "gizmos"\n'),
    ("create rolebinding b --user=alice", "error: exactly one of clusterrole or role must be specified\n"),
    ("run web", 'error: required flag(s) "image" not set\n'),
])
def test_generator_mistakes_get_kubectls_own_errors_and_change_nothing(c, command, message):
    before = c.etcd.revision
    out = c.kubectl(command)
    assert (out, out.returncode) == (message, 1)
    assert c.etcd.revision == before


def test_role_groups_resources_by_api_group_and_binding_names_its_subjects(c):
    c.kubectl("create namespace dev")
    assert c.kubectl("create role pod-reader --verb=get,list,watch --resource=pods,deployments.apps -n dev") == \
        "role.rbac.authorization.k8s.io/pod-reader created\n"
    role = c.get("role", "pod-reader", namespace="dev")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch"]},
    ]
    assert c.kubectl("create rolebinding alice-reads --role=pod-reader --user=alice --serviceaccount=dev:bot "
                     "-n dev") == "rolebinding.rbac.authorization.k8s.io/alice-reads created\n"
    binding = c.get("rolebinding", "alice-reads", namespace="dev")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
                                   {"kind": "ServiceAccount", "name": "bot", "namespace": "dev"}]


def test_job_and_cronjob_generators_run_to_completion(c):
    assert c.kubectl("create job once --image=busybox -- echo hi") == "job.batch/once created\n"
    assert c.kubectl("create cronjob tick --image=busybox --schedule='*/15 * * * *' -- echo tick") == \
        "cronjob.batch/tick created\n"
    assert c.kubectl("create job manual --from=cronjob/tick") == "job.batch/manual created\n"
    manual = c.get("job", "manual")
    assert manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert manual["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    c.run(seconds=60)
    done = {j["metadata"]["name"]: j["status"].get("succeeded") for j in c.get("jobs")}
    assert done["once"] == 1 and done["manual"] == 1
    assert c.get("job", "once")["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]


def test_run_makes_a_pod_labelled_run_name(c):
    assert c.kubectl("run web --image=nginx:1.27 --port=80") == "pod/web created\n"
    pod = c.get("pod", "web")
    assert pod["metadata"]["labels"] == {"run": "web"}
    assert pod["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert pod["spec"]["restartPolicy"] == "Always"
    c.kubectl("run once --image=busybox --restart=Never -- sh -c 'echo hello'")
    c.run()
    assert c.kubectl("logs once") == "hello\n"
    assert c.get("pod", "once")["status"]["phase"] == "Succeeded"


def test_set_image_starts_a_rollout_and_names_an_unknown_container(c):
    c.apply(DEPLOYMENT)
    c.run()
    assert c.kubectl("set image deployment/web nginx=nginx:1.27") == "deployment.apps/web image updated\n"
    c.run()
    images = {p["spec"]["containers"][0]["image"] for p in c.get("pods", selector="app=web")}
    assert images == {"nginx:1.27"}
    assert len(c.get("replicasets")) == 2
    out = c.kubectl("set image deployment/web sidecar=busybox")
    assert (out, out.returncode) == ('error: unable to find container named "sidecar"\n', 1)


def test_patch_types_and_no_change(c):
    c.apply(DEPLOYMENT)
    assert c.kubectl("""patch deployment web -p '{"spec":{"replicas":3}}'""") == "deployment.apps/web patched\n"
    assert c.kubectl("""patch deployment web -p '{"spec":{"replicas":3}}'""") == \
        "deployment.apps/web patched (no change)\n"
    c.kubectl("""patch deployment web --type=json -p '[{"op":"replace","path":"/spec/replicas","value":1}]'""")
    assert c.get("deployment", "web")["spec"]["replicas"] == 1
    c.kubectl("""patch deployment web --type=merge -p '{"metadata":{"labels":{"tier":"front"}}}'""")
    assert c.get("deployment", "web")["metadata"]["labels"] == {"tier": "front"}


def test_diff_shows_what_apply_would_change_and_exits_1(c, tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text(DEPLOYMENT)
    new = c.kubectl(f"diff -f {path}")
    assert new.returncode == 1 and "@@ -0,0 +1," in new and "+  replicas: 2\n" in new
    assert c.get("deployments") == []  # a diff changes nothing
    c.kubectl(f"apply -f {path}")
    same = c.kubectl(f"diff -f {path}")
    assert (str(same), same.returncode) == ("", 0)
    path.write_text(DEPLOYMENT.replace("replicas: 2", "replicas: 3"))
    changed = c.kubectl(f"diff -f {path}")
    assert changed.returncode == 1
    minus = [line for line in changed.splitlines() if line.startswith("-") and not line.startswith("---")]
    plus = [line for line in changed.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert "-  replicas: 2" in minus and "+  replicas: 3" in plus
    assert "-  generation: 1" in minus and "+  generation: 2" in plus
    assert c.get("deployment", "web")["spec"]["replicas"] == 2


def test_diff_masks_secret_values(c, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: one}\n")
    c.kubectl(f"apply -f {path}")
    path.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: two}\n")
    out = c.kubectl(f"diff -f {path}")
    assert "-  password: '*** (before)'" in out and "+  password: '*** (after)'" in out
    assert "dHdv" not in out and "b25l" not in out


def test_jsonpath_filters_ranges_and_lists(booted):
    assert booted.kubectl("get svc kubernetes -o jsonpath={.spec.clusterIP}") == "10.96.0.1"
    nodes = booted.kubectl("""get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\\t"}"""
                           """{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'""")
    assert nodes == "control-plane\tTrue\nworker-1\tTrue\n"
    names = booted.kubectl("get pods -n kube-system -l k8s-app=kube-dns -o jsonpath={.items[*].metadata.name}")
    assert len(str(names).split(" ")) == 2 and all(n.startswith("coredns-") for n in str(names).split(" "))
    assert booted.kubectl("get svc kubernetes -o jsonpath={.spec.ports[0]}") == \
        '{"name":"https","port":443,"protocol":"TCP","targetPort":6443}'
    bad = booted.kubectl("get svc kubernetes -o jsonpath='{.spec.clusterIP'")
    assert (bad, bad.returncode) == ("error: error parsing jsonpath {.spec.clusterIP, unclosed action\n", 1)


def test_custom_columns_align_like_kubectl_and_mark_missing_values(booted):
    out = booted.kubectl("get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints[*].key")
    assert out == ("NAME            TAINTS\n"
                   "control-plane   node-role.kubernetes.io/control-plane\n"
                   "worker-1        <none>\n")


def test_delete_by_name_sends_the_delete_without_reading_first(c):
    c.kubectl("create configmap settings --from-literal=a=b")
    mark = c.trace.mark()
    assert c.kubectl("delete configmap settings nope") == (
        'configmap "settings" deleted\nError from server (NotFound): configmaps "nope" not found\n')
    assert [(e.verb, e.name, e.code) for e in c.trace.since(mark) if e.actor == "kubectl"] == [
        ("delete", "settings", 200), ("delete", "nope", 404)]


def test_logs_by_selector_prints_the_last_lines_of_each_pod_with_prefixes(c):
    c.kubectl("create deployment web --image=nginx:1.27 --replicas=2")
    c.run()
    out = c.kubectl("logs -l app=web --prefix --tail=1")
    lines = str(out).splitlines()
    assert len(lines) == 2 and all(line.startswith("[pod/web-") and "/nginx] " in line for line in lines)
    names = sorted(p["metadata"]["name"] for p in c.get("pods"))
    # --tail defaults to 10 with -l (and to everything for one pod)
    assert c.kubectl("logs -l app=web") == "".join(str(c.kubectl(f"logs {n} --tail=10")) for n in names)
    c.kubectl("run counter --image=busybox:1.36 --labels=app=count -- sh -c 'for i in $(seq 1 15); do echo $i; done'")
    c.run()
    assert c.kubectl("logs -l app=count") == "".join(f"{i}\n" for i in range(6, 16))
    assert c.kubectl("logs -l app=nope") == "No resources found in default namespace.\n"
    assert "maximum allowed concurrency is 1" in c.kubectl("logs -l app=web --max-log-requests=1")


def test_jsonpath_keys_with_escaped_dots(booted):
    out = booted.kubectl("get node worker-1 -o jsonpath='{.metadata.labels.kubernetes\\.io/hostname}'")
    assert out == "worker-1"


def test_jsonpath_single_quoted_literals(booted):
    out = booted.kubectl("""get nodes -o jsonpath="{range .items[*]}{.metadata.name}{'\\n'}{end}\"""")
    assert out == "control-plane\nworker-1\n"


def test_create_namespace_dry_run_creates_nothing(c):
    assert c.kubectl("create namespace dev --dry-run=client") == "namespace/dev created (dry run)\n"
    assert c.kubectl("create namespace dev --dry-run=server") == "namespace/dev created (server dry run)\n"
    assert "dev" not in [n["metadata"]["name"] for n in c.get("namespaces", namespace=None)]
