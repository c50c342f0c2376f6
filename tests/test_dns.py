"""CoreDNS's kubernetes plugin and a pod's resolver, over objects made by the real controllers."""

from k8slab.apiserver import APIServer
from k8slab.apiserver.services import register
from k8slab.controlplane.endpointslice import EndpointSliceController
from k8slab.controlplane.manager import ControllerManager
from k8slab.etcd import Etcd
from k8slab.network.dns import NOERROR, NXDOMAIN, Resolver, candidate_names, resolv_conf
from k8slab.sim import EventLoop, Randomness, Trace


def make_cluster():
    loop, rng = EventLoop(), Randomness(0)
    api = APIServer(Etcd(), loop, Trace(), rng)
    register(api)
    admin = api.client("kubectl")
    for ns in ("default", "kube-system"):
        admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    cm = ControllerManager(api, loop, rng, [EndpointSliceController])
    cm.start()

    def svc(name, ns="default", **spec):
        spec.setdefault("ports", [{"name": "http", "port": 80}])
        return admin.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                             "spec": spec}, ns)

    svc("kube-dns", "kube-system", clusterIP="10.96.0.10", selector={"k8s-app": "kube-dns"},
        ports=[{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53}])
    web = svc("web", selector={"app": "web"})
    svc("nginx", clusterIP="None", selector={"app": "nginx"})
    svc("ext", type="ExternalName", externalName="example.com", ports=[])
    for i, ip in enumerate(["10.244.1.5", "10.244.2.6"]):
        p = admin.create({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": f"web-{i}", "namespace": "default", "labels": {"app": "nginx"}},
                          "spec": {"hostname": f"web-{i}", "subdomain": "nginx",
                                   "containers": [{"name": "c", "image": "nginx"}]}})
        admin.bind(p, "worker-1")
        p = admin.get("pods", f"web-{i}", "default")
        p["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                       "conditions": [{"type": "Ready", "status": "True"}]}
        admin.update_status(p)
    loop.run_until_settled()
    r = Resolver(services=lambda: admin.list("services")["items"],
                 endpointslices=lambda: admin.list("endpointslices")["items"],
                 upstream={"example.com": "93.184.215.14"})
    return r, web


def test_service_names_from_a_pod():
    r, web = make_cluster()
    ip = web["spec"]["clusterIP"]
    for name in ("web", "web.default", "web.default.svc", "web.default.svc.cluster.local"):
        assert r.resolve(name, "default") == [ip], name
    res = r.lookup("web.default", "default")
    assert res.queries == [("web.default.default.svc.cluster.local.", NXDOMAIN),
                           ("web.default.svc.cluster.local.", NOERROR)]
    # from another namespace the short name does not resolve; the qualified one does
    res = r.lookup("web", "kube-system")
    assert res.rcode == NXDOMAIN and res.answers == []
    assert [q for q, _ in res.queries] == ["web.kube-system.svc.cluster.local.", "web.svc.cluster.local.",
                                          "web.cluster.local.", "web."]
    assert r.resolve("kube-dns.kube-system", "default") == ["10.96.0.10"]


def test_headless_and_statefulset_records():
    r, _ = make_cluster()
    assert r.resolve("nginx") == ["10.244.1.5", "10.244.2.6"]
    assert r.resolve("web-0.nginx") == ["10.244.1.5"]
    assert r.resolve("web-1.nginx.default.svc.cluster.local") == ["10.244.2.6"]
    rc, srv = r.query("_http._tcp.nginx.default.svc.cluster.local.", "SRV")
    assert rc == NOERROR
    assert sorted(a.data for a in srv) == ["0 50 80 web-0.nginx.default.svc.cluster.local.",
                                           "0 50 80 web-1.nginx.default.svc.cluster.local."]


def test_srv_of_cluster_ip_service_and_pod_records():
    r, web = make_cluster()
    rc, srv = r.query("_dns._udp.kube-dns.kube-system.svc.cluster.local", "SRV")
    assert [a.data for a in srv] == ["0 100 53 kube-dns.kube-system.svc.cluster.local."]
    assert r.resolve("10-244-1-5.default.pod.cluster.local") == ["10.244.1.5"]
    assert r.query("nope.default.svc.cluster.local.")[0] == NXDOMAIN
    assert r.query("default.svc.cluster.local.") == (NOERROR, [])


def test_external_name_and_outside_names():
    r, _ = make_cluster()
    res = r.lookup("ext", "default")
    assert [(a.type, a.data) for a in res.answers] == [("CNAME", "example.com."), ("A", "93.184.215.14")]
    res = r.lookup("example.com", "default")
    # ndots:5 — the search list is tried first, the name as given last
    assert len(res.queries) == 4 and res.queries[-1] == ("example.com.", NOERROR)


def test_resolv_conf_policies():
    pod = {"metadata": {"namespace": "shop"}, "spec": {}}
    assert resolv_conf(pod) == ("search shop.svc.cluster.local svc.cluster.local cluster.local\n"
                                "nameserver 10.96.0.10\noptions ndots:5\n")
    custom = {"metadata": {"namespace": "shop"},
              "spec": {"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["corp.example"],
                                                          "options": [{"name": "ndots", "value": "2"}]}}}
    assert resolv_conf(custom) == "search corp.example\nnameserver 1.1.1.1\noptions ndots:2\n"
    host = {"metadata": {"namespace": "shop"}, "spec": {"hostNetwork": True}}
    assert resolv_conf(host) == "nameserver 8.8.8.8\n"
    assert candidate_names("a.b.c.d.e.f", ["x"], 5) == ["a.b.c.d.e.f.", "a.b.c.d.e.f.x."]
    assert candidate_names("web.", ["x"], 5) == ["web."]
