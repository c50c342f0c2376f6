"""Service allocation in the API server: cluster IPs and node ports."""

import ipaddress

import pytest

from k8slab.api import errors
from k8slab.apiserver import APIServer
from k8slab.apiserver.services import ServiceAllocator, register
from k8slab.etcd import Etcd
from k8slab.sim import EventLoop, Randomness, Trace


def make_api(seed=0):
    api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(seed))
    alloc = register(api)
    admin = api.client("kubectl")
    admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    return api, alloc, admin


def svc(name, **spec):
    spec.setdefault("ports", [{"port": 80}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def test_cluster_ip_is_allocated_with_defaults():
    api, alloc, admin = make_api()
    s = admin.create(svc("web", selector={"app": "web"}))["spec"]
    ip = ipaddress.IPv4Address(s["clusterIP"])
    assert ip in ipaddress.IPv4Network("10.96.0.0/12")
    # dynamic addresses come from above the static band (10.96.0.1 .. 10.96.1.0)
    assert int(ip) > int(ipaddress.IPv4Address("10.96.1.0"))
    assert s["clusterIPs"] == [s["clusterIP"]]
    assert s["ipFamilies"] == ["IPv4"]
    assert s["ipFamilyPolicy"] == "SingleStack"
    assert s["internalTrafficPolicy"] == "Cluster"
    assert s["sessionAffinity"] == "None"
    assert s["type"] == "ClusterIP"
    assert "nodePort" not in s["ports"][0]
    assert alloc.is_allocated(s["clusterIP"])


def test_allocation_is_deterministic():
    ips = []
    for _ in range(2):
        _api, _alloc, admin = make_api(seed=7)
        ips.append([admin.create(svc(f"s{i}"))["spec"]["clusterIP"] for i in range(5)])
    assert ips[0] == ips[1]
    assert len(set(ips[0])) == 5


def test_requested_ip_is_honoured_and_then_taken():
    _api, _alloc, admin = make_api()
    assert admin.create(svc("kube-dns", clusterIP="10.96.0.10"))["spec"]["clusterIPs"] == ["10.96.0.10"]
    with pytest.raises(errors.Invalid) as e:
        admin.create(svc("other", clusterIP="10.96.0.10"))
    assert e.value.message == (
        'Service "other" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: '
        "failed to allocate IP 10.96.0.10: provided IP is already allocated"
    )


def test_requested_ip_out_of_range():
    _api, _alloc, admin = make_api()
    with pytest.raises(errors.Invalid) as e:
        admin.create(svc("web", clusterIP="1.1.1.1"))
    assert e.value.message == (
        'Service "web" is invalid: spec.clusterIPs: Invalid value: []string{"1.1.1.1"}: failed to allocate IP '
        "1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"
    )


def test_headless_and_external_name():
    _api, _alloc, admin = make_api()
    h = admin.create(svc("db", clusterIP="None", selector={"app": "db"}))["spec"]
    assert (h["clusterIP"], h["clusterIPs"], h["ipFamilies"], h["ipFamilyPolicy"]) == (
        "None", ["None"], ["IPv4"], "SingleStack")
    # headless without selector: RequireDualStack, as a real single-stack cluster shows
    h2 = admin.create(svc("ext-db", clusterIP="None"))["spec"]
    assert (h2["ipFamilyPolicy"], h2["ipFamilies"]) == ("RequireDualStack", ["IPv4", "IPv6"])
    e = admin.create(svc("ext", type="ExternalName", externalName="example.com", ports=[]))["spec"]
    assert "clusterIP" not in e and "ipFamilies" not in e


def test_ports_required_unless_headless():
    _api, _alloc, admin = make_api()
    with pytest.raises(errors.Invalid) as e:
        admin.create(svc("web", ports=[]))
    assert "spec.ports: Required value" in e.value.message
    admin.create(svc("db", clusterIP="None", ports=[]))


def test_failed_create_frees_its_ip():
    _api, alloc, admin = make_api()
    with pytest.raises(errors.Invalid):
        admin.create(svc("web", clusterIP="10.96.0.50", ports=[]))
    # the next request sees 10.96.0.50 free again
    assert admin.create(svc("web2", clusterIP="10.96.0.50"))["spec"]["clusterIP"] == "10.96.0.50"


def test_node_ports():
    _api, alloc, admin = make_api()
    s = admin.create(svc("web", type="NodePort", ports=[{"name": "a", "port": 80}, {"name": "b", "port": 81}]))
    s = s["spec"]
    ports = [p["nodePort"] for p in s["ports"]]
    assert all(30086 <= p <= 32767 for p in ports) and len(set(ports)) == 2
    assert s["externalTrafficPolicy"] == "Cluster"
    fixed = admin.create(svc("fixed", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert fixed["spec"]["ports"][0]["nodePort"] == 30080
    with pytest.raises(errors.Invalid) as e:
        admin.create(svc("clash", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert e.value.message == ('Service "clash" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
                               "provided port is already allocated")
    with pytest.raises(errors.Invalid) as e:
        admin.create(svc("low", type="NodePort", ports=[{"port": 80, "nodePort": 80}]))
    assert e.value.message == ('Service "low" is invalid: spec.ports[0].nodePort: Invalid value: 80: '
                               "provided port is not in the valid range. The range of valid ports is 30000-32767")


def test_tcp_and_udp_of_one_port_share_a_node_port():
    _api, _alloc, admin = make_api()
    s = admin.create(svc("dns", type="NodePort", ports=[{"name": "dns", "port": 53, "protocol": "UDP"},
                                                        {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]))
    a, b = (p["nodePort"] for p in s["spec"]["ports"])
    assert a == b


def test_load_balancer_local_gets_health_check_port():
    _api, _alloc, admin = make_api()
    s = admin.create(svc("lb", type="LoadBalancer", externalTrafficPolicy="Local"))["spec"]
    assert 30000 <= s["healthCheckNodePort"] <= 32767
    assert s["healthCheckNodePort"] != s["ports"][0]["nodePort"]
    assert s["allocateLoadBalancerNodePorts"] is True


def test_delete_releases_and_update_keeps():
    _api, alloc, admin = make_api()
    s = admin.create(svc("web", type="NodePort"))
    ip, np = s["spec"]["clusterIP"], s["spec"]["ports"][0]["nodePort"]
    # a replace that leaves out the allocated fields keeps them (kubectl apply)
    body = svc("web", type="NodePort", selector={"app": "web"})
    body["metadata"].update(namespace="default", resourceVersion=s["metadata"]["resourceVersion"])
    s2 = admin.update(body)
    assert (s2["spec"]["clusterIP"], s2["spec"]["ports"][0]["nodePort"]) == (ip, np)
    # back to ClusterIP releases the node port
    s3 = admin.update(dict(s2, spec=dict(s2["spec"], type="ClusterIP",
                                         ports=[{"port": 80, "protocol": "TCP", "targetPort": 80}])))
    assert "nodePort" not in s3["spec"]["ports"][0]
    assert not alloc.is_port_allocated(np)
    admin.delete("services", "web", "default")
    assert not alloc.is_allocated(ip)
    assert admin.create(svc("again", clusterIP=ip))["spec"]["clusterIP"] == ip


def test_allocator_takes_existing_services_into_account():
    api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
    admin = api.client("kubectl")
    admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    admin.create(svc("kubernetes", clusterIP="10.96.0.1"))
    alloc = register(api)
    assert alloc.is_allocated("10.96.0.1")
    with pytest.raises(errors.Invalid):
        admin.create(svc("other", clusterIP="10.96.0.1"))


def test_bitmap_falls_back_to_static_band_when_upper_is_full():
    import random

    a = ServiceAllocator(random.Random(0), cidr="10.0.0.0/27")  # 30 usable, 16 static
    assert a._ip_bitmap.offset == 16
    taken = set(range(16, 30))
    at = a._ip_bitmap.next_free(lambda i: i in taken)
    assert 0 <= at < 16
