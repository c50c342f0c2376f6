"""Ingress: the routing table (pure), IngressClass handling, and the ingress-nginx controller."""

import random

import pytest

from k8slab.api.defaults import ANNOTATION_IS_DEFAULT_CLASS, default_ingress_class
from k8slab.apiserver import APIServer
from k8slab.apiserver.admission import DefaultIngressClass
from k8slab.apiserver.services import register
from k8slab.cluster.bootstrap import ingress_nginx_rbac
from k8slab.etcd import Etcd
from k8slab.network.ingress import (
    ANNOTATION_INGRESS_CLASS,
    Endpoint,
    IngressClassFilter,
    IngressRoutes,
    nginx_error_page,
    service_port,
    sort_ingresses,
    upstream_endpoints,
)
from k8slab.node.ingress_nginx import (
    IngressNginxController,
    ingress_nginx_manifests,
    publish_addresses,
)
from k8slab.sim import EventLoop, Randomness, Trace

T0 = "2025-01-01T00:00:00Z"


# -- building Ingresses ------------------------------------------------------------------------------
def path(p, svc, port=80, path_type="Prefix"):
    port_ref = {"name": port} if isinstance(port, str) else {"number": port}
    out = {"path": p, "backend": {"service": {"name": svc, "port": port_ref}}}
    if path_type is not None:
        out["pathType"] = path_type
    return out


def rule(host, *paths):
    r = {"http": {"paths": list(paths)}}
    if host:
        r["host"] = host
    return r


def ingress(name, *rules, ns="default", ts=T0, default=None, cls="nginx", annotations=None):
    spec = {}
    if cls is not None:
        spec["ingressClassName"] = cls
    if rules:
        spec["rules"] = list(rules)
    if default is not None:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    meta = {"name": name, "namespace": ns, "creationTimestamp": ts}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def table(*ings, services=None):
    return IngressRoutes.from_ingresses(list(ings), services)


def served(t, host, p):
    r = t.route(host, p)
    return None if r is None else r.service


# -- path types ---------------------------------------------------------------------------------------
def test_exact_matches_only_the_exact_path():
    t = table(ingress("i", rule("", path("/foo", "exact", path_type="Exact"))))
    assert [served(t, "x", p) for p in ("/foo", "/foo/", "/foo/bar", "/fo")] == ["exact", None, None, None]


def test_prefix_matches_whole_path_elements():
    t = table(ingress("i", rule("", path("/foo", "prefix"))))
    assert [served(t, "x", p) for p in ("/foo", "/foo/", "/foo/bar", "/foobar", "/")] == \
        ["prefix", "prefix", "prefix", None, None]
    t = table(ingress("i", rule("", path("/aaa/bb", "prefix"))))
    assert served(t, "x", "/aaa/bbb") is None


def test_prefix_ignores_a_trailing_slash_on_either_side():
    t = table(ingress("i", rule("", path("/aaa/bbb/", "slash"), path("/ccc", "plain"))))
    assert served(t, "x", "/aaa/bbb") == "slash"
    assert served(t, "x", "/aaa/bbb/ccc") == "slash"
    assert served(t, "x", "/ccc/") == "plain"


def test_longest_matching_path_wins():
    t = table(ingress("i", rule("", path("/", "root"), path("/aaa", "a"), path("/aaa/bbb", "ab"))))
    assert [served(t, "x", p) for p in ("/aaa/bbb", "/aaa/bbb/c", "/aaa/ccc", "/ccc", "/aaab")] == \
        ["ab", "ab", "a", "root", "root"]


def test_exact_beats_prefix_on_the_same_path():
    t = table(ingress("i", rule("", path("/foo", "prefix"), path("/foo", "exact", path_type="Exact"))))
    assert served(t, "x", "/foo") == "exact"
    assert served(t, "x", "/foo/") == "prefix"
    assert served(t, "x", "/foo/x") == "prefix"


def test_implementation_specific_and_missing_path_type_behave_as_prefix():
    t = table(ingress("i", rule("", path("/is", "is", path_type="ImplementationSpecific"),
                                path("/none", "none", path_type=None))))
    assert [served(t, "x", p) for p in ("/is/x", "/isx", "/none/", "/nonex")] == ["is", None, "none", None]
    assert t.route("x", "/is").path_type == "ImplementationSpecific"  # reported as written


def test_request_path_query_and_repeated_slashes():
    t = table(ingress("i", rule("", path("/api/v1", "api"))))
    assert served(t, "x", "/api/v1?page=2") == "api"
    assert served(t, "x", "//api//v1/items") == "api"


# -- hosts --------------------------------------------------------------------------------------------
def test_wildcard_host_matches_exactly_one_label():
    t = table(ingress("i", rule("*.example.com", path("/", "wild"))))
    assert [served(t, h, "/") for h in ("a.example.com", "A.Example.com:8080", "a.b.example.com",
                                         "example.com")] == ["wild", "wild", None, None]


def test_exact_host_beats_wildcard_and_hostless_rules_take_the_rest():
    t = table(ingress("i", rule("a.example.com", path("/", "exact-host")),
                      rule("*.example.com", path("/", "wild")),
                      rule("", path("/", "any"))))
    assert [served(t, h, "/x") for h in ("a.example.com", "b.example.com", "other.org")] == \
        ["exact-host", "wild", "any"]


def test_a_host_with_its_own_rules_does_not_fall_back_to_hostless_rules():
    # ingress-nginx: the host's server answers unmatched paths from its root location (404)
    t = table(ingress("i", rule("shop.example.com", path("/api", "api")), rule("", path("/", "any"))))
    assert served(t, "shop.example.com", "/api") == "api"
    assert t.route("shop.example.com", "/other") is None
    assert served(t, "unknown.example.com", "/other") == "any"


def test_two_hosts_and_paths_to_two_services():
    t = table(ingress("shop", rule("web.example.com", path("/", "web")),
                      rule("api.example.com", path("/v1", "api-v1"), path("/v2", "api-v2", 8080))))
    assert served(t, "web.example.com", "/anything") == "web"
    r = t.route("api.example.com", "/v2/orders")
    assert (r.ingress, r.namespace, r.service, r.port, r.path, r.path_type, r.host) == \
        ("shop", "default", "api-v2", 8080, "/v2", "Prefix", "api.example.com")
    assert r.upstream == "default-api-v2-8080"
    assert t.route("api.example.com", "/v3") is None


# -- default backends ---------------------------------------------------------------------------------
def test_no_match_and_no_default_backend_is_the_controllers_404():
    t = table(ingress("i", rule("a.example.com", path("/app", "app"))))
    assert t.route("a.example.com", "/") is None
    assert t.route("b.example.com", "/app") is None
    page = nginx_error_page(404)
    assert "<title>404 Not Found</title>" in page and "<hr><center>nginx</center>" in page


def test_default_backend_of_an_ingress_with_rules_serves_its_hosts():
    t = table(ingress("i", rule("a.example.com", path("/app", "app")), default="fallback"))
    r = t.route("a.example.com", "/other")
    assert (r.service, r.default_backend, r.path) == ("fallback", True, "/")
    assert t.route("b.example.com", "/") is None  # not the catch-all: the Ingress has rules


def test_ingress_with_only_a_default_backend_is_the_catch_all():
    t = table(ingress("catch", default="fallback", ts="2025-01-01T00:00:05Z"),
              ingress("later", default="other", ts="2025-01-01T00:00:09Z"),
              ingress("i", rule("a.example.com", path("/app", "app"))))
    assert served(t, "b.example.com", "/x") == "fallback"  # the oldest catch-all Ingress
    assert t.route("a.example.com", "/x") is None  # a.example.com has a server of its own


def test_path_slash_replaces_a_default_backend_root():
    t = table(ingress("old", rule("a.example.com", path("/app", "app")), default="fallback",
                      ts="2025-01-01T00:00:01Z"),
              ingress("new", rule("a.example.com", path("/", "root")), ts="2025-01-01T00:00:02Z"))
    assert served(t, "a.example.com", "/x") == "root"


# -- merging Ingresses --------------------------------------------------------------------------------
def test_same_host_across_ingresses_is_merged():
    t = table(ingress("web", rule("shop.example.com", path("/", "web"))),
              ingress("api", rule("shop.example.com", path("/api", "api"))))
    assert served(t, "shop.example.com", "/api/x") == "api"
    assert served(t, "shop.example.com", "/x") == "web"
    assert t.conflicts == []


def test_conflicting_path_goes_to_the_oldest_ingress():
    t = table(ingress("b-new", rule("h.example.com", path("/", "new")), ts="2025-01-01T00:01:00Z"),
              ingress("z-old", rule("h.example.com", path("/", "old")), ts="2025-01-01T00:00:30Z"))
    assert served(t, "h.example.com", "/") == "old"
    assert t.conflicts == ['Location "/" already configured for server "h.example.com" with upstream '
                           '"default-old-80" (Ingress "default/z-old")']


def test_equal_timestamps_order_by_namespace_and_name_descending():
    a = ingress("a", rule("h.example.com", path("/", "from-a")))
    b = ingress("b", rule("h.example.com", path("/", "from-b")))
    assert [i["metadata"]["name"] for i in sort_ingresses([a, b])] == ["b", "a"]
    assert served(table(a, b), "h.example.com", "/") == "from-b"
    # Prefix /x and /x/ are the same location; Exact /x is another one
    t = table(ingress("a", rule("", path("/x", "first"), path("/x/", "second"), path("/x", "exact", path_type="Exact"))))
    assert served(t, "h", "/x/y") == "first" and served(t, "h", "/x") == "exact"
    assert len(t.conflicts) == 1


def test_resource_backends_are_skipped():
    ing = ingress("i", rule("", path("/svc", "svc")))
    ing["spec"]["rules"][0]["http"]["paths"].append(
        {"path": "/static", "pathType": "Prefix",
         "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "StorageBucket", "name": "assets"}}})
    t = table(ing)
    assert t.route("h", "/static") is None
    assert t.ignored == ['Ingress "default/i" and path "/static" does not contain a service backend, '
                         "using default backend"]


# -- Service ports --------------------------------------------------------------------------------------
def test_named_service_port_is_resolved_against_the_service():
    svc = {"metadata": {"name": "web", "namespace": "default"},
           "spec": {"ports": [{"name": "metrics", "port": 9090}, {"name": "http", "port": 8000}]}}
    t = table(ingress("i", rule("", path("/", "web", "http")), rule("x.example.com", path("/", "web", "nope"))),
              services=[svc])
    r = t.route("h", "/")
    assert (r.port, r.port_name, r.backend, r.upstream) == (8000, "http", "default/web:http (8000)", "default-web-http")
    assert t.route("x.example.com", "/").port is None  # no such port: nginx will have no endpoint
    assert table(ingress("i", rule("", path("/", "web", "http")))).route("h", "/").port is None  # no Service known


def test_service_port_and_endpoints_from_slices():
    svc = {"metadata": {"name": "web", "namespace": "default"},
           "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "http"},
                              {"name": "admin", "port": 81, "targetPort": 9000}]}}
    es = {"ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "admin", "port": 9000}],
          "endpoints": [{"addresses": ["10.244.2.7"], "conditions": {"ready": False}, "nodeName": "worker-2",
                         "targetRef": {"kind": "Pod", "name": "web-b"}},
                        {"addresses": ["10.244.1.5"], "conditions": {"ready": True}, "nodeName": "worker-1",
                         "targetRef": {"kind": "Pod", "name": "web-a"}}]}
    sp = service_port(svc, 80)
    assert sp["name"] == "http" and service_port(svc, "admin")["port"] == 81 and service_port(svc, 9000)["port"] == 81
    eps = upstream_endpoints(svc, sp, [es, es])  # the same endpoints twice count once
    assert eps == [Endpoint("10.244.1.5", 8080, True, "worker-1", "web-a"),
                   Endpoint("10.244.2.7", 8080, False, "worker-2", "web-b")]
    assert [e.address for e in upstream_endpoints(svc, service_port(svc, "admin"), [es])] == \
        ["10.244.1.5:9000", "10.244.2.7:9000"]


def test_table_text_for_learners():
    t = table(ingress("shop", rule("shop.example.com", path("/api", "api"), path("/", "web")),
                      rule("", path("/health", "health", path_type="Exact"))))
    assert str(t) == (
        "HOST               PATH      PATH TYPE   BACKEND                 INGRESS\n"
        "shop.example.com   /api      Prefix      default/api:80          default/shop\n"
        "shop.example.com   /         Prefix      default/web:80          default/shop\n"
        "_ (any host)       /health   Exact       default/health:80       default/shop\n"
        "_ (any host)       /         Prefix      default backend (404)   -"
    )
    assert repr(t) == "IngressRoutes(1 ingresses, 2 servers, 3 paths)"


# -- IngressClass -------------------------------------------------------------------------------------
NGINX_CLASS = {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}
OTHER_CLASS = {"metadata": {"name": "traefik"}, "spec": {"controller": "traefik.io/ingress-controller"}}


def test_class_filter_follows_ingress_class_name_then_the_annotation():
    f = IngressClassFilter()
    owned = {c["metadata"]["name"]: c for c in (NGINX_CLASS, OTHER_CLASS) if f.owns(c)}
    assert list(owned) == ["nginx"]
    assert f.class_of(ingress("a", cls="nginx"), owned) == ("nginx", "")
    assert f.class_of(ingress("b", cls="traefik"), owned) == (None, 'no object matching key "traefik" in local store')
    assert f.class_of(ingress("c", cls=None, annotations={ANNOTATION_INGRESS_CLASS: "nginx"}), owned) == ("nginx", "")
    assert f.class_of(ingress("d", cls=None, annotations={ANNOTATION_INGRESS_CLASS: "traefik"}), owned) == \
        (None, "ingress class annotation is not equal to the expected by Ingress Controller")
    assert f.class_of(ingress("e", cls=None), owned) == (None, "ingress does not contain a valid IngressClass")
    assert IngressClassFilter(watch_without_class=True).class_of(ingress("e", cls=None), owned) == ("_", "")
    # ingressClassName wins over the annotation
    assert f.class_of(ingress("f", cls="traefik", annotations={ANNOTATION_INGRESS_CLASS: "nginx"}), owned)[0] is None


def test_default_ingress_class_is_the_newest_annotated_one():
    def ic(name, ts, default="true"):
        return {"metadata": {"name": name, "creationTimestamp": ts, "annotations": {ANNOTATION_IS_DEFAULT_CLASS: default}}}

    assert default_ingress_class([ic("a", T0, "false")]) is None
    assert default_ingress_class([ic("b", T0), ic("a", T0)])["metadata"]["name"] == "a"
    assert default_ingress_class([ic("a", "2025-01-01T00:00:09Z"), ic("b", T0)])["metadata"]["name"] == "a"


# -- the controller against an API server ---------------------------------------------------------
class Harness:
    """An API server, the ingress controller, and a test that writes Services and EndpointSlices itself."""

    def __init__(self, seed=0, **kw):
        self.loop = EventLoop()
        self.rng = Randomness(seed)
        self.api = APIServer(Etcd(), self.loop, Trace(), self.rng)
        register(self.api)
        self.admin = self.api.client("kubectl")
        for ns in ("default", "ingress-nginx"):
            self.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        self.ctl = IngressNginxController(self.api, self.loop, self.rng, **kw)

    def run(self):
        self.loop.run_until_settled()
        return self

    def create(self, obj):
        return self.admin.create(obj)

    def nginx_class(self, default=False):
        ic = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
              "spec": {"controller": "k8s.io/ingress-nginx"}}
        if default:
            ic["metadata"]["annotations"] = {ANNOTATION_IS_DEFAULT_CLASS: "true"}
        return self.create(ic)

    def service(self, name, ns="default", **spec):
        spec.setdefault("selector", {"app": name})
        spec.setdefault("ports", [{"name": "http", "port": 80, "targetPort": 8080}])
        return self.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                            "spec": spec})

    def endpoints(self, svc, ready, not_ready=(), port=8080):
        """Write the Service's EndpointSlice (as the EndpointSlice controller would)."""
        eps = [{"addresses": [ip], "conditions": {"ready": True}} for ip in ready]
        eps += [{"addresses": [ip], "conditions": {"ready": False}} for ip in not_ready]
        body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                "metadata": {"name": f"{svc}-abcde", "namespace": "default",
                             "labels": {"kubernetes.io/service-name": svc}},
                "ports": [{"name": "http", "port": port, "protocol": "TCP"}], "endpoints": eps}
        try:
            current = self.admin.get("endpointslices", f"{svc}-abcde", "default")
        except Exception:
            return self.admin.create(body)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.admin.update(body)

    def ingress_events(self, name):
        return [(e["reason"], e["message"], e["count"], e["source"]["component"])
                for e in self.admin.list("events", "default")["items"] if e["involvedObject"]["name"] == name]


def _demo(h):
    h.nginx_class()
    h.service("web")
    h.service("api")
    h.endpoints("web", ["10.244.1.5", "10.244.2.5"], not_ready=["10.244.2.9"])
    h.endpoints("api", ["10.244.1.6"])
    h.create(ingress("demo", rule("web.example.com", path("/", "web")), rule("api.example.com", path("/v1", "api")),
                     ts=None))


def test_controller_routes_to_ready_endpoints_round_robin():
    h = Harness()
    _demo(h)
    h.ctl.start()
    h.run()
    assert h.ctl.handled == ["default/demo"]
    r = h.ctl.routes.route("web.example.com", "/x")
    assert [(e.address, e.ready) for e in h.ctl.backends(r)] == \
        [("10.244.1.5:8080", True), ("10.244.2.5:8080", True), ("10.244.2.9:8080", False)]
    picks = [h.ctl.pick_backend("web.example.com", "/x", random.Random(1))[1] for _ in range(4)]
    assert sorted(set(picks)) == ["10.244.1.5:8080", "10.244.2.5:8080"]  # never the not-ready one
    assert picks[0] != picks[1] and picks[0] == picks[2] and picks[1] == picks[3]  # round robin
    route, ep = h.ctl.pick_backend("api.example.com", "/v1/users")
    assert (route.service, ep) == ("api", "10.244.1.6:8080")
    assert h.ctl.pick_backend("api.example.com", "/v2") is None  # the default backend: 404
    assert "10.244.2.9:8080 (not ready)" in h.ctl.describe()


def test_no_ready_endpoint_is_a_503_and_endpoint_changes_need_no_reload():
    h = Harness(pod_name="ingress-nginx-controller-abc", pod_namespace="ingress-nginx")
    h.create({"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "ingress-nginx-controller-abc", "namespace": "ingress-nginx"},
              "spec": {"containers": [{"name": "controller", "image": "registry.k8s.io/ingress-nginx/controller:v1.11.2"}]}})
    _demo(h)
    h.endpoints("api", [], not_ready=["10.244.1.6"])
    h.ctl.start()
    h.run()
    route, ep = h.ctl.pick_backend("api.example.com", "/v1")
    assert (route.service, ep) == ("api", None)
    reloads = h.ctl.reloads
    h.endpoints("api", ["10.244.1.6", "10.244.2.6"])
    h.run()
    assert h.ctl.pick_backend("api.example.com", "/v1")[1] in ("10.244.1.6:8080", "10.244.2.6:8080")
    assert h.ctl.reloads == reloads  # endpoints are applied without a reload
    ing = h.admin.get("ingresses", "demo", "default")
    ing["spec"]["rules"][1]["http"]["paths"].append(path("/v2", "api"))
    h.admin.update(ing)
    h.run()
    assert h.ctl.reloads == reloads + 1
    assert h.ctl.routes.route("api.example.com", "/v2").path == "/v2"
    pod_events = [(e["reason"], e["message"], e["count"]) for e in h.admin.list("events", "ingress-nginx")["items"]]
    assert pod_events == [("RELOAD", "NGINX reload triggered due to a change in configuration", reloads + 1)]


def test_only_ingresses_of_its_class_are_handled():
    h = Harness()
    h.nginx_class()
    h.create({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "traefik"},
              "spec": {"controller": "traefik.io/ingress-controller"}})
    h.service("web")
    h.create(ingress("mine", rule("a.example.com", path("/", "web")), ts=None))
    h.create(ingress("theirs", rule("b.example.com", path("/", "web")), cls="traefik", ts=None))
    h.create(ingress("legacy", rule("c.example.com", path("/", "web")), cls=None, ts=None,
                     annotations={ANNOTATION_INGRESS_CLASS: "nginx"}))
    h.create(ingress("classless", rule("d.example.com", path("/", "web")), cls=None, ts=None))
    h.ctl.start()
    h.run()
    assert h.ctl.handled == ["default/mine", "default/legacy"]  # same timestamp: name descending
    assert h.ctl.ignored == {"default/theirs": 'no object matching key "traefik" in local store',
                             "default/classless": "ingress does not contain a valid IngressClass"}
    assert h.ingress_events("mine") == [("Sync", "Scheduled for sync", 1, "nginx-ingress-controller")]
    assert h.ingress_events("theirs") == []
    # moving an Ingress to another class removes it from the configuration
    ing = h.admin.get("ingresses", "mine", "default")
    ing["spec"]["ingressClassName"] = "traefik"
    h.admin.update(ing)
    h.run()
    assert h.ctl.handled == ["default/legacy"]
    assert h.ctl.routes.route("a.example.com", "/") is None


def test_syncs_are_rate_limited():
    h = Harness()
    h.nginx_class()
    h.service("web")
    h.ctl.start()
    h.loop.run_until(1.0)
    assert h.ctl.syncs == 1  # the initial sync, at once
    h.create(ingress("one", rule("a.example.com", path("/", "web")), ts=None))
    h.loop.run_until(1.1)
    assert h.ctl.syncs == 1  # 0.3 syncs per second: the next one waits for its token
    h.loop.run_until(1 / 0.3 - 0.01)
    assert h.ctl.syncs == 1
    h.loop.run_until(1 / 0.3 + 0.01)
    assert h.ctl.syncs == 2 and h.ctl.handled == ["default/one"]


def lb_status(h, name="demo"):
    return (h.admin.get("ingresses", name, "default").get("status") or {}).get("loadBalancer") or {}


def test_status_follows_the_publish_service_every_minute_and_is_cleared_on_shutdown():
    h = Harness()
    _demo(h)
    h.service("ingress-nginx-controller", ns="ingress-nginx", type="LoadBalancer",
              ports=[{"name": "http", "port": 80, "targetPort": "http"}])
    h.loop.run_until(30.0)
    h.ctl.start()  # not at t=0: the controller's pod came up later
    h.loop.run_until(35.0)  # its first status round (at start) found no address yet
    assert lb_status(h) == {}
    svc = h.admin.get("services", "ingress-nginx-controller", "ingress-nginx")
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7", "ipMode": "VIP"}]}}
    h.admin.update_status(svc)
    h.loop.run_until(40.0)
    assert lb_status(h) == {}  # not before the next round
    h.run()  # keeps going until the round at t=90 has written it
    assert h.loop.now == pytest.approx(90.0, abs=0.01)
    assert lb_status(h) == {"ingress": [{"ip": "203.0.113.7"}]}
    assert h.ctl.address_of("web.example.com") == "203.0.113.7"
    assert h.ctl.address_of("nope.example.com") is None
    # the status update is itself a change of the Ingress: a second "Scheduled for sync"
    assert h.ingress_events("demo") == [("Sync", "Scheduled for sync", 2, "nginx-ingress-controller")]
    h.ctl.stop()
    assert lb_status(h) == {}
    assert not h.ctl.running


def test_restart_rebuilds_everything_from_the_api():
    h = Harness()
    _demo(h)
    h.ctl.start()
    h.run()
    h.ctl.stop(graceful=False)
    h.admin.delete("ingresses", "demo", "default")
    h.create(ingress("other", rule("o.example.com", path("/", "api")), ts=None))
    h.run()
    assert h.ctl.handled == ["default/demo"]  # a stopped controller hears nothing
    h.ctl.start()
    h.run()
    assert h.ctl.handled == ["default/other"]
    assert h.ctl.routes.route("web.example.com", "/") is None
    assert h.ctl.pick_backend("o.example.com", "/")[1] == "10.244.1.6:8080"


def test_default_ingress_class_admission_fills_in_the_class():
    h = Harness()
    # kube-apiserver runs the DefaultIngressClass admission plugin by default
    assert any(isinstance(p, DefaultIngressClass) for p in h.api.mutating)
    h.create(ingress("before", cls=None, ts=None))
    h.nginx_class(default=True)
    created = h.create(ingress("after", rule("a.example.com", path("/", "web")), cls=None, ts=None))
    assert created["spec"]["ingressClassName"] == "nginx"
    assert "ingressClassName" not in h.admin.get("ingresses", "before", "default")["spec"]
    legacy = h.create(ingress("legacy", cls=None, ts=None, annotations={ANNOTATION_INGRESS_CLASS: "other"}))
    assert "ingressClassName" not in legacy["spec"]


def test_publish_addresses_by_service_type():
    lb = {"spec": {"type": "LoadBalancer", "externalIPs": ["198.51.100.9"]},
          "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}]}}}
    assert publish_addresses(lb) == [{"ip": "198.51.100.9"}, {"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}]
    assert publish_addresses({"spec": {"type": "ClusterIP", "clusterIP": "10.96.5.5"}}) == [{"ip": "10.96.5.5"}]
    assert publish_addresses({"spec": {"type": "LoadBalancer"}}) == []  # <pending>


# -- the manifests -----------------------------------------------------------------------------------------
def test_ingress_nginx_manifests():
    objs = {o["kind"]: o for o in ingress_nginx_manifests()}
    assert list(objs) == ["Namespace", "ServiceAccount", "Service", "Deployment", "IngressClass"]
    ic = objs["IngressClass"]
    assert ic["spec"] == {"controller": "k8s.io/ingress-nginx"}
    assert ic["metadata"]["annotations"] == {ANNOTATION_IS_DEFAULT_CLASS: "true"}
    assert "annotations" not in {o["kind"]: o for o in ingress_nginx_manifests(default_class=False)}[
        "IngressClass"]["metadata"]
    dep = objs["Deployment"]
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "registry.k8s.io/ingress-nginx/controller:v1.11.2"
    assert [(p["name"], p["containerPort"]) for p in c["ports"]] == [("http", 80), ("https", 443)]
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 10254, "scheme": "HTTP"}
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "ingress-nginx" and labels["app.kubernetes.io/component"] == "controller"
    svc = objs["Service"]
    assert svc["spec"]["type"] == "LoadBalancer"
    assert [(p["name"], p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == \
        [("http", 80, "http"), ("https", 443, "https")]
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
    assert objs["Deployment"]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.11.2"
    assert ingress_nginx_manifests("v1.10.1")[3]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        ":v1.10.1")


# -- a whole cluster -----------------------------------------------------------------------------------
ECHO_APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: echo
        image: docker.io/k8slab/echo:1.0
        ports: [{{name: http, containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""

DEMO_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: demo}
spec:
  ingressClassName: nginx
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
  - host: api.example.com
    http:
      paths:
      - {path: /v1, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
"""


def test_cluster_routes_hosts_to_ready_pods_and_publishes_the_load_balancer_ip():
    import k8slab

    c = k8slab.Cluster(workers=2, seed=0)
    objs = ingress_nginx_manifests()
    c.apply(objs[0])  # the namespace first
    # its ServiceAccount and what deploy.yaml lets it do (RBAC is on), LoadBalancer Service and IngressClass
    c.apply(objs[1:2] + ingress_nginx_rbac() + objs[2:3] + objs[4:])
    ctl = IngressNginxController(c.api, c.loop, c.rng)
    c.run(seconds=5)
    ctl.start()
    c.apply(ECHO_APP.format(name="web"))
    c.apply(ECHO_APP.format(name="api"))
    c.apply(DEMO_INGRESS)
    c.run()
    pods = {app: sorted(f"{p['status']['podIP']}:8080" for p in c.get("pods") if p["metadata"]["labels"]["app"] == app
                        and p["status"].get("phase") == "Running")
            for app in ("web", "api")}
    assert all(len(v) == 2 for v in pods.values())
    web = ctl.routes.route("web.example.com", "/index.html")
    api = ctl.routes.route("api.example.com", "/v1/users")
    assert (web.service, web.port, api.service, api.port) == ("web", 80, "api", 80)
    assert sorted(e.address for e in ctl.backends(web) if e.ready) == pods["web"]
    assert sorted(e.address for e in ctl.backends(api) if e.ready) == pods["api"]
    assert {ctl.pick_backend("web.example.com", "/")[1] for _ in range(4)} == set(pods["web"])
    assert ctl.pick_backend("api.example.com", "/v2") is None
    lb_ip = c.get("service", "ingress-nginx-controller", namespace="ingress-nginx")["status"]["loadBalancer"][
        "ingress"][0]["ip"]
    assert lb_ip == "203.0.113.1"
    assert c.get("ingress", "demo")["status"] == {"loadBalancer": {"ingress": [{"ip": lb_ip}]}}
    assert c.kubectl("get ingress").splitlines()[1].split()[:5] == \
        ["demo", "nginx", "web.example.com,api.example.com", lb_ip, "80"]
    assert c.errors == []
