"""The kubelet: registration, heartbeats, and a pod's life on its node."""

import ipaddress
import re

import pytest
from test_kubelet_harness import Harness

from k8slab.api import errors
from k8slab.sim.loop import parse_timestamp

# -- registration and heartbeats ------------------------------------------------------------------------


def test_node_registers_with_the_fields_a_real_kubelet_reports():
    h = Harness(1)
    node = h.admin.get("nodes", "worker-1")
    labels = node["metadata"]["labels"]
    assert labels == {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                      "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "worker-1",
                      "kubernetes.io/os": "linux"}
    st = node["status"]
    assert st["capacity"] == {"cpu": "4", "ephemeral-storage": "104857600Ki", "hugepages-1Gi": "0",
                              "hugepages-2Mi": "0", "memory": "8388608Ki", "pods": "110"}
    assert st["allocatable"]["memory"] == "8286208Ki"  # minus the 100Mi eviction threshold
    assert st["allocatable"]["cpu"] == "4" and st["allocatable"]["pods"] == "110"
    conds = {c["type"]: c for c in st["conditions"]}
    assert [c["type"] for c in st["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    assert (conds["Ready"]["status"], conds["Ready"]["reason"], conds["Ready"]["message"]) == (
        "True", "KubeletReady", "kubelet is posting ready status")
    assert (conds["MemoryPressure"]["status"], conds["MemoryPressure"]["reason"]) == (
        "False", "KubeletHasSufficientMemory")
    assert conds["PIDPressure"]["message"] == "kubelet has sufficient PID available"
    assert st["addresses"] == [{"address": "172.18.0.3", "type": "InternalIP"},
                               {"address": "worker-1", "type": "Hostname"}]
    assert st["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    info = st["nodeInfo"]
    assert info["kubeletVersion"] == "v1.30.0"
    assert info["containerRuntimeVersion"] == "containerd://1.7.15"
    assert (info["operatingSystem"], info["architecture"]) == ("linux", "amd64")
    assert re.fullmatch(r"[0-9a-f]{32}", info["machineID"])
    names = [n for img in st["images"] for n in img["names"]]
    assert "registry.k8s.io/pause:3.9" in names
    assert h.reasons("worker-1", "Node")[:2] == ["Starting", "NodeAllocatableEnforced"]
    assert "NodeReady" in h.reasons("worker-1", "Node")


def test_another_runtime_changes_the_reported_version():
    h = Harness(1, runtime="cri-o")
    assert h.admin.get("nodes", "worker-1")["status"]["nodeInfo"]["containerRuntimeVersion"] == "cri-o://1.30.1"


def test_lease_is_renewed_every_ten_seconds_in_the_background():
    h = Harness(1)
    lease = h.admin.get("leases", "worker-1", "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == "worker-1"
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
    renewals = []
    for _ in range(6):
        h.run(10)
        renewals.append(parse_timestamp(h.admin.get("leases", "worker-1", "kube-node-lease")["spec"]["renewTime"]))
    gaps = {round(b - a, 6) for a, b in zip(renewals, renewals[1:], strict=False)}
    assert gaps == {10.0}
    # heartbeats are routine: they never keep the cluster "busy"
    assert h.loop.settled()
    assert re.fullmatch(r"2025-01-01T00:00:\d\d\.\d{6}Z", lease["spec"]["renewTime"])


def test_node_status_is_written_only_on_change_or_every_five_minutes():
    h = Harness(1)
    actor = "kubelet/worker-1"
    before = len(h.requests(actor, "nodes/status"))
    h.run(290)
    assert len(h.requests(actor, "nodes/status")) == before  # nothing changed
    h.run(20)
    assert len(h.requests(actor, "nodes/status")) == before + 1  # the 5-minute report
    h.pod("web")
    h.run(20)
    # a newly pulled image shows in status.images at the next 10 s check
    images = [n for img in h.admin.get("nodes", "worker-1")["status"]["images"] for n in img["names"]]
    assert "docker.io/library/nginx:1.27" in images


# -- a pod's life ------------------------------------------------------------------------------------------


def test_pod_goes_from_container_creating_to_running_with_events_in_order():
    h = Harness(1)
    mark = len(h.trace)
    h.pod("web")
    h.run(0.2)
    assert h.state("web") == "ContainerCreating"
    assert h.get("web")["status"]["phase"] == "Pending"
    ready = next(c for c in h.get("web")["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False", "ContainersNotReady", "containers with unready status: [nginx]")
    h.run()
    pod = h.get("web")
    st = pod["status"]
    assert st["phase"] == "Running"
    assert [c["type"] for c in st["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert all(c["status"] == "True" for c in st["conditions"])
    node = h.admin.get("nodes", "worker-1")
    assert ipaddress.ip_address(st["podIP"]) in ipaddress.ip_network(node["spec"]["podCIDR"])
    assert st["podIP"].endswith(".2") and st["podIPs"] == [{"ip": st["podIP"]}]
    assert st["hostIP"] == "172.18.0.3" and st["startTime"]
    cs = st["containerStatuses"][0]
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0 and "running" in cs["state"]
    assert cs["image"] == "docker.io/library/nginx:1.27"
    assert re.fullmatch(r"containerd://[0-9a-f]{64}", cs["containerID"])
    assert re.fullmatch(r"docker\.io/library/nginx@sha256:[0-9a-f]{64}", cs["imageID"])
    events = h.events("web")
    assert [e["reason"] for e in events] == ["Pulling", "Pulled", "Created", "Started"]
    assert events[0]["message"] == 'Pulling image "nginx:1.27"'
    assert re.fullmatch(r'Successfully pulled image "nginx:1\.27" in [\d.]+m?s \([\d.]+m?s including waiting\)\. '
                        r"Image size: \d+ bytes\.", events[1]["message"])
    assert events[2]["message"] == "Created container nginx"
    assert events[3]["message"] == "Started container nginx"
    assert all(e["source"] == {"component": "kubelet", "host": "worker-1"} for e in events)
    assert events[0]["involvedObject"]["fieldPath"] == "spec.containers{nginx}"
    writes = [e for e in h.trace.entries()[mark:] if e.type == "request" and e.actor == "kubelet/worker-1"
              and e.resource == "pods/status"] if hasattr(h.trace, "entries") else [
        e for e in list(h.trace)[mark:] if e.type == "request" and e.actor == "kubelet/worker-1"
        and e.resource == "pods/status"]
    assert 2 <= len(writes) <= 3


def test_second_pod_finds_the_image_already_present_and_takes_two_status_writes():
    h = Harness(1)
    h.pod("one")
    h.run()
    before = len(h.requests("kubelet/worker-1", "pods/status"))
    h.pod("two")
    h.run()
    assert h.get("two")["status"]["phase"] == "Running"
    assert [e["message"] for e in h.events("two")][0] == 'Container image "nginx:1.27" already present on machine'
    assert len(h.requests("kubelet/worker-1", "pods/status")) - before == 2
    assert h.get("two")["status"]["podIP"] != h.get("one")["status"]["podIP"]


def test_pulls_are_serialized_and_report_the_time_spent_waiting():
    h = Harness(1)
    h.pod("a", image="redis:7.2")
    h.pod("b", image="httpd:2.4")
    h.run()
    second = next(e for e in h.events("b") if e["reason"] == "Pulled")["message"]
    took, total = re.search(r"in ([\d.]+)m?s \(([\d.]+)m?s including waiting\)", second).groups()
    assert float(total) > float(took)


def test_unknown_image_goes_err_image_pull_then_image_pull_backoff_with_growing_delays():
    h = Harness(1)
    h.pod("bad", image="nginxx")
    h.run()
    assert h.state("bad") == "ImagePullBackOff"
    assert h.status("bad")["state"]["waiting"]["message"] == 'Back-off pulling image "nginxx"'
    assert h.get("bad")["status"]["phase"] == "Pending"
    msgs = [(e["reason"], e["message"]) for e in h.events("bad")]
    assert ("Failed", 'Failed to pull image "nginxx": failed to pull and unpack image "docker.io/library/nginxx:latest": '
            'failed to resolve reference "docker.io/library/nginxx:latest": pull access denied, repository does not '
            "exist or may require authorization: server message: insufficient_scope: authorization failed") in msgs
    assert ("Failed", "Error: ErrImagePull") in msgs
    assert ("BackOff", 'Back-off pulling image "nginxx"') in msgs
    assert ("Failed", "Error: ImagePullBackOff") in msgs
    # the pull is retried when each back-off (10 s, 20 s, 40 s ...) runs out
    settled = h.loop.now  # 1 s after the first failure
    attempts = []
    seen = next(e for e in h.events("bad") if e["reason"] == "Pulling")["count"]
    while h.loop.now < 200:
        h.run(0.1)
        ev = next(e for e in h.events("bad") if e["reason"] == "Pulling")
        if ev["count"] != seen:
            seen = ev["count"]
            attempts.append(h.loop.now)
    gaps = [round(b - a, 1) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert round(attempts[0] - settled, 1) == 9.0  # 10 s after the failure
    assert gaps[:2] == [20.9, 40.9]  # back-off doubling, plus the 0.9 s each failed resolve takes


def test_image_that_exists_with_a_tag_that_does_not_says_not_found():
    h = Harness(1)
    h.pod("typo", image="nginx:1.999")
    h.run()
    msg = h.status("typo")["lastState"] and "" or next(
        e["message"] for e in h.events("typo") if e["message"].startswith("Failed to pull"))
    assert msg.endswith('docker.io/library/nginx:1.999: not found')


def test_crashing_container_logs_restarts_and_backs_off_10_20_40_seconds():
    h = Harness(1)
    h.pod("crash", [{"name": "busybox", "image": "busybox:1.36", "command": ["sh", "-c", "echo hello; exit 3"]}])
    h.run()
    cs = h.status("crash")
    assert h.state("crash") == "CrashLoopBackOff"
    assert cs["restartCount"] == 1  # the first restart is immediate
    uid = h.get("crash")["metadata"]["uid"]
    assert cs["state"]["waiting"]["message"] == (
        f"back-off 10s restarting failed container=busybox pod=crash_default({uid})")
    term = cs["lastState"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (3, "Error")
    assert h.get("crash")["status"]["phase"] == "Running"  # restartPolicy Always: still "running"
    assert h.admin.logs("crash", "default") == "hello\n"
    back = next(e for e in h.events("crash") if e["reason"] == "BackOff")
    assert back["type"] == "Warning"
    assert back["message"] == f"Back-off restarting failed container busybox in pod crash_default({uid})"
    starts = []
    count = 1
    while len(starts) < 4:
        h.run(0.5)
        rc = h.status("crash")["restartCount"]
        if rc != count:
            count = rc
            starts.append(h.loop.now)
    gaps = [round(b - a) for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == [20, 40, 80]
    assert h.status("crash")["state"]["waiting"]["message"].startswith("back-off 2m40s")  # after 80 s: 160 s


def test_restart_policy_never_ends_failed_and_on_failure_ends_succeeded():
    h = Harness(1)
    h.pod("never", [{"name": "c", "image": "busybox:1.36", "command": ["false"]}], restartPolicy="Never")
    h.pod("done", [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "sleep 2; echo ok"]}],
          restartPolicy="OnFailure")
    h.run()
    never, done = h.get("never")["status"], h.get("done")["status"]
    assert never["phase"] == "Failed"
    assert never["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert done["phase"] == "Succeeded"
    assert done["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    ready = next(c for c in done["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "PodCompleted")
    assert h.admin.logs("done", "default") == "ok\n"
    # a finished pod gives its IP back
    assert h.kubelets["worker-1"].runtime.ipam is not None and len(h.kubelets["worker-1"].runtime.ipam) == 0


def test_memory_limit_below_the_working_set_is_oom_killed():
    h = Harness(1)
    h.pod("hog", [{"name": "stress", "image": "polinux/stress", "command": ["stress"],
                   "args": ["--vm", "1", "--vm-bytes", "150M", "--vm-hang", "1"],
                   "resources": {"limits": {"memory": "100Mi"}}}])
    h.run()
    term = h.status("hog")["lastState"]["terminated"]
    assert (term["reason"], term["exitCode"]) == ("OOMKilled", 137)


def test_graceful_deletion_stops_containers_and_removes_the_pod():
    h = Harness(1)
    h.pod("web")
    h.pod("sleeper", [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}])
    h.run()
    t0 = h.loop.now
    h.admin.delete("pods", "web", "default")
    h.admin.delete("pods", "sleeper", "default")
    assert h.get("web")["metadata"]["deletionTimestamp"]
    h.run_until(lambda: not any(p["metadata"]["name"] == "web" for p in h.admin.list("pods", "default")["items"]))
    assert h.loop.now - t0 < 2  # nginx stops at once on SIGQUIT/SIGTERM
    assert ("Killing", "Stopping container nginx") in [(e["reason"], e["message"]) for e in h.events("web")]
    h.run()
    assert h.admin.list("pods", "default")["items"] == []
    assert h.loop.now - t0 >= 30  # sleep as PID 1 ignores SIGTERM: killed after the 30 s grace period
    assert len(h.kubelets["worker-1"].runtime.ipam) == 0
    assert h.requests("kubelet/worker-1", "pods", "delete")


def test_logs_and_exec_through_the_api_server():
    h = Harness(1)
    h.pod("web")
    h.pod("two", [{"name": "a", "image": "nginx:1.27"},
                  {"name": "b", "image": "busybox:1.36",
                   "command": ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 5; done"]}])
    h.pod("slow", image="mysql:8.4", bind=False)
    with pytest.raises(errors.BadRequest, match="does not have a host assigned"):
        h.admin.logs("slow", "default")
    h.run()
    assert "nginx/1.27.0" in h.admin.logs("web", "default")
    assert h.admin.logs("web", "default", tail=1).count("\n") == 1
    with pytest.raises(errors.BadRequest) as e:
        h.admin.logs("two", "default")
    assert e.value.message == "a container name must be specified for pod two, choose one of: [a b]"
    h.run(12)
    assert h.admin.logs("two", "default", container="b").splitlines()[:3] == ["tick 0", "tick 1", "tick 2"]
    with pytest.raises(errors.BadRequest, match='previous terminated container "b" in pod "two" not found'):
        h.admin.logs("two", "default", container="b", previous=True)
    out = h.admin.exec("web", "default", ["cat", "/etc/hostname"])
    assert out == "web\n" and out.returncode == 0
    env = h.admin.exec("two", "default", ["env"], container="b")
    assert "HOSTNAME=two" in env and "KUBERNETES_SERVICE_HOST=10.96.0.1" in env
    resolv = h.admin.exec("web", "default", ["cat", "/etc/resolv.conf"])
    assert resolv.splitlines()[0] == "search default.svc.cluster.local svc.cluster.local cluster.local"
    hosts = h.admin.exec("web", "default", ["sh", "-c", "cat /etc/hosts | tail -1"])
    assert hosts == f"{h.get('web')['status']['podIP']}\tweb\n"
    assert h.admin.exec("web", "default", ["ls", "/usr/share/nginx/html"]) == "50x.html\nindex.html\n"
    missing = h.admin.exec("web", "default", ["nosuch"])
    assert missing.returncode == 126 and 'exec: "nosuch": executable file not found in $PATH' in missing.stderr
    h.pod("waiting", image="nginxx")
    h.run()
    with pytest.raises(errors.BadRequest) as e:
        h.admin.logs("waiting", "default")
    assert e.value.message == 'container "nginx" in pod "waiting" is waiting to start: trying and failing to pull image'


def test_logs_with_timestamps_use_rfc3339_nano():
    h = Harness(1)
    h.pod("t", [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "echo one; sleep 1.5; echo two; sleep 600"]}])
    h.run(10)
    lines = h.api.handle(__import__("k8slab.apiserver.request", fromlist=["Request"]).Request(
        "get", "pods", "default", "t", "log", None, h.admin.token, "kubectl", {"timestamps": True})).splitlines()
    assert re.fullmatch(r"2025-01-01T00:00:\d\d(\.\d+)?Z one", lines[0])
    assert lines[1].endswith(" two")


def test_pod_waits_for_the_node_pod_cidr():
    h = Harness(1, ipam=False)
    h.pod("web")
    h.run(30)
    assert h.state("web") == "ContainerCreating"
    assert "podIP" not in h.get("web")["status"]
    h.admin.patch("nodes", "worker-1", {"spec": {"podCIDR": "10.244.7.0/24", "podCIDRs": ["10.244.7.0/24"]}})
    h.run(30)
    assert h.get("web")["status"]["podIP"] == "10.244.7.2"
    assert h.state("web") == "Running"


def test_kubelet_rejects_a_pod_that_does_not_fit():
    h = Harness(1)
    h.pod("huge", [{"name": "c", "image": "nginx:1.27", "resources": {"requests": {"cpu": "5"}}}])
    h.run()
    st = h.get("huge")["status"]
    assert (st["phase"], st["reason"]) == ("Failed", "OutOfcpu")
    assert st["message"] == "Pod was rejected: Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000"


def test_kubelet_ignores_containers_it_did_not_create():
    h = Harness(1)
    view = h.kubelets["worker-1"].view()
    other = view.run_unmanaged("redis:7.2", "handmade")
    h.pod("web")
    h.run()
    assert h.get("web")["status"]["phase"] == "Running"
    names = {c["name"]: c for c in view.containers}
    assert names["handmade"]["managed"] is False and names["handmade"]["state"] == "Running"
    assert names["nginx"]["managed"] is True and names["nginx"]["pod"] == "web"
    assert other.running  # nothing stopped it
    assert repr(view) == "Node(worker-1, Ready, 1 pod)"
    assert "handmade" in view.crictl_ps()


def test_static_pods_run_without_the_api_and_get_mirror_pods():
    manifest = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "etcd", "namespace": "kube-system", "labels": {"component": "etcd"}},
                "spec": {"hostNetwork": True, "containers": [
                    {"name": "etcd", "image": "registry.k8s.io/etcd:3.5.12-0", "command": ["etcd"]}]}}
    h = Harness(1, static={"worker-1": [manifest]})
    mirror = h.admin.get("pods", "etcd-worker-1", "kube-system")
    ann = mirror["metadata"]["annotations"]
    assert ann["kubernetes.io/config.source"] == "file"
    assert ann["kubernetes.io/config.mirror"] == ann["kubernetes.io/config.hash"]
    (owner,) = mirror["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Node", "worker-1", True)
    assert mirror["spec"]["nodeName"] == "worker-1"
    assert mirror["status"]["phase"] == "Running"
    assert mirror["status"]["podIP"] == "172.18.0.3"  # hostNetwork: the node's IP
    # deleting a mirror pod does not stop the static pod: the kubelet publishes it again
    h.admin.delete("pods", "etcd-worker-1", "kube-system")
    h.run()
    again = h.admin.get("pods", "etcd-worker-1", "kube-system")
    assert again["metadata"]["uid"] != mirror["metadata"]["uid"]
    assert again["status"]["phase"] == "Running"


def test_init_container_runs_to_completion_before_the_app():
    h = Harness(1)
    h.pod("init", [{"name": "web", "image": "nginx:1.27", "volumeMounts": [
        {"name": "html", "mountPath": "/usr/share/nginx/html"}]}],
        initContainers=[{"name": "setup", "image": "busybox:1.36", "command": [
            "sh", "-c", "sleep 3; echo '<h1>made by init</h1>' > /work/index.html"],
            "volumeMounts": [{"name": "html", "mountPath": "/work"}]}],
        volumes=[{"name": "html", "emptyDir": {}}])
    h.run(2)
    st = h.get("init")["status"]
    init = next(c for c in st["conditions"] if c["type"] == "Initialized")
    assert (init["status"], init["reason"], init["message"]) == (
        "False", "ContainersNotInitialized", "containers with incomplete status: [setup]")
    assert st["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    h.run()
    st = h.get("init")["status"]
    assert st["phase"] == "Running"
    assert st["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    ip = st["podIP"]
    h.run(1)  # nginx listens a moment after it started
    resp = h.kubelets["worker-1"].runtime.http(ip, 80, "/")
    assert resp.status == 200 and resp.body == "<h1>made by init</h1>\n"


def test_env_from_a_config_map_and_a_missing_one():
    h = Harness(1)
    h.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
                    "data": {"GREETING": "hello"}})
    h.pod("ok", [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "echo $(GREETING) $GREETING $NAME"],
                  "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "GREETING"}}},
                          {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
          restartPolicy="Never")
    h.pod("missing", [{"name": "c", "image": "busybox:1.36", "command": ["true"],
                       "envFrom": [{"configMapRef": {"name": "nope"}}]}])
    h.run()
    assert h.admin.logs("ok", "default") == "hello hello ok\n"
    cs = h.status("missing")
    assert cs["state"]["waiting"] == {"reason": "CreateContainerConfigError", "message": 'configmap "nope" not found'}
    assert ("Failed", 'Error: configmap "nope" not found') in [(e["reason"], e["message"]) for e in h.events("missing")]


def test_secrets_as_env_and_files_and_missing_keys():
    h = Harness(1)
    h.admin.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "default"},
                    "data": {"password": "czNjcjN0"}})  # base64 of "s3cr3t"
    h.pod("ok", [{"name": "c", "image": "busybox:1.36",
                  "command": ["sh", "-c", "echo $PW; cat /etc/db/password; echo; echo ${OPT:-unset}"],
                  "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                          {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "x",
                                                                        "optional": True}}}],
                  "volumeMounts": [{"name": "db", "mountPath": "/etc/db"}]}],
          restartPolicy="Never", volumes=[{"name": "db", "secret": {"secretName": "db"}}])
    h.pod("nokey", [{"name": "c", "image": "busybox:1.36", "command": ["true"],
                     "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "user"}}}]}])
    h.pod("nosecret", [{"name": "c", "image": "busybox:1.36", "command": ["true"],
                        "envFrom": [{"secretRef": {"name": "absent"}}]}])
    h.run()
    assert h.admin.logs("ok", "default") == "s3cr3t\ns3cr3t\nunset\n"
    assert h.status("nokey")["state"]["waiting"] == {
        "reason": "CreateContainerConfigError", "message": "couldn't find key user in Secret default/db"}
    assert h.status("nosecret")["state"]["waiting"]["message"] == 'secret "absent" not found'


def test_liveness_probe_failure_restarts_the_container():
    h = Harness(1)
    h.pod("live", [{"name": "liveness", "image": "busybox:1.36",
                    "args": ["/bin/sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"],
                    "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "initialDelaySeconds": 5,
                                      "periodSeconds": 5, "failureThreshold": 3}}])
    h.run(25)
    assert h.status("live")["restartCount"] == 0
    restarted = h.run_until(lambda: h.status("live")["restartCount"] == 1, limit=120)
    started = parse_timestamp(h.status("live")["lastState"]["terminated"]["startedAt"])
    # removed at 30 s, three failures 5 s apart (45 s), then `sh` as PID 1 ignores SIGTERM and is
    # killed when the 30 s grace period ends
    assert 69 <= restarted - started <= 77
    msgs = [(e["reason"], e["message"], e["count"]) for e in h.events("live")]
    assert ("Unhealthy", "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory", 3) in msgs
    assert ("Killing", "Container liveness failed liveness probe, will be restarted", 1) in msgs


def test_readiness_probe_holds_the_pod_not_ready_until_it_passes():
    h = Harness(1)
    h.pod("db", [{"name": "pg", "image": "postgres:16", "env": [{"name": "POSTGRES_PASSWORD", "value": "x"}],
                  "readinessProbe": {"tcpSocket": {"port": 5432}, "periodSeconds": 2}}])
    h.pod("bad", [{"name": "web", "image": "nginx:1.27",
                   "readinessProbe": {"httpGet": {"path": "/healthz", "port": 80}}}])
    h.run()
    assert h.status("db")["ready"] is True
    assert h.status("bad")["ready"] is False
    assert h.get("bad")["status"]["phase"] == "Running"
    assert ("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 404") in [
        (e["reason"], e["message"]) for e in h.events("bad")]
    assert h.loop.settled()  # a probe that keeps failing does not keep the cluster busy


def test_postgres_without_its_password_exits_with_its_error():
    h = Harness(1)
    h.pod("pg", image="postgres:16")
    h.run()
    assert h.state("pg") in ("CrashLoopBackOff", "Error")
    assert "You must specify POSTGRES_PASSWORD" in h.admin.logs("pg", "default")


def test_node_failure_freezes_the_kubelet_and_restart_finishes_deleted_pods():
    h = Harness(1)
    h.pod("web")
    h.run()
    k = h.kubelets["worker-1"]
    k.stop()
    h.admin.delete("pods", "web", "default")
    h.run(60)
    assert h.get("web")["metadata"]["deletionTimestamp"]  # nobody on the node to finish it
    k.restart()
    h.run()
    assert h.admin.list("pods", "default")["items"] == []
    assert repr(k.view()) == "Node(worker-1, Ready, 0 pods)"


def test_force_deleted_pod_is_killed_at_once_and_frees_its_resources():
    h = Harness(1)
    h.pod("web", [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"],
                   "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}}}])
    h.run()
    k = h.kubelets["worker-1"]
    assert k.allocated == {"cpu": 500, "memory": 64 * 1024 * 1024, "pods": 1}
    h.admin.delete("pods", "web", "default", grace_period_seconds=0, force=True)
    h.run()
    assert k.allocated == {"cpu": 0, "memory": 0, "pods": 0}
    assert not [c for c in k.runtime.list_containers() if c.running]
    assert k.workers == {}
