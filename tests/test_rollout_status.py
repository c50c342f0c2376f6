"""``kubectl rollout status`` with --timeout and --watch=false, on a stuck and on a finished rollout."""

import pytest

import k8slab

WAITING = 'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...\n'


def web(image: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


@pytest.fixture(scope="module")
def stuck():
    """A rollout to an image that does not exist: one new pod, never available."""
    c = k8slab.Cluster(workers=2, seed=0)
    c.apply(web("nginx:1.26"))
    c.run()
    c.apply(web("nginx:does-not-exist"))
    c.run()
    return c


def test_a_timeout_on_a_stuck_rollout_ends_in_an_error(stuck):
    before = stuck.now
    out = stuck.kubectl("rollout status deployment/web --timeout=5s")
    assert out.stdout == WAITING
    assert out.stderr == "error: timed out waiting for the condition\n"
    assert out.returncode == 1
    assert stuck.now == before  # kubectl waits on its own; the cluster's clock does not move


def test_a_timeout_applies_to_every_form_of_the_resource(stuck):
    for cmd in ("rollout status deploy web --timeout 1m30s", "rollout status deployments --timeout=2s"):
        out = stuck.kubectl(cmd)
        assert (out.stdout, out.stderr, out.returncode) == (
            WAITING, "error: timed out waiting for the condition\n", 1), cmd


@pytest.mark.parametrize("flags", ["--watch=false", "-w=false", "--watch=false --timeout=5s"])
def test_watch_false_prints_one_line_and_succeeds(stuck, flags):
    out = stuck.kubectl(f"rollout status deployment/web {flags}")
    assert (out.stdout, out.stderr, out.returncode) == (WAITING, "", 0)


@pytest.mark.parametrize("flags", ["", "--timeout=0s", "--timeout=0"])
def test_without_a_timeout_the_state_is_reported_once(stuck, flags):
    # the real kubectl would wait for ever; k8slab reports where the rollout is
    out = stuck.kubectl(f"rollout status deployment/web {flags}".strip())
    assert (out.stdout, out.returncode) == (WAITING, 0)


def test_a_finished_rollout_succeeds_within_its_timeout():
    c = k8slab.Cluster(workers=2, seed=0)
    c.apply(web("nginx:1.26"))
    c.run()
    out = c.kubectl("rollout status deployment/web --timeout=5s")
    assert (out.stdout, out.stderr, out.returncode) == ('deployment "web" successfully rolled out\n', "", 0)


def test_a_bad_timeout_is_rejected_like_pflag_does(stuck):
    out = stuck.kubectl("rollout status deployment/web --timeout=5x")
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr == ('error: invalid argument "5x" for "--timeout" flag: time: unknown unit "x" in duration '
                          '"5x"\nSee \'kubectl rollout status --help\' for usage.\n')
    out = stuck.kubectl("rollout status deployment/web --timeout=5")
    assert 'time: missing unit in duration "5"' in out.stderr


def test_a_pinned_revision_must_be_the_running_one(stuck):
    out = stuck.kubectl("rollout status deployment/web --revision=1")
    assert (out.stderr, out.returncode) == ("error: desired revision (1) is different from running revision (2)\n", 1)
    out = stuck.kubectl("rollout status deployment/web --revision=2 --watch=false")
    assert (out.stdout, out.returncode) == (WAITING, 0)
