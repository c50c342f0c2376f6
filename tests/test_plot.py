"""k8slab.plot: each figure draws what the cluster holds (counts, states, colours, numbers).

Figures are ``matplotlib.figure.Figure`` objects made without pyplot, so no backend is
chosen here; ``fig.k8slab`` says what was drawn, and the artists carry ``gid``s, so the
tests check both the record and the picture itself.
"""

import io
import subprocess
import sys

import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex

import k8slab
from k8slab import plot
from k8slab.api import errors
from k8slab.api.quantity import cpu_millis, to_bytes
from k8slab.viz.batch import Labels
from k8slab.viz.palette import ERROR, STATIC_POD_COLOUR, owner_colour

WEB = """
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
        resources: {requests: {cpu: 100m, memory: 64Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: shell, image: busybox:1.36, command: [sleep, "3600"]}]
"""

BIG_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big"},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"],
                                    "resources": {"requests": {"cpu": "64"}}}]}}


@pytest.fixture(scope="module")
def lab():
    """Three workers, Deployment web ×3 behind Service web and Ingress web, a client pod."""
    c = k8slab.Cluster(workers=3, seed=0)
    c.apply(WEB)
    c.run()
    return c


def _key(pod):
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def _pods_by_node(c):
    out = {}
    for p in c.get("pods", namespace=None):
        out.setdefault(p["spec"].get("nodeName") or "(pending)", []).append(_key(p))
    return out


def _patch(fig, gid):
    found = [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, (gid, found)
    return found[0]


def _gids(fig, prefix):
    return sorted(a.get_gid() for ax in fig.axes for a in ax.get_children()
                  if isinstance(a.get_gid(), str) and a.get_gid().startswith(prefix))


def _texts(ax):
    """Every string drawn in ``ax``: ``Text`` artists and labels drawn as outlines (``Labels``)."""
    return [t.get_text() for t in ax.texts] + [t for a in ax.get_children() if isinstance(a, Labels) for t in a.texts]


def _texts_of_figure(fig):
    """The strings of the figure's own labels (its title block when drawn as outlines)."""
    return [t.get_text() for t in fig.texts] + [t for a in fig.get_children() if isinstance(a, Labels)
                                                for t in a.texts]


def _png(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


# -- import ----------------------------------------------------------------------------------------

def test_plot_module_never_loads_pyplot():
    code = "import sys, k8slab.plot; print('matplotlib.pyplot' in sys.modules, 'networkx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


# -- cluster ---------------------------------------------------------------------------------------

def test_cluster_draws_a_box_per_node_and_a_chip_per_pod_on_it(lab, tmp_path):
    fig = plot.cluster(lab)
    assert fig.k8slab["nodes"] == ["control-plane", "worker-1", "worker-2", "worker-3"]
    assert fig.k8slab["mode"] == "names"
    expected = _pods_by_node(lab)
    assert {n: sorted(chips) for n, chips in fig.k8slab["chips"].items()} == \
        {n: sorted(expected.get(n, [])) for n in fig.k8slab["nodes"]}
    assert fig.k8slab["pending"] == []
    # the picture: one box per node, one named pill per pod
    assert _gids(fig, "node:") == ["node:control-plane", "node:worker-1", "node:worker-2", "node:worker-3"]
    assert len(_gids(fig, "pod:")) == len(lab.get("pods", namespace=None))
    assert fig.k8slab["control_plane"] == ["control-plane"]
    texts = set(_texts(fig.axes[0]))
    assert {p["metadata"]["name"] for p in lab.get("pods")} <= texts
    # every label is drawn as outlines in one artist (hundreds of Text artists redraw too slowly)
    assert not fig.axes[0].texts and not fig.texts
    _png(fig, tmp_path, "cluster")


def test_cluster_colours_chips_by_owner(lab):
    fig = plot.cluster(lab)
    web = owner_colour("web", cluster=lab)
    for p in lab.get("pods", namespace=None):
        face = to_hex(_patch(fig, f"pod:{_key(p)}").get_facecolor())
        if p["metadata"]["name"].startswith("web-"):
            assert face == web.lower()
        elif p["metadata"].get("annotations", {}).get("kubernetes.io/config.mirror"):
            assert face == STATIC_POD_COLOUR.lower()
        else:
            assert face != web.lower()
    assert fig.k8slab["owners"]["Deployment web"] == web
    assert fig.k8slab["owners"]["static pods"] == STATIC_POD_COLOUR


def test_cluster_requests_bars_agree_with_kubectl_describe(lab):
    fig = plot.cluster(lab)
    for node in fig.k8slab["nodes"]:
        described = lab.kubectl(f"describe node {node}")
        rows = {line.split()[0]: line.split()[1] for line in described.splitlines()
                if line.strip().startswith(("cpu ", "memory "))}
        (cpu, cpu_alloc), (mem, _mem_alloc) = (fig.k8slab["allocation"][node]["cpu"],
                                               fig.k8slab["allocation"][node]["memory"])
        assert cpu == cpu_millis(rows["cpu"])
        assert mem == to_bytes(rows["memory"])
        assert cpu_alloc == 4000
        bar = _patch(fig, f"requests:{node}:cpu")
        assert bar.get_width() > 0


def test_cluster_shows_notready_cordoned_and_pending_differently(tmp_path):
    c = k8slab.Cluster(workers=2, seed=0)
    c.apply(BIG_POD)
    c.kubectl("cordon worker-1")
    c.fail_node("worker-2")
    c.run(seconds=60)
    fig = plot.cluster(c)
    assert fig.k8slab["node_state"] == {"control-plane": "Ready", "worker-1": "SchedulingDisabled",
                                        "worker-2": "NotReady"}
    ready, cordoned, down = (_patch(fig, f"node:{n}") for n in ("control-plane", "worker-1", "worker-2"))
    assert to_hex(down.get_edgecolor()) == ERROR.lower()
    assert to_hex(down.get_facecolor()) != to_hex(ready.get_facecolor())
    assert down.get_linewidth() > ready.get_linewidth()
    assert cordoned.get_linestyle() == "--" and ready.get_linestyle() == "-"
    assert fig.k8slab["pending"] == ["default/big"]
    assert fig.k8slab["pod_state"]["default/big"] == "Pending"
    _patch(fig, "pending")
    assert {"Ready", "NotReady", "SchedulingDisabled (cordoned)"} <= set(fig.k8slab["legend"])
    headers = set(_texts(fig.axes[0]))
    assert {"NotReady", "Ready,SchedulingDisabled"} <= headers
    _png(fig, tmp_path, "cluster-troubles")


def test_many_nodes_drop_names_for_chips_and_bundle_service_edges():
    c = k8slab.Cluster(workers=7, seed=0)
    c.apply(WEB.replace("replicas: 3", "replicas: 45"))
    c.run()
    fig = plot.cluster(c)
    assert fig.k8slab["mode"] == "chips"
    chips = [a for a in fig.axes[0].get_children() if isinstance(a, PolyCollection) and a.get_gid() == "chips"]
    assert len(chips) == 1
    assert len(chips[0].get_paths()) == len(c.get("pods", namespace=None))
    texts = set(_texts(fig.axes[0]))
    assert not {p["metadata"]["name"] for p in c.get("pods", namespace=None)} & texts
    counts = _pods_by_node(c)
    assert f"{len(counts['worker-3'])} pods" in texts
    # crowded: each node's box and header in one collection, its two bars (background, fill) in another
    boxes, bars = (next(a for a in fig.axes[0].get_children() if a.get_gid() == gid) for gid in ("boxes", "bars"))
    assert len(boxes.get_paths()) == 2 * len(fig.k8slab["nodes"])
    assert len(bars.get_paths()) == 4 * len(fig.k8slab["nodes"])
    widths = [p.get_extents().width for p in bars.get_paths()]
    for i, node in enumerate(fig.k8slab["nodes"]):
        for j, res in enumerate(("cpu", "memory")):
            requested, allocatable = fig.k8slab["allocation"][node][res]
            background, fill = widths[4 * i + 2 * j], widths[4 * i + 2 * j + 1]
            assert fill / background == pytest.approx(min(requested / allocatable, 1.0))
    assert fig.k8slab["hidden"] == {} and fig.k8slab["hidden_pods"] == 0
    # 45 "selects" edges are drawn as one arrow per node holding web pods, each saying how many
    topo = plot.topology(c)
    assert topo.k8slab["edges"]["selects"] == 45 + 2
    web_nodes = {p["spec"]["nodeName"] for p in c.get("pods", selector="app=web")}
    assert len(_gids(topo, "selects:service/default/web")) == len(web_nodes)
    marks = [t.get_text() for t in topo.axes[0].texts if t.get_text().startswith("×")]
    assert sum(int(m[1:]) for m in marks) == 45 + 2


def test_a_large_cluster_is_sampled_keeping_the_nodes_in_trouble():
    c = k8slab.Cluster(workers=9, seed=0)
    c.apply(WEB.replace("replicas: 3", "replicas: 9"))
    c.run()
    c.kubectl("cordon worker-8")
    c.fail_node("worker-9")
    c.run(seconds=60)
    fig = plot.cluster(c, max_nodes=5)
    # the control plane, the two nodes in trouble, then the first workers by name; in drawing order
    assert fig.k8slab["nodes"] == ["control-plane", "worker-1", "worker-2", "worker-8", "worker-9"]
    assert fig.k8slab["node_state"]["worker-8"] == "SchedulingDisabled"
    assert fig.k8slab["node_state"]["worker-9"] == "NotReady"
    assert fig.k8slab["hidden"] == {"Ready": 5}
    on_hidden = _pods_by_node(c)
    assert fig.k8slab["hidden_pods"] == sum(len(on_hidden.get(f"worker-{i}", [])) for i in range(3, 8)) > 0
    assert set(fig.k8slab["chips"]) == set(fig.k8slab["nodes"])
    assert "Sampled: 5 of 10 nodes drawn" in " ".join(_texts_of_figure(fig))
    assert repr(fig).startswith("<k8slab figure: cluster, 10 nodes,")  # the summary counts every node
    assert plot.cluster(c).k8slab["hidden"] == {}  # under the default limit, every node is drawn


def test_display_dpi_sets_the_size_of_the_notebook_picture(lab, monkeypatch):
    from PIL import Image

    fig = plot.cluster(lab)
    width, height = fig.get_size_inches()
    monkeypatch.setattr(plot, "DISPLAY_DPI", 50)
    picture = Image.open(io.BytesIO(fig._repr_mimebundle_()["image/png"]))
    assert picture.size == (int(width * 50), int(height * 50))


def test_the_widget_png_has_the_pixels_matplotlib_draws(lab):
    import matplotlib
    import numpy as np
    from PIL import Image

    from k8slab.widgets.panes import DPI, png

    fig = plot.cluster(lab)
    ours = np.asarray(Image.open(io.BytesIO(png(fig))))
    raw = io.BytesIO()
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):
        fig.savefig(raw, format="png", dpi=DPI)
    theirs = np.asarray(Image.open(raw))
    assert ours.shape[2] == 3 and theirs.shape[2] == 4
    assert (ours == theirs[:, :, :3]).all() and (theirs[:, :, 3] == 255).all()


# -- topology --------------------------------------------------------------------------------------

def test_topology_graph_has_what_the_cluster_has(lab, tmp_path):
    fig = plot.topology(lab)
    g = fig.k8slab["graph"]
    pods = lab.get("pods", namespace=None)
    services = lab.get("services", namespace=None)
    assert fig.k8slab["counts"] == {"node": 4, "pod": len(pods), "service": len(services), "ingress": 1}
    assert g.number_of_nodes() == 4 + len(pods) + len(services) + 1
    runs_on = sorted((u, v) for u, v, d in g.edges(data=True) if d["relation"] == "runs on")
    assert runs_on == sorted((f"pod/{_key(p)}", f"node/{p['spec']['nodeName']}") for p in pods)
    web_pods = sorted(f"pod/{_key(p)}" for p in lab.get("pods", selector="app=web"))
    assert sorted(g.successors("service/default/web")) == web_pods
    dns_pods = sorted(f"pod/{_key(p)}" for p in lab.get("pods", namespace="kube-system", selector="k8s-app=kube-dns"))
    assert sorted(g.successors("service/kube-system/kube-dns")) == dns_pods
    assert list(g.successors("service/default/kubernetes")) == []
    assert [(u, v) for u, v, d in g.edges(data=True) if d["relation"] == "routes to"] == \
        [("ingress/default/web", "service/default/web")]
    assert g.number_of_edges() == len(pods) + len(web_pods) + len(dns_pods) + 1
    _png(fig, tmp_path, "topology")


def test_topology_layout_is_rows_and_stays_put_when_pods_come(tmp_path):
    c = k8slab.Cluster(workers=2, seed=0)
    c.apply(WEB)
    c.run()
    before = plot.topology(c).k8slab["positions"]
    for name, (_x, y) in before.items():
        kind = name.split("/")[0]
        assert (y == 0) if kind == "node" else (y < 0) if kind == "pod" else (y > 0)
    c.kubectl("scale deployment web --replicas=4")
    c.run()
    after = plot.topology(c).k8slab["positions"]
    assert {n: after[n] for n in before if n.startswith("node/")} == {n: p for n, p in before.items()
                                                                     if n.startswith("node/")}
    # pods are drawn under the node they run on
    for p in c.get("pods", namespace=None):
        px = after[f"pod/{_key(p)}"][0]
        nx_ = after[f"node/{p['spec']['nodeName']}"][0]
        assert abs(px - nx_) < 1.5
    # and the same cluster drawn twice gives the same places
    assert plot.topology(c).k8slab["positions"] == after


# -- sequence --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scaled(lab):
    m = lab.trace.mark()
    lab.kubectl("scale deployment web --replicas=4")
    lab.run()
    return lab, m


def test_sequence_draws_one_arrow_per_trace_entry_in_the_window(scaled, tmp_path):
    c, m = scaled
    window = c.trace.since(m)
    fig = plot.sequence(c.trace, since=m, hide=(), limit=10_000)
    assert fig.k8slab["entries"] == window
    assert fig.k8slab["requests"] == sum(e.type == "request" for e in window)
    assert fig.k8slab["watches"] == sum(e.type == "watch" for e in window)
    assert fig.k8slab["etcd_writes"] == sum(e.type == "request" and e.revision is not None for e in window)
    assert len(_gids(fig, "request:")) == fig.k8slab["requests"]
    assert len(_gids(fig, "watch:")) == fig.k8slab["watches"]
    assert len(_gids(fig, "etcd:")) == fig.k8slab["etcd_writes"]
    assert fig.k8slab["lanes"][:2] == ["etcd", "apiserver"]
    assert set(fig.k8slab["lanes"][2:]) == {e.actor for e in window}
    assert fig.k8slab["lanes"][2] == "kubectl"
    _png(fig, tmp_path, "sequence")


def test_sequence_filters_by_component_and_object(scaled):
    c, m = scaled
    fig = plot.sequence(c.trace, since=m, actors=["kube-scheduler", "kubelet"], objects="web")
    expected = [e for e in c.trace.since(m)
                if (e.actor == "kube-scheduler" or e.actor.startswith("kubelet/"))
                and e.name and (e.name == "web" or e.name.startswith(("web-", "web.")))
                and e.resource.split("/")[0] not in ("events", "leases")]
    assert expected and fig.k8slab["entries"] == expected
    assert ("create", "pods/binding") in {(e.verb, e.resource) for e in expected}
    assert all(e.resource.split("/")[0] != "events" for e in fig.k8slab["entries"])
    new_pod = next(e.name for e in expected if e.resource == "pods/binding")
    only = plot.sequence(c.trace, since=m, objects=f"pods/{new_pod}", actors="kube-scheduler")
    assert [(e.verb, e.resource, e.code) for e in only.k8slab["entries"] if e.type == "request"] == \
        [("create", "pods/binding", 201)]


def test_sequence_limit_and_time_window(scaled):
    c, m = scaled
    window = c.trace.since(m)
    t = window[len(window) // 2].time
    fig = plot.sequence(c.trace, since=t, hide=(), limit=5)
    matching = [e for e in c.trace if e.time >= t]
    assert fig.k8slab["entries"] == matching[:5]
    assert fig.k8slab["omitted"] == len(matching) - 5
    assert any(f"Showing 5 of {len(matching)}" in txt.get_text() for txt in fig.texts)
    assert plot.sequence(c, since=m).k8slab["entries"] == plot.sequence(c.trace, since=m).k8slab["entries"]
    empty = plot.sequence(c.trace, since=c.trace.mark())
    assert empty.k8slab["entries"] == [] and empty.k8slab["requests"] == 0


# -- scheduling ------------------------------------------------------------------------------------

@pytest.fixture
def picky():
    c = k8slab.Cluster(workers=3, seed=0)
    c.add_node("worker-4", cpu="1", memory="2Gi")
    c.kubectl("taint node worker-3 dedicated=db:NoSchedule")
    c.run()
    c.apply(WEB.replace("100m", "1500m"))
    c.run()
    return c


def test_scheduling_shows_what_explain_says(picky, tmp_path):
    pod = picky.get("pods", selector="app=web")[0]["metadata"]["name"]
    e = picky.scheduler.explain(pod)
    fig = plot.scheduling(picky, pod)
    assert fig.k8slab["filtered"] == {n.name: (n.filtered_by, n.reason) for n in e.nodes if n.filtered_by}
    assert fig.k8slab["filtered"]["worker-4"] == ("NodeResourcesFit", "Insufficient cpu")
    assert fig.k8slab["filtered"]["worker-3"][0] == "TaintToleration"
    assert fig.k8slab["winner"] == e.chosen == picky.get("pod", pod)["spec"]["nodeName"]
    feasible = [n for n in e.nodes if n.scores]
    assert fig.k8slab["feasible"] == sorted(n.name for n in feasible)
    for n in feasible:
        total = 0
        for plugin, ps in n.scores.items():
            bar = _patch(fig, f"score:{n.name}:{plugin}")
            assert bar.get_width() == ps.score * ps.weight
            total += bar.get_width()
        assert total == n.total
    winner = _patch(fig, "winner")
    assert "chosen" in winner.get_text()
    _patch(fig, "winner-outline")
    _png(fig, tmp_path, "scheduling")


def test_scheduling_of_a_pod_that_fits_nowhere(picky):
    picky.apply(BIG_POD)
    picky.run(seconds=2)
    fig = plot.scheduling(picky, "big")
    assert fig.k8slab["winner"] is None
    assert set(fig.k8slab["filtered"]) == set(picky.nodes)
    assert {n for n, (plugin, _r) in fig.k8slab["filtered"].items() if plugin == "NodeResourcesFit"} == \
        {"worker-1", "worker-2", "worker-4"}
    assert fig.k8slab["scores"] == {}


# -- traffic and request path -----------------------------------------------------------------------

def test_traffic_bars_are_the_counts_with_the_even_share(lab, tmp_path):
    fig = plot.traffic(lab, "web", requests=300, from_pod="client")
    t = fig.k8slab["traffic"]
    web_pods = sorted(p["metadata"]["name"] for p in lab.get("pods", selector="app=web"))
    assert sorted(fig.k8slab["counts"]) == web_pods == fig.k8slab["backends"]
    assert sum(fig.k8slab["counts"].values()) == 300 == t.requests
    assert fig.k8slab["even_share"] == 300 / len(web_pods)
    for pod, n in fig.k8slab["counts"].items():
        bar = _patch(fig, f"bar:{pod}")
        assert bar.get_height() == n == t[pod]
        assert to_hex(bar.get_facecolor()) == owner_colour("web", cluster=lab).lower()
    line = _patch(fig, "even-share")
    assert list(line.get_ydata()) == [300 / len(web_pods)] * 2
    # drawing an earlier result sends nothing new and shows the same numbers
    again = plot.traffic(lab, t)
    assert again.k8slab["counts"] == fig.k8slab["counts"]
    _png(fig, tmp_path, "traffic")


def test_request_path_has_a_station_per_hop(lab, tmp_path):
    r = lab.curl("http://web", from_pod="client")
    fig = plot.request_path(r)
    assert fig.k8slab["hops"] == [h.kind for h in r.hops] == ["dns", "iptables", "route", "pod"]
    assert fig.k8slab["where"] == [h.where for h in r.hops]
    assert _gids(fig, "hop:") == sorted(f"hop:{i}:{h.kind}" for i, h in enumerate(r.hops, 1))
    assert fig.k8slab["status"] == 200
    _png(fig, tmp_path, "request-path")
    failed = plot.request_path(lab.curl("http://nope", from_pod="client"))
    assert failed.k8slab["hops"] == ["dns"]
    assert failed.k8slab["error"] == "curl: (6) Could not resolve host: nope"
    assert to_hex(_patch(failed, "outcome").get_edgecolor()) == ERROR.lower()


# -- etcd ------------------------------------------------------------------------------------------

def test_etcd_keys_with_their_revisions(lab, tmp_path):
    fig = plot.etcd(lab, prefix="/registry/pods/")
    assert fig.k8slab["keys"] == lab.etcd.keys("/registry/pods/")
    for key in fig.k8slab["keys"]:
        kv = lab.etcd.get(key)
        assert fig.k8slab["create_revision"][key] == kv.create_revision
        assert fig.k8slab["mod_revision"][key] == kv.mod_revision
        assert fig.k8slab["version"][key] == kv.version
    assert fig.k8slab["revision"] == lab.etcd.revision
    everything = plot.etcd(lab, limit=10)
    assert len(everything.k8slab["keys"]) == 10
    assert not any(k.startswith(("/registry/events/", "/registry/leases/")) for k in everything.k8slab["keys"])
    newest = sorted((kv for kv in lab.etcd.range("/registry/") if not kv.key.startswith(
        ("/registry/events/", "/registry/leases/"))), key=lambda kv: -kv.mod_revision)[:10]
    assert everything.k8slab["keys"] == sorted(kv.key for kv in newest)
    _png(fig, tmp_path, "etcd")


def test_etcd_history_of_one_pod(lab, tmp_path):
    pod = lab.get("pods", selector="app=web")[0]
    key = f"/registry/pods/default/{pod['metadata']['name']}"
    fig = plot.etcd(lab, key)
    hist = lab.etcd.history(key)
    assert fig.k8slab["revisions"] == [rev for rev, _t, _kv in hist]
    assert fig.k8slab["versions"] == list(range(1, len(hist) + 1))
    assert fig.k8slab["writers"][0] == "replicaset-controller: create pods"
    bound = next(i for i, ch in enumerate(fig.k8slab["changes"])
                 if f"spec.nodeName: → {pod['spec']['nodeName']}" in ch)
    assert fig.k8slab["writers"][bound] == "kube-scheduler: create pods/binding"
    assert all(w.startswith(f"kubelet/{pod['spec']['nodeName']}: update pods/status")
               for w in fig.k8slab["writers"][bound + 1:])
    assert fig.k8slab["times"] == sorted(fig.k8slab["times"])
    assert len(fig.axes[0].collections[-1].get_offsets()) == len(hist)
    _png(fig, tmp_path, "etcd-history")
    with pytest.raises(errors.K8sLabError, match="no history"):
        plot.etcd(lab, "pods/default/nothing-here")


# -- timeline and placement -------------------------------------------------------------------------

def test_timeline_and_placement_follow_a_rollout_and_a_node_failure(tmp_path):
    c = k8slab.Cluster(workers=2, seed=0)
    c.apply(WEB.replace("replicas: 3", "replicas: 2"))
    c.run()
    c.kubectl("rollout restart deployment/web")
    c.run()
    victim = c.get("pods", selector="app=web")[0]["spec"]["nodeName"]
    failed_at = c.now
    c.fail_node(victim)
    c.run()
    c.recover_node(victim)
    c.run(seconds=20)

    fig = plot.timeline(c)
    lives = {(ev.kv.key, ev.kv.create_revision) for ev in c.etcd.changes_since("/registry/pods/default/", 0)}
    assert len(fig.k8slab["pods"]) == len(lives)
    states = {s for spans in fig.k8slab["spans"] for (_a, _b, s, _n) in spans}
    assert {"Running", "Terminating"} <= states
    assert "NotReady" in states  # pods on the dead node lose their Ready condition
    (start, end, state), = fig.k8slab["node_spans"][victim]
    assert state == "NotReady" and failed_at < start <= failed_at + 60 and end > start + 250
    for spans in fig.k8slab["spans"]:
        assert all(a <= b for a, b, _s, _n in spans)
        assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))
    _png(fig, tmp_path, "timeline")

    heat = plot.placement(c, bins=30)
    now_by_node = {}
    for p in c.get("pods", namespace=None):
        if p["status"].get("phase") not in ("Succeeded", "Failed") and p["spec"].get("nodeName"):
            now_by_node[p["spec"]["nodeName"]] = now_by_node.get(p["spec"]["nodeName"], 0) + 1
    assert heat.k8slab["nodes"] == ["control-plane", "worker-1", "worker-2"]
    assert [row[-1] for row in heat.k8slab["counts"]] == [now_by_node.get(n, 0) for n in heat.k8slab["nodes"]]
    assert len(heat.k8slab["times"]) == 30 and heat.k8slab["times"][-1] == pytest.approx(c.now)
    assert _gids(heat, "notready:") == [f"notready:{victim}"]
    assert heat.k8slab["source"] == "etcd history"
    _png(heat, tmp_path, "placement")


# -- all figures ------------------------------------------------------------------------------------

def test_figures_only_read_the_cluster(lab):
    revision, traced = lab.etcd.revision, lab.trace.total
    pod = lab.get("pods", selector="app=web")[0]["metadata"]["name"]
    traced = lab.trace.total  # the get above is a request like any other
    for fig in (plot.cluster(lab), plot.topology(lab), plot.sequence(lab.trace), plot.scheduling(lab, pod),
                plot.etcd(lab), plot.etcd(lab, f"pods/default/{pod}"), plot.timeline(lab), plot.placement(lab)):
        assert fig.k8slab["title"]
    assert (lab.etcd.revision, lab.trace.total) == (revision, traced)


def test_one_owner_one_colour_in_every_figure(lab):
    web = owner_colour("web", cluster=lab)
    g = plot.topology(lab).k8slab["graph"]
    assert {d["colour"] for n, d in g.nodes(data=True) if n.startswith("pod/default/web-")} == {web}
    assert g.nodes["service/default/web"]["colour"] == web
    assert plot.cluster(lab).k8slab["owners"]["Deployment web"] == web
    coredns = owner_colour("coredns", "kube-system", cluster=lab)
    assert coredns != web
    assert g.nodes["service/kube-system/kube-dns"]["colour"] == coredns


def test_a_figure_shows_itself_in_a_notebook(lab):
    fig = plot.cluster(lab)
    bundle = fig._repr_mimebundle_()
    assert bundle["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert bundle["text/plain"] == f"<k8slab figure: cluster, 4 nodes, {len(lab.get('pods', namespace=None))} pods, " \
                                   f"t={lab.now:.1f}s>"
