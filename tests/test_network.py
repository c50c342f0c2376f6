"""Networking end to end: Services of every type, kube-proxy's rules, CoreDNS, requests hop by hop."""

import pathlib

import pytest

import k8slab
from k8slab.api import errors

GOLDEN = pathlib.Path(__file__).parent / "golden"


def echo_app(replicas=4, name="web", service_type=None, extra_spec="", readiness=None):
    """A Deployment of the echo image (it answers with its pod name) and a Service for it."""
    probe = f"\n        readinessProbe: {readiness}" if readiness else ""
    svc_type = f"\n  type: {service_type}" if service_type else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: echo
        image: docker.io/k8slab/echo:1.0
        ports: [{{containerPort: 8080, name: http}}]{probe}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:{svc_type}
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: http{extra_spec}}}]
"""


CLIENT = """
apiVersion: v1
kind: Pod
metadata: {name: client}
spec: {containers: [{name: c, image: busybox:1.36, command: [sleep, "3600"]}]}
"""


@pytest.fixture
def net():
    c = k8slab.Cluster(workers=3, seed=0)
    c.apply(echo_app())
    c.apply(CLIENT)
    c.run()
    return c


def pods_of(c, app):
    return {p["metadata"]["name"]: p for p in c.get("pods", selector=f"app={app}")}


def test_system_services_have_their_well_known_ips():
    c = k8slab.Cluster(workers=1, seed=0)
    assert c.get("svc", "kubernetes")["spec"]["clusterIP"] == "10.96.0.1"
    dns = c.get("svc", "kube-dns", namespace="kube-system")
    assert dns["spec"]["clusterIP"] == "10.96.0.10"
    coredns = [p for p in c.get("pods", namespace="kube-system") if p["metadata"]["name"].startswith("coredns-")]
    assert len(coredns) == 2 and all(p["status"]["phase"] == "Running" for p in coredns)
    proxies = sorted(p["metadata"]["name"] for p in c.get("pods", namespace="kube-system", selector="k8s-app=kube-proxy"))
    assert proxies == ["kube-proxy-control-plane", "kube-proxy-worker-1"]
    # CoreDNS serves behind kube-dns: its slice lists both replicas, ready
    (eps,) = c.get("endpointslices", namespace="kube-system", selector="kubernetes.io/service-name=kube-dns")
    assert sorted(a for e in eps["endpoints"] for a in e["addresses"]) == sorted(p["status"]["podIP"] for p in coredns)


def test_pods_get_ips_from_their_nodes_pod_cidr(net):
    seen = set()
    for p in net.get("pods", namespace=None):
        ip = p["status"]["podIP"]
        node = net.get("node", p["spec"]["nodeName"])
        if p["spec"].get("hostNetwork"):
            assert ip == next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
            continue
        prefix = node["spec"]["podCIDR"].rsplit(".", 1)[0]
        assert node["spec"]["podCIDR"].endswith(".0/24") and ip.startswith(prefix + ".")
        assert ip not in seen
        seen.add(ip)


@pytest.mark.parametrize("name", ["web", "web.default", "web.default.svc", "web.default.svc.cluster.local"])
def test_cluster_ip_reachable_from_a_pod_by_short_and_full_name(net, name):
    r = net.curl(f"http://{name}/hello", from_pod="client")
    assert r.ok and r.status == 200
    assert r.pod in pods_of(net, "web")
    assert r.body == f"pod={r.pod} ip={r.pod_ip} path=/hello\n"
    kinds = [h.kind for h in r.hops]
    assert kinds[0] == "dns" and "iptables" in kinds and kinds[-1] == "pod"
    svc_ip = net.get("svc", "web")["spec"]["clusterIP"]
    assert "web.default.svc.cluster.local." in r.hops[0].text and svc_ip in r.hops[0].text
    rules = next(h for h in r.hops if h.kind == "iptables")
    assert "KUBE-SVC-" in rules.text and f"DNAT {svc_ip}:80 → {r.pod_ip}:8080" in rules.text
    # the rules that matched are kube-proxy's, in iptables-save form
    assert any(line.startswith("nat/KUBE-SEP-") and "DNAT --to-destination" in line for line in rules.rules)


def test_dns_search_path_and_resolv_conf(net):
    assert net.dns.resolv_conf(from_pod="client") == (
        "search default.svc.cluster.local svc.cluster.local cluster.local\n"
        "nameserver 10.96.0.10\n"
        "options ndots:5\n")
    res = net.dns.resolve("web.default", from_pod="client")
    assert res.queries == [("web.default.default.svc.cluster.local.", "NXDOMAIN"),
                           ("web.default.svc.cluster.local.", "NOERROR")]
    assert res.addresses == [net.get("svc", "web")["spec"]["clusterIP"]]
    missing = net.dns.resolve("nope", from_pod="client")
    assert missing.rcode == "NXDOMAIN" and missing.addresses == []
    assert [q for q, _ in missing.queries] == ["nope.default.svc.cluster.local.", "nope.svc.cluster.local.",
                                               "nope.cluster.local.", "nope."]


def test_unknown_name_is_could_not_resolve_host(net):
    r = net.curl("http://nope", from_pod="client")
    assert (r.status, r.exit_code, r.error) == (None, 6, "curl: (6) Could not resolve host: nope")
    assert "NXDOMAIN" in r.hops[0].text
    # a node does not use the cluster's DNS: Service names mean nothing there
    r = net.curl("http://web", from_node="worker-1")
    assert r.error == "curl: (6) Could not resolve host: web"


def test_service_without_ready_endpoints_rejects(net):
    net.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "empty"},
               "spec": {"selector": {"app": "nothing"}, "ports": [{"port": 80}]}})
    net.run()
    r = net.curl("http://empty", from_pod="client")
    assert r.exit_code == 7 and r.reason == "Connection refused"
    assert r.error == "curl: (7) Failed to connect to empty port 80 after 1 ms: Couldn't connect to server"
    assert "REJECT" in r.hops[-1].text
    # and the rule that did it is in the node's filter table
    node = net.get("pod", "client")["spec"]["nodeName"]
    assert '-A KUBE-SERVICES -d {}/32 -p tcp -m comment --comment "default/empty has no endpoints" -m tcp ' \
           '--dport 80 -j REJECT --reject-with icmp-port-unreachable'.format(
               net.get("svc", "empty")["spec"]["clusterIP"]) in net.node(node).iptables(table="filter")


def test_wrong_port_on_a_pod_is_connection_refused(net):
    pod = next(iter(pods_of(net, "web").values()))
    r = net.curl(f"http://{pod['status']['podIP']}:9999", from_pod="client")
    assert r.exit_code == 7 and r.reason == "Connection refused"
    assert r.hops[-1].text.startswith(f"nothing listens on {pod['status']['podIP']}:9999")


def test_traffic_spreads_evenly_over_four_endpoints(net):
    t = net.traffic("web", requests=10_000, from_pod="client")
    assert sorted(t) == sorted(pods_of(net, "web"))
    assert sum(t.values()) == 10_000 and t.failed == {}
    # iptables' statistic rules give each of 4 endpoints 1/4: with 10,000 requests, 3 sigma is ~1.3 %
    for pod in t:
        assert abs(t.share(pod) - 0.25) < 0.02
    # seeded: the exact counts are part of the story a notebook tells
    assert sorted(t.values()) == [2444, 2480, 2520, 2556]
    again = k8slab.Cluster(workers=3, seed=0)
    again.apply(echo_app())
    again.apply(CLIENT)
    again.run()
    assert dict(again.traffic("web", requests=10_000, from_pod="client")) == dict(t)


def test_scaling_changes_the_spread(net):
    before = net.traffic("web", requests=2000, from_pod="client")
    assert len(before) == 4
    net.kubectl("scale deployment web --replicas=2")
    net.run()
    after = net.traffic("web", requests=2000, from_pod="client")
    assert len(after) == 2 and set(after) <= set(before)
    assert all(abs(after.share(p) - 0.5) < 0.05 for p in after)


def test_session_affinity_client_ip_sticks_to_one_pod():
    c = k8slab.Cluster(workers=2, seed=0)
    c.apply(echo_app(replicas=3))
    c.apply(CLIENT)
    c.run()
    svc = c.get("svc", "web")
    svc["spec"]["sessionAffinity"] = "ClientIP"
    c.admin.update(svc)
    c.run()
    t = c.traffic("web", requests=300, from_pod="client")
    assert len(t) == 1 and sum(t.values()) == 300
    assert "-m recent" in c.node("worker-1").iptables(table="nat")


def test_nodeport_reachable_from_outside_on_every_node():
    c = k8slab.Cluster(workers=3, seed=0)
    c.apply(echo_app(replicas=1, service_type="NodePort"))
    c.run()
    svc = c.get("svc", "web")
    port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    (pod,) = pods_of(c, "web").values()
    for name in c.nodes:
        ip = c.kubelets[name].internal_ip
        r = c.curl(f"http://{ip}:{port}/", from_outside=True)
        assert r.ok and r.pod == pod["metadata"]["name"], (name, r.path())
        walk = next(h for h in r.hops if h.kind == "iptables")
        assert "KUBE-NODEPORTS" in walk.text and "KUBE-EXT-" in walk.text
        if name != pod["spec"]["nodeName"]:
            # no backend on this node: forwarded to the pod's node, source NATed to this node's IP
            assert f"SNAT (masquerade) 192.0.2.10 → {ip}" in walk.text
            assert any(h.kind == "route" and pod["spec"]["nodeName"] in h.text for h in r.hops)
    # a pod IP is not reachable from outside the cluster
    r = c.curl(f"http://{pod['status']['podIP']}:8080/", from_outside=True)
    assert r.exit_code == 28


def test_nodeport_errors_are_the_api_servers():
    c = k8slab.Cluster(workers=1, seed=0)
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"},
           "spec": {"type": "NodePort", "selector": {"app": "a"}, "ports": [{"port": 80, "nodePort": 20000}]}}
    with pytest.raises(errors.K8sLabError) as e:
        c.apply(bad)
    assert ("spec.ports[0].nodePort: Invalid value: 20000: provided port is not in the valid range. The range of "
            "valid ports is 30000-32767") in str(e.value)
    ok = {**bad, "spec": {**bad["spec"], "ports": [{"port": 80, "nodePort": 30080}]}}
    c.apply(ok)
    taken = {**ok, "metadata": {"name": "b"}}
    with pytest.raises(errors.Invalid) as e:
        c.apply(taken)
    assert str(e.value) == ('The Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port '
                            "is already allocated")


def test_service_without_ports_is_invalid():
    c = k8slab.Cluster(workers=1, seed=0)
    before = c.etcd.revision
    with pytest.raises((errors.Invalid, errors.ManifestError)) as e:
        c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"selector": {"app": "a"}}})
    assert "spec.ports" in str(e.value) and "Required value" in str(e.value)
    assert c.etcd.revision == before


def test_load_balancer_pending_then_assigned_and_reachable():
    c = k8slab.Cluster(workers=2, seed=0)
    c.apply(echo_app(replicas=2, service_type="LoadBalancer"))
    c.run(seconds=1)
    assert (c.get("svc", "web").get("status") or {}).get("loadBalancer", {}).get("ingress") is None
    c.run()
    (ingress,) = c.get("svc", "web")["status"]["loadBalancer"]["ingress"]
    assert ingress["ip"] == "203.0.113.1"
    r = c.curl("http://203.0.113.1/", from_outside=True)
    assert r.ok and r.pod in pods_of(c, "web")
    assert r.hops[0].kind == "lb" and "203.0.113.1" in r.hops[0].text
    # the control plane is excluded from external load balancers, as kubeadm labels it
    assert "control-plane" not in r.hops[0].text


def test_headless_service_resolves_to_ready_pod_ips(net):
    net.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-direct"},
               "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 8080}]}})
    net.run()
    res = net.dns.resolve("web-direct", from_pod="client")
    ips = sorted(p["status"]["podIP"] for p in pods_of(net, "web").values())
    assert sorted(res.addresses) == ips
    srv = net.dns.resolve("_http._tcp.web-direct", from_pod="client", qtype="SRV")
    assert len(srv.answers) == 4 and all(a.data.startswith("0 25 8080 10-244-") for a in srv.answers)
    r = net.curl("http://web-direct:8080/", from_pod="client")
    assert r.ok and r.pod_ip == res.addresses[0]
    assert not any(h.kind == "iptables" and "DNAT" in h.text for h in r.hops)  # no virtual IP, no DNAT


def test_not_ready_pod_receives_no_traffic():
    c = k8slab.Cluster(workers=2, seed=0)
    c.apply("""
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
        readinessProbe:
          exec: {command: [cat, /usr/share/nginx/html/index.html]}
          periodSeconds: 5
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
""")
    c.apply(CLIENT)
    c.run()
    pods = sorted(pods_of(c, "web"))
    victim = pods[0]
    c.admin.exec(victim, "default", ["rm", "/usr/share/nginx/html/index.html"])
    c.run(seconds=30)
    status = c.get("pod", victim)["status"]
    assert [x["status"] for x in status["conditions"] if x["type"] == "Ready"] == ["False"]
    (eps,) = c.get("endpointslices", selector="kubernetes.io/service-name=web")
    ready = {e["targetRef"]["name"]: e["conditions"]["ready"] for e in eps["endpoints"]}
    assert ready == {pods[0]: False, pods[1]: True, pods[2]: True}
    t = c.traffic("web", requests=1000, from_pod="client")
    assert sorted(t) == pods[1:] and sum(t.values()) == 1000
    # nginx answers with its welcome page
    r = c.curl("http://web/", from_pod="client")
    assert r.ok and "<title>Welcome to nginx!</title>" in r.body and r.pod in pods[1:]


def test_deleted_pods_endpoint_goes_and_rules_follow_after_kube_proxy_syncs(net):
    victim = sorted(pods_of(net, "web"))[0]
    ip = net.get("pod", victim)["status"]["podIP"]
    view = net.node("worker-1")
    assert f"--to-destination {ip}:8080" in view.iptables()
    net.admin.delete("pods", victim, "default")
    # step until the EndpointSlice no longer offers the pod as ready
    def slice_ready():
        (eps,) = net.get("endpointslices", selector="kubernetes.io/service-name=web")
        return {a for e in eps["endpoints"] if e["conditions"].get("ready") for a in e["addresses"]}
    steps = 0
    while ip in slice_ready():
        net.step()
        steps += 1
        assert steps < 500
    # the slice changed, but worker-1's kube-proxy has not synced yet: the old rule is still there
    assert f"--to-destination {ip}:8080" in view.iptables()
    syncs = net.kubelets["worker-1"].proxy.syncs
    while net.kubelets["worker-1"].proxy.syncs == syncs:
        ev = net.step()
        assert ev is not None
    assert ev.who == "kube-proxy/worker-1" and "sync proxy rules" in repr(ev)
    assert f"--to-destination {ip}:8080" not in view.iptables()
    net.run()
    t = net.traffic("web", requests=500, from_pod="client")
    assert victim not in t and len(t) == 4  # the ReplicaSet made a replacement


def test_requests_to_a_failed_nodes_pod_time_out_until_endpoints_change():
    c = k8slab.Cluster(workers=3, seed=0)
    c.apply(echo_app(replicas=3))
    c.apply(CLIENT)
    c.run()
    client_node = c.get("pod", "client")["spec"]["nodeName"]
    other = next(p for p in pods_of(c, "web").values() if p["spec"]["nodeName"] != client_node)
    c.fail_node(other["spec"]["nodeName"])
    r = c.curl(f"http://{other['status']['podIP']}:8080/", from_pod="client")
    assert r.exit_code == 28 and "is down" in r.hops[-1].text
    t = c.traffic("web", requests=300, from_pod="client")
    assert t.failed.get("Connection timed out", 0) > 0  # still in the rules: some requests are lost
    c.run(seconds=60)  # the node is NotReady: its pods are no longer ready endpoints
    t = c.traffic("web", requests=300, from_pod="client")
    assert t.failed == {} and other["metadata"]["name"] not in t


def test_programs_in_pods_use_the_data_plane(net):
    out = net.admin.exec("client", "default", ["wget", "-qO-", "http://web/from-wget"])
    assert "path=/from-wget" in out["stdout"] if isinstance(out, dict) else "path=/from-wget" in out
    out = net.admin.exec("client", "default", ["nslookup", "web"])
    text = out["stdout"] if isinstance(out, dict) else out
    assert "Name:\tweb.default.svc.cluster.local" in text
    assert f"Address: {net.get('svc', 'web')['spec']['clusterIP']}" in text


def test_golden_iptables_for_a_known_service():
    c = k8slab.Cluster(workers=1, seed=0)
    c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
             "spec": {"type": "NodePort", "clusterIP": "10.96.100.100", "selector": {"app": "web"},
                      "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}]}})
    c.apply(echo_app(replicas=2).split("---")[0])
    c.run()
    text = c.node("worker-1").iptables(table="nat")
    # every line about the Service's chains (their declarations, jumps between them, the rules)
    chains = {word for line in text.splitlines() if "default/web" in line for word in line.split()
              if word.startswith(("KUBE-SVC-", "KUBE-EXT-", "KUBE-SEP-"))}
    lines = [line for line in text.splitlines() if any(ch in line for ch in chains) or "KUBE-NODEPORTS" in line]
    golden = (GOLDEN / "iptables-web-nodeport.txt").read_text()
    assert "\n".join(lines) + "\n" == golden


SITE_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: site}
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: shop, port: {number: 80}}}}
  - host: www.example.com
    http:
      paths:
      - {path: /blog, pathType: Prefix, backend: {service: {name: blog, port: {number: 80}}}}
      - {path: /shop, pathType: Exact, backend: {service: {name: shop, port: {number: 80}}}}
"""


@pytest.fixture
def site():
    c = k8slab.Cluster(workers=2, seed=0)
    assert c.install("ingress-nginx") == [
        "namespace/ingress-nginx created", "serviceaccount/ingress-nginx created",
        # what deploy.yaml lets the controller read and write (RBAC is on)
        "role.rbac.authorization.k8s.io/ingress-nginx created",
        "clusterrole.rbac.authorization.k8s.io/ingress-nginx created",
        "rolebinding.rbac.authorization.k8s.io/ingress-nginx created",
        "clusterrolebinding.rbac.authorization.k8s.io/ingress-nginx created",
        "service/ingress-nginx-controller created", "deployment.apps/ingress-nginx-controller created",
        "ingressclass.networking.k8s.io/nginx created"]
    c.apply(echo_app(replicas=2, name="shop"))
    c.apply(echo_app(replicas=2, name="blog"))
    c.apply(SITE_INGRESS)
    c.run()
    return c


def test_ingress_gets_the_controllers_load_balancer_address(site):
    lb = site.get("svc", "ingress-nginx-controller", namespace="ingress-nginx")["status"]["loadBalancer"]
    ing = site.get("ingress", "site")
    assert ing["spec"]["ingressClassName"] == "nginx"  # filled in by the DefaultIngressClass admission plugin
    assert ing["status"]["loadBalancer"]["ingress"][0]["ip"] == lb["ingress"][0]["ip"] == "203.0.113.1"
    assert site.kubectl("get ingress").splitlines()[1].split()[:4] == [
        "site", "nginx", "shop.example.com,www.example.com", "203.0.113.1"]


@pytest.mark.parametrize("url, app, path", [
    ("http://shop.example.com/cart", "shop", "/cart"),
    ("http://shop.example.com/", "shop", "/"),
    ("http://www.example.com/blog/post-1", "blog", "/blog/post-1"),
    ("http://www.example.com/blog", "blog", "/blog"),
    ("http://www.example.com/shop", "shop", "/shop"),
])
def test_ingress_routes_hosts_and_paths_to_two_services(site, url, app, path):
    r = site.curl(url, from_outside=True)
    assert r.ok and r.pod in pods_of(site, app), r.path()
    assert r.body.endswith(f"path={path}\n")
    kinds = [h.kind for h in r.hops]
    assert kinds[:3] == ["dns", "lb", "iptables"] and "ingress" in kinds and kinds[-1] == "pod"
    hop = next(h for h in r.hops if h.kind == "ingress")
    assert f"→ default/{app}:80 → endpoint {r.pod_ip}:8080" in hop.text
    # ingress-nginx's Service keeps client IPs (externalTrafficPolicy Local): the load balancer only
    # sends to the node that runs the controller
    (controller,) = site.get("pods", namespace="ingress-nginx")
    assert f"node {controller['spec']['nodeName']} " in r.hops[1].text


def test_ingress_without_a_matching_rule_answers_from_the_default_backend(site):
    r = site.curl("http://www.example.com/shop/extra", from_outside=True)  # /shop is Exact
    assert (r.status, r.reason) == (404, "Not Found")
    assert "<title>404 Not Found</title>" in r.body and r.pod.startswith("ingress-nginx-controller-")
    assert "the default backend answers" in r.hops[-1].text
    r = site.curl("http://nowhere.example.com/", from_outside=True)
    assert r.error == "curl: (6) Could not resolve host: nowhere.example.com"


def test_ingress_backend_without_ready_pods_is_503(site):
    site.kubectl("scale deployment blog --replicas=0")
    site.run()
    r = site.curl("http://www.example.com/blog", from_outside=True)
    assert r.status == 503 and "has no ready endpoint" in r.hops[-1].text


def test_multiple_ports_by_name_and_by_number(net):
    net.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web2"},
               "spec": {"selector": {"app": "web"},
                        "ports": [{"name": "http", "port": 80, "targetPort": "http"},
                                  {"name": "alt", "port": 8081, "targetPort": 8080}]}})
    net.run()
    for url in ("http://web2/", "http://web2:8081/"):
        r = net.curl(url, from_pod="client")
        assert r.ok and r.pod in pods_of(net, "web") and r.pod_ip + ":8080" in r.hops[1].text
    nat = net.node(net.get("pod", "client")["spec"]["nodeName"]).iptables(table="nat")
    assert '--comment "default/web2:http cluster IP"' in nat and '--comment "default/web2:alt cluster IP"' in nat
    r = net.curl("http://web2:9999/", from_pod="client")
    assert r.exit_code == 28 and "none matched port 9999" in r.hops[-1].text
