"""The dashboards of k8slab.widgets, driven from Python: clicks and field values, no browser."""

import pytest

import k8slab
from k8slab.widgets import ClusterLab, SchedulerExplorer, StepThrough, TrafficExplorer
from k8slab.widgets.stepthrough import describe, last_action
from tests.conftest import nginx_deployment

SERVICE_WITH_DRAIN_PROBE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
        readinessProbe:
          exec: {command: [sh, -c, "test ! -e /tmp/drain"]}
          periodSeconds: 2
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""


@pytest.fixture
def lab():
    return ClusterLab(k8slab.Cluster(workers=3, seed=0))


def _pod_rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()[1:]]


# -- ClusterLab ------------------------------------------------------------------------------------

def test_cluster_lab_shows_the_cluster_as_it_is(lab):
    assert lab.figure.k8slab["nodes"] == ["control-plane", "worker-1", "worker-2", "worker-3"]
    assert lab.node_choice.options == ("control-plane", "worker-1", "worker-2", "worker-3")
    assert lab.node_name.value == "worker-4"
    assert lab.pods_text.text == "No resources found in default namespace."
    assert lab.events_text.text.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert len(lab.events_text.text.splitlines()) == 1 + 8
    assert bytes(lab.picture.value).startswith(b"\x89PNG")
    assert repr(lab) == f"ClusterLab({lab.c!r})"


def test_add_node_joins_a_worker_and_everything_shows_it(lab):
    lab.node_cpu.value, lab.node_memory.value, lab.node_labels.value = "8", "16Gi", "disk=ssd, zone=b"
    picture = lab.picture.value
    lab.add_node_button.click()
    node = lab.c.get("node", "worker-4")
    assert node["metadata"]["labels"]["disk"] == "ssd" and node["metadata"]["labels"]["zone"] == "b"
    assert node["status"]["capacity"]["cpu"] == "8"
    assert [c["type"] for c in node["status"]["conditions"] if c["status"] == "True"] == ["Ready"]
    assert lab.figure.k8slab["nodes"] == ["control-plane", "worker-1", "worker-2", "worker-3", "worker-4"]
    assert lab.figure.k8slab["node_state"]["worker-4"] == "Ready"
    assert lab.picture.value != picture
    assert lab.node_name.value == "worker-5"
    assert lab.node_choice.value == "worker-4"
    assert lab.status.error is False
    assert lab.status.text.splitlines()[0] == "node worker-4 joined (cpu 8, memory 16Gi, labels disk=ssd,zone=b)"
    assert "Node worker-4 status is now: NodeReady" in lab.events_text.text


def test_add_node_with_a_bad_label_shows_the_api_error_and_adds_nothing(lab):
    lab.node_labels.value = "my disk=ssd"
    lab.add_node_button.click()
    assert lab.status.error is True
    assert lab.status.text.startswith('The Node "worker-4" is invalid: metadata.labels: Invalid value: "my disk"')
    assert lab.c.nodes == ["control-plane", "worker-1", "worker-2", "worker-3"]
    assert "Traceback" not in lab.status.text


def test_add_node_with_a_bad_quantity_or_a_taken_name_is_refused(lab):
    lab.node_cpu.value = "four"
    lab.add_node_button.click()
    assert lab.status.error is True
    assert lab.status.text.startswith('error: invalid cpu "four": quantities must match the regular expression')
    assert lab.node_name.value == "worker-4"
    lab.node_cpu.value = "4"
    lab.node_name.value = "worker-2"
    lab.add_node_button.click()
    assert lab.status.text == 'node "worker-2" already exists'
    lab.node_name.value = "edge-1"
    lab.step_button.click()
    assert lab.node_name.value == "edge-1"  # what the learner typed stays
    assert len(lab.c.nodes) == 4 and lab.c.errors == []


def test_apply_creates_pods_and_the_tables_and_figure_follow(lab):
    lab.manifest.value = nginx_deployment(replicas=3)
    lab.apply_button.click()
    assert lab.apply_text.text == "deployment.apps/web created"
    assert lab.apply_text.error is False
    rows = _pod_rows(lab.pods_text.text)
    assert len(rows) == 3
    assert all(r[0].startswith("web-") and r[1] == "1/1" and r[2] == "Running" for r in rows)
    assert sorted(r[6] for r in rows) == ["worker-1", "worker-2", "worker-3"]
    chips = lab.figure.k8slab["chips"]
    assert sorted(n for n, pods in chips.items() for p in pods if p.startswith("default/web-")) == [
        "worker-1", "worker-2", "worker-3"]
    assert "Started container nginx" in lab.events_text.text
    assert "ran until settled" in lab.status.text


def test_apply_a_bad_manifest_shows_the_error_inline_and_changes_nothing(lab):
    lab.manifest.value = nginx_deployment().replace("replicas:", "replcas:")
    rev = lab.c.etcd.revision if hasattr(lab.c.etcd, "revision") else None
    lab.apply_button.click()
    assert lab.apply_text.error is True
    assert lab.apply_text.text == ('error: <string>, line 8: unknown field "spec.replcas" — '
                                   'did you mean "replicas"?')
    assert "Traceback" not in lab.apply_text.text
    assert lab.status.error is True and lab.status.text == lab.apply_text.text
    assert lab.c.get("deployments") == []
    assert lab.pods_text.text == "No resources found in default namespace."
    if rev is not None:
        assert lab.c.etcd.revision == rev


def test_fail_then_recover_a_node_turns_it_not_ready_and_back(lab):
    lab.manifest.value = nginx_deployment(replicas=3)
    lab.apply_button.click()
    lab.node_choice.value = "worker-2"
    lab.fail_button.click()
    assert lab.figure.k8slab["node_state"]["worker-2"] == "NotReady"
    ready = next(c for c in lab.c.get("node", "worker-2")["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusUnknown")
    # the pod of worker-2 was evicted after 300 s and replaced on another node
    rows = _pod_rows(lab.pods_text.text)
    running = [r for r in rows if r[2] == "Running"]
    assert len(running) == 3 and all(r[6] != "worker-2" for r in running)
    lab.recover_button.click()
    assert lab.figure.k8slab["node_state"]["worker-2"] == "Ready"
    assert lab.status.text.splitlines()[0] == "node worker-2 recovered: its kubelet restarted"


def test_cordon_and_uncordon_use_kubectl(lab):
    lab.node_choice.value = "worker-1"
    lab.cordon_button.click()
    assert lab.c.get("node", "worker-1")["spec"]["unschedulable"] is True
    assert lab.status.text.splitlines()[:2] == ["$ kubectl cordon worker-1", "node/worker-1 cordoned"]
    assert lab.figure.k8slab["node_state"]["worker-1"] == "SchedulingDisabled"
    lab.manifest.value = nginx_deployment(replicas=4)
    lab.apply_button.click()
    assert "worker-1" not in [r[6] for r in _pod_rows(lab.pods_text.text)]
    lab.uncordon_button.click()
    assert not lab.c.get("node", "worker-1")["spec"].get("unschedulable")
    assert lab.status.text.splitlines()[1] == "node/worker-1 uncordoned"


def test_step_runs_one_event_and_shows_it(lab):
    lab.auto_run.value = False
    lab.manifest.value = nginx_deployment(replicas=1)
    lab.apply_button.click()
    assert "ran until settled" not in lab.status.text
    assert lab.c.get("replicasets") == []  # nothing ran yet: the controller has not reacted
    before = lab.c.loop.events_run
    upcoming = lab.c.loop.peek()
    lab.step_button.click()
    assert lab.c.loop.events_run == before + 1
    assert lab.status.text == repr(upcoming) and lab.status.text.startswith("Event(t=")
    while not lab.c.get("pods"):
        lab.c.step()
    lab.step_button.click()  # the ReplicaSet's pod exists now, not yet scheduled
    assert lab.figure.k8slab["pending"] == [f"default/{lab.c.get('pods')[0]['metadata']['name']}"]
    assert _pod_rows(lab.pods_text.text)[0][:3] == [lab.c.get("pods")[0]["metadata"]["name"], "0/1", "Pending"]


def test_run_for_advances_the_clock_by_the_seconds_field(lab):
    t = lab.c.now
    lab.seconds.value = 25
    lab.run_for_button.click()
    assert lab.c.now == pytest.approx(t + 25)
    assert lab.status.text == f"ran 25 s: t={t:.1f}s → t={t + 25:.1f}s"
    assert lab.clock.value == f"<b>{lab.c!r}</b>"


# -- SchedulerExplorer ---------------------------------------------------------------------------

def test_scheduler_explorer_evaluates_without_creating_a_pod():
    c = k8slab.Cluster(workers=3, seed=0)
    rev = c.trace.mark()
    ex = SchedulerExplorer(c)
    e = ex.explanation
    assert e.node("control-plane").filtered_by == "TaintToleration"
    assert [n.name for n in e.nodes if n.feasible] == ["worker-1", "worker-2", "worker-3"]
    assert e.chosen in ("worker-1", "worker-2", "worker-3")
    assert ex.table.text.splitlines()[0].startswith("Pod default/what-if: pending; evaluated now")
    assert ex.figure.k8slab["filtered"]["control-plane"][0] == "TaintToleration"
    assert c.trace.mark() == rev  # no request at all
    assert c.get("pods") == []


def test_scheduler_explorer_sliders_filter_nodes_by_resources():
    c = k8slab.Cluster(workers=2, seed=0)
    c.add_node("big", cpu="16", memory="64Gi")
    c.run()
    ex = SchedulerExplorer(c)
    ex.cpu.value = 8000
    assert ex.explanation.node("worker-1").reason == "Insufficient cpu"
    assert ex.explanation.chosen == "big"
    assert ex.pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "8000m", "memory": "256Mi"}
    ex.cpu.value = 500
    ex.memory.value = 32768
    assert ex.explanation.node("worker-2").reason == "Insufficient memory"
    assert ex.figure.k8slab["winner"] == "big"


def test_scheduler_explorer_node_selector_and_tolerations():
    c = k8slab.Cluster(workers=2, seed=0)
    c.add_node("gpu-1", labels={"gpu": "true"}, taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}])
    c.run()
    ex = SchedulerExplorer(c)
    assert list(ex.toleration_boxes) == ["gpu=true:NoSchedule", "node-role.kubernetes.io/control-plane:NoSchedule"]
    ex.node_selector.value = "gpu=true"
    assert ex.explanation.node("worker-1").filtered_by == "NodeAffinity"
    assert ex.explanation.node("gpu-1").filtered_by == "TaintToleration"
    assert ex.explanation.chosen is None
    assert "0/4 nodes are available" in ex.table.text
    ex.toleration_boxes["gpu=true:NoSchedule"].value = True
    assert ex.explanation.chosen == "gpu-1"
    assert {"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in ex.pod["spec"]["tolerations"]
    ex.node_selector.value = "gpu"
    assert ex.table.error is True
    assert ex.table.text == 'labels must be key=value pairs separated by commas, got "gpu"'


# -- TrafficExplorer -------------------------------------------------------------------------------

@pytest.fixture
def web():
    c = k8slab.Cluster(workers=3, seed=0)
    c.apply(SERVICE_WITH_DRAIN_PROBE)
    c.run()
    return c


def test_traffic_explorer_spreads_requests_over_ready_pods(web):
    tx = TrafficExplorer(web, "web", requests=300)
    assert tx.deployment == "web"
    assert len(tx.ready_toggles) == 3 and all(t.value for t in tx.ready_toggles.values())
    assert sum(tx.traffic.values()) == 300 and len(tx.traffic) == 3
    assert sorted(tx.figure.k8slab["counts"]) == sorted(tx.ready_toggles)


def test_traffic_explorer_readiness_toggle_takes_a_pod_out_of_the_service(web):
    tx = TrafficExplorer(web, "web", requests=300)
    pod = sorted(tx.ready_toggles)[0]
    tx.ready_toggles[pod].value = False
    assert tx.status.text.splitlines()[0] == f"$ kubectl exec {pod} -c nginx -- touch /tmp/drain"
    assert tx.ready_toggles[pod].value is False
    assert not k8slab.api.objects.is_pod_ready(web.get("pod", pod))
    assert pod not in tx.traffic and sum(tx.traffic.values()) == 300
    assert "Readiness probe failed" in web.kubectl(f"describe pod {pod}")
    tx.ready_toggles[pod].value = True
    assert k8slab.api.objects.is_pod_ready(web.get("pod", pod))
    assert tx.traffic[pod] > 0


def test_traffic_explorer_replicas_slider_scales_the_deployment(web):
    tx = TrafficExplorer(web, "web", requests=500)
    tx.replicas.value = 5
    assert web.get("deployment", "web")["spec"]["replicas"] == 5
    assert tx.status.text.splitlines()[:2] == ["$ kubectl scale deployment web --replicas=5",
                                                "deployment.apps/web scaled"]
    assert len(tx.ready_toggles) == 5 and len(tx.traffic) == 5
    assert len(_pod_rows(tx.pods_text.text)) == 5
    tx.replicas.value = 1
    assert len(tx.ready_toggles) == 1 and list(tx.traffic) == list(tx.ready_toggles)


def test_traffic_explorer_without_a_file_probe_disables_the_toggles():
    c = k8slab.Cluster(workers=2, seed=0)
    c.apply(nginx_deployment(2))
    c.kubectl("expose deployment web --port=80")
    c.run()
    tx = TrafficExplorer(c, "web", requests=10)
    assert all(t.disabled for t in tx.ready_toggles.values())
    with pytest.raises(k8slab.api.errors.K8sLabError, match='Service "kubernetes" has no selector'):
        TrafficExplorer(c, "kubernetes")
    c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
             "spec": {"selector": {"app": "db"}, "ports": [{"port": 5432}]}})
    with pytest.raises(k8slab.api.errors.K8sLabError, match='no Deployment in namespace "default" runs the pods '
                                                            'of Service "db" \\(selector app=db\\)'):
        TrafficExplorer(c, "db")


# -- StepThrough -----------------------------------------------------------------------------------

def test_step_through_walks_the_messages_of_an_apply():
    c = k8slab.Cluster(workers=2, seed=0)
    tour = StepThrough(c)
    assert tour.position == 0 and tour.line.text.startswith("Nothing recorded yet")
    c.apply(nginx_deployment(2))
    c.run()
    tour.next_button.click()
    first = tour.current
    # kubectl apply: a read, then the dry run of the create, then the read and the create itself
    assert [(e.actor, e.verb, e.resource, e.code) for e in tour.entries[:4]] == [
        ("kubectl", "get", "deployments", 404), ("kubectl", "create", "deployments", 201)] * 2
    assert tour.entries[1].revision is None and tour.entries[3].revision is not None
    assert "as a dry run" in describe(tour.entries[1]) and "stores it in etcd" in describe(tour.entries[3])
    assert first is tour.entries[0]
    assert tour.line.text.splitlines()[0] == f"1/{len(tour.entries)}  {str(first).strip()}"
    assert len(tour.figure.k8slab["entries"]) == 1
    for _ in range(9):
        tour.next_button.click()
    assert tour.position == 10 and tour.slider.value == 10
    assert tour.figure.k8slab["entries"] == tour.entries[:10]
    tour.previous_button.click()
    assert tour.position == 9 and tour.figure.k8slab["entries"] == tour.entries[:9]
    tour.slider.value = len(tour.entries)
    assert tour.next_button.disabled
    assert len(tour.figure.k8slab["entries"]) == tour.window
    assert any(e.resource == "pods/binding" for e in tour.entries)
    assert not any(e.resource in ("events", "leases") for e in tour.entries)
    tour.reset_button.click()
    assert tour.position == 0 and tour.previous_button.disabled


def test_step_through_describes_watch_deliveries_and_bindings():
    c = k8slab.Cluster(workers=1, seed=0)
    m = c.trace.mark()
    c.apply(nginx_deployment(1))
    c.run()
    tour = StepThrough(c, since=m, objects="web")
    binding = next(i for i, e in enumerate(tour.entries) if e.resource == "pods/binding")
    tour.go(binding + 1)
    assert tour.current.resource == "pods/binding"
    assert tour.line.text.splitlines()[1].startswith("The scheduler binds pod default/web-")
    assert tour.figure.k8slab["entries"][-1] is tour.current
    kubelet = next(e for e in tour.entries if e.type == "watch" and e.actor == "kubelet/worker-1")
    assert describe(kubelet).startswith("The API server tells the kubelet of worker-1, which watches Pods, that "
                                        "Pod default/web-")
    assert describe(kubelet).endswith("so it will start the pod's containers.")
    conflict = [e for e in tour.entries if e.code == 409]
    for e in conflict:
        assert "refused, 409 Conflict" in describe(e)


def test_an_unexpected_failure_shows_in_the_dashboard_instead_of_raising(lab, monkeypatch, caplog):
    def broken(name):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(lab.c, "fail_node", broken)
    lab.node_choice.value = "worker-1"
    lab.fail_button.click()  # must not raise
    assert lab.status.error is True
    assert lab.status.text == "k8slab failed unexpectedly (RuntimeError: disk on fire); please report it."
    assert "disk on fire" in caplog.text  # the traceback goes to the log, not the notebook
    lab.cordon_button.click()  # the dashboard still works afterwards
    assert lab.status.error is False and lab.figure.k8slab["node_state"]["worker-1"] == "SchedulingDisabled"


def test_cluster_lab_action_mark_lets_step_through_replay_a_click(lab):
    lab.node_choice.value = "worker-3"
    lab.cordon_button.click()
    tour = StepThrough(lab.c, since=lab.action_mark)
    tour.next_button.click()
    assert (tour.current.actor, tour.current.resource, tour.current.name) == ("kubectl", "nodes", "worker-3")
    assert any(e.verb == "patch" and e.resource == "nodes" for e in tour.entries)


# -- SchedulerExplorer: Create this pod ---------------------------------------------------------

def test_scheduler_explorer_create_places_the_pod_where_it_predicted():
    c = k8slab.Cluster(workers=2, seed=0)
    c.add_node("big", cpu="16", memory="64Gi")
    c.run()
    ex = SchedulerExplorer(c, cpu=6000, memory=1024)
    assert ex.explanation.chosen == "big"
    table = ex.table.text
    ex.create_button.click()
    pod = c.get("pod", "what-if-1")
    assert pod["spec"]["nodeName"] == "big"
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "6000m", "memory": "1024Mi"}
    assert ex.status.text.splitlines() == ["pod/what-if-1 created", "the scheduler bound it to big (predicted big)"]
    # the next evaluation counts the pod just created: big has 6 CPUs less to offer
    assert ex.table.text != table
    ex.cpu.value = 12000
    assert ex.explanation.node("big").reason == "Insufficient cpu"
    ex.create_button.click()
    assert c.get("pod", "what-if-2")["status"]["phase"] == "Pending"
    assert ex.status.text.splitlines()[1] == "it stays Pending: no node fits (predicted: no node fits)"


def test_scheduler_explorer_create_with_a_bad_selector_shows_the_api_error():
    c = k8slab.Cluster(workers=1, seed=0)
    ex = SchedulerExplorer(c)
    ex.node_selector.value = "my disk=ssd"
    ex.create_button.click()
    assert ex.status.error is True
    assert ex.status.text.startswith('The Pod "what-if-1" is invalid: spec.nodeSelector: Invalid value: "my disk"')
    assert c.get("pods") == []


# -- TrafficExplorer: request count --------------------------------------------------------------

def test_traffic_explorer_request_count_sends_again(web):
    tx = TrafficExplorer(web, "web", requests=300)
    picture = tx.picture.value
    tx.requests.value = 90
    assert sum(tx.traffic.values()) == 90
    assert tx.figure.k8slab["counts"] == tx.traffic
    assert tx.picture.value != picture


def test_traffic_explorer_a_failing_kubectl_shows_its_error(web, monkeypatch):
    tx = TrafficExplorer(web, "web", requests=30)
    pod = sorted(tx.ready_toggles)[0]
    web.kubectl(f"delete pod {pod} --wait=false")  # gone under the dashboard's feet
    web.run()
    tx.ready_toggles[pod].value = False
    assert tx.status.error is True
    assert f'pods "{pod}" not found' in tx.status.text
    assert pod not in tx.ready_toggles  # the toggles now list the pods there are


# -- StepThrough: the last action -------------------------------------------------------------------

def test_step_through_follows_the_last_action():
    c = k8slab.Cluster(workers=2, seed=0)
    assert last_action(c.trace) is None  # the namespaces kubectl made at t=0 are the set-up
    c.apply(nginx_deployment(1))
    c.run()
    tour = StepThrough(c, objects="web")
    assert tour.entries[0].verb == "get" and tour.entries[1].verb == "create"
    for _ in range(3):
        tour.next_button.click()
    assert tour.position == 3 and len(tour.figure.k8slab["entries"]) == 3
    c.kubectl("scale deployment web --replicas=3")
    c.run()
    tour.next_button.click()  # a new action: the tour starts again, at its first message
    assert tour.position == 1
    assert (tour.current.verb, tour.current.resource) == ("get", "deployments")
    assert tour.entries[1].resource == "deployments/scale"
    assert tour.line.text.startswith(f"1/{len(tour.entries)}  ")
    assert sum(e.resource == "pods/binding" for e in tour.entries) == 2
