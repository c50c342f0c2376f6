"""kubectl for networking against a live cluster: expose, get and describe of Services,
Endpoints, EndpointSlices and Ingresses, as kubectl v1.30 prints them."""

import json

import pytest

from k8slab import Cluster
from k8slab.apiserver import services as service_registry
from k8slab.apiserver.services import ServiceAllocator
from k8slab.controlplane.cloud import CloudControllerManager, ServiceLBController
from k8slab.controlplane.endpointslice import EndpointsController, EndpointSliceController
from k8slab.controlplane.manager import ControllerManager
from k8slab.kubectl.rows_network import format_endpoints, format_hosts, service_external_ip

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - {name: http, containerPort: 8080}
"""


def networked_cluster() -> Cluster:
    """A cluster whose API server allocates Service IPs and whose controllers keep endpoints.

    Wires the pieces the Cluster does not wire itself (yet): the Service IP allocator,
    the EndpointSlice and Endpoints controllers, the cloud's load-balancer controller.
    """
    c = Cluster(workers=2, seed=0, boot=False)
    if not any(isinstance(p, ServiceAllocator) for p in c.api.mutating):
        service_registry.register(c.api)
    if EndpointSliceController.name not in c.controller_manager.controllers:
        ControllerManager(c.api, c.loop, c.rng, [EndpointSliceController, EndpointsController]).start()
    if getattr(c, "cloud_controller_manager", None) is None:
        CloudControllerManager(c.api, c.loop, c.rng, [ServiceLBController]).start()
    c.run()
    c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    return c


@pytest.fixture
def c():
    return networked_cluster()


@pytest.fixture
def shop(c):
    """Three nginx pods labelled app=web, running, in namespace shop."""
    c.apply(WEB)
    c.run()
    return c


def pod_ips(c, namespace="shop", prefix="web-"):
    return sorted(p["status"]["podIP"] for p in c.get("pods", namespace=namespace)
                  if p["metadata"]["name"].startswith(prefix))


def service(name, namespace="shop", **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


# -- kubectl get svc --------------------------------------------------------------------------


def test_get_services_shows_type_cluster_ip_external_ip_ports_and_age(c):
    c.apply([
        service("web", selector={"app": "web"}, ports=[{"port": 80, "targetPort": 8080}]),
        service("api", type="NodePort", selector={"app": "api"},
                ports=[{"name": "http", "port": 80, "nodePort": 31234}, {"name": "https", "port": 443}]),
        service("db", clusterIP="None", selector={"app": "db"}),
        service("search", type="ExternalName", externalName="search.example.com"),
    ])
    # the ClusterIP and the second NodePort are drawn by the API server (same seed, same draw)
    assert c.kubectl("get svc -n shop") == (
        "NAME     TYPE           CLUSTER-IP       EXTERNAL-IP          PORT(S)                      AGE\n"
        "api      NodePort       10.107.201.247   <none>               80:31234/TCP,443:30589/TCP   0s\n"
        "db       ClusterIP      None             <none>               <none>                       0s\n"
        "search   ExternalName   <none>           search.example.com   <none>                       0s\n"
        "web      ClusterIP      10.101.87.78     <none>               80/TCP                       0s\n"
    )


def test_load_balancer_is_pending_until_the_cloud_gives_it_an_address(c):
    c.apply(service("web", type="LoadBalancer", selector={"app": "web"}, ports=[{"port": 80, "targetPort": 8080}]))
    assert c.kubectl("get svc web -n shop") == (
        "NAME   TYPE           CLUSTER-IP     EXTERNAL-IP   PORT(S)        AGE\n"
        "web    LoadBalancer   10.107.11.83   <pending>     80:30589/TCP   0s\n"
    )
    c.run()
    out = c.kubectl("get svc web -n shop -o wide")
    assert out.splitlines()[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    assert out.splitlines()[1].split()[3] == "203.0.113.1"
    assert out.splitlines()[1].split()[-1] == "app=web"


def test_external_ip_cell_cuts_long_load_balancer_addresses_unless_wide():
    svc = {"spec": {"type": "LoadBalancer", "externalIPs": ["198.51.100.7"]},
           "status": {"loadBalancer": {"ingress": [{"hostname": "a1b2c3d4e5f6.elb.amazonaws.com"}, {"ip": "203.0.113.9"}]}}}
    # kubectl cuts the load balancer's part to 16 characters, then adds the external IPs
    assert service_external_ip(svc, wide=False) == "203.0.113.9,a...,198.51.100.7"
    assert service_external_ip(svc, wide=True) == "203.0.113.9,a1b2c3d4e5f6.elb.amazonaws.com,198.51.100.7"
    assert service_external_ip({"spec": {"type": "ClusterIP", "externalIPs": ["1.2.3.4", "5.6.7.8"]}}, False) == "1.2.3.4,5.6.7.8"
    assert service_external_ip({"spec": {"type": "LoadBalancer"}}, False) == "<pending>"


# -- kubectl get endpoints / endpointslices ----------------------------------------------------


def test_get_endpoints_lists_ready_pod_addresses_of_a_selected_service(shop):
    shop.apply(service("web", selector={"app": "web"}, ports=[{"port": 80, "targetPort": "http"}]))
    shop.run()
    a, b, c_ = pod_ips(shop)
    assert shop.kubectl("get endpoints web -n shop") == (
        "NAME   ENDPOINTS                                         AGE\n"
        f"web    {a}:8080,{b}:8080,{c_}:8080   0s\n"
    )


def test_get_endpoints_shows_three_then_counts_the_rest(c):
    # a Service without selector, and the Endpoints an operator wrote for it
    c.apply([service("legacy", ports=[{"name": "http", "port": 80}, {"name": "admin", "port": 81}]),
             {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "legacy", "namespace": "shop"},
              "subsets": [{"addresses": [{"ip": "192.0.2.10"}, {"ip": "192.0.2.11"}],
                           "notReadyAddresses": [{"ip": "192.0.2.12"}],
                           "ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}]}]},
             service("empty", ports=[{"port": 80}]),
             {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "empty", "namespace": "shop"}}])
    assert c.kubectl("get ep -n shop") == (
        "NAME     ENDPOINTS                                                     AGE\n"
        "empty    <none>                                                        0s\n"
        "legacy   192.0.2.10:8080,192.0.2.11:8080,192.0.2.10:9090 + 1 more...   0s\n"
    )


def test_get_endpointslices_lists_address_type_ports_and_endpoints(shop):
    shop.apply(service("web", selector={"app": "web"}, ports=[{"port": 80, "targetPort": "http"}]))
    shop.apply({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "legacy-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "legacy"}},
                "addressType": "IPv4",
                "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 443}, {"name": "c", "port": 8080},
                          {"name": "d", "port": 9090}],
                "endpoints": [{"addresses": [f"192.0.2.{i}"]} for i in range(1, 6)]})
    shop.apply({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": "legacy-2", "namespace": "shop"}, "addressType": "IPv4"})
    shop.run()
    [managed] = shop.get("endpointslices", namespace="shop", selector="kubernetes.io/service-name=web")
    name = managed["metadata"]["name"]
    assert name.startswith("web-") and len(name) == len("web-abcde")
    listed = ",".join(e["addresses"][0] for e in managed["endpoints"])
    assert sorted(listed.split(",")) == pod_ips(shop)
    assert shop.kubectl("get endpointslices -n shop") == (
        "NAME        ADDRESSTYPE   PORTS                     ENDPOINTS                                   AGE\n"
        "legacy-1    IPv4          80,443,8080 + 1 more...   192.0.2.1,192.0.2.2,192.0.2.3 + 2 more...   0s\n"
        "legacy-2    IPv4          <unset>                   <unset>                                     0s\n"
        f"{name}   IPv4          8080                      {listed:<41}   0s\n"
    )


# -- kubectl get ingress -----------------------------------------------------------------------


def ingress(name, namespace="shop", **spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


def rule(host=None, service_name="web", port=80, path="/"):
    r = {"http": {"paths": [{"path": path, "pathType": "Prefix",
                             "backend": {"service": {"name": service_name, "port": {"number": port}}}}]}}
    if host:
        r["host"] = host
    return r


def test_get_ingress_shows_class_hosts_address_and_ports(c):
    c.apply([
        ingress("shop", ingressClassName="nginx", tls=[{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
                rules=[rule("shop.example.com"), rule("www.example.com")]),
        ingress("catchall", defaultBackend={"service": {"name": "web", "port": {"number": 80}}}),
        ingress("many", ingressClassName="nginx",
                rules=[rule("a.example.com"), rule(), rule("b.example.com"), rule("c.example.com"), rule("d.example.com")]),
    ])
    # the ingress controller publishes its address
    admin = c.api.client("ingress-nginx-controller")
    ing = admin.get("ingresses.networking.k8s.io", "shop", "shop")
    ing["status"] = {"loadBalancer": {"ingress": [{"hostname": "k8s-shop-ingress-1234567890.elb.example.com"}]}}
    admin.update_status(ing)
    assert c.kubectl("get ingress -n shop") == (
        "NAME       CLASS    HOSTS                                                   ADDRESS            PORTS     AGE\n"
        "catchall   <none>   *                                                                          80        0s\n"
        "many       nginx    a.example.com,b.example.com,c.example.com + 2 more...                      80        0s\n"
        "shop       nginx    shop.example.com,www.example.com                        k8s-shop-ingr...   80, 443   0s\n"
    )
    wide = c.kubectl("get ingress shop -n shop -o wide")
    assert "k8s-shop-ingress-1234567890.elb.example.com" in wide


def test_hosts_cell_counts_every_rule_past_the_third():
    rules = [{"host": "a"}, {}, {"host": "b"}, {"host": "c"}]
    assert format_hosts(rules) == "a,b,c"  # the rule without a host filled no place
    assert format_hosts([{"host": "a"}, {"host": "b"}, {"host": "c"}, {}]) == "a,b,c + 1 more..."
    assert format_hosts([{}]) == "*"


def test_get_ingressclass_shows_controller_and_parameters(c):
    c.apply({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
             "spec": {"controller": "k8s.io/ingress-nginx",
                      "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}})
    assert c.kubectl("get ingressclass") == (
        "NAME    CONTROLLER             PARAMETERS                                      AGE\n"
        "nginx   k8s.io/ingress-nginx   IngressParameters.k8s.example.com/external-lb   0s\n"
    )


# -- kubectl describe service ------------------------------------------------------------------


def test_describe_service_lists_ports_and_ready_endpoints(shop):
    shop.apply(service("web", type="NodePort", selector={"app": "web"},
                       ports=[{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080},
                              {"name": "metrics", "port": 9090, "nodePort": 30090}]))
    shop.run()
    svc = shop.get("service", "web", namespace="shop")
    ip = svc["spec"]["clusterIP"]
    a, b, c_ = pod_ips(shop)
    assert shop.kubectl("describe svc web -n shop") == (
        "Name:                     web\n"
        "Namespace:                shop\n"
        "Labels:                   <none>\n"
        "Annotations:              <none>\n"
        "Selector:                 app=web\n"
        "Type:                     NodePort\n"
        "IP Family Policy:         SingleStack\n"
        "IP Families:              IPv4\n"
        f"IP:                       {ip}\n"
        f"IPs:                      {ip}\n"
        "Port:                     http  80/TCP\n"
        "TargetPort:               http/TCP\n"
        "NodePort:                 http  30080/TCP\n"
        f"Endpoints:                {a}:8080,{b}:8080,{c_}:8080\n"
        "Port:                     metrics  9090/TCP\n"
        "TargetPort:               9090/TCP\n"
        "NodePort:                 metrics  30090/TCP\n"
        # a numeric target port needs no matching container port
        f"Endpoints:                {a}:9090,{b}:9090,{c_}:9090\n"
        "Session Affinity:         None\n"
        "External Traffic Policy:  Cluster\n"
        "Events:                   <none>\n"
    )
    # kubectl v1.30 has no "Internal Traffic Policy" line, though the field is set
    assert svc["spec"]["internalTrafficPolicy"] == "Cluster"


def test_describe_service_of_a_load_balancer_shows_its_ingress_and_the_cloud_events(shop):
    shop.apply(service("web", type="LoadBalancer", selector={"app": "web"}, loadBalancerIP="203.0.113.50",
                       externalTrafficPolicy="Local", ports=[{"port": 80, "targetPort": 8080}]))
    shop.run()
    svc = shop.get("service", "web", namespace="shop")
    lines = shop.kubectl("describe service web -n shop").splitlines()
    ip = svc["spec"]["clusterIP"]
    port = svc["spec"]["ports"][0]["nodePort"]
    health = svc["spec"]["healthCheckNodePort"]
    assert lines[8:] == [
        f"IP:                       {ip}",
        f"IPs:                      {ip}",
        "IP:                       203.0.113.50",  # v1.30 prints spec.loadBalancerIP as a second "IP:"
        "LoadBalancer Ingress:     203.0.113.1",
        "Port:                     <unset>  80/TCP",
        "TargetPort:               8080/TCP",
        f"NodePort:                 <unset>  {port}/TCP",
        "Endpoints:                " + ",".join(f"{ip_}:8080" for ip_ in pod_ips(shop)),
        "Session Affinity:         None",
        "External Traffic Policy:  Local",
        f"HealthCheck NodePort:     {health}",
        "Events:",
        "  Type    Reason                Age   From                   Message",
        "  ----    ------                ----  ----                   -------",
        "  Normal  EnsuringLoadBalancer  3s    service-lb-controller  Ensuring load balancer",
        "  Normal  EnsuredLoadBalancer   0s    service-lb-controller  Ensured load balancer",
    ]


def test_describe_service_lists_no_endpoint_while_no_pod_is_ready(c):
    # nothing listens on 9999: the readiness probe fails and the pods never become ready
    c.apply(WEB.replace("        - {name: http, containerPort: 8080}\n",
                        "        - {name: http, containerPort: 8080}\n"
                        "        readinessProbe: {tcpSocket: {port: 9999}, periodSeconds: 5}\n"))
    c.apply([service("web", selector={"app": "web"}, ports=[{"port": 80, "targetPort": "http"}]),
             service("lonely", selector={"app": "nobody"}, ports=[{"port": 80}])])
    c.run(seconds=30)
    assert all(p["status"]["phase"] == "Running" for p in c.get("pods", namespace="shop"))
    # a subset of not-ready addresses only prints as nothing; no subset at all as <none>
    assert "\nEndpoints:         \n" in c.kubectl("describe svc web -n shop")
    assert "\nEndpoints:         <none>\n" in c.kubectl("describe svc lonely -n shop")
    assert c.kubectl("describe ep web -n shop").splitlines()[4:6] == [
        "Subsets:", "  Addresses:          <none>"]


def test_describe_service_without_endpoints_object_reads_its_endpointslices(c):
    c.apply([service("ext", ports=[{"name": "https", "port": 443}]),
             {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": "ext-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "ext"}},
              "addressType": "IPv4", "ports": [{"name": "https", "port": 8443}],
              "endpoints": [{"addresses": ["192.0.2.1"], "conditions": {"ready": True}},
                            {"addresses": ["192.0.2.2"], "conditions": {"ready": False}},
                            {"addresses": ["192.0.2.3"]}]}])
    out = c.kubectl("describe svc ext -n shop")
    assert "Endpoints:         192.0.2.1:8443,192.0.2.3:8443\n" in out


# -- kubectl describe endpoints / endpointslice ------------------------------------------------


def test_describe_endpoints_lists_each_subset(c):
    c.apply([service("legacy", ports=[{"port": 80}]),
             {"apiVersion": "v1", "kind": "Endpoints",
              "metadata": {"name": "legacy", "namespace": "shop", "labels": {"team": "a"}},
              "subsets": [{"addresses": [{"ip": "192.0.2.10"}, {"ip": "192.0.2.11"}],
                           "notReadyAddresses": [{"ip": "192.0.2.12"}],
                           "ports": [{"port": 8080}, {"name": "admin", "port": 9090, "protocol": "UDP"}]}]}])
    assert c.kubectl("describe endpoints legacy -n shop") == (
        "Name:         legacy\n"
        "Namespace:    shop\n"
        "Labels:       team=a\n"
        "Annotations:  <none>\n"
        "Subsets:\n"
        "  Addresses:          192.0.2.10,192.0.2.11\n"
        "  NotReadyAddresses:  192.0.2.12\n"
        "  Ports:\n"
        "    Name     Port  Protocol\n"
        "    ----     ----  --------\n"
        "    <unset>  8080  TCP\n"
        "    admin    9090  UDP\n"
        "\n"
        "Events:  <none>\n"
    )


def test_describe_endpointslice_lists_ports_and_each_endpoint(shop):
    shop.apply(service("web", selector={"app": "web"}, ports=[{"port": 80, "targetPort": "http"}]))
    shop.run()
    [eps] = shop.get("endpointslices", namespace="shop", selector="kubernetes.io/service-name=web")
    pods = {p["metadata"]["name"]: p for p in shop.get("pods", namespace="shop")}
    text = shop.kubectl(f"describe endpointslice {eps['metadata']['name']} -n shop")
    head = (
        f"Name:         {eps['metadata']['name']}\n"
        "Namespace:    shop\n"
        "Labels:       endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io\n"
        "              kubernetes.io/service-name=web\n"
        "Annotations:  <none>\n"
        "AddressType:  IPv4\n"
        "Ports:\n"
        "  Name     Port  Protocol\n"
        "  ----     ----  --------\n"
        "  <unset>  8080  TCP\n"
        "Endpoints:\n"
    )
    assert text.startswith(head)
    body = "".join(
        f"  - Addresses:  {e['addresses'][0]}\n"
        "    Conditions:\n"
        "      Ready:    true\n"
        "    Hostname:   <unset>\n"
        f"    TargetRef:  Pod/{e['targetRef']['name']}\n"
        f"    NodeName:   {pods[e['targetRef']['name']]['spec']['nodeName']}\n"
        "    Zone:       <unset>\n"
        for e in eps["endpoints"]
    )
    assert text == head + body + "Events:         <none>\n"
    assert len(eps["endpoints"]) == 3


def test_describe_endpointslice_without_ports_or_endpoints():
    from datetime import datetime, timezone

    from k8slab.kubectl.describe import Context
    from k8slab.kubectl.describe_network import describe_endpointslice

    eps = {"metadata": {"name": "empty", "namespace": "shop"}, "addressType": "IPv6"}
    assert describe_endpointslice(eps, Context(None, datetime(2025, 1, 1, tzinfo=timezone.utc))) == (
        "Name:         empty\n"
        "Namespace:    shop\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "AddressType:  IPv6\n"
        "Ports: <unset>\n"
        "Endpoints: <none>\n"
        "Events:  <none>\n"
    )


# -- kubectl describe ingress ------------------------------------------------------------------


def test_describe_ingress_shows_rules_with_the_backends_endpoints(shop):
    shop.apply(service("web", selector={"app": "web"}, ports=[{"name": "http", "port": 80, "targetPort": "http"}]))
    shop.apply(ingress("shop", ingressClassName="nginx",
                       tls=[{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
                       rules=[{"host": "shop.example.com", "http": {"paths": [
                           {"path": "/", "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
                           {"path": "/api", "pathType": "Prefix",
                            "backend": {"service": {"name": "api", "port": {"number": 8080}}}}]}},
                           rule(None, "web", 80, "/static")]))
    shop.run()
    eps = ",".join(f"{ip}:8080" for ip in pod_ips(shop))
    assert shop.kubectl("describe ingress shop -n shop") == (
        "Name:             shop\n"
        "Labels:           <none>\n"
        "Namespace:        shop\n"
        "Address:          \n"
        "Ingress Class:    nginx\n"
        "Default backend:  <default>\n"
        "TLS:\n"
        "  shop-tls terminates shop.example.com\n"
        "Rules:\n"
        "  Host              Path  Backends\n"
        "  ----              ----  --------\n"
        "  shop.example.com  \n"
        f"                    /      web:http ({eps})\n"
        '                    /api   api:8080 (<error: endpoints "api" not found>)\n'
        "  *                 \n"
        f"                    /static   web:80 ({eps})\n"
        "Annotations:        <none>\n"
        "Events:             <none>\n"
    )


def test_describe_ingress_with_only_a_default_backend(c):
    c.apply(ingress("catchall", defaultBackend={"resource": {"apiGroup": "k8s.example.com", "kind": "StorageBucket",
                                                             "name": "static-assets"}}))
    assert c.kubectl("describe ing catchall -n shop") == (
        "Name:             catchall\n"
        "Labels:           <none>\n"
        "Namespace:        shop\n"
        "Address:          \n"
        "Ingress Class:    <none>\n"
        "Default backend:  APIGroup: k8s.example.com, Kind: StorageBucket, Name: static-assets\n"
        "Rules:\n"
        "  Host        Path  Backends\n"
        "  ----        ----  --------\n"
        "  *           *     APIGroup: k8s.example.com, Kind: StorageBucket, Name: static-assets\n"
        "Annotations:  <none>\n"
        "Events:       <none>\n"
    )


# -- kubectl expose ----------------------------------------------------------------------------


def test_expose_deployment_creates_a_service_selecting_its_pods(shop):
    assert shop.kubectl("expose deployment web -n shop --port=80 --target-port=8080 --type=NodePort") == (
        "service/web exposed\n"
    )
    svc = shop.get("service", "web", namespace="shop")
    assert svc["spec"]["selector"] == {"app": "web"}
    assert svc["metadata"]["labels"] == {"app": "web"}
    [port] = svc["spec"]["ports"]
    assert (port["port"], port["targetPort"], port["protocol"], "name" in port) == (80, 8080, "TCP", False)
    assert 30000 <= port["nodePort"] <= 32767
    shop.run()
    assert shop.kubectl("get ep web -n shop").splitlines()[1].split()[1] == ",".join(
        f"{ip}:8080" for ip in pod_ips(shop))


def test_expose_client_dry_run_prints_the_service_kubectl_would_send(shop):
    assert shop.kubectl("expose deploy web -n shop --port=80 --target-port=8080 --dry-run=client -o yaml") == (
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata:\n"
        "  creationTimestamp: null\n"
        "  labels:\n"
        "    app: web\n"
        "  name: web\n"
        "  namespace: shop\n"
        "spec:\n"
        "  ports:\n"
        "  - port: 80\n"
        "    protocol: TCP\n"
        "    targetPort: 8080\n"
        "  selector:\n"
        "    app: web\n"
        "status:\n"
        "  loadBalancer: {}\n"
    )
    # JSON of a Service kubectl built itself keeps Go's field order
    assert json.loads(shop.kubectl("expose deploy web -n shop --dry-run=client -o json"))["spec"] == {
        "ports": [{"protocol": "TCP", "port": 8080, "targetPort": 8080}], "selector": {"app": "web"}}
    assert shop.kubectl("expose deploy web -n shop --dry-run=client -o json").startswith(
        '{\n    "kind": "Service",\n    "apiVersion": "v1",\n    "metadata": {\n        "name": "web",\n'
        '        "namespace": "shop",\n        "creationTimestamp": null,\n')
    assert shop.kubectl("expose deploy web -n shop --dry-run=client") == "service/web exposed (dry run)\n"
    assert shop.get("services", namespace="shop") == []


def test_expose_server_dry_run_is_checked_and_defaulted_but_not_stored(shop):
    assert shop.kubectl("expose deploy web -n shop --dry-run=server") == "service/web exposed (server dry run)\n"
    out = shop.kubectl("expose deploy web -n shop --type=NodePort --dry-run=server -o yaml")
    assert "  type: NodePort\n" in out and "  sessionAffinity: None\n" in out and "  - nodePort: 3" in out
    assert shop.get("services", namespace="shop") == []


def test_expose_takes_the_port_from_the_containers_when_none_is_given(shop):
    assert shop.kubectl("expose deployment web -n shop") == "service/web exposed\n"
    [port] = shop.get("service", "web", namespace="shop")["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (8080, 8080)


def test_expose_names_ports_when_it_copies_several(c):
    c.apply("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: dns, namespace: shop}
spec:
  replicas: 0
  selector: {matchLabels: {app: dns}}
  template:
    metadata: {labels: {app: dns}}
    spec:
      containers:
      - name: coredns
        image: registry.k8s.io/coredns/coredns:v1.11.1
        ports:
        - {containerPort: 53, protocol: UDP}
        - {containerPort: 53, protocol: TCP}
        - {containerPort: 9153}
""")
    spec = json.loads(c.kubectl("expose deploy dns -n shop --dry-run=client -o json"))["spec"]
    assert spec["ports"] == [
        {"name": "port-1-udp", "protocol": "UDP", "port": 53, "targetPort": 53},
        {"name": "port-1-tcp", "protocol": "TCP", "port": 53, "targetPort": 53},
        {"name": "port-2", "protocol": "TCP", "port": 9153, "targetPort": 9153},
    ]
    # a deployment with no labels of its own gives the Service none
    assert "labels" not in json.loads(c.kubectl("expose deploy dns -n shop --dry-run=client -o json"))["metadata"]
    # --protocol overrides what the containers declare
    spec = json.loads(c.kubectl("expose deploy dns -n shop --protocol=SCTP --dry-run=client -o json"))["spec"]
    assert [(p["name"], p["protocol"]) for p in spec["ports"]] == [("port-1", "SCTP"), ("port-2", "SCTP")]


def test_expose_errors_are_kubectls(c):
    c.apply("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: noport, namespace: shop}
spec:
  replicas: 0
  selector: {matchLabels: {app: noport}}
  template:
    metadata: {labels: {app: noport}}
    spec: {containers: [{name: c, image: nginx:1.27}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: expr, namespace: shop}
spec:
  replicas: 0
  selector:
    matchLabels: {app: expr}
    matchExpressions: [{key: env, operator: In, values: [prod, qa]}]
  template:
    metadata: {labels: {app: expr, env: prod}}
    spec: {containers: [{name: c, image: nginx:1.27, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast}
""")

    def err(cmd):
        r = c.kubectl(cmd)
        assert r.returncode == 1 and r.stdout == ""
        return r.stderr

    assert err("expose deploy noport -n shop") == "error: couldn't find port via --port flag or introspection\n"
    assert err("expose deploy expr -n shop") == (
        "error: couldn't retrieve selectors via --selector flag or introspection: couldn't convert expressions - "
        '"[{Key:env Operator:In Values:[prod qa]}]" to map-based selector format\n')
    assert err("expose configmap settings -n shop --port=80") == "error: cannot expose a ConfigMap\n"
    assert err("expose deploy nope -n shop") == 'Error from server (NotFound): deployments.apps "nope" not found\n'
    assert err("expose deploy -n shop") == "error: resource(s) were provided, but no name was specified\n"
    assert err("expose deploy noport -n shop --port=http") == 'error: strconv.Atoi: parsing "http": invalid syntax\n'
    assert err("expose deploy noport -n shop --port=80 --selector=app") == "error: unexpected label spec: app\n"
    assert err("expose deploy noport -n shop --port=80 --session-affinity=Sticky") == (
        "error: unknown session affinity: Sticky\n")
    assert err("expose deploy noport -n shop --port=80 --dry-run") == (
        'error: --dry-run flag without a value was specified. A value must be set: "none", "server", or "client".\n')
    assert err("expose deploy noport -n shop --port=80 --dry-run=maybe") == (
        'error: Invalid dry-run value (maybe). Must be "none", "server", or "client".\n')
    assert err("expose deploy noport -n shop --port=80 --type=Public") == (
        'The Service "noport" is invalid: spec.type: Unsupported value: "Public": supported values: '
        '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"\n')
    # with --selector given, a set-based selector on the Deployment no longer matters
    assert c.kubectl("expose deploy expr -n shop --selector=app=expr,env=prod") == "service/expr exposed\n"
    assert c.get("service", "expr", namespace="shop")["spec"]["selector"] == {"app": "expr", "env": "prod"}


def test_expose_a_pod_selects_by_all_its_labels(shop):
    pod = sorted(p["metadata"]["name"] for p in shop.get("pods", namespace="shop"))[0]
    pod_hash = shop.get("pod", pod, namespace="shop")["metadata"]["labels"]["pod-template-hash"]
    assert shop.kubectl(f"expose pod {pod} -n shop --port=80 --target-port=http --name=one") == "service/one exposed\n"
    svc = shop.get("service", "one", namespace="shop")
    assert svc["spec"]["selector"] == {"app": "web", "pod-template-hash": pod_hash}
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    shop.run()
    # every pod of the ReplicaSet carries the same hash, so the Service selects them all
    eps = ",".join(f"{ip}:8080" for ip in pod_ips(shop))
    assert f"\nEndpoints:         {eps}\n" in shop.kubectl("describe svc one -n shop")


def test_expose_a_service_copies_its_selector_and_ports(shop):
    shop.apply(service("web", selector={"app": "web"}, ports=[{"port": 80, "targetPort": 8080}]))
    assert shop.kubectl("expose svc web -n shop --name=web-lb --type=LoadBalancer -l tier=edge") == (
        "service/web-lb exposed\n")
    svc = shop.get("service", "web-lb", namespace="shop")
    assert (svc["spec"]["selector"], svc["metadata"]["labels"], svc["spec"]["type"]) == (
        {"app": "web"}, {"tier": "edge"}, "LoadBalancer")
    # the new Service's port is the old one's port, and so is its target (not the old target)
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(80, 80)]
    assert shop.kubectl("expose svc web -n shop --name=web2 -o name") == "service/web2\n"


def test_expose_headless_needs_no_port(c):
    c.apply("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop, labels: {app: db}}
spec:
  replicas: 0
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: nginx:1.27}]}
""")
    assert c.kubectl("expose deploy db -n shop --cluster-ip=None") == "service/db exposed\n"
    assert c.kubectl("get svc db -n shop") == (
        "NAME   TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\n"
        "db     ClusterIP   None         <none>        <none>    0s\n"
    )


def test_expose_save_config_and_overrides(shop):
    out = shop.kubectl("""expose deploy web -n shop --port=80 --save-config --overrides='{"spec":{"sessionAffinity":"ClientIP"}}' -o json""")
    svc = json.loads(out)
    assert svc["spec"]["sessionAffinity"] == "ClientIP"
    applied = svc["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert applied.endswith("}\n")
    assert json.loads(applied)["spec"] == {"ports": [{"protocol": "TCP", "port": 80, "targetPort": 80}],
                                           "selector": {"app": "web"}, "sessionAffinity": "ClientIP"}


def test_expose_from_a_manifest_file(shop, tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text(WEB.replace("  namespace: shop\n", ""))
    assert shop.kubectl(f"expose -f {path} -n shop --port=80 --target-port=http") == "service/web exposed\n"
    assert shop.get("service", "web", namespace="shop")["spec"]["ports"][0]["targetPort"] == "http"


def test_expose_cuts_a_long_default_name_to_63_characters(c):
    long = "a-very-long-deployment-name-that-goes-on-and-on-and-on-past-the-limit"
    c.apply(f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {long}, namespace: shop}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: long}}}}
  template:
    metadata: {{labels: {{app: long}}}}
    spec: {{containers: [{{name: c, image: nginx:1.27, ports: [{{containerPort: 80}}]}}]}}
""")
    assert len(long) > 63
    assert c.kubectl(f"expose deploy {long} -n shop") == f"service/{long[:63]} exposed\n"


# -- formatting details ------------------------------------------------------------------------


def test_endpoints_cell_puts_ipv6_addresses_in_brackets():
    ep = {"subsets": [{"addresses": [{"ip": "fd00::5"}], "ports": [{"name": "", "port": 80}]}]}
    assert format_endpoints(ep) == "[fd00::5]:80"
    assert format_endpoints({"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"name": "a", "port": 1}]}]},
                            {"b"}) == ""
    assert format_endpoints({}) == "<none>"
