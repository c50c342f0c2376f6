"""curl through ingress-nginx: the Host header picks the virtual host; an unreachable upstream is a 502."""

import k8slab

SHOP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
      - {name: web, image: "hashicorp/http-echo:1.0", args: ["-text=shop"], ports: [{containerPort: 5678}]}
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec: {selector: {app: shop}, ports: [{port: 80, targetPort: 5678}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
  - host: shop.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: shop, port: {number: 80}}}}]}
"""


def test_host_header_selects_the_ingress_rule_from_outside_and_from_a_pod():
    c = k8slab.Cluster(workers=2, seed=0)
    c.install("ingress-nginx")
    c.apply(SHOP)
    c.kubectl("run client --image=curlimages/curl:8.8.0 -- sleep 3600")
    c.run()
    lb = c.get("service", "ingress-nginx-controller", namespace="ingress-nginx")["status"]["loadBalancer"][
        "ingress"][0]["ip"]
    without = c.curl(f"http://{lb}/", from_outside=True)
    assert without.status == 404  # no rule for the bare IP: the controller's default backend
    with_host = c.curl(f"http://{lb}/", from_outside=True, headers={"host": "shop.example.com"})
    assert (with_host.status, with_host.body) == (200, "shop\n")
    assert c.kubectl(f"exec client -- curl -s -H 'Host: shop.example.com' http://{lb}/") == "shop\n"
    assert "404" in c.kubectl(f"exec client -- curl -s http://{lb}/")


def test_an_upstream_that_refuses_the_connection_is_nginxs_502():
    c = k8slab.Cluster(workers=2, seed=0)
    c.install("ingress-nginx")
    c.apply(SHOP.replace("targetPort: 5678", "targetPort: 8080"))  # nothing listens on 8080
    c.run()
    resp = c.curl("http://shop.example.com/", from_outside=True)
    assert (resp.status, resp.reason) == (502, "Bad Gateway")
    assert "<title>502 Bad Gateway</title>" in resp.body
    assert resp.hops[-1].kind == "ingress" and "failed" in resp.hops[-1].text and "(502)" in resp.hops[-1].text


def test_busybox_wget_sends_its_header_option():
    c = k8slab.Cluster(workers=2, seed=0)
    c.install("ingress-nginx")
    c.apply(SHOP)
    c.kubectl("run box --image=busybox:1.36 -- sleep 3600")
    c.run()
    lb = c.get("service", "ingress-nginx-controller", namespace="ingress-nginx")["status"]["loadBalancer"][
        "ingress"][0]["ip"]
    assert c.kubectl(f"exec box -- wget -q -O - --header 'Host: shop.example.com' http://{lb}/") == "shop\n"
