"""k8slab.course: the exercise checks, the exercise generator and the notebook build."""

from __future__ import annotations

import json
import pathlib

import nbformat
import pytest
from nbformat import v4

import k8slab
from k8slab import course
from k8slab.course import build, exercises

ROOT = pathlib.Path(__file__).resolve().parent.parent

# One cluster for all the check tests: a working Deployment behind a Service, a Service whose
# selector has a typo, and pods that fail in the three classic ways.
MANIFESTS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: nginx:1.27}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  replicas: 1
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec:
      containers: [{name: app, image: nginx:no-such-tag}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: typo}
spec:
  selector: {app: wbe}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: crashy}
spec:
  selector: {app: crashy}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: crash, labels: {app: crashy}}
spec:
  containers: [{name: app, image: busybox, command: [sh, -c, "exit 3"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: jane-reads-pods}
subjects:
- {kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers:
  - name: app
    image: nginx
    resources: {requests: {cpu: "64"}}
"""


@pytest.fixture(scope="module")
def c():
    cluster = k8slab.Cluster(workers=2, seed=0)
    cluster.apply(MANIFESTS)
    cluster.run(seconds=120)
    return cluster


def assert_failed(check, *fragments):
    assert isinstance(check, course.Check)
    assert check.passed is False and not check
    assert check.message.startswith("❌ Not yet")
    for text in fragments:
        assert text in check.message, (text, check.message)


def assert_passed(check, *fragments):
    assert isinstance(check, course.Check)
    assert check.passed is True and check, check.message
    assert check.message.startswith("✅ ") and "\n" not in check.message
    for text in fragments:
        assert text in check.message, (text, check.message)


# -- the Check object --------------------------------------------------------------------------
def test_check_displays_as_plain_text_lines():
    from IPython.core.formatters import PlainTextFormatter

    fmt = PlainTextFormatter()
    ok = course.check(True, "Well done.", "unused")
    bad = course.check(False, "Well done.", "scale it to 3", problem="there are 2 replicas")
    assert fmt(ok) == "✅ Well done."
    assert fmt(bad) == "❌ Not yet: there are 2 replicas\n💡 Hint: Scale it to 3."
    assert repr(bad) == str(bad) == bad.message
    assert (bad.problem, bad.hint) == ("there are 2 replicas", "Scale it to 3.")
    # no rich representation that nbval would have to compare besides the text
    assert not any(hasattr(ok, m) for m in ("_repr_html_", "_repr_markdown_"))


def test_check_never_raises_on_a_broken_condition():
    class Weird:
        def __bool__(self):
            raise ValueError("ambiguous")

    assert_failed(course.check(Weird(), "ok", "compare element by element"), "ambiguous",
                  "Compare element by element.")


def test_equals_names_the_quantity():
    assert_passed(course.equals(3, 3, what="the number of replicas"), "the number of replicas is 3.")
    assert_failed(course.equals(2, 3, what="the number of replicas"), "the number of replicas is 2, expected 3.")
    assert_failed(course.equals("a", "b", what="the image", hint="use set image"), "💡 Hint: Use set image.")


def test_checks_groups_and_passes_only_when_all_pass():
    both = course.checks(course.check(True, "One.", ""), course.check(True, "Two.", ""))
    assert both.passed and both.message == "✅ One.\n✅ Two."
    mixed = course.checks(course.check(True, "One.", ""), course.check(False, "Two.", "do two"))
    assert not mixed.passed and mixed.message.splitlines() == ["✅ One.", "❌ Not yet.", "💡 Hint: Do two."]
    assert_failed(course.checks("yes"), "checks() expects Check objects, got str")


# -- pods and Deployments ------------------------------------------------------------------------
def test_pod_running(c):
    assert_passed(course.pod_running(c, "client"), 'Pod "client" is Running on node "worker-')
    assert_passed(course.pod_running(c, selector="app=web", count=2), "All 2 pods matching")
    assert_failed(course.pod_running(c, "nope"), 'there is no pod "nope" in namespace "default"')
    assert_failed(course.pod_running(c, selector="app=web", count=3), "2 of the pods matching", "expected 3")
    assert_failed(course.pod_running(c, selector="app=nothing"), 'no pods matching "app=nothing"',
                  "--show-labels")


def test_pod_running_hints_name_the_container_state(c):
    assert_failed(course.pod_running(c, "crash"), 'container "app" of pod "crash" is in CrashLoopBackOff',
                  "last exit code 3", 'logs crash -c app --previous')
    broken = c.get("pods", selector="app=broken")[0]["metadata"]["name"]
    assert_failed(course.pod_running(c, broken), "ImagePullBackOff", 'The image "nginx:no-such-tag" cannot be '
                  "pulled")
    assert_failed(course.pod_running(c, "huge"), 'pod "huge" is still Pending: 0/3 nodes are available: ')


def test_pod_scheduled_quotes_the_scheduler(c):
    assert_passed(course.pod_scheduled(c, "crash"), 'Pod "crash" is scheduled on node "worker-')
    cond = next(x for x in c.get("pod", "huge")["status"]["conditions"] if x["type"] == "PodScheduled")
    check = course.pod_scheduled(c, "huge")
    assert_failed(check, cond["message"], "Insufficient cpu", 'c.scheduler.explain("huge")')
    assert check.problem == f'pod "huge" is still Pending: {cond["message"]}'
    assert check.problem.startswith('pod "huge" is still Pending: 0/3 nodes are available: ')


def test_deployment_ready(c):
    assert_passed(course.deployment_ready(c, "web"), 'Deployment "web" has 2/2 replicas ready')
    assert_passed(course.deployment_ready(c, "web", replicas=2))
    assert_failed(course.deployment_ready(c, "web", replicas=3), "asks for 2 replicas, expected 3",
                  "scale deployment web --replicas=3")
    assert_failed(course.deployment_ready(c, "broken"), 'Deployment "broken" has 0/1 replicas ready',
                  "ImagePullBackOff", "check its name and tag")
    assert_failed(course.deployment_ready(c, "nope"), 'there is no Deployment "nope"', "Deployments there: ")


# -- Services and requests --------------------------------------------------------------------------
def test_service_has_endpoints(c):
    assert_passed(course.service_has_endpoints(c, "web"), 'Service "web" has 2 ready endpoints.')
    assert_passed(course.service_has_endpoints(c, "web", count=2))
    assert_failed(course.service_has_endpoints(c, "web", count=3), "has 2 ready endpoints, expected 3",
                  "Only 2 pod(s) match")
    assert_failed(course.service_has_endpoints(c, "nope"), 'there is no Service "nope"')


def test_service_without_endpoints_compares_selector_and_labels(c):
    check = course.service_has_endpoints(c, "typo")
    assert_failed(check, 'Service "typo" has 0 ready endpoints', 'Its selector app=wbe matches no pod in namespace "default". Pod labels there: ',
                  "app=web,pod-template-hash=", "Make the selector and the pod labels agree")


def test_service_without_endpoints_mentions_readiness(c):
    assert_failed(course.service_has_endpoints(c, "crashy"), "1 pod(s) match its selector app=crashy",
                  "none of them is Ready, and only ready pods get traffic", "CrashLoopBackOff")


def test_curl_ok(c):
    assert_passed(course.curl_ok(c, "http://web", from_pod="client", body_contains="Welcome to nginx"),
                  "HTTP 200 OK")
    assert_failed(course.curl_ok(c, "http://web/missing", from_pod="client"), "got HTTP 404", "expected 200")
    assert_passed(course.curl_ok(c, "http://web/missing", from_pod="client", status=404))
    assert_failed(course.curl_ok(c, "http://web", from_pod="client", body_contains="hello"),
                  "does not contain 'hello'")
    assert_failed(course.curl_ok(c, "http://typo", from_pod="client"), "got no answer", "curl: (7)",
                  "no ready endpoints")
    assert_failed(course.curl_ok(c, "http://web", from_pod="ghost"), 'pod "ghost" not found')


# -- objects, kubectl, permissions ------------------------------------------------------------------
def test_exists_and_absent(c):
    assert_passed(course.exists(c, "deploy", "web"), 'deployment "web" exists in namespace "default"')
    assert_passed(course.exists(c, "Node", "worker-1"), 'node "worker-1" exists.')
    assert_failed(course.exists(c, "service", "nope"), 'service "nope" does not exist', "get services")
    assert_passed(course.absent(c, "pod", "nope"), 'pod "nope" is gone from namespace "default"')
    assert_failed(course.absent(c, "pod", "client"), 'pod "client" still exists', "delete pod client")


def test_unknown_kind_is_a_clear_message_not_an_exception(c):
    check = course.exists(c, "deploymnt", "web")
    assert_failed(check, 'unknown kind "deploymnt"', "Did you mean 'deployment'?", "api-resources")
    assert_failed(course.absent(c, "gizmo", "x"), 'unknown kind "gizmo"')


def test_bad_arguments_give_a_message(c):
    assert_failed(course.pod_running(c), "needs a pod name or selector")
    assert_failed(course.pod_running(c, "client", selector="app=x"), "exactly one")
    assert_failed(course.pod_scheduled(c), "could not run", "missing 1 required positional argument")
    assert_failed(course.pod_running("not a cluster", "web"), "could not run")


def test_kubectl_ok(c):
    assert_passed(course.kubectl_ok(c, "get nodes", contains="worker-2"), "kubectl get nodes succeeded.")
    assert_failed(course.kubectl_ok(c, "get pod ghost"), "failed (exit code 1)",
                  'Error from server (NotFound): pods "ghost" not found')
    assert_failed(course.kubectl_ok(c, "get nodes", contains="worker-9"), "does not contain 'worker-9'")


def test_can_i(c):
    # jane may read pods through the RoleBinding of the fixture
    assert_passed(course.can_i(c, "list", "pods", as_user="jane"), '"jane" may list pods in namespace "default".')
    check = course.can_i(c, "list", "pods", as_user="jane", expected=False)
    assert_failed(check, '"jane" may list pods', "still allows it")
    assert_failed(course.can_i(c, "fly", "", as_user="jane"), "did not answer yes or no")
    # RBAC denies what no binding allows
    assert_failed(course.can_i(c, "delete", "pods", as_user="jane"), '"jane" may not delete pods',
                  "Bind a Role (or ClusterRole)")


class FakeCluster:
    """Answers every kubectl command with fixed output, as kubectl would print it."""

    def __init__(self, stdout, returncode):
        from k8slab.kubectl.command import KubectlResult

        self.result = KubectlResult(stdout=stdout, returncode=returncode)
        self.commands = []

    def kubectl(self, command, as_user=None):
        self.commands.append((command, as_user))
        return self.result


def test_can_i_when_the_answer_is_no():
    fake = FakeCluster("no\n", 1)  # kubectl auth can-i exits 1 when the answer is no
    assert_failed(course.can_i(fake, "delete", "pods", as_user="jane", namespace="shop"),
                  '"jane" may not delete pods in namespace "shop".', "RoleBinding")
    assert_passed(course.can_i(fake, "delete", "pods", as_user="jane", expected=False), "may not delete")
    assert fake.commands[0] == ("auth can-i delete pods -n shop", "jane")


# -- the exercise generator ---------------------------------------------------------------------------
def test_code_answers_become_placeholders_with_their_indentation():
    src = "setup()\nfor i in range(3):\n    # BEGIN SOLUTION\n    scale(i)\n    # END SOLUTION\nprint('done')\n"
    assert exercises.blank_code(src) == "setup()\nfor i in range(3):\n    # YOUR CODE HERE\nprint('done')\n"
    two = "# BEGIN SOLUTION\na = 1\n# END SOLUTION\nkeep = 2\n  # BEGIN SOLUTION\n  b = 3\n  # END SOLUTION"
    assert exercises.blank_code(two) == "# YOUR CODE HERE\nkeep = 2\n  # YOUR CODE HERE"
    assert exercises.blank_code("nothing = 'marked'\n") == "nothing = 'marked'\n"


def test_markdown_answers_are_blanked():
    src = "**Why?**\n\n<!-- BEGIN SOLUTION -->\nBecause the selector is wrong.\n<!-- END SOLUTION -->\n\nNext."
    assert exercises.blank_markdown(src) == "**Why?**\n\n*Write your answer here.*\n\nNext."


@pytest.mark.parametrize("src, message", [
    ("# BEGIN SOLUTION\nx = 1\n", "line 1: # BEGIN SOLUTION without # END SOLUTION"),
    ("x = 1\n# END SOLUTION\n", "line 2: # END SOLUTION without # BEGIN SOLUTION"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "line 2: # BEGIN SOLUTION inside another one"),
])
def test_unbalanced_markers_are_reported_with_the_line(src, message):
    with pytest.raises(exercises.ExerciseError, match=message):
        exercises.blank_code(src, "solutions/x.ipynb: cell 3, ")


def _solution():
    nb = v4.new_notebook(metadata={"kernelspec": dict(build.KERNELSPEC)})
    nb.cells = [
        v4.new_markdown_cell("# Exercise 99 · Test"),
        v4.new_code_cell("import k8slab\nc = k8slab.Cluster(workers=1, seed=0)", execution_count=1,
                         outputs=[v4.new_output("stream", name="stdout", text="hi\n")]),
        v4.new_code_cell("# BEGIN SOLUTION\nc.kubectl('get nodes')\n# END SOLUTION", execution_count=2),
        v4.new_markdown_cell("Why?\n<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->"),
    ]
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    return nb


def test_exercise_from_solution():
    sol = _solution()
    before = nbformat.writes(sol)
    ex = exercises.exercise_from_solution(sol, "99-test.ipynb")
    assert nbformat.writes(sol) == before  # the solution is untouched
    assert [c.cell_type for c in ex.cells] == ["markdown", "markdown", "code", "code", "markdown"]
    assert ex.cells[0].source == "# Exercise 99 · Test"
    assert "generated" in ex.cells[1].source.lower() and "solutions/99-test.ipynb" in ex.cells[1].source
    assert ex.cells[2].source == sol.cells[1].source  # setup stays
    assert ex.cells[3].source == "# YOUR CODE HERE"
    assert ex.cells[4].source == "Why?\n*Write your answer here.*"
    assert all(c.outputs == [] and c.execution_count is None for c in ex.cells if c.cell_type == "code")
    assert [c.id for c in ex.cells] == [f"99-test-{i}" for i in range(5)]
    assert all("execution" not in c.metadata for c in ex.cells)
    nbformat.validate(ex)


def test_exercise_json_is_deterministic():
    a = exercises.notebook_text(exercises.exercise_from_solution(_solution(), "99-test.ipynb"))
    b = exercises.notebook_text(exercises.exercise_from_solution(_solution(), "99-test.ipynb"))
    assert a == b and a.endswith("}\n")
    data = json.loads(a)
    assert list(data) == sorted(data)  # stable key order


def _write(path: pathlib.Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(exercises.notebook_text(nb), encoding="utf-8")


def test_up_to_date_check_fails_when_exercises_are_stale(tmp_path, capsys):
    _write(tmp_path / "solutions" / "99-test.ipynb", _solution())
    assert build.main(["--root", str(tmp_path), "exercises", "--check"]) == 1
    assert "stale: exercises/99-test.ipynb" in capsys.readouterr().out
    assert build.main(["--root", str(tmp_path), "exercises"]) == 0
    assert (tmp_path / "exercises" / "99-test.ipynb").exists()
    assert build.main(["--root", str(tmp_path), "exercises", "--check"]) == 0
    # the solution changes: the exercise is stale again
    sol = _solution()
    sol.cells.append(v4.new_markdown_cell("One more task."))
    _write(tmp_path / "solutions" / "99-test.ipynb", sol)
    capsys.readouterr()
    assert build.main(["--root", str(tmp_path), "exercises", "--check"]) == 1
    assert "stale: exercises/99-test.ipynb" in capsys.readouterr().out
    # an exercise edited by hand is stale too, and one without a solution is left over
    build.main(["--root", str(tmp_path), "exercises"])
    (tmp_path / "exercises" / "99-test.ipynb").write_text("{}", encoding="utf-8")
    _write(tmp_path / "exercises" / "50-orphan.ipynb", _solution())
    stale = build.write_exercises(tmp_path, check=True)
    assert sorted(p.name for p in stale) == ["50-orphan.ipynb", "99-test.ipynb"]
    build.write_exercises(tmp_path, log=lambda _: None)
    assert sorted(p.name for p in (tmp_path / "exercises").iterdir()) == ["99-test.ipynb"]
    assert build.write_exercises(tmp_path, check=True) == []


def test_broken_markers_fail_the_command(tmp_path, capsys):
    sol = _solution()
    sol.cells[2].source = "# BEGIN SOLUTION\nx = 1"
    _write(tmp_path / "solutions" / "99-test.ipynb", sol)
    assert build.main(["--root", str(tmp_path), "exercises"]) == 1
    assert "solutions/99-test.ipynb: cell 2, line 1: # BEGIN SOLUTION without # END SOLUTION" in capsys.readouterr().err


def test_renumber_widgets_is_deterministic():
    def nb_with(ids):
        nb = v4.new_notebook()
        nb.cells = [v4.new_code_cell("w", outputs=[v4.new_output(
            "display_data", data={build.WIDGET_VIEW: {"model_id": ids[0], "version_major": 2}})])]
        nb.metadata["widgets"] = {build.WIDGET_STATE: {"state": {
            ids[0]: {"state": {"layout": f"IPY_MODEL_{ids[1]}"}}, ids[1]: {"state": {}},
            ids[2]: {"state": {}}}}}
        return build.renumber_widgets(nb, "x.ipynb")

    a, b = nb_with(["a" * 32, "b" * 32, "c" * 32]), nb_with(["9" * 32, "8" * 32, "7" * 32])
    assert a.cells[0].outputs == b.cells[0].outputs and a.metadata == b.metadata
    state = a.metadata["widgets"][build.WIDGET_STATE]["state"]
    top = a.cells[0].outputs[0].data[build.WIDGET_VIEW]["model_id"]
    assert len(state) == 2 and state[top]["state"]["layout"][len("IPY_MODEL_"):] in state


# -- notebooks in the repository ------------------------------------------------------------------------
def test_build_executes_in_place_reproducibly(tmp_path):
    nb = v4.new_notebook(metadata={"kernelspec": dict(build.KERNELSPEC)})
    nb.cells = [v4.new_code_cell("import os, ipywidgets\nprint(os.path.basename(os.getcwd()))"),
                v4.new_code_cell("ipywidgets.IntSlider(3)"),
                v4.new_code_cell("from k8slab import course\ncourse.check(False, 'ok', 'try again')")]
    path = tmp_path / "lessons" / "01-x.ipynb"
    _write(path, nb)
    assert build.build([str(path)], root=tmp_path, log=lambda _: None) == 0
    first = path.read_text(encoding="utf-8")
    assert build.build([str(path)], root=tmp_path, log=lambda _: None) == 0
    assert path.read_text(encoding="utf-8") == first
    out = nbformat.reads(first, as_version=4)
    assert out.cells[0].outputs[0].text == "lessons\n"  # ran in the notebook's folder
    assert out.cells[2].outputs[0].data["text/plain"] == "❌ Not yet.\n💡 Hint: Try again."
    assert [c.id for c in out.cells] == ["01-x-0", "01-x-1", "01-x-2"]
    assert "widgets" not in out.metadata and all("execution" not in c.metadata for c in out.cells)


def test_build_reports_a_failing_notebook(tmp_path):
    nb = v4.new_notebook(metadata={"kernelspec": dict(build.KERNELSPEC)})
    nb.cells = [v4.new_code_cell("1 / 0")]
    path = tmp_path / "notebooks" / "bad.ipynb"
    _write(path, nb)
    lines = []
    assert build.build([str(path)], root=tmp_path, log=lines.append) == 1
    assert any(line.startswith(f"FAILED {path}") and "ZeroDivisionError" in line for line in lines)
    assert nbformat.read(path, as_version=4).cells[0].outputs == []  # not written


def test_exercises_folder_matches_the_solutions():
    stale = build.write_exercises(ROOT, check=True)
    assert stale == [], f"run `python -m k8slab.course exercises`: {[str(p) for p in stale]}"


EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


@pytest.mark.parametrize("path", EXERCISES, ids=[p.name for p in EXERCISES])
def test_exercise_runs_up_to_its_first_blank(path):
    import nbclient

    nb = nbformat.read(path, as_version=4)
    assert any(exercises.PLACEHOLDER in cell.source or exercises.WRITE_HERE in cell.source
               for cell in nb.cells), "an exercise needs at least one blank for the learner"
    first = next((i for i, cell in enumerate(nb.cells)
                  if cell.cell_type == "code" and exercises.PLACEHOLDER in cell.source), len(nb.cells))
    nb.cells = nb.cells[:first]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=600, record_timing=False,
                            store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}}).execute()
