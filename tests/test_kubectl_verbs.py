"""kubectl's verbs that act on objects: exec, label, annotate, taint and auth can-i.

Each test runs the command line against a simulated cluster and compares what it
prints, on which stream, and its exit code with kubectl v1.30.
"""

import pytest

import k8slab

PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: box, labels: {app: box}}
spec:
  containers:
  - {name: main, image: busybox, command: [sleep, "3600"]}
  - {name: side, image: "nginx:1.27"}
---
apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {app: solo, tier: back}, annotations: {kubectl.kubernetes.io/default-container: x}}
spec:
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: done}
spec:
  restartPolicy: Never
  containers:
  - {name: app, image: busybox, command: [sh, -c, "exit 0"]}
"""


@pytest.fixture
def c(tmp_path):
    cluster = k8slab.Cluster(workers=2, seed=0)
    f = tmp_path / "pods.yaml"
    f.write_text(PODS)
    assert cluster.kubectl(f"create -f {f}") == "pod/box created\npod/solo created\npod/done created\n"
    cluster.run()
    return cluster


def run(c, command: str):
    out = c.kubectl(command)
    assert out.exception is None
    return out


# -- exec -----------------------------------------------------------------------------------------------


def test_exec_prints_both_streams_and_passes_on_the_exit_code(c):
    out = run(c, "exec box -- sh -c 'echo to-stdout; echo to-stderr >&2; exit 3'")
    assert out.stdout == "to-stdout\n"
    assert out.stderr == ('Defaulted container "main" out of: main, side\n'
                          "to-stderr\n"
                          "command terminated with exit code 3\n")
    assert out.returncode == 3
    out = run(c, "exec box -c main -- echo ok")
    assert (str(out), out.returncode) == ("ok\n", 0)


def test_exec_default_container_quiet_tty_and_owner_forms(c):
    # the default-container annotation names no container of the pod: the first one, silently
    assert run(c, "exec solo -- cat /etc/hostname") == "solo\n"
    # no terminal here: -i and -t change nothing for a command that reads no input
    out = run(c, "exec -it solo -- echo hi")
    assert (out.stdout, out.stderr, out.returncode) == ("hi\n", "", 0)
    assert run(c, "exec pod/solo -q -- echo q") == "q\n"
    assert run(c, "exec box --quiet -- echo quiet").stderr == ""


def test_exec_without_dashes_is_deprecated_but_works(c):
    out = run(c, "exec solo ls /etc/hostname")
    assert out.stdout == "/etc/hostname\n"
    assert out.stderr == ("kubectl exec [POD] [COMMAND] is DEPRECATED and will be removed in a future version. "
                          "Use kubectl exec [POD] -- [COMMAND] instead.\n")


@pytest.mark.parametrize("command, message, code", [
    ("exec solo", "error: you must specify at least one command for the container\n", 1),
    ("exec -- date", "error: pod, type/name or --filename must be specified\n", 1),
    ("exec nosuch -- date", 'Error from server (NotFound): pods "nosuch" not found\n', 1),
    ("exec done -- date", "error: cannot exec into a container in a completed pod; current phase is Succeeded\n", 1),
    ("exec box -c nope -- date", "Error from server (BadRequest): container nope is not valid for pod box\n", 1),
    ("exec solo -- nosuchcmd", 'OCI runtime exec failed: exec failed: unable to start container process: exec: '
                               '"nosuchcmd": executable file not found in $PATH: unknown\n'
                               "command terminated with exit code 126\n", 126),
])
def test_exec_errors(c, command, message, code):
    out = run(c, command)
    assert (out.stdout, out.stderr, out.returncode) == ("", message, code)


# -- label and annotate ---------------------------------------------------------------------------------


def test_label_add_overwrite_and_remove(c):
    assert run(c, "label pod solo env=prod") == "pod/solo labeled\n"
    out = run(c, "label pod solo tier=front")
    assert (out.stderr, out.returncode) == ("error: 'tier' already has a value (back), and --overwrite is false\n", 1)
    assert c.get("pod", "solo")["metadata"]["labels"]["tier"] == "back"
    # the value it already has is no overwrite
    assert run(c, "label pod solo tier=back") == "pod/solo not labeled\n"
    assert run(c, "label pod solo tier=front --overwrite") == "pod/solo labeled\n"
    out = run(c, "label pod solo tier- gone-")
    assert (out.stdout, out.returncode) == ('label "gone" not found.\npod/solo unlabeled\n', 0)
    assert run(c, "label pod solo env- team=blue") == "pod/solo label(s) changed\n"
    assert c.get("pod", "solo")["metadata"]["labels"] == {"app": "solo", "team": "blue"}


def test_label_many_objects_by_all_selector_and_names(c):
    assert run(c, "label pods --all team=blue") == "pod/box labeled\npod/done labeled\npod/solo labeled\n"
    assert run(c, "label pods -l app=box,team=blue owner=ops") == "pod/box labeled\n"
    assert run(c, "label pod/box pod/solo app-") == "pod/box unlabeled\npod/solo unlabeled\n"
    # what exists is labeled; what does not is reported after
    out = run(c, "label pod box nosuch x=y")
    assert (out.stdout, out.stderr, out.returncode) == (
        "pod/box labeled\n", 'Error from server (NotFound): pods "nosuch" not found\n', 1)
    assert [p["metadata"]["labels"] for p in c.get("pods")] == [
        {"owner": "ops", "team": "blue", "x": "y"}, {"team": "blue"}, {"team": "blue", "tier": "back"}]


def test_label_list_and_dry_run_change_nothing(c):
    assert run(c, "label pod solo --list") == "app=solo\ntier=back\n"
    assert run(c, "label pod solo env=qa --list") == "app=solo\nenv=qa\ntier=back\n"
    assert run(c, "label pods --all --list") == (
        "Listing labels for Pod./box:\n app=box\n"
        "Listing labels for Pod./done:\n"
        "Listing labels for Pod./solo:\n app=solo\n tier=back\n")
    assert run(c, "label pod solo env=qa --dry-run=client") == "pod/solo labeled (dry run)\n"
    assert run(c, "label pod solo env=qa --dry-run=server") == "pod/solo labeled (server dry run)\n"
    assert c.get("pod", "solo")["metadata"]["labels"] == {"app": "solo", "tier": "back"}


@pytest.mark.parametrize("command, message", [
    ("label pods a=b", "error: resource(s) were provided, but no name was specified\n"),
    ("label pod solo", "error: at least one label update is required\n"),
    ("label pod solo a=b a-", "error: can not both modify and remove a label in the same command\n"),
    ("label pod solo a=b c", "error: all resources must be specified before label changes: c\n"),
    ("label pod solo a=b=c", "error: invalid label spec: a=b=c\n"),
    ("label pods --all -l app=box a=b", "error: cannot set --all and --selector at the same time\n"),
    ("label deploy nosuch a=b", 'Error from server (NotFound): deployments.apps "nosuch" not found\n'),
    ("label pod solo 'bad=no way'",
     "error: invalid label value: \"bad=no way\": a valid label must be an empty string or consist of alphanumeric "
     "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
     "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')\n"),
])
def test_label_errors(c, command, message):
    out = run(c, command)
    assert (out.stdout, out.stderr, out.returncode) == ("", message, 1)


def test_annotate_add_overwrite_remove_and_change_cause(c):
    assert run(c, "annotate pod solo owner=jane") == "pod/solo annotated\n"
    out = run(c, "annotate pod solo owner=joe")
    assert (out.stderr, out.returncode) == (
        "error: --overwrite is false but found the following declared annotation(s): 'owner' already has a value "
        "(jane)\n", 1)
    assert run(c, "annotate pod solo owner=joe --overwrite") == "pod/solo annotated\n"
    assert c.get("pod", "solo")["metadata"]["annotations"]["owner"] == "joe"
    # removing (even what is not there) needs no --overwrite, and still says "annotated"
    assert run(c, "annotate pod solo owner- nothing-") == "pod/solo annotated\n"
    # the change cause can always be replaced
    assert run(c, "annotate pod solo kubernetes.io/change-cause=first") == "pod/solo annotated\n"
    assert run(c, "annotate pod solo kubernetes.io/change-cause=second") == "pod/solo annotated\n"
    assert run(c, "annotate pod solo note=x --list") == (
        "kubectl.kubernetes.io/default-container=x\nkubernetes.io/change-cause=second\nnote=x\n")
    out = run(c, "annotate pod solo a=1 a-")
    assert out.stderr == "error: can not both modify and remove the following annotation(s) in the same command: a\n"
    assert c.get("pod", "solo")["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/default-container": "x", "kubernetes.io/change-cause": "second"}


# -- taint ----------------------------------------------------------------------------------------------


def test_taint_add_duplicate_overwrite_and_remove(c):
    assert run(c, "taint nodes worker-1 dedicated=gpu:NoSchedule") == "node/worker-1 tainted\n"
    out = run(c, "taint node worker-1 dedicated=gpu:NoSchedule")
    assert (out.stderr, out.returncode) == (
        "error: node worker-1 already has dedicated taint(s) with same effect(s) and --overwrite is false\n", 1)
    assert run(c, "taint node worker-1 dedicated=cpu:NoSchedule --overwrite") == "node/worker-1 modified\n"
    assert run(c, "taint node worker-1 dedicated=gpu:NoExecute") == "node/worker-1 tainted\n"
    # new taints first, then the node's others
    assert c.get("node", "worker-1")["spec"]["taints"] == [
        {"key": "dedicated", "value": "gpu", "effect": "NoExecute"},
        {"key": "dedicated", "value": "cpu", "effect": "NoSchedule"}]
    taints = run(c, "describe node worker-1").split("Taints:", 1)[1].split("Unschedulable:")[0]
    assert taints == "             dedicated=gpu:NoExecute\n                    dedicated=cpu:NoSchedule\n"
    assert run(c, "taint node worker-1 dedicated:NoSchedule-") == "node/worker-1 untainted\n"
    out = run(c, "taint node worker-1 dedicated:NoSchedule-")
    assert (out.stderr, out.returncode) == ('error: taint "dedicated:NoSchedule" not found\n', 1)
    assert run(c, "taint node worker-1 dedicated-") == "node/worker-1 untainted\n"
    assert "taints" not in c.get("node", "worker-1")["spec"]


def test_taint_all_nodes_or_by_selector(c):
    assert run(c, "taint nodes --all spot=true:PreferNoSchedule") == (
        "node/control-plane tainted\nnode/worker-1 tainted\nnode/worker-2 tainted\n")
    assert run(c, "taint nodes -l kubernetes.io/hostname=worker-2 spot:PreferNoSchedule-") == "node/worker-2 untainted\n"
    assert [t["key"] for t in c.get("node", "control-plane")["spec"]["taints"]] == [
        "spot", "node-role.kubernetes.io/control-plane"]
    assert "taints" not in c.get("node", "worker-2")["spec"]


@pytest.mark.parametrize("command, message", [
    ("taint node worker-1 x=y:Sometimes",
     "error: invalid taint effect: Sometimes, unsupported taint effect\nSee 'kubectl taint -h' for help and examples\n"),
    ("taint pods solo x=y:NoSchedule", "error: invalid resource type pods, only node types are supported\n"),
    ("taint nodes x=y:NoSchedule", "error: at least one resource name must be specified since 'all' parameter is not set\n"),
    ("taint nodes worker-1", "error: at least one taint update is required\n"),
    ("taint nodes worker-1 a=b:NoSchedule a:NoSchedule-",
     'error: can not both modify and remove the following taint(s) in the same command: {"a":"NoSchedule"}\n'),
    ("taint nodes worker-1 a=b:NoSchedule worker-2", "error: all resources must be specified before taint changes: worker-2\n"),
    ("taint nodes nosuch a=b:NoSchedule", 'Error from server (NotFound): nodes "nosuch" not found\n'),
])
def test_taint_errors(c, command, message):
    out = run(c, command)
    assert (out.stdout, out.stderr, out.returncode) == ("", message, 1)


# -- auth can-i -----------------------------------------------------------------------------------------


@pytest.fixture
def asked(c):
    """An authorizer on the API server: admins may do anything, jane may read pods in default."""
    questions = []

    def authorizer(user, attrs):
        questions.append((user.name, dict(attrs)))
        if "kubeadm:cluster-admins" in user.groups:
            return None
        if attrs.get("path") == "/healthz":
            return None
        if (user.name == "jane" and attrs.get("resource") == "pods" and attrs.get("namespace") in ("default", None)
                and attrs.get("verb") in ("get", "list", "watch")):
            return None
        return f'{attrs.get("resource")} is forbidden: User "{user.name}" cannot {attrs.get("verb")}'

    c.api.authorizer = authorizer
    return questions


def test_can_i_says_yes_or_no_with_exit_code_one(c, asked):
    out = run(c, "auth can-i list pods")
    assert (out.stdout, out.stderr, out.returncode) == ("yes\n", "", 0)
    out = run(c, "auth can-i list pods --as jane")
    assert (out.stdout, out.returncode) == ("yes\n", 0)
    out = run(c, "auth can-i delete pods --as jane")
    assert (out.stdout, out.stderr, out.returncode) == ("no\n", "", 1)
    assert run(c, "auth can-i list pods -n kube-system --as jane").returncode == 1
    assert run(c, "auth can-i get /healthz --as jane") == "yes\n"
    out = run(c, "auth can-i delete pods -q --as jane")
    assert (str(out), out.returncode) == ("", 1)
    # the questions the authorizer was asked, as a SelfSubjectAccessReview would put them
    jane = [attrs for user, attrs in asked if user == "jane"]
    assert jane[0] == {"verb": "list", "resource": "pods", "group": "", "namespace": "default", "name": None,
                       "subresource": None}
    assert {"verb": "get", "path": "/healthz"} in jane


def test_can_i_resolves_short_names_names_subresources_and_all_namespaces(c, asked):
    assert run(c, "auth can-i get po/solo --subresource=log --as jane").returncode == 0
    assert run(c, "auth can-i create deploy -A --as jane").returncode == 1
    jane = [attrs for user, attrs in asked if user == "jane"]
    assert jane[:2] == [
        {"verb": "get", "resource": "pods", "group": "", "namespace": "default", "name": "solo", "subresource": "log"},
        {"verb": "create", "resource": "deployments", "group": "apps", "namespace": None, "name": None,
         "subresource": None}]


def test_can_i_warns_like_kubectl(c, asked):
    out = run(c, "auth can-i list nodes")
    assert (out.stdout, out.stderr) == ("yes\n", "Warning: resource 'nodes' is not namespace scoped\n\n")
    out = run(c, "auth can-i list nodes -A")
    assert out.stderr == ""
    out = run(c, "auth can-i frob pods")
    assert out.stderr == "Warning: verb 'frob' is not a known verb\n\n"
    out = run(c, "auth can-i list foos")
    assert out.stderr == "Warning: the server doesn't have a resource type 'foos'\n\n"
    out = run(c, "auth can-i list widgets.example.com")
    assert out.stderr == "Warning: the server doesn't have a resource type 'widgets' in group 'example.com'\n\n"


@pytest.mark.parametrize("command, message", [
    ("auth can-i list", "error: you must specify two arguments: verb resource or verb resource/resourceName.\n"
                        "See 'kubectl auth can-i -h' for help and examples.\n"),
    ("auth can-i list pods web", "error: you must specify two arguments: verb resource or verb "
                                 "resource/resourceName.\nSee 'kubectl auth can-i -h' for help and examples.\n"),
    ("auth can-i --list pods", "error: list option must be specified with no arguments\n"),
    ("auth can-i get /healthz --subresource=x", "error: --subresource can not be used with NonResourceURL\n"),
    ("auth can-i get pods --no-headers", "error: --no-headers cannot be set without --list specified\n"),
])
def test_can_i_errors(c, command, message):
    out = run(c, command)
    assert (out.stdout, out.stderr, out.returncode) == ("", message, 1)


def test_can_i_list_shows_the_admins_rules_under_the_default_rbac(c):
    # kubernetes-admin is in kubeadm:cluster-admins (bound to cluster-admin); every authenticated
    # user also gets system:basic-user, system:discovery and system:public-info-viewer, whose
    # rules kubectl lists too (one row per rule, so /healthz shows twice, as on a kubeadm cluster)
    lines = run(c, "auth can-i --list").splitlines()
    assert lines[:6] == [
        "Resources                                       Non-Resource URLs   Resource Names   Verbs",
        "*.*                                             []                  []               [*]",
        "                                                [*]                 []               [*]",
        "selfsubjectreviews.authentication.k8s.io        []                  []               [create]",
        "selfsubjectaccessreviews.authorization.k8s.io   []                  []               [create]",
        "selfsubjectrulesreviews.authorization.k8s.io    []                  []               [create]"]
    assert [line.split()[0] for line in lines[6:]] == [
        "[/api/*]", "[/api]", "[/apis/*]", "[/apis]", "[/healthz]", "[/healthz]", "[/livez]", "[/livez]",
        "[/openapi/*]", "[/openapi]", "[/readyz]", "[/readyz]", "[/version/]", "[/version/]", "[/version]",
        "[/version]"]
    # tables are at least 6 wide per column (kubectl's tabwriter): the Resource Names column here
    assert run(c, "auth can-i --list --no-headers").splitlines()[1] == (
        "                                                [*]            []    [*]")


def test_can_i_list_with_an_authorizer_that_cannot_list_rules(c, asked):
    out = run(c, "auth can-i --list --as jane")
    assert out.stderr == "Warning: the list may be incomplete: authorizer does not support user rule resolution\n"
    assert out.stdout == "Resources   Non-Resource URLs   Resource Names   Verbs\n"


def test_impersonation_needs_permission_to_impersonate(c, asked):
    out = c.kubectl("auth can-i list pods --as bob", as_user="jane")
    assert (out.stderr, out.returncode) == (
        'Error from server (Forbidden): users "bob" is forbidden: User "jane" cannot impersonate resource "users" '
        'in API group "" at the cluster scope\n', 1)
    assert ("jane", {"verb": "impersonate", "resource": "users", "group": "", "name": "bob", "namespace": None,
                     "subresource": None}) in asked
    assert run(c, "auth whoami --as jane --as-group devs") == """\
ATTRIBUTE   VALUE
Username    jane
Groups      [devs system:authenticated]
"""
    # every request of the command carries the impersonated identity
    assert run(c, "get pods -o name --as jane") == "pod/box\npod/done\npod/solo\n"
    out = run(c, "get deployments --as jane")
    assert (out.stderr, out.returncode) == (
        'Error from server (Forbidden): deployments is forbidden: User "jane" cannot list\n', 1)


def test_can_i_list_with_rbac_shows_the_rules_of_the_user(c, tmp_path):
    rbac = pytest.importorskip("k8slab.apiserver.rbac")
    assert isinstance(c.api.authorizer, rbac.RBACAuthorizer)  # on in every cluster
    f = tmp_path / "rbac.yaml"
    f.write_text("""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, watch, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods}
subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
""")
    assert run(c, f"create -f {f}").returncode == 0
    assert run(c, "auth can-i get pods/solo --as jane") == "yes\n"
    assert run(c, "auth can-i delete pods --as jane") == "no\n"
    rows = run(c, "auth can-i --list --as jane").splitlines()
    assert rows[0] == "Resources                                       Non-Resource URLs   Resource Names   Verbs"
    assert "pods/log                                        []                  []               [get watch list]" in rows
    assert "pods                                            []                  []               [get watch list]" in rows
    assert not any(r.startswith("*.*") for r in rows)
