"""kube-proxy (iptables mode): Services and EndpointSlices become a node's rules, after a sync."""

import random
from collections import Counter

import pytest

from k8slab.apiserver import APIServer
from k8slab.etcd import Etcd
from k8slab.network.packet import Packet
from k8slab.node.kubeproxy import KubeProxy
from k8slab.sim import EventLoop, Randomness, Trace

SVC = "KUBE-SVC-CDGGSHYLG3RE2FKL"  # default/web:http tcp (independently documented value)


class Lab:
    def __init__(self, node="worker-1", node_ip="172.18.0.3"):
        self.loop = EventLoop()
        self.api = APIServer(Etcd(), self.loop, Trace(), Randomness(0))
        self.admin = self.api.client("kubectl")
        self.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
        self.proxy = KubeProxy(self.api, self.loop, Randomness(0), node, node_ip)
        self.proxy.start()
        self.loop.run_until_settled()

    def service(self, name="web", ip="10.96.100.10", type_="ClusterIP", node_port=None, **spec):
        port = {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}
        if node_port:
            port["nodePort"] = node_port
        body = {"type": type_, "clusterIP": ip, "selector": {"app": name}, "ports": [port], **spec}
        return self.admin.create({"apiVersion": "v1", "kind": "Service",
                                  "metadata": {"name": name, "namespace": "default"}, "spec": body})

    def slice(self, ips, name="web", slice_name=None, conditions=None):
        eps = [{"addresses": [ip], "conditions": dict(conditions or {"ready": True}), "nodeName": "worker-2"}
               for ip in ips]
        return self.admin.create({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": slice_name or f"{name}-abcde", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": name}},
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}], "endpoints": eps})

    def settle(self):
        self.loop.run_until_settled()
        return self.proxy

    def nat(self):
        return self.proxy.iptables(table="nat").splitlines()


def test_golden_nat_table_for_a_service_with_two_endpoints():
    lab = Lab()
    lab.service()
    lab.slice(["10.244.2.7", "10.244.1.5"])
    lab.settle()
    assert lab.proxy.iptables(table="nat") == GOLDEN_NAT


GOLDEN_NAT = """\
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-KUBELET-CANARY - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-PROXY-CANARY - [0:0]
:KUBE-SEP-2RIJ5GIYXEFH6G4D - [0:0]
:KUBE-SEP-AFGSLHOD2HFNCBX4 - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-CDGGSHYLG3RE2FKL - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SEP-2RIJ5GIYXEFH6G4D -s 10.244.2.7/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-2RIJ5GIYXEFH6G4D -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 10.244.2.7:8080
-A KUBE-SEP-AFGSLHOD2HFNCBX4 -s 10.244.1.5/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-AFGSLHOD2HFNCBX4 -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 10.244.1.5:8080
-A KUBE-SERVICES -d 10.96.100.10/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-CDGGSHYLG3RE2FKL
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-SVC-CDGGSHYLG3RE2FKL ! -s 10.244.0.0/16 -d 10.96.100.10/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.1.5:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-AFGSLHOD2HFNCBX4
-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.2.7:8080" -j KUBE-SEP-2RIJ5GIYXEFH6G4D
COMMIT
"""


def test_sep_names_match_an_independent_implementation():
    import base64
    import hashlib

    def sep(endpoint):
        digest = hashlib.sha256(f"default/web:httptcp{endpoint}".encode()).digest()
        return "KUBE-SEP-" + base64.b32encode(digest).decode()[:16]

    assert sep("10.244.1.5:8080") == "KUBE-SEP-AFGSLHOD2HFNCBX4"
    assert sep("10.244.2.7:8080") == "KUBE-SEP-2RIJ5GIYXEFH6G4D"


@pytest.mark.parametrize("n, expected", [
    (3, ["0.33333333349", "0.50000000000", None]),
    (4, ["0.25000000000", "0.33333333349", "0.50000000000", None]),
])
def test_probabilities_for_three_and_four_endpoints(n, expected):
    lab = Lab()
    lab.service()
    lab.slice([f"10.244.{i + 1}.9" for i in range(n)])
    lab.settle()
    lines = [line for line in lab.nat() if line.startswith(f"-A {SVC} -m comment")]
    probs = [line.split("--probability ")[1].split()[0] if "--probability" in line else None for line in lines]
    assert probs == expected


def test_nodeport_goes_through_kube_nodeports_and_the_ext_chain():
    lab = Lab()
    lab.service(type_="NodePort", node_port=30080)
    lab.slice(["10.244.1.5"])
    lab.settle()
    nat = lab.nat()
    ext = "KUBE-EXT-CDGGSHYLG3RE2FKL"
    assert ('-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j ' + ext) in nat
    assert [line for line in nat if line.startswith(f"-A {ext}")] == [
        f'-A {ext} -m comment --comment "masquerade traffic for default/web:http external destinations" '
        "-j KUBE-MARK-MASQ",
        f"-A {ext} -j {SVC}"]
    # from outside, to the node's address: NodePort → EXT → SVC → SEP, masqueraded to the node IP
    w = lab.proxy.walk(Packet("192.168.1.50", "172.18.0.3", 30080), random.Random(0))
    assert w.destination == "10.244.1.5:8080" and w.packet.src == "172.18.0.3" and w.masqueraded
    assert [s.chain for s in w.steps][:4] == ["PREROUTING", "KUBE-SERVICES", "KUBE-NODEPORTS", ext]


def test_service_without_endpoints_is_rejected_in_the_filter_table():
    lab = Lab()
    lab.service()
    lab.settle()
    assert (
        '-A KUBE-SERVICES -d 10.96.100.10/32 -p tcp -m comment --comment "default/web:http has no endpoints" '
        "-m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable"
    ) in lab.proxy.iptables(table="filter").splitlines()
    assert not any(SVC in line for line in lab.nat())
    w = lab.proxy.walk(Packet("10.244.2.9", "10.96.100.10", 80), random.Random(0))
    assert w.verdict == "REJECT" and w.steps[-1].chain == "KUBE-SERVICES"


def test_packet_walk_reaches_each_endpoint_with_the_expected_frequency():
    lab = Lab()
    lab.service()
    lab.slice(["10.244.1.5", "10.244.2.7", "10.244.3.4"])
    lab.settle()
    rng = random.Random(7)
    counts = Counter(lab.proxy.walk(Packet("10.244.9.9", "10.96.100.10", 80), rng).destination
                     for _ in range(10_000))
    assert counts == {"10.244.1.5:8080": 3435, "10.244.2.7:8080": 3272, "10.244.3.4:8080": 3293}
    assert all(abs(n - 10_000 / 3) < 150 for n in counts.values())


def test_rules_change_only_when_the_sync_event_runs():
    lab = Lab()
    before = lab.proxy.iptables()
    syncs = lab.proxy.syncs
    lab.service()
    events = []
    while (ev := lab.loop.step()) is not None:
        events.append(ev.describe())
        if ev.describe() != "kube-proxy/worker-1: sync proxy rules":
            assert lab.proxy.iptables() == before  # the watch delivered the Service; rules not yet
    assert events[-1] == "kube-proxy/worker-1: sync proxy rules"
    assert lab.proxy.syncs == syncs + 1 and lab.proxy.iptables() != before


def test_syncs_are_rate_limited_to_min_sync_period_after_a_burst():
    lab = Lab()
    times = []
    orig = lab.proxy._sync

    def spy():
        times.append(round(lab.loop.now, 3))
        orig()
    lab.proxy._sync = spy
    for i in range(6):
        lab.service(name=f"web{i}", ip=f"10.96.100.{20 + i}")
        lab.loop.run_until(lab.loop.now + 0.1)
    lab.settle()
    # a burst of two syncs right away, then one per minSyncPeriod (1 s) while changes keep coming
    assert times == EXPECTED_SYNC_TIMES
    assert sum(1 for line in lab.proxy.iptables(table="filter").splitlines() if "has no endpoints" in line) == 6


EXPECTED_SYNC_TIMES = [0.001, 0.101, 1.101]


def test_headless_and_unready_endpoints_are_ignored_and_terminating_ones_are_a_fallback():
    lab = Lab()
    lab.service(name="db", ip="None")
    lab.service()
    lab.slice(["10.244.1.5"], slice_name="web-ready")
    lab.slice(["10.244.2.7"], slice_name="web-unready", conditions={"ready": False, "serving": False})
    lab.settle()
    nat = lab.proxy.iptables(table="nat")
    assert "default/db" not in nat and "10.244.2.7" not in nat and "10.244.1.5:8080" in nat
    # only terminating-but-serving endpoints left: kube-proxy still uses them (graceful drain)
    lab.admin.delete("endpointslices", "web-ready", "default")
    lab.slice(["10.244.3.3"], slice_name="web-draining",
              conditions={"ready": False, "serving": True, "terminating": True})
    lab.settle()
    assert "--to-destination 10.244.3.3:8080" in lab.proxy.iptables(table="nat")


def test_load_balancer_ip_and_session_affinity_rules():
    lab = Lab()
    svc = lab.service(type_="LoadBalancer", node_port=31000, sessionAffinity="ClientIP",
                      sessionAffinityConfig={"clientIP": {"timeoutSeconds": 10800}})
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}
    lab.admin.update_status(svc)
    lab.slice(["10.244.1.5", "10.244.2.7"])
    lab.settle()
    nat = lab.nat()
    assert ('-A KUBE-SERVICES -d 203.0.113.10/32 -p tcp -m comment --comment "default/web:http loadbalancer IP" '
            "-m tcp --dport 80 -j KUBE-EXT-CDGGSHYLG3RE2FKL") in nat
    assert (f'-A {SVC} -m comment --comment "default/web:http -> 10.244.1.5:8080" -m recent --rcheck '
            "--seconds 10800 --reap --name KUBE-SEP-AFGSLHOD2HFNCBX4 --mask 255.255.255.255 --rsource "
            "-j KUBE-SEP-AFGSLHOD2HFNCBX4") in nat
    # the same client sticks to the endpoint it got first
    rng = random.Random(3)
    first = lab.proxy.walk(Packet("10.244.9.9", "10.96.100.10", 80), rng).destination
    assert {lab.proxy.walk(Packet("10.244.9.9", "10.96.100.10", 80), rng).destination for _ in range(50)} == {first}


def test_stopped_kube_proxy_keeps_its_rules():
    lab = Lab()
    lab.service()
    lab.slice(["10.244.1.5"])
    lab.settle()
    lab.proxy.stop()
    rules = lab.proxy.iptables()
    lab.admin.delete("endpointslices", "web-abcde", "default")
    lab.settle()
    assert lab.proxy.iptables() == rules and "10.244.1.5" in rules


def test_restarted_kube_proxy_resyncs_everything_including_deletions():
    lab = Lab()
    lab.service()
    lab.slice(["10.244.1.5"])
    lab.settle()
    lab.proxy.stop()
    lab.admin.delete("endpointslices", "web-abcde", "default")
    lab.service(name="api", ip="10.96.100.11")
    lab.settle()
    assert "10.244.1.5" in lab.proxy.iptables()
    lab.proxy.start()
    lab.settle()
    text = lab.proxy.iptables()
    assert "10.244.1.5" not in text
    assert text.count("has no endpoints") == 2  # default/web:http and default/api:http
