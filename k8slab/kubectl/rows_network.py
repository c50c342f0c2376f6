"""Rows of the networking tables: Services, Endpoints, EndpointSlices, Ingresses."""

from __future__ import annotations

from datetime import datetime

from k8slab.kubectl.cells import age_of, name
from k8slab.kubectl.selectors import format_labels


def _lb_ingress(status: dict, wide: bool) -> str:
    found = sorted({i.get("ip") or i.get("hostname") for i in ((status.get("loadBalancer") or {}).get("ingress") or [])} - {None, ""})
    text = ",".join(found)
    if not wide and len(text) > 16:
        text = text[:13] + "..."
    return text


def _service_external_ip(obj: dict, wide: bool) -> str:
    spec = obj.get("spec") or {}
    stype = spec.get("type", "ClusterIP")
    external = spec.get("externalIPs") or []
    if stype in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if stype == "LoadBalancer":
        lb = _lb_ingress(obj.get("status") or {}, wide)
        if external:
            return ",".join(([*lb.split(",")] if lb else []) + external)
        return lb or "<pending>"
    if stype == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def service_ports(ports) -> str:
    out = []
    for p in ports or []:
        proto = p.get("protocol", "TCP")
        if p.get("nodePort"):
            out.append(f"{p.get('port')}:{p.get('nodePort')}/{proto}")
        else:
            out.append(f"{p.get('port')}/{proto}")
    return ",".join(out)


def service_row(obj: dict, now: datetime) -> list[str]:
    spec = obj.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        name(obj),
        spec.get("type", "ClusterIP"),
        ips[0] if ips else "<none>",
        _service_external_ip(obj, False),
        service_ports(spec.get("ports")) or "<none>",
        age_of(obj, now),
        format_labels(spec.get("selector")),
    ]


def endpoints_row(obj: dict, now: datetime) -> list[str]:
    items, count, more = [], 0, False
    for subset in obj.get("subsets") or []:
        addresses = subset.get("addresses") or []
        ports = subset.get("ports") or [None]
        for port in ports:
            count += len(addresses)
            for a in addresses:
                if len(items) == 3:
                    more = True
                    break
                items.append(a.get("ip", "") if port is None else f"{a.get('ip', '')}:{port.get('port')}")
    text = ",".join(items) if obj.get("subsets") else "<none>"
    if more:
        text = f"{text} + {count - 3} more..."
    return [name(obj), text, age_of(obj, now)]


def _list_with_more(items: list[str], total: int) -> str:
    if total > 3:
        return ",".join(items[:3]) + f" + {total - 3} more..."
    return ",".join(items) or "<unset>"


def endpointslice_row(obj: dict, now: datetime) -> list[str]:
    ports = [str(p["port"]) if p.get("port") is not None else (p.get("name") or "*") for p in obj.get("ports") or []]
    addrs = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    return [name(obj), obj.get("addressType", ""), _list_with_more(ports, len(ports)),
            _list_with_more(addrs, len(addrs)), age_of(obj, now)]


def ingress_row(obj: dict, now: datetime) -> list[str]:
    spec = obj.get("spec") or {}
    rules = spec.get("rules") or []
    hosts = [r["host"] for r in rules if r.get("host")][:3]
    host_text = ",".join(hosts) if hosts else "*"
    if len(rules) > 3:
        host_text += f" + {len(rules) - 3} more..."
    return [
        name(obj),
        spec.get("ingressClassName") or "<none>",
        host_text,
        _lb_ingress(obj.get("status") or {}, False),
        "80, 443" if spec.get("tls") else "80",
        age_of(obj, now),
    ]
