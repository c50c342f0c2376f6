"""``kubectl describe`` for Services, Endpoints, EndpointSlices, Ingresses and IngressClasses.

The layouts are kubectl v1.30's (``staging/src/k8s.io/kubectl/pkg/describe/describe.go``).
In that version the ``Endpoints:`` line of a Service, and the addresses after each
Ingress backend, come from the legacy ``Endpoints`` object of the same name as
the Service: its ready ``ip:port`` pairs for that port's name, three at most,
then ``+ N more...``. A backend whose Endpoints object is missing shows
kubectl's ``(<error: endpoints "web" not found>)``.

v1.30 also prints a LoadBalancer Service's ``spec.loadBalancerIP`` as a second
``IP:`` line and has no ``Internal Traffic Policy`` line (both changed in v1.31).

k8slab simplifies: where a Service has no Endpoints object at all but has
EndpointSlices, the addresses come from the ready endpoints of its slices, as
kubectl v1.31 and later read them.

Example
-------
>>> from datetime import datetime, timezone
>>> eps = {"metadata": {"name": "web-abcde", "namespace": "default"}, "addressType": "IPv4",
...        "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
...        "endpoints": [{"addresses": ["10.244.1.2"], "conditions": {"ready": True},
...                       "nodeName": "worker-1", "targetRef": {"kind": "Pod", "name": "web-1"}}]}
>>> print(describe_endpointslice(eps, Context(None, datetime(2025, 1, 1, tzinfo=timezone.utc))), end="")
Name:         web-abcde
Namespace:    default
Labels:       <none>
Annotations:  <none>
AddressType:  IPv4
Ports:
  Name     Port  Protocol
  ----     ----  --------
  <unset>  8080  TCP
Endpoints:
  - Addresses:  10.244.1.2
    Conditions:
      Ready:    true
    Hostname:   <unset>
    TargetRef:  Pod/web-1
    NodeName:   worker-1
    Zone:       <unset>
Events:         <none>
"""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.kubectl.describe import (
    Context,
    Writer,
    annotations_multiline,
    go_bool,
    labels_multiline,
    with_events,
    write_object_meta,
)
from k8slab.kubectl.rows_network import (
    MAX_LISTED,
    format_endpoints,
    host_port,
    load_balancer_addresses,
)
from k8slab.kubectl.selectors import format_labels

LABEL_SERVICE_NAME = "kubernetes.io/service-name"



# -- where a Service's endpoints are read from ------------------------------------------------


def format_endpoint_slices(slices: list[dict], ports: set[str] | None) -> str:
    """Ready ``ip:port`` pairs of a Service's EndpointSlices (kubectl v1.31's ``formatEndpointSlices``)."""
    if not slices:
        return "<none>"
    listed: list[str] = []
    count = 0
    more = False
    for s in slices:
        ready = [e for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready") is not False]
        slice_ports = s.get("ports") or []
        pairs: list[str] = []
        if not slice_ports:
            pairs = [(e.get("addresses") or [""])[0] for e in ready]
        for port in slice_ports:
            if ports is None or (port.get("name") or "") in ports:
                pairs.extend(host_port((e.get("addresses") or [""])[0], port.get("port")) for e in ready)
        for pair in pairs:
            if len(listed) == MAX_LISTED:
                more = True
            if not more:
                listed.append(pair)
            count += 1
    text = ",".join(listed)
    return f"{text} + {count - MAX_LISTED} more..." if more else text


def service_endpoints(ctx: Context, namespace: str, name: str, port_name: str) -> str:
    """The ``Endpoints:`` text of one Service port (see the module docstring for the source)."""
    endpoints = ctx.get("endpoints", name, namespace)
    if endpoints is None:
        slices = _slices_of(ctx, namespace, name)
        if slices:
            return format_endpoint_slices(slices, {port_name})
    return format_endpoints(endpoints, {port_name})


def _slices_of(ctx: Context, namespace: str, name: str) -> list[dict]:
    slices = ctx.list("endpointslices", namespace, label_selector=f"{LABEL_SERVICE_NAME}={name}")
    return sorted(slices, key=lambda s: (s.get("metadata") or {}).get("name", ""))


# -- Service --------------------------------------------------------------------------------


def _ingress_points(svc: dict) -> str:
    # buildIngressString: every ingress point in order, its IP or else its hostname
    points = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return ", ".join(p.get("ip") or p.get("hostname") or "" for p in points)


def _target_port(value) -> str:
    # an unset IntOrString is the integer 0
    return "0" if value is None else str(value)


def describe_service(svc: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    name, namespace = meta.get("name", ""), meta.get("namespace", "")
    write_object_meta(w, meta)
    w.write(0, f"Selector:\t{format_labels(spec.get('selector'))}\n")
    w.write(0, f"Type:\t{spec.get('type', '')}\n")
    if spec.get("ipFamilyPolicy"):
        w.write(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    w.write(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or []) or '<none>'}\n")
    w.write(0, f"IP:\t{spec.get('clusterIP', '')}\n")
    w.write(0, f"IPs:\t{','.join(spec.get('clusterIPs') or []) or '<none>'}\n")
    if spec.get("externalIPs"):
        w.write(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if spec.get("loadBalancerIP"):
        w.write(0, f"IP:\t{spec['loadBalancerIP']}\n")
    if spec.get("externalName"):
        w.write(0, f"External Name:\t{spec['externalName']}\n")
    if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
        w.write(0, f"LoadBalancer Ingress:\t{_ingress_points(svc)}\n")
    for p in spec.get("ports") or []:
        port_name = p.get("name") or ""
        shown = port_name or "<unset>"
        proto = p.get("protocol", "")
        w.write(0, f"Port:\t{shown}\t{p.get('port')}/{proto}\n")
        w.write(0, f"TargetPort:\t{_target_port(p.get('targetPort'))}/{proto}\n")
        if p.get("nodePort"):
            w.write(0, f"NodePort:\t{shown}\t{p['nodePort']}/{proto}\n")
        w.write(0, f"Endpoints:\t{service_endpoints(ctx, namespace, name, port_name)}\n")
    w.write(0, f"Session Affinity:\t{spec.get('sessionAffinity', '')}\n")
    if spec.get("externalTrafficPolicy"):
        w.write(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("healthCheckNodePort"):
        w.write(0, f"HealthCheck NodePort:\t{spec['healthCheckNodePort']}\n")
    if spec.get("loadBalancerSourceRanges"):
        w.write(0, f"LoadBalancer Source Ranges:\t{','.join(spec['loadBalancerSourceRanges'])}\n")
    return with_events(w, ctx, svc)


# -- Endpoints ------------------------------------------------------------------------------


def describe_endpoints(ep: dict, ctx: Context) -> str:
    w = Writer()
    meta = ep.get("metadata") or {}
    write_object_meta(w, meta)
    w.write(0, "Subsets:\n")
    for subset in ep.get("subsets") or []:
        ready = ",".join(a.get("ip", "") for a in subset.get("addresses") or [])
        not_ready = ",".join(a.get("ip", "") for a in subset.get("notReadyAddresses") or [])
        w.write(1, f"Addresses:\t{ready or '<none>'}\n")
        w.write(1, f"NotReadyAddresses:\t{not_ready or '<none>'}\n")
        if subset.get("ports"):
            w.write(1, "Ports:\n")
            w.write(2, "Name\tPort\tProtocol\n")
            w.write(2, "----\t----\t--------\n")
            for port in subset["ports"]:
                w.write(2, f"{port.get('name') or '<unset>'}\t{port.get('port', 0)}\t{port.get('protocol', '')}\n")
        w.write(0, "\n")
    return with_events(w, ctx, ep)


# -- EndpointSlice --------------------------------------------------------------------------


def describe_endpointslice(eps: dict, ctx: Context) -> str:
    w = Writer()
    meta = eps.get("metadata") or {}
    write_object_meta(w, meta)
    w.write(0, f"AddressType:\t{eps.get('addressType', '')}\n")
    ports = eps.get("ports") or []
    if not ports:
        w.write(0, "Ports: <unset>\n")
    else:
        w.write(0, "Ports:\n")
        w.write(1, "Name\tPort\tProtocol\n")
        w.write(1, "----\t----\t--------\n")
        for port in ports:
            number = "<unset>" if port.get("port") is None else str(port["port"])
            w.write(1, f"{port.get('name') or '<unset>'}\t{number}\t{port.get('protocol', '')}\n")
    endpoints = eps.get("endpoints") or []
    if not endpoints:
        w.write(0, "Endpoints: <none>\n")
    else:
        w.write(0, "Endpoints:\n")
        for e in endpoints:
            w.write(1, f"- Addresses:\t{', '.join(e.get('addresses') or []) or '<none>'}\n")
            w.write(2, "Conditions:\n")
            ready = (e.get("conditions") or {}).get("ready")
            w.write(3, f"Ready:\t{'<unset>' if ready is None else go_bool(ready)}\n")
            w.write(2, f"Hostname:\t{e.get('hostname') if e.get('hostname') is not None else '<unset>'}\n")
            ref = e.get("targetRef")
            if ref is not None:
                w.write(2, f"TargetRef:\t{ref.get('kind', '')}/{ref.get('name', '')}\n")
            w.write(2, f"NodeName:\t{e.get('nodeName') if e.get('nodeName') is not None else '<unset>'}\n")
            w.write(2, f"Zone:\t{e.get('zone') if e.get('zone') is not None else '<unset>'}\n")
    return with_events(w, ctx, eps)


# -- Ingress --------------------------------------------------------------------------------


def _service_backend(backend: dict) -> str:
    # serviceBackendStringer: name:number, or name:portName when no number is set
    port = backend.get("port") or {}
    return f"{backend.get('name', '')}:{port.get('number') or port.get('name', '')}"


def _describe_backend(ctx: Context, namespace: str, backend: dict) -> str:
    service = backend.get("service")
    if service is not None:
        text = _service_backend(service)
        if ctx.client is None:
            return text
        try:
            endpoints = ctx.client.get("endpoints", service.get("name", ""), namespace)
        except ApiError as e:
            slices = _slices_of(ctx, namespace, service.get("name", ""))
            if e.code != 404 or not slices:
                return f"{text} (<error: {e.message}>)"
            endpoints = None
        try:
            svc = ctx.client.get("services", service.get("name", ""), namespace)
        except ApiError as e:
            return f"{text} (<error: {e.message}>)"
        wanted = service.get("port") or {}
        port_name = ""
        for p in (svc.get("spec") or {}).get("ports") or []:
            if wanted.get("number") and wanted.get("number") == p.get("port"):
                port_name = p.get("name") or ""
            elif wanted.get("name") and wanted.get("name") == p.get("name"):
                port_name = p.get("name") or ""
        if endpoints is None:
            addresses = format_endpoint_slices(_slices_of(ctx, namespace, service.get("name", "")), {port_name})
        else:
            addresses = format_endpoints(endpoints, {port_name})
        return f"{text} ({addresses})"
    resource = backend.get("resource")
    if resource is not None:
        group = resource.get("apiGroup")
        return f"APIGroup: {'<none>' if group is None else group}, Kind: {resource.get('kind', '')}, Name: {resource.get('name', '')}"
    return ""


def describe_ingress(ing: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec = ing.get("metadata") or {}, ing.get("spec") or {}
    namespace = meta.get("namespace", "")
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    w.write(0, f"Namespace:\t{namespace}\n")
    w.write(0, f"Address:\t{load_balancer_addresses(ing.get('status'), True)}\n")
    w.write(0, f"Ingress Class:\t{spec.get('ingressClassName') or '<none>'}\n")
    default = spec.get("defaultBackend")
    default_text = _describe_backend(ctx, namespace, default) if default is not None else "<default>"
    w.write(0, f"Default backend:\t{default_text}\n")
    if spec.get("tls"):
        w.write(0, "TLS:\n")
        for t in spec["tls"]:
            hosts = ",".join(t.get("hosts") or [])
            if t.get("secretName"):
                w.write(1, f"{t['secretName']} terminates {hosts}\n")
            else:
                w.write(1, f"SNI routes {hosts}\n")
    w.write(0, "Rules:\n  Host\tPath\tBackends\n")
    w.write(1, "----\t----\t--------\n")
    count = 0
    for rule in spec.get("rules") or []:
        http = rule.get("http")
        if http is None:
            continue
        count += 1
        w.write(1, f"{rule.get('host') or '*'}\t\n")
        for path in http.get("paths") or []:
            w.write(2, f"\t{path.get('path', '')} \t{_describe_backend(ctx, namespace, path.get('backend') or {})}\n")
    if count == 0:
        w.write(1, f"*\t*\t{default_text}\n")
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    return with_events(w, ctx, ing)


def describe_ingress_class(ic: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec = ic.get("metadata") or {}, ic.get("spec") or {}
    write_object_meta(w, meta, namespace=False)
    w.write(0, f"Controller:\t{spec.get('controller', '')}\n")
    params = spec.get("parameters")
    if params is not None:
        w.write(0, "Parameters:\n")
        if params.get("apiGroup") is not None:
            w.write(1, f"APIGroup:\t{params['apiGroup']}\n")
        w.write(1, f"Kind:\t{params.get('kind', '')}\n")
        w.write(1, f"Name:\t{params.get('name', '')}\n")
    return with_events(w, ctx, ic)
