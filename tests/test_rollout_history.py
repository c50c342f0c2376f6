"""Rollout history: ``kubectl rollout history|undo|pause|resume`` and the Deployment controller behind them.

A Deployment's revisions are its ReplicaSets; a rollback is kubectl copying an
old ReplicaSet's template back, after which the controller gives that ReplicaSet
the next revision number (remembering its old one in ``revision-history``) and
deletes the oldest spent ReplicaSets beyond ``revisionHistoryLimit``. DaemonSets
and StatefulSets keep ControllerRevisions instead.
"""

import pytest

import k8slab
from k8slab.controlplane.daemonset import DaemonSetController
from k8slab.controlplane.manager import ControllerManager
from k8slab.controlplane.registry import DEFAULT_CONTROLLERS
from k8slab.controlplane.statefulset import StatefulSetController

REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, labels: {{app: web}}}}
spec:
  replicas: 2
  revisionHistoryLimit: {limit}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: nginx, image: "nginx:{tag}"}}]}}
"""


@pytest.fixture
def c():
    return k8slab.Cluster(workers=2, seed=0)


def run(c, command: str):
    out = c.kubectl(command)
    assert out.exception is None
    return out


def ok(c, command: str) -> str:
    out = run(c, command)
    assert out.returncode == 0, str(out)
    return str(out)


def deploy(c, tmp_path, tag="1.25", limit=10):
    f = tmp_path / "web.yaml"
    f.write_text(WEB.format(tag=tag, limit=limit))
    assert ok(c, f"create -f {f}") == "deployment.apps/web created\n"
    c.run()


def set_image(c, tag: str, cause: str | None = None):
    c.admin.patch("deployments.apps", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "nginx", "image": f"nginx:{tag}"}]}}}}, "default", patch_type="strategic")
    if cause:
        assert ok(c, f"annotate deployment web kubernetes.io/change-cause='{cause}' --overwrite") == (
            "deployment.apps/web annotated\n")
    c.run()


def replica_sets(c) -> dict[str, dict]:
    """image -> ReplicaSet annotations."""
    return {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["metadata"].get("annotations", {})
            for rs in c.get("replicasets")}


def images(c) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in c.get("pods")}


def rolled_out_three_times(c, tmp_path):
    deploy(c, tmp_path)
    ok(c, "annotate deployment web kubernetes.io/change-cause='create nginx 1.25'")
    c.run()
    set_image(c, "1.26", "set image nginx=nginx:1.26")
    set_image(c, "1.27", "set image nginx=nginx:1.27")


def test_history_lists_the_replicasets_revisions_and_change_causes(c, tmp_path):
    deploy(c, tmp_path)
    # the name printer's line ends after the history, which ends with its own newline
    assert ok(c, "rollout history deployment/web") == """\
deployment.apps/web\x20
REVISION  CHANGE-CAUSE
1         <none>

"""
    ok(c, "annotate deployment web kubernetes.io/change-cause='create nginx 1.25'")
    c.run()
    set_image(c, "1.26", "set image nginx=nginx:1.26")
    set_image(c, "1.27", "set image nginx=nginx:1.27")
    assert ok(c, "rollout history deployment/web") == """\
deployment.apps/web\x20
REVISION  CHANGE-CAUSE
1         create nginx 1.25
2         set image nginx=nginx:1.26
3         set image nginx=nginx:1.27

"""
    # one revision: its pod template, written out without alignment (tabs and all), as kubectl does
    assert ok(c, "rollout history deployment web --revision=2") == (
        "deployment.apps/web with revision #2\n"
        "Pod Template:\n"
        "  Labels:\tapp=web\n"
        "\tpod-template-hash=865f4cf4d9\n"
        "  Annotations:\tkubernetes.io/change-cause: set image nginx=nginx:1.26\n"
        "  Containers:\n"
        "   nginx:\n"
        "    Image:\tnginx:1.26\n"
        "    Port:\t<none>\n"
        "    Host Port:\t<none>\n"
        "    Environment:\t<none>\n"
        "    Mounts:\t<none>\n"
        "  Volumes:\t<none>\n"
        "  Node-Selectors:\t<none>\n"
        "  Tolerations:\t<none>\n"
        "\n")
    assert ok(c, "rollout history deployment/web --revision=1 -o name") == "replicaset.apps/web-68bf9f694d\n"
    out = run(c, "rollout history deployment --revision=9")
    assert (out.stderr, out.returncode) == ("error: unable to find the specified revision\n", 1)


def test_undo_copies_the_old_template_back_and_the_controller_renumbers_it(c, tmp_path):
    rolled_out_three_times(c, tmp_path)
    assert ok(c, "rollout undo deployment/web") == "deployment.apps/web rolled back\n"
    c.run()
    assert images(c) == {"nginx:1.26"}
    # revision 2 is served again: it becomes revision 4 and remembers it was 2
    assert ok(c, "rollout history deploy/web") == """\
deployment.apps/web\x20
REVISION  CHANGE-CAUSE
1         create nginx 1.25
3         set image nginx=nginx:1.27
4         set image nginx=nginx:1.26

"""
    rs = replica_sets(c)
    assert (rs["nginx:1.26"][REVISION], rs["nginx:1.26"][HISTORY]) == ("4", "2")
    assert HISTORY not in rs["nginx:1.27"]
    # the Deployment took the ReplicaSet's annotations, keeping its own revision
    assert c.get("deploy", "web")["metadata"]["annotations"] == {
        REVISION: "4", "kubernetes.io/change-cause": "set image nginx=nginx:1.26"}
    assert ok(c, "rollout undo deployment/web --to-revision=1") == "deployment.apps/web rolled back\n"
    c.run()
    assert images(c) == {"nginx:1.25"}
    assert [line.split()[0] for line in ok(c, "rollout history deploy/web").splitlines()[2:-1]] == ["3", "4", "5"]
    assert (replica_sets(c)["nginx:1.25"][REVISION], replica_sets(c)["nginx:1.25"][HISTORY]) == ("5", "1")
    assert ok(c, "rollout undo deployment/web --to-revision=5") == (
        "deployment.apps/web skipped rollback (current template already matches revision 5)\n")
    out = run(c, "rollout undo deployment/web --to-revision=2")
    assert (out.stdout, out.stderr, out.returncode) == ("", "error: unable to find specified revision 2 in history\n", 1)
    out = run(c, "rollout undo deployment/nosuch")
    assert out.stderr == 'Error from server (NotFound): deployments.apps "nosuch" not found\n'


def test_undo_dry_run_shows_the_template_and_changes_nothing(c, tmp_path):
    rolled_out_three_times(c, tmp_path)
    assert ok(c, "rollout undo deployment/web --dry-run=client") == (
        "deployment.apps/web Pod Template:\n"
        "  Labels:\tapp=web\n"
        "\tpod-template-hash=865f4cf4d9\n"
        "  Containers:\n"
        "   nginx:\n"
        "    Image:\tnginx:1.26\n"
        "    Port:\t<none>\n"
        "    Host Port:\t<none>\n"
        "    Environment:\t<none>\n"
        "    Mounts:\t<none>\n"
        "  Volumes:\t<none>\n"
        "  Node-Selectors:\t<none>\n"
        "  Tolerations:\t<none>\n"
        " (dry run)\n")
    c.run()
    assert images(c) == {"nginx:1.27"}
    assert c.get("deploy", "web")["metadata"]["annotations"][REVISION] == "3"


def test_revision_history_limit_keeps_only_the_newest_spent_replicasets(c, tmp_path):
    deploy(c, tmp_path, tag="1.24", limit=2)
    for tag in ("1.25", "1.26", "1.27"):
        set_image(c, tag)
    # revision 1 (nginx:1.24) was the oldest of three spent ReplicaSets: deleted
    assert ok(c, "rollout history deployment/web") == """\
deployment.apps/web\x20
REVISION  CHANGE-CAUSE
2         <none>
3         <none>
4         <none>

"""
    assert sorted(replica_sets(c)) == ["nginx:1.25", "nginx:1.26", "nginx:1.27"]
    out = run(c, "rollout undo deployment/web --to-revision=1")
    assert (out.stderr, out.returncode) == ("error: unable to find specified revision 1 in history\n", 1)
    assert ok(c, "rollout undo deployment/web --to-revision=2") == "deployment.apps/web rolled back\n"
    c.run()
    assert ok(c, "get rs -o wide") == """\
NAME             DESIRED   CURRENT   READY   AGE   CONTAINERS   IMAGES       SELECTOR
web-68bf9f694d   2         2         2       26s   nginx        nginx:1.25   app=web,pod-template-hash=68bf9f694d
web-766486c5b6   0         0         0       9s    nginx        nginx:1.27   app=web,pod-template-hash=766486c5b6
web-865f4cf4d9   0         0         0       18s   nginx        nginx:1.26   app=web,pod-template-hash=865f4cf4d9
"""
    assert [line.split()[0] for line in ok(c, "rollout history deploy/web").splitlines()[2:-1]] == ["3", "4", "5"]


def test_a_paused_deployment_does_not_roll_out_until_resumed(c, tmp_path):
    deploy(c, tmp_path)
    assert ok(c, "rollout pause deployment/web") == "deployment.apps/web paused\n"
    out = run(c, "rollout pause deployment/web")
    assert (out.stdout, out.stderr, out.returncode) == ("", 'error: deployments.apps "web" is already paused\n', 1)
    set_image(c, "1.26")
    assert images(c) == {"nginx:1.25"} and len(replica_sets(c)) == 1
    conditions = ok(c, "describe deployment web").split("Conditions:\n", 1)[1].split("OldReplicaSets:")[0]
    assert conditions == """\
  Type           Status   Reason
  ----           ------   ------
  Available      True     MinimumReplicasAvailable
  Progressing    Unknown  DeploymentPaused
"""
    assert ok(c, "rollout history deployment/web").splitlines()[2:] == ["1         <none>", ""]
    # kubectl looks for the revision first: with one revision there is none before it
    assert run(c, "rollout undo deployment/web").stderr == 'error: no rollout history found for deployment "web"\n'
    out = run(c, "rollout undo deployment/web --to-revision=1")
    assert out.stderr == ("error: you cannot rollback a paused deployment; resume it first with 'kubectl rollout "
                          "resume deployment/web' and try again\n")
    out = run(c, "rollout restart deployment/web")
    assert out.stderr == 'error: deployments.apps "web" can\'t restart paused deployment (run rollout resume first)\n'
    assert ok(c, "rollout resume deployment/web") == "deployment.apps/web resumed\n"
    out = run(c, "rollout resume deployment/web")
    assert (out.stderr, out.returncode) == ('error: deployments.apps "web" is not paused\n', 1)
    c.run()
    assert images(c) == {"nginx:1.26"}
    assert ok(c, "rollout history deployment/web").splitlines()[2:] == ["1         <none>", "2         <none>", ""]
    conditions = ok(c, "describe deployment web").split("Conditions:\n", 1)[1].split("OldReplicaSets:")[0]
    assert conditions.splitlines()[-1].split() == ["Progressing", "True", "NewReplicaSetAvailable"]


def test_rollout_verbs_refuse_kinds_without_history(c, tmp_path):
    deploy(c, tmp_path)
    rs = c.get("replicasets")[0]["metadata"]["name"]
    for command, message in [
        (f"rollout history rs/{rs}", 'error: no history viewer has been implemented for "ReplicaSet.apps"\n'),
        (f"rollout undo rs/{rs}", 'error: no rollbacker has been implemented for "ReplicaSet.apps"\n'),
        (f"rollout pause rs/{rs}", f'error: replicasets.apps "{rs}" pausing is not supported\n'),
        (f"rollout resume rs/{rs}", f'error: replicasets.apps "{rs}" resuming is not supported\n'),
        (f"rollout restart rs/{rs}", f'error: replicasets.apps "{rs}" restarting is not supported\n'),
        ("rollout history", "error: required resource not specified\n"),
        ("rollout undo", "error: required resource not specified\n"),
        ("rollout frob deploy/web", 'error: unknown command "frob" for "kubectl rollout"\n'),
        ("rollout history deploy/nosuch", 'Error from server (NotFound): deployments.apps "nosuch" not found\n'),
    ]:
        out = run(c, command)
        assert (out.stdout, out.stderr, out.returncode) == ("", message, 1), command


# -- DaemonSets and StatefulSets: ControllerRevisions ---------------------------------------------------

AGENT_AND_DB = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: "busybox:1.35", command: [sleep, "3600"]}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: cache, image: "redis:7.2"}]}
"""


@pytest.fixture
def with_history(c, tmp_path):
    """A DaemonSet and a StatefulSet, each updated once (two ControllerRevisions)."""
    extra = [k for k in (StatefulSetController, DaemonSetController) if k not in DEFAULT_CONTROLLERS]
    ControllerManager(c.api, c.loop, c.rng, extra).start()
    f = tmp_path / "apps.yaml"
    f.write_text(AGENT_AND_DB)
    assert ok(c, f"create -f {f}") == "daemonset.apps/agent created\nstatefulset.apps/db created\n"
    c.run()
    assert ok(c, "rollout history ds/agent") == "daemonset.apps/agent \nREVISION  CHANGE-CAUSE\n1         <none>\n\n"
    c.admin.patch("daemonsets.apps", "agent", {"spec": {"template": {"spec": {"containers": [
        {"name": "agent", "image": "busybox:1.36"}]}}}}, "default", patch_type="strategic")
    c.admin.patch("statefulsets.apps", "db", {"spec": {"template": {"spec": {"containers": [
        {"name": "cache", "image": "redis:7.4"}]}}}}, "default", patch_type="strategic")
    c.run()
    return c


def test_daemonset_history_and_undo_use_controller_revisions(with_history):
    c = with_history
    # the change cause of a ControllerRevision is its own annotation
    assert ok(c, "annotate controllerrevisions -l app=agent kubernetes.io/change-cause=hello") == (
        "controllerrevision.apps/agent-5d5969b97d annotated\ncontrollerrevision.apps/agent-7b9b486d8c annotated\n")
    assert ok(c, "rollout history daemonset/agent") == """\
daemonset.apps/agent\x20
REVISION  CHANGE-CAUSE
1         hello
2         hello

"""
    assert ok(c, "rollout history ds agent --revision=1") == (
        "daemonset.apps/agent with revision #1\n"
        "Pod Template:\n"
        "  Labels:\tapp=agent\n"
        "  Containers:\n"
        "   agent:\n"
        "    Image:\tbusybox:1.35\n"
        "    Port:\t<none>\n"
        "    Host Port:\t<none>\n"
        "    Command:\n"
        "      sleep\n"
        "      3600\n"
        "    Environment:\t<none>\n"
        "    Mounts:\t<none>\n"
        "  Volumes:\t<none>\n"
        "  Node-Selectors:\t<none>\n"
        "  Tolerations:\t<none>\n"
        "\n")
    out = run(c, "rollout undo ds/agent --to-revision=9")
    assert (out.stderr, out.returncode) == ("error: unable to find specified revision 9 in history\n", 1)
    dry = ok(c, "rollout undo ds/agent --dry-run=client")
    assert dry.startswith("daemonset.apps/agent will roll back to Pod Template:\n  Labels:\tapp=agent\n")
    assert dry.endswith("  Tolerations:\t<none>\n (dry run)\n")
    assert ok(c, "rollout undo ds/agent") == "daemonset.apps/agent rolled back\n"
    c.run()
    # the DaemonSet controller gives the old revision the next number
    assert ok(c, "rollout history ds/agent").splitlines()[2:] == ["2         hello", "3         hello", ""]
    assert {p["spec"]["containers"][0]["image"] for p in c.get("pods", selector="app=agent")} == {"busybox:1.35"}
    assert ok(c, "rollout undo ds/agent --to-revision=3") == (
        "daemonset.apps/agent skipped rollback (current template already matches revision 3)\n")
    out = run(c, "rollout pause ds/agent")
    assert out.stderr == 'error: daemonsets.apps "agent" pausing is not supported\n'


def test_statefulset_history_and_undo(with_history):
    c = with_history
    assert ok(c, "rollout history sts/db") == "statefulset.apps/db \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n"
    assert ok(c, "rollout undo sts/db --to-revision=1") == "statefulset.apps/db rolled back\n"
    c.run()
    assert ok(c, "rollout history statefulset/db").splitlines()[2:] == ["2         <none>", "3         <none>", ""]
    assert {p["spec"]["containers"][0]["image"] for p in c.get("pods", selector="app=db")} == {"redis:7.2"}
    assert ok(c, "rollout undo sts/db --to-revision=3") == (
        "statefulset.apps/db skipped rollback (current template already matches revision 3)\n")
    out = run(c, "rollout resume sts/db")
    assert out.stderr == 'error: statefulsets.apps "db" resuming is not supported\n'


def test_cleanup_goes_by_revision_not_by_age(c, tmp_path):
    deploy(c, tmp_path, tag="1.24", limit=2)
    set_image(c, "1.25")
    set_image(c, "1.26")
    assert ok(c, "rollout undo deployment/web --to-revision=1") == "deployment.apps/web rolled back\n"
    c.run()
    set_image(c, "1.27")
    # spent: 1.25 (revision 2), 1.26 (3) and 1.24 (4, the oldest ReplicaSet but a recent revision);
    # one too many for the limit of 2: the lowest revision goes
    assert {image: ann[REVISION] for image, ann in replica_sets(c).items()} == {
        "nginx:1.24": "4", "nginx:1.26": "3", "nginx:1.27": "5"}
    assert replica_sets(c)["nginx:1.24"][HISTORY] == "1"
    assert ok(c, "rollout history deployment/web").splitlines()[2:] == [
        "3         <none>", "4         <none>", "5         <none>", ""]
