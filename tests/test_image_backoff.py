"""The kubelet's back-offs are per image: a corrected image is pulled at once, not after the old back-off."""

import k8slab


def pod_cluster(image: str):
    c = k8slab.Cluster(workers=1, seed=0)
    c.kubectl(f"run x --image={image}")
    c.run()
    return c


def waiting_reason(c) -> str | None:
    (cs,) = c.get("pod", "x")["status"]["containerStatuses"]
    return (cs["state"].get("waiting") or {}).get("reason")


def pulling_count(c, image: str) -> int:
    return sum(e.get("count", 1) for e in c.get("events") if e.get("reason") == "Pulling"
               and e["message"] == f'Pulling image "{image}"')


def test_set_image_on_a_pod_in_image_pull_back_off_pulls_the_new_image_at_once():
    c = pod_cluster("nginx:no-such-tag")
    assert waiting_reason(c) == "ImagePullBackOff"
    assert str(c.kubectl("set image pod/x x=nginx:1.27")) == "pod/x image updated\n"
    fixed_at = c.now
    c.run()
    pod = c.get("pod", "x")
    assert pod["status"]["phase"] == "Running"
    (cs,) = pod["status"]["containerStatuses"]
    assert cs["ready"] is True and cs["image"] == "docker.io/library/nginx:1.27"
    # started well inside the 10 s the first image-pull back-off would have lasted
    started = k8slab.sim.loop.parse_timestamp(cs["state"]["running"]["startedAt"])
    assert started - fixed_at < 10
    assert pulling_count(c, "nginx:1.27") == 1


def test_the_back_off_of_the_old_image_still_holds_for_that_image():
    c = pod_cluster("nginx:no-such-tag")
    # another wrong image is tried at once (its own back-off is empty) and fails too
    c.kubectl("set image pod/x x=nginx:also-missing")
    c.run()
    assert pulling_count(c, "nginx:also-missing") == 1
    assert waiting_reason(c) == "ImagePullBackOff"
    # back to the first one, still inside its back-off: no new pull of it
    c.kubectl("set image pod/x x=nginx:no-such-tag")
    c.run()
    assert pulling_count(c, "nginx:no-such-tag") == 1
    assert waiting_reason(c) == "ImagePullBackOff"
    msg = c.get("pod", "x")["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    assert msg == 'Back-off pulling image "nginx:no-such-tag"'


def test_set_image_on_a_crash_looping_container_restarts_it_at_once():
    c = pod_cluster("busybox:1.36")  # no command: exits at once, restarted with a growing back-off
    c.run(seconds=120)
    assert waiting_reason(c) == "CrashLoopBackOff"
    restarts = c.get("pod", "x")["status"]["containerStatuses"][0]["restartCount"]
    c.kubectl("set image pod/x x=nginx:1.27")
    fixed_at = c.now
    c.run()
    (cs,) = c.get("pod", "x")["status"]["containerStatuses"]
    assert "running" in cs["state"] and cs["image"] == "docker.io/library/nginx:1.27"
    assert cs["restartCount"] == restarts + 1
    started = k8slab.sim.loop.parse_timestamp(cs["state"]["running"]["startedAt"])
    assert started - fixed_at < 10


def test_set_image_while_the_old_image_downloads_runs_the_new_image():
    c = k8slab.Cluster(workers=1, seed=0)
    c.kubectl("run x --image=nginx:1.26")
    while pulling_count(c, "nginx:1.26") == 0:
        assert c.step() is not None
    c.kubectl("set image pod/x x=nginx:1.27")
    c.run()
    (cs,) = c.get("pod", "x")["status"]["containerStatuses"]
    assert "running" in cs["state"] and cs["image"] == "docker.io/library/nginx:1.27"
    # the new image was pulled too: the container does not run an image missing from the node
    assert pulling_count(c, "nginx:1.27") == 1
    assert "docker.io/library/nginx:1.27" in {i["image"] for i in c.node("worker-1").images}
    (running,) = [x for x in c.node("worker-1").containers if x["pod"] == "x" and x["state"] == "Running"]
    assert running["image"] == "docker.io/library/nginx:1.27"
