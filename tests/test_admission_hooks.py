"""Learner-written admission hooks: mutating ones change objects, validating ones deny with a message."""

import pytest

import k8slab
from k8slab.api.errors import ApiError, K8sLabError

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec: {{containers: [{{name: app, image: "{image}"}}]}}
"""


@pytest.fixture
def c():
    return k8slab.Cluster(workers=1, seed=0)


def test_a_validating_hook_denies_latest_images_with_the_webhook_message(c):
    @c.admission("no-latest", kinds=["Pod"])
    def no_latest(request, obj, old):
        for container in obj["spec"]["containers"]:
            if container["image"].endswith(":latest") or ":" not in container["image"]:
                return f"container {container['name']} uses a floating tag: {container['image']}"
        return None

    with pytest.raises(ApiError) as denied:
        c.apply(POD.format(name="bad", image="nginx:latest"))
    assert 'admission webhook "no-latest" denied the request: container app uses a floating tag: nginx:latest' \
        in str(denied.value)
    assert c.get("pods", namespace="default") == []
    assert c.apply(POD.format(name="good", image="nginx:1.27")) == ["pod/good created"]
    out = c.kubectl("run other --image=nginx")
    assert out.returncode == 1 and out.startswith('Error from server (Forbidden): admission webhook "no-latest"')
    c.remove_admission("no-latest")
    assert c.kubectl("run other --image=nginx") == "pod/other created\n"


def test_a_mutating_hook_runs_before_validation_and_its_change_is_stored(c):
    @c.admission("team-label", mutating=True, kinds=["Pod"])
    def add_team(request, obj, old):
        obj["metadata"].setdefault("labels", {})["team"] = "blue"

    c.apply(POD.format(name="web", image="nginx:1.27"))
    assert c.get("pod", "web")["metadata"]["labels"] == {"team": "blue"}
    c.kubectl("create configmap untouched --from-literal=a=b")
    assert "labels" not in c.get("configmap", "untouched")["metadata"]  # only the kinds asked for


def test_a_hook_that_raises_denies_the_request_and_the_cluster_keeps_working(c):
    @c.admission("buggy", kinds=["Pod"])
    def buggy(request, obj, old):
        raise KeyError("oops")

    out = c.kubectl("run web --image=nginx:1.27")
    assert out.returncode == 1 and "KeyError" in out
    c.kubectl("create deployment api --image=nginx:1.27")
    c.run(seconds=5)
    assert c.get("pods") == []  # the ReplicaSet controller's creates are denied too
    c.remove_admission("buggy")
    c.run(seconds=30)
    assert len(c.get("pods")) == 1


def test_registering_a_name_again_replaces_the_hook(c):
    c.admission("tag-check", kinds=["Pod"])(lambda request, obj, old: "first version")
    c.admission("tag-check", kinds=["Pod"])(lambda request, obj, old: "second version")  # the cell re-run
    out = c.kubectl("run web --image=nginx:1.27")
    assert "second version" in out and "first version" not in out
    assert [p.name for p in c.api.validating if getattr(p, "name", "") == "tag-check"] == ["tag-check"]
    with pytest.raises(K8sLabError, match="built-in admission plugin"):
        c.admission("Priority")
