"""Rows of the networking tables: Services, Endpoints, EndpointSlices, Ingresses.

Each function is the row printer of ``pkg/printers/internalversion/printers.go``
for its kind, with the same cut-offs: at most three endpoints, ports or hosts
then ``+ N more...``; load-balancer addresses cut to 16 characters unless
``-o wide``; ``<none>``, ``<pending>`` and ``<unset>`` where kubectl writes them.
``format_endpoints`` is shared with ``kubectl describe`` (Service and Ingress
backends), which filters it to one port name.

Example
-------
>>> ep = {"subsets": [{"addresses": [{"ip": "10.244.1.2"}, {"ip": "10.244.2.3"}],
...                    "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090}]}]}
>>> format_endpoints(ep)
'10.244.1.2:8080,10.244.2.3:8080,10.244.1.2:9090 + 1 more...'
>>> format_endpoints(ep, {"metrics"})
'10.244.1.2:9090,10.244.2.3:9090'
>>> service_ports([{"port": 80, "nodePort": 31234, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}])
'80:31234/TCP,53/UDP'
"""

from __future__ import annotations

from datetime import datetime

from k8slab.kubectl.cells import age_of, name
from k8slab.kubectl.selectors import format_labels

#: Load-balancer addresses longer than this are cut (``loadBalancerWidth``) outside ``-o wide``.
LOAD_BALANCER_WIDTH = 16
#: How many endpoints, ports or hosts a cell lists before ``+ N more...``.
MAX_LISTED = 3


def host_port(ip: str, port) -> str:
    """``net.JoinHostPort``: an IPv6 address goes in brackets."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def load_balancer_addresses(status: dict | None, wide: bool) -> str:
    """``loadBalancerStatusStringer``: the sorted, unique IPs (or hostnames) of ``status.loadBalancer``."""
    found = set()
    for ing in ((status or {}).get("loadBalancer") or {}).get("ingress") or []:
        if ing.get("ip"):
            found.add(ing["ip"])
        elif ing.get("hostname"):
            found.add(ing["hostname"])
    text = ",".join(sorted(found))
    if not wide and len(text) > LOAD_BALANCER_WIDTH:
        text = text[: LOAD_BALANCER_WIDTH - 3] + "..."
    return text


# -- Service ------------------------------------------------------------------------------


def service_external_ip(obj: dict, wide: bool) -> str:
    """The EXTERNAL-IP cell (``getServiceExternalIP``)."""
    spec = obj.get("spec") or {}
    external = list(spec.get("externalIPs") or [])
    stype = spec.get("type")
    if stype in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if stype == "LoadBalancer":
        lb = load_balancer_addresses(obj.get("status"), wide)
        if external:
            return ",".join((lb.split(",") if lb else []) + external)
        return lb or "<pending>"
    if stype == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def service_ports(ports) -> str:
    """``makePortString``: ``port[:nodePort]/protocol`` for each port, comma-separated."""
    pieces = []
    for p in ports or []:
        proto = p.get("protocol", "")
        if p.get("nodePort"):
            pieces.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            pieces.append(f"{p.get('port')}/{proto}")
    return ",".join(pieces)


def _service_row(obj: dict, now: datetime, wide: bool) -> list[str]:
    spec = obj.get("spec") or {}
    ips = spec.get("clusterIPs") or []
    return [
        name(obj),
        spec.get("type", ""),
        ips[0] if ips else "<none>",
        service_external_ip(obj, wide),
        service_ports(spec.get("ports")) or "<none>",
        age_of(obj, now),
        format_labels(spec.get("selector")),
    ]


def service_row(obj: dict, now: datetime) -> list[str]:
    return _service_row(obj, now, False)


def service_row_wide(obj: dict, now: datetime) -> list[str]:
    return _service_row(obj, now, True)


# -- Endpoints ----------------------------------------------------------------------------


def format_endpoints(endpoints: dict | None, ports: set[str] | None = None) -> str:
    """``formatEndpoints``: ready ``ip:port`` pairs of an Endpoints object, three at most.

    ``ports`` keeps only the ports of those names (``describe`` passes the Service
    port's name); ``None`` takes every port. No subsets at all reads ``<none>``; a
    subset of only not-ready addresses reads as an empty string, as in kubectl.
    """
    subsets = (endpoints or {}).get("subsets") or []
    if not subsets:
        return "<none>"
    listed: list[str] = []
    count = 0
    more = False
    for subset in subsets:
        addresses = subset.get("addresses") or []
        subset_ports = subset.get("ports") or []
        if not subset_ports:  # a headless Service without ports
            count += len(addresses)
            for a in addresses:
                if len(listed) == MAX_LISTED:
                    more = True
                    break
                listed.append(a.get("ip", ""))
            continue
        for port in subset_ports:
            if ports is not None and (port.get("name") or "") not in ports:
                continue
            count += len(addresses)
            for a in addresses:
                if len(listed) == MAX_LISTED:
                    more = True
                    break
                listed.append(host_port(a.get("ip", ""), port.get("port")))
    text = ",".join(listed)
    if more:
        return f"{text} + {count - MAX_LISTED} more..."
    return text


def endpoints_row(obj: dict, now: datetime) -> list[str]:
    return [name(obj), format_endpoints(obj), age_of(obj, now)]


# -- EndpointSlice ------------------------------------------------------------------------


def _list_with_more(listed: list[str], more: bool, count: int) -> str:
    text = ",".join(listed)
    if more:
        return f"{text} + {count - MAX_LISTED} more..."
    return text or "<unset>"


def format_slice_ports(ports) -> str:
    """``formatDiscoveryPorts``: port numbers (a name, or ``*``, when the number is unset)."""
    listed: list[str] = []
    for p in ports or []:
        if len(listed) < MAX_LISTED:
            if p.get("port") is not None:
                listed.append(str(p["port"]))
            elif p.get("name") is not None:
                listed.append(p["name"])
            else:
                listed.append("*")
    total = len(ports or [])
    return _list_with_more(listed, total > MAX_LISTED, total)


def format_slice_endpoints(endpoints) -> str:
    """``formatDiscoveryEndpoints``: the addresses of every endpoint, ready or not."""
    addresses = [a for e in endpoints or [] for a in e.get("addresses") or []]
    return _list_with_more(addresses[:MAX_LISTED], len(addresses) > MAX_LISTED, len(addresses))


def endpointslice_row(obj: dict, now: datetime) -> list[str]:
    return [name(obj), obj.get("addressType", ""), format_slice_ports(obj.get("ports")),
            format_slice_endpoints(obj.get("endpoints")), age_of(obj, now)]


# -- Ingress ------------------------------------------------------------------------------


def format_hosts(rules) -> str:
    """``formatHosts``: the first three hosts; ``+ N more...`` counts every rule past the third."""
    rules = rules or []
    listed: list[str] = []
    more = False
    for rule in rules:
        if len(listed) == MAX_LISTED:
            more = True
        if not more and rule.get("host"):
            listed.append(rule["host"])
    if not listed:
        return "*"
    text = ",".join(listed)
    if more:
        return f"{text} + {len(rules) - MAX_LISTED} more..."
    return text


def _ingress_row(obj: dict, now: datetime, wide: bool) -> list[str]:
    spec = obj.get("spec") or {}
    return [
        name(obj),
        spec.get("ingressClassName") or "<none>",
        format_hosts(spec.get("rules")),
        load_balancer_addresses(obj.get("status"), wide),
        "80, 443" if spec.get("tls") else "80",
        age_of(obj, now),
    ]


def ingress_row(obj: dict, now: datetime) -> list[str]:
    return _ingress_row(obj, now, False)


def ingress_row_wide(obj: dict, now: datetime) -> list[str]:
    return _ingress_row(obj, now, True)


def ingress_class_row(obj: dict, now: datetime) -> list[str]:
    spec = obj.get("spec") or {}
    params = spec.get("parameters")
    text = "<none>"
    if params:
        text = params.get("kind", "")
        if params.get("apiGroup") is not None:
            text += "." + params["apiGroup"]
        text += "/" + params.get("name", "")
    return [name(obj), spec.get("controller", ""), text, age_of(obj, now)]
