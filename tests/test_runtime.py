"""The container runtime, the image catalogue and the programs containers run."""

import re

import pytest

from k8slab.node import images
from k8slab.node.program import (
    StartError,
    build_program,
    container_argv,
    expand_env_refs,
    run_script,
)
from k8slab.node.runtime import ContainerRuntime, HostLocalIPAM
from k8slab.sim import EventLoop, Randomness


def runtime(name="containerd"):
    loop = EventLoop()
    return loop, ContainerRuntime(loop, Randomness(0).stream("rt"), "worker-1", name, node_ip="172.18.0.3")


# -- images -----------------------------------------------------------------------------------------------


def test_image_names_are_normalised_like_containerd():
    assert images.normalize("nginx").full == "docker.io/library/nginx:latest"
    assert images.normalize("bitnami/redis:7.2").full == "docker.io/bitnami/redis:7.2"
    assert images.normalize("registry.k8s.io/pause:3.9").full == "registry.k8s.io/pause:3.9"
    assert images.normalize("localhost:5000/app").repository == "localhost:5000/app"
    with pytest.raises(images.InvalidImageName, match="repository name must be lowercase"):
        images.normalize("Nginx")


def test_catalogue_knows_servers_toolboxes_and_rejects_what_does_not_exist():
    assert images.lookup("nginx:1.27").kind == "server"
    assert images.lookup("busybox").kind == "toolbox"
    assert images.lookup("nginxx") is None
    assert images.lookup("nginx:1.999") is None  # the repository exists, that tag does not
    assert images.pull_seconds(images.normalize("nginx:1.27")) == images.pull_seconds(images.normalize("nginx:1.27"))
    assert images.pull_seconds(images.normalize("python:3.12")) > images.pull_seconds(images.normalize("busybox"))
    for repo in ("docker.io/library/httpd", "docker.io/library/redis", "docker.io/library/postgres",
                 "docker.io/library/mysql", "docker.io/library/ubuntu", "docker.io/hashicorp/http-echo",
                 "registry.k8s.io/coredns/coredns", "registry.k8s.io/kube-proxy"):
        assert repo in images.catalogue()


def test_pull_errors_read_like_each_runtime():
    ref = images.normalize("nginxx")
    assert "pull access denied, repository does not exist or may require authorization" in images.pull_error(ref)
    assert "may require 'docker login'" in images.pull_error(ref, "docker")
    assert images.pull_error(images.normalize("nginx:1.999")).endswith("docker.io/library/nginx:1.999: not found")


def test_preloaded_images_pulls_and_runtime_versions():
    loop, rt = runtime()
    assert rt.version == "containerd://1.7.15"
    assert rt.image_status("registry.k8s.io/pause:3.9") is not None
    assert rt.image_status("nginx:1.27") is None
    results = []
    seconds = rt.pull_image("nginx:1.27", lambda rec, err: results.append((loop.now, rec, err)))
    loop.run_until_settled()
    (when, rec, err), = results
    assert err is None and when == seconds and rec.size > 70_000_000
    assert rec.repo_digest.startswith("docker.io/library/nginx@sha256:")
    assert rt.image_status("nginx:1.27") is rec
    assert runtime("docker")[1].version == "docker://26.1.4"
    assert runtime("cri-o")[1].version == "cri-o://1.30.1"
    with pytest.raises(ValueError):
        runtime("rkt")


def test_host_local_ipam_hands_out_addresses_from_dot_two_and_does_not_reuse_at_once():
    ipam = HostLocalIPAM("10.244.3.0/24")
    ips = [ipam.allocate(str(i)) for i in range(3)]
    assert ips == ["10.244.3.2", "10.244.3.3", "10.244.3.4"]
    ipam.release("0")
    assert ipam.allocate("x") == "10.244.3.5"
    small = HostLocalIPAM("10.0.0.0/30")  # .2 is the only address for pods
    assert small.allocate("a") == "10.0.0.2" and small.allocate("b") is None


# -- containers ---------------------------------------------------------------------------------------


def test_containers_run_their_program_on_the_virtual_clock_and_report_exits():
    loop, rt = runtime()
    rt.update_runtime_config("10.244.1.0/24")
    exits = []
    rt.on_container_exit = exits.append
    rt.pull_image("busybox:1.36", lambda rec, err: None)
    loop.run_until_settled()
    sb = rt.run_pod_sandbox({"name": "p", "namespace": "default", "uid": "u1"})
    assert sb.ip == "10.244.1.2"
    c = rt.create_container(sb.id, {"name": "c", "image": "busybox:1.36", "argv": ["sh", "-c", "echo hi; sleep 5; exit 4"],
                                    "labels": {"io.kubernetes.pod.uid": "u1"}})
    assert re.fullmatch(r"containerd://[0-9a-f]{64}", c.cri_id)
    rt.start_container(c.id)
    assert c.running
    loop.run_until_settled()
    assert exits == [c] and c.exit_code == 4 and c.reason == "Error" and c.finished_at - c.started_at == 5
    assert [line for _t, _s, line in rt.container_logs(c)] == ["hi"]


def test_a_missing_executable_is_a_start_error():
    loop, rt = runtime()
    rt.update_runtime_config("10.244.1.0/24")
    sb = rt.run_pod_sandbox({"name": "p", "namespace": "default", "uid": "u1"})
    c = rt.create_container(sb.id, {"name": "c", "image": "registry.k8s.io/pause:3.9", "argv": ["/pause"]})
    rt.start_container(c.id)
    assert c.running
    nginx = images.lookup("nginx:1.27")
    with pytest.raises(StartError, match='exec: "nosuch": executable file not found in \\$PATH'):
        build_program(nginx, ["nosuch"])
    with pytest.raises(StartError):
        build_program(images.lookup("hashicorp/http-echo"), ["sh", "-c", "true"])  # scratch image: no shell


def test_servers_listen_after_start_up_and_answer_http():
    loop, rt = runtime()
    rt.update_runtime_config("10.244.1.0/24")
    for img in ("nginx:1.27", "hashicorp/http-echo:1.0", "gcr.io/google-samples/hello-app:1.0"):
        rt.pull_image(img, lambda rec, err: None)
    loop.run_until_settled()
    served = {}
    for name, image, argv, port in [
        ("web", "nginx:1.27", ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"], 80),
        ("echo", "hashicorp/http-echo:1.0", ["/http-echo", "-text=bonjour"], 5678),
        ("hello", "gcr.io/google-samples/hello-app:1.0", ["./hello-app"], 8080),
    ]:
        sb = rt.run_pod_sandbox({"name": name, "namespace": "default", "uid": name, "hostname": name})
        c = rt.create_container(sb.id, {"name": name, "image": image, "argv": argv,
                                        "labels": {"io.kubernetes.pod.name": name}})
        rt.start_container(c.id)
        served[name] = (sb.ip, port)
    with pytest.raises(ConnectionRefusedError):
        rt.http(*served["web"], "/")  # not listening yet
    loop.run_until(loop.now + 1)
    web = rt.http(*served["web"], "/", client_ip="10.244.2.7")
    assert web.status == 200 and "Welcome to nginx!" in web.body and web.pod == "web"
    assert rt.http(*served["web"], "/nope").status == 404
    assert rt.http(*served["echo"], "/").body == "bonjour\n"
    assert rt.http(*served["hello"], "/").body == "Hello, world!\nVersion: 1.0.0\nHostname: hello\n"
    with pytest.raises(ConnectionRefusedError):
        rt.http(served["web"][0], 8080, "/")
    web_c = next(c for c in rt.list_containers() if c.name == "web")
    web_logs = [line for _t, _s, line in rt.container_logs(web_c)]
    assert web_logs[-2].startswith('10.244.2.7 - - [01/Jan/2025:00:00:') and '"GET / HTTP/1.1" 200 615' in web_logs[-2]


def test_stop_container_respects_sigterm_handling_and_the_grace_period():
    loop, rt = runtime()
    rt.update_runtime_config("10.244.1.0/24")
    for img in ("nginx:1.27", "busybox:1.36"):
        rt.pull_image(img, lambda rec, err: None)
    loop.run_until_settled()
    sb = rt.run_pod_sandbox({"name": "p", "namespace": "default", "uid": "u"})
    web = rt.create_container(sb.id, {"name": "web", "image": "nginx:1.27", "argv": ["nginx"]})
    sleeper = rt.create_container(sb.id, {"name": "s", "image": "busybox:1.36", "argv": ["sleep", "3600"]})
    trap = rt.create_container(sb.id, {"name": "t", "image": "busybox:1.36",
                                       "argv": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]})
    for c in (web, sleeper, trap):
        rt.start_container(c.id)
    loop.run_until(loop.now + 1)
    t0 = loop.now
    assert rt.stop_container(web.id, 30) == pytest.approx(0.1)
    assert rt.stop_container(sleeper.id, 30) == 30
    assert rt.stop_container(trap.id, 30) == pytest.approx(0.1)
    loop.run_until_settled()
    assert (web.exit_code, web.reason, round(web.finished_at - t0, 3)) == (0, "Completed", 0.1)
    assert (sleeper.exit_code, sleeper.reason, sleeper.finished_at - t0) == (137, "Error", 30)
    assert trap.exit_code == 0


def test_frozen_runtime_does_nothing_until_thawed():
    loop, rt = runtime()
    rt.update_runtime_config("10.244.1.0/24")
    sb = rt.run_pod_sandbox({"name": "p", "namespace": "default", "uid": "u"})
    c = rt.create_container(sb.id, {"name": "c", "image": "registry.k8s.io/pause:3.9", "argv": ["sh"]})
    c.image_record = rt.image_status("registry.k8s.io/pause:3.9")
    rt.pull_image("busybox:1.36", lambda rec, err: None)
    rt.freeze()
    loop.run_until(loop.now + 60)
    assert rt.image_status("busybox:1.36") is None  # the pull never finished
    rt.thaw()
    assert rt.alive


# -- the shell and the programs -----------------------------------------------------------------------------


def test_shell_runs_the_classic_scripts():
    assert run_script("echo hello; exit 3") == (3, 0.0, "hello\n")
    assert run_script("sleep 2 && echo a || echo b") == (0, 2.0, "a\n")
    assert run_script("false && echo a || echo b") == (0, 0.0, "b\n")
    code, t, out = run_script("i=0; while true; do echo $i; i=$((i+1)); sleep 1; done", limit=3.5)
    assert (code, out) == (None, "0\n1\n2\n3\n")
    assert run_script("for x in 1 2 3; do echo n$x; done")[2] == "n1\nn2\nn3\n"
    assert run_script('if [ -f /etc/nope ]; then echo yes; else echo no; fi')[2] == "no\n"
    assert run_script('X="a b"; echo "[$X]" ${Y:-dflt} $((2*21))')[2] == "[a b] dflt 42\n"
    assert run_script("nosuch")[0] == 127
    assert run_script("echo $(echo inner) `echo back`")[2] == "inner back\n"
    assert run_script("echo hi > /tmp/f; cat /tmp/f; rm /tmp/f; cat /tmp/f")[2] == (
        "hi\ncat: can't open '/tmp/f': No such file or directory\n")
    assert run_script("date")[2] == "Wed Jan  1 00:00:00 UTC 2025\n"
    assert run_script("set -e; false; echo never") == (1, 0.0, "")
    assert run_script('echo "oops')[0] == 2


def test_kubernetes_command_and_args_rules():
    nginx = images.lookup("nginx:1.27")
    assert container_argv(nginx, None, None) == ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]
    assert container_argv(nginx, ["sh", "-c"], ["echo hi"]) == ["sh", "-c", "echo hi"]
    assert container_argv(images.lookup("busybox"), None, ["echo", "x"]) == ["echo", "x"]
    assert expand_env_refs("$(A)-$$(A)-$(B)", {"A": "1"}) == "1-$(A)-$(B)"


def test_perl_job_really_prints_pi():
    from k8slab.node.apps import _pi_digits

    assert _pi_digits(20) == "3.1415926535897932384"
    assert len(_pi_digits(2000)) == 2001


def test_official_entrypoints_put_the_server_in_front_of_flag_arguments():
    from k8slab.node.images import lookup
    from k8slab.node.program import StartError, build_program, container_argv

    redis = lookup("redis:7.2")
    argv = container_argv(redis, None, ["--requirepass", "secret"])
    assert argv == ["docker-entrypoint.sh", "--requirepass", "secret"]
    program, _memory = build_program(redis, argv)  # would raise StartError for "--requirepass"
    assert callable(program)
    with pytest.raises(StartError, match='exec: "--requirepass": executable file not found'):
        build_program(redis, ["--requirepass", "secret"])  # command: replaces the entrypoint
