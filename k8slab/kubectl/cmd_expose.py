"""``kubectl expose``: make a Service for a Deployment, ReplicaSet, ReplicationController, Pod or Service.

kubectl (``staging/src/k8s.io/kubectl/pkg/cmd/expose``) reads the object and
fills in what the command line leaves out:

* the selector: a Deployment's or ReplicaSet's ``spec.selector.matchLabels`` (an
  error if it uses ``matchExpressions``), a Pod's labels, a ReplicationController's
  or Service's ``spec.selector``;
* the ports: every distinct container port of the pod template (or of the Service),
  named ``port-1``, ``port-2`` ... when there are several; each port's protocol is
  the one its container declares (a port number declared for TCP and UDP becomes
  two ports, ``port-1-tcp`` and ``port-1-udp``);
* the labels: those of the exposed object; the name: the object's (63 characters at most).

``targetPort`` is ``--target-port`` (a number or a port name), else the port itself.
The Service is POSTed as is and the API server fills in the rest (cluster IP,
node ports, defaults); kubectl prints ``service/web exposed``. ``--dry-run=client``
only prints what it would send, ``--dry-run=server`` lets the API server check and
default it without storing it.

k8slab simplifies: ``--overrides`` takes the default ``merge`` type only; ``--record``
and the template output formats are not available.

Example
-------
>>> deploy = {"kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
...           "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {
...               "containers": [{"name": "nginx", "ports": [{"containerPort": 8080}]}]}}}}
>>> selector_for(deploy), ports_for(deploy)
({'app': 'web'}, ['8080'])
>>> svc = service_object(ExposeOptions(name="web", selector={"app": "web"}, port="80", target_port="8080"))
>>> svc["spec"]
{'ports': [{'protocol': 'TCP', 'port': 80, 'targetPort': 8080}], 'selector': {'app': 'web'}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.printers import encode, for_output
from k8slab.kubectl.resources import Request, parse_request, typed

EXPOSE_FLAGS = [
    Flag("port", "", "string"),
    Flag("protocol", "", "string"),
    Flag("target-port", "", "string"),
    Flag("type", "", "string"),
    Flag("name", "", "string"),
    Flag("selector", "", "string"),
    Flag("labels", "l", "string"),
    Flag("external-ip", "", "string"),
    Flag("load-balancer-ip", "", "string"),
    Flag("session-affinity", "", "string"),
    Flag("cluster-ip", "", "string"),
    Flag("overrides", "", "string"),
    Flag("override-type", "", "string"),
    Flag("field-manager", "", "string"),
    Flag("dry-run", "", "string", no_value_default="unchanged"),
    Flag("save-config", "", "bool"),
    Flag("output", "o", "string"),
    Flag("filename", "f", "strings"),
    Flag("recursive", "R", "bool"),
    Flag("record", "", "bool"),
    Flag("show-managed-fields", "", "bool"),
    Flag("allow-missing-template-keys", "", "bool"),
    Flag("template", "", "string"),
]

#: What kubectl can expose, as (group, kind) (``polymorphichelpers.canBeExposed``).
EXPOSABLE = {("", "ReplicationController"), ("", "Service"), ("", "Pod"), ("apps", "Deployment"),
             ("apps", "ReplicaSet"), ("extensions", "Deployment"), ("extensions", "ReplicaSet")}

#: ``validation.DNS1035LabelMaxLength``: a default Service name is cut to this.
MAX_NAME = 63

_PRINTER_FORMATS = ("go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,"
                    "templatefile,yaml")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def dry_run_strategy(flags: dict) -> str:
    """``cmdutil.GetDryRunStrategy``: ``none``, ``client`` or ``server``."""
    value = flags.get("dry-run", "none")
    if value == "unchanged":  # --dry-run written without a value
        raise KubectlError('--dry-run flag without a value was specified. A value must be set: "none", "server", '
                           'or "client".')
    if value not in ("none", "client", "server"):
        raise KubectlError(f'Invalid dry-run value ({value}). Must be "none", "server", or "client".')
    return value


# -- what kubectl reads from the exposed object (polymorphichelpers) ---------------------------


def _group(obj: dict) -> str:
    api_version = obj.get("apiVersion", "")
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def _go_requirements(expressions: list) -> str:
    # fmt's %+v of []LabelSelectorRequirement
    parts = [f"{{Key:{e.get('key', '')} Operator:{e.get('operator', '')} Values:[{' '.join(e.get('values') or [])}]}}"
             for e in expressions]
    return "[" + " ".join(parts) + "]"


def selector_for(obj: dict) -> dict:
    """The map selector a Service would use for ``obj`` (``mapBasedSelectorForObject``)."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        labels = (obj.get("metadata") or {}).get("labels")
        if not labels:
            raise KubectlError("the pod has no labels and cannot be exposed")
        return dict(labels)
    if kind == "Service":
        if spec.get("selector") is None:
            raise KubectlError("the service has no pod selector set")
        return dict(spec["selector"])
    if kind == "ReplicationController":
        return dict(spec.get("selector") or {})
    if kind in ("Deployment", "ReplicaSet"):
        selector = spec.get("selector") or {}
        if not selector.get("matchLabels"):
            what = "deployment" if kind == "Deployment" else "replicaset"
            raise KubectlError(f"invalid {what}: no selectors, therefore cannot be exposed")
        if selector.get("matchExpressions"):
            raise KubectlError(f'couldn\'t convert expressions - "{_go_requirements(selector["matchExpressions"])}" '
                               "to map-based selector format")
        return dict(selector["matchLabels"])
    raise KubectlError(f"cannot extract pod selector from {kind}")


def _pod_spec(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return spec
    return (spec.get("template") or {}).get("spec") or {}


def _declared_ports(obj: dict) -> list[tuple[str, str]]:
    """(port number, protocol) of every container port, or of every port of a Service."""
    if obj.get("kind") == "Service":
        return [(str(p.get("port")), p.get("protocol") or "TCP") for p in (obj.get("spec") or {}).get("ports") or []]
    return [(str(p.get("containerPort")), p.get("protocol") or "TCP")
            for c in _pod_spec(obj).get("containers") or [] for p in c.get("ports") or []]


def ports_for(obj: dict) -> list[str]:
    """Distinct port numbers, in order (``portsForObject``)."""
    seen: list[str] = []
    for number, _ in _declared_ports(obj):
        if number not in seen:
            seen.append(number)
    return seen


def protocols_for(obj: dict) -> dict[str, list[str]]:
    """Port number -> protocols declared for it (``multiProtocolsForObject``)."""
    out: dict[str, list[str]] = {}
    for number, protocol in _declared_ports(obj):
        out.setdefault(number, []).append(protocol)
    return out


# -- building the Service (createService) --------------------------------------------------------


@dataclass
class ExposeOptions:
    """What ``createService`` works from, after the object filled in the gaps."""

    name: str
    selector: dict
    port: str = ""
    ports: str = ""  # several ports found on the object
    protocol: str = ""
    protocols: dict = field(default_factory=dict)
    labels: dict | None = None
    target_port: str = ""
    external_ip: str = ""
    load_balancer_ip: str = ""
    type: str = ""
    session_affinity: str = ""
    cluster_ip: str = ""
    namespace: str | None = None


def parse_labels(spec: str) -> dict:
    """``key=value,key=value`` as kubectl expose reads ``--selector`` and ``--labels``."""
    labels = {}
    for item in spec.split(","):
        parts = item.split("=")
        if len(parts) != 2:
            raise KubectlError(f"unexpected label spec: {item}")
        if not parts[0]:
            raise KubectlError("unexpected empty label key")
        labels[parts[0]] = parts[1]
    return labels


def _atoi(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise KubectlError(f'strconv.Atoi: parsing "{text}": invalid syntax') from None


def _int_or_string(text: str):
    """``intstr.Parse``: a number if it reads as one, else a (port) name."""
    try:
        return int(text, 10)
    except ValueError:
        return text


def _service_ports(o: ExposeOptions) -> list[dict]:
    port_text = o.ports or o.port
    if not port_text:
        return []
    numbers = port_text.split(",")
    ports = []
    for i, number_text in enumerate(numbers, 1):
        number = _atoi(number_text)
        name = f"port-{i}" if len(numbers) > 1 else ""
        protocol = o.protocol
        if not protocol:
            protocol = "TCP"
            declared = o.protocols.get(number_text) or []
            if len(declared) == 1:
                protocol = declared[0]
            elif declared:
                # one number, several protocols: a Service port for each
                for p in declared:
                    ports.append({"name": f"port-{i}-{p.lower()}", "protocol": p, "port": number})
                continue
        port = {"name": name} if name else {}
        port.update(protocol=protocol, port=number)
        ports.append(port)
    return ports


def service_object(o: ExposeOptions) -> dict:
    """The Service kubectl sends, its keys in the order of Go's ``v1.Service`` fields."""
    ports = _service_ports(o)
    target = _int_or_string(o.target_port) if o.target_port else None
    for p in ports:
        p["targetPort"] = target if target is not None else p["port"]
    meta: dict = {"name": o.name}
    if o.namespace:
        meta["namespace"] = o.namespace
    meta["creationTimestamp"] = None
    if o.labels:
        meta["labels"] = {k: o.labels[k] for k in sorted(o.labels)}
    spec: dict = {}
    if ports:
        spec["ports"] = ports
    if o.selector:
        spec["selector"] = {k: o.selector[k] for k in sorted(o.selector)}
    if o.cluster_ip:
        spec["clusterIP"] = o.cluster_ip
    if o.type:
        spec["type"] = o.type
    if o.external_ip:
        spec["externalIPs"] = [o.external_ip]
    if o.session_affinity:
        if o.session_affinity not in ("None", "ClientIP"):
            raise KubectlError(f"unknown session affinity: {o.session_affinity}")
        spec["sessionAffinity"] = o.session_affinity
    if o.type == "LoadBalancer" and o.load_balancer_ip:
        spec["loadBalancerIP"] = o.load_balancer_ip
    return {"kind": "Service", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {"loadBalancer": {}}}


def _merge_patch(target, patch):
    """RFC 7386 JSON merge patch (``--overrides`` with the default ``--override-type=merge``)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def _save_config(svc: dict) -> None:
    # the annotation holds the object as sent (without the annotation), compact JSON plus a newline
    text = json.dumps(svc, separators=(",", ":"), ensure_ascii=False)
    meta = svc["metadata"]
    annotations = dict(meta.get("annotations") or {})
    annotations[_LAST_APPLIED] = text + "\n"
    rebuilt = {}
    for key, value in meta.items():
        if key != "annotations":
            rebuilt[key] = value
        if key == "labels":
            rebuilt["annotations"] = annotations
    rebuilt.setdefault("annotations", annotations)
    svc["metadata"] = rebuilt


# -- the command ------------------------------------------------------------------------------


def _output_format(flags: dict) -> str:
    fmt = flags.get("output") or ""
    if fmt in ("", "yaml", "json", "name"):
        return fmt
    base = fmt.split("=", 1)[0]
    if base in _PRINTER_FORMATS.split(","):
        raise KubectlError(f"-o {base} is not available in k8slab's in-process kubectl (use -o yaml, json or name)")
    raise KubectlError(f'unable to match a printer suitable for the output format "{fmt}", allowed formats are: '
                       f"{_PRINTER_FORMATS}")


def _targets(kubectl, positional: list[str], flags: dict, namespace: str, stdin) -> list[tuple[object, dict]]:
    """(kind, object) of everything named, in order: read from the files, or from the API server."""
    if flags.get("filename"):
        if positional:
            raise KubectlError(f"Unexpected args: {positional}", help_hint="kubectl expose")
        from k8slab.kubectl.cmd_write import _load

        return list(_load(kubectl, flags["filename"], stdin))
    if not positional:
        raise KubectlError("You must provide one or more resources by argument or filename.\nExample resource "
                           "specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   "
                           "'<resource> <name>'\n   '<resource>'")
    request: Request = parse_request(kubectl, positional, "expose")
    if not any(t.names for t in request.targets):
        raise KubectlError("resource(s) were provided, but no name was specified")
    found = []
    for target in request.targets:
        for name in target.names or []:
            ns = namespace if target.kind.namespaced else None
            found.append((target.kind, typed(target.kind, kubectl.client.get(target.kind.group_resource, name, ns))))
    return found


def expose(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, EXPOSE_FLAGS, "expose")
    dry_run = dry_run_strategy(flags)
    fmt = _output_format(flags)
    if flags.get("record"):
        raise KubectlError("--record is not available in k8slab's in-process kubectl (it is deprecated in kubectl)")
    override_type = flags.get("override-type", "merge")
    if override_type not in ("json", "merge", "strategic"):
        raise KubectlError(f"invalid override type: {override_type}")
    if override_type != "merge" and flags.get("overrides"):
        raise KubectlError(f"--override-type={override_type} is not available in k8slab's in-process kubectl "
                           "(use merge)")
    namespace = kubectl.namespace(flags)
    for kind, obj in _targets(kubectl, positional, flags, namespace, stdin):
        svc = _expose_one(kubectl, kind, obj, flags, namespace, dry_run)
        if dry_run == "client":
            _print(out, svc, fmt, " (dry run)", ordered=True)
            continue
        created = kubectl.client.create(svc, namespace=namespace, dry_run=dry_run == "server")
        _print(out, typed(kubectl.registry.resolve("services"), created), fmt,
               " (server dry run)" if dry_run == "server" else "", ordered=False)


def _expose_one(kubectl, kind, obj: dict, flags: dict, namespace: str, dry_run: str) -> dict:
    if (kind.group, kind.kind) not in EXPOSABLE:
        shown = kind.kind if not kind.group else f"{kind.kind}.{kind.group}"
        raise KubectlError(f"cannot expose a {shown}")
    selector_text = flags.get("selector") or ""
    selector = None
    if not selector_text:
        try:
            selector = selector_for(obj)
        except KubectlError as e:
            raise KubectlError(f"couldn't retrieve selectors via --selector flag or introspection: {e.message}") from None
    cluster_ip = flags.get("cluster-ip") or ""
    port, ports = flags.get("port") or "", ""
    if not port:
        found = ports_for(obj)
        if not found and cluster_ip != "None":
            raise KubectlError("couldn't find port via --port flag or introspection")
        if len(found) == 1:
            port = found[0]
        elif found:
            ports = ",".join(found)
    # what createService checks, in its order: selector, labels, name
    if selector is None:
        selector = parse_labels(selector_text)
    if not selector:
        raise KubectlError("selector must be specified")
    labels_text = flags.get("labels") or ""
    if labels_text:
        labels = parse_labels(labels_text)
    else:
        labels = dict((obj.get("metadata") or {}).get("labels") or {}) or None
    name = flags.get("name") or (obj.get("metadata") or {}).get("name", "")[:MAX_NAME]
    if not name:
        raise KubectlError("name must be specified")
    options = ExposeOptions(
        name=name, selector=selector, port=port, ports=ports, protocol=flags.get("protocol") or "",
        protocols=protocols_for(obj), labels=labels, target_port=flags.get("target-port") or "",
        external_ip=flags.get("external-ip") or "", load_balancer_ip=flags.get("load-balancer-ip") or "",
        type=flags.get("type") or "", session_affinity=flags.get("session-affinity") or "", cluster_ip=cluster_ip,
        # a client dry run shows the namespace only when it was given with -n
        namespace=flags.get("namespace") if dry_run == "client" else None,
    )
    svc = service_object(options)
    if flags.get("overrides"):
        try:
            patch = json.loads(flags["overrides"])
        except ValueError as e:
            raise KubectlError(f"unable to parse --overrides as JSON: {e}") from None
        svc = _merge_patch(svc, patch)
    if flags.get("save-config") and dry_run != "client":
        _save_config(svc)
    return svc


def _print(out: Output, svc: dict, fmt: str, suffix: str, *, ordered: bool) -> None:
    name = (svc.get("metadata") or {}).get("name", "")
    if fmt == "name":
        out.print(f"service/{name}")
    elif fmt == "json" and ordered:
        from k8slab.kubectl.encoding import to_json

        out.write(to_json(svc, sort_keys=False))
    elif fmt in ("yaml", "json"):
        out.write(encode(for_output(svc), fmt))
    else:
        out.print(f"service/{name} exposed{suffix}")

