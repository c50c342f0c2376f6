"""``kubectl describe pod`` and the pod-template part of ``describe deployment``.

The sections come in the order real kubectl prints them: identity (Name,
Namespace, Priority, Service Account, Node, Start Time, Labels, Annotations),
state (Status, IP, IPs, Controlled By), Containers (image, ports, State, Ready,
Restart Count, resources, probes, environment, mounts), Conditions, Volumes, QoS
Class, Node-Selectors, Tolerations and Events.
"""

from __future__ import annotations

from k8slab.kubectl.describe import (
    Context,
    Writer,
    annotations_multiline,
    labels_multiline,
    with_events,
    write_controlled_by,
)
from k8slab.kubectl.duration import parse_time, rfc1123z
from k8slab.kubectl.quantity import Quantity


def describe_pod(pod: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    if spec.get("priority") is not None:
        w.write(0, f"Priority:\t{int(spec['priority'])}\n")
    if spec.get("priorityClassName"):
        w.write(0, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    if spec.get("runtimeClassName"):
        w.write(0, f"Runtime Class Name:\t{spec['runtimeClassName']}\n")
    if spec.get("serviceAccountName"):
        w.write(0, f"Service Account:\t{spec['serviceAccountName']}\n")
    if not spec.get("nodeName"):
        w.write(0, "Node:\t<none>\n")
    else:
        w.write(0, f"Node:\t{spec['nodeName']}/{status.get('hostIP', '')}\n")
    if status.get("startTime"):
        w.write(0, f"Start Time:\t{rfc1123z(parse_time(status['startTime']))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    phase = status.get("phase", "")
    if meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        w.write(0, f"Status:\tTerminating (lasts {ctx.since(meta['deletionTimestamp'])})\n")
        w.write(0, f"Termination Grace Period:\t{int(meta.get('deletionGracePeriodSeconds') or 0)}s\n")
    else:
        w.write(0, f"Status:\t{phase}\n")
    if status.get("reason"):
        w.write(0, f"Reason:\t{status['reason']}\n")
    if status.get("message"):
        w.write(0, f"Message:\t{status['message']}\n")
    w.write(0, f"IP:\t{status.get('podIP', '')}\n")
    ips = status.get("podIPs") or ([{"ip": status["podIP"]}] if status.get("podIP") else [])
    if not ips:
        w.write(0, "IPs:\t<none>\n")
    else:
        w.write(0, "IPs:\n")
        for ip in ips:
            w.write(1, f"IP:\t{ip.get('ip', '')}\n")
    write_controlled_by(w, pod)
    if status.get("nominatedNodeName"):
        w.write(0, f"NominatedNodeName:\t{status['nominatedNodeName']}\n")
    if spec.get("initContainers"):
        describe_containers(w, "Init Containers", spec["initContainers"], status.get("initContainerStatuses"), pod, "")
    describe_containers(w, "Containers", spec.get("containers") or [], status.get("containerStatuses"), pod, "")
    gates = spec.get("readinessGates") or []
    if gates:
        w.write(0, "Readiness Gates:\n  Type\tStatus\n")
        for g in gates:
            found = next((c for c in status.get("conditions") or [] if c.get("type") == g.get("conditionType")), None)
            w.write(1, f"{g.get('conditionType', '')} \t{found.get('status') if found else '<none>'} \n")
    if status.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for c in status["conditions"]:
            w.write(1, f"{c.get('type', '')} \t{c.get('status', '')} \n")
    describe_volumes(w, spec.get("volumes") or [], "")
    w.write(0, f"QoS Class:\t{status.get('qosClass') or qos_class(pod)}\n")
    labels_multiline(w, "Node-Selectors", spec.get("nodeSelector"))
    tolerations_multiline(w, "Tolerations", spec.get("tolerations"))
    return with_events(w, ctx, pod, with_kind=False)


def describe_pod_template(w: Writer, template: dict | None) -> None:
    w.write(0, "Pod Template:\n")
    if template is None:
        w.write(1, "<unset>")
        return
    meta, spec = template.get("metadata") or {}, template.get("spec") or {}
    labels_multiline(w, "  Labels", meta.get("labels"))
    if meta.get("annotations"):
        annotations_multiline(w, "  Annotations", meta["annotations"])
    if spec.get("serviceAccountName"):
        w.write(1, f"Service Account:\t{spec['serviceAccountName']}\n")
    if spec.get("initContainers"):
        describe_containers(w, "Init Containers", spec["initContainers"], None, None, "  ")
    describe_containers(w, "Containers", spec.get("containers") or [], None, None, "  ")
    describe_volumes(w, spec.get("volumes") or [], "  ")
    if spec.get("priorityClassName"):
        w.write(1, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    labels_multiline(w, "  Node-Selectors", spec.get("nodeSelector"))
    tolerations_multiline(w, "  Tolerations", spec.get("tolerations"))


def describe_containers(w: Writer, label: str, containers: list, statuses, pod: dict | None, space: str) -> None:
    by_name = {s.get("name"): s for s in statuses or []}
    w.write(0, f"{space}{label}:{' <none>' if not containers else ''}\n")
    indent = " " if space else ""
    for c in containers:
        st = by_name.get(c.get("name"))
        w.write(1, f"{indent}{c.get('name', '')}:\n")
        if st is not None:
            w.write(2, f"Container ID:\t{st.get('containerID', '')}\n")
        w.write(2, f"Image:\t{c.get('image', '')}\n")
        if st is not None:
            w.write(2, f"Image ID:\t{st.get('imageID', '')}\n")
        ports = c.get("ports") or []
        port_text = ", ".join(f"{p.get('containerPort', 0)}/{p.get('protocol', 'TCP')}" for p in ports)
        host_text = ", ".join(f"{p.get('hostPort', 0)}/{p.get('protocol', 'TCP')}" for p in ports)
        w.write(2, f"{'Ports' if ',' in port_text else 'Port'}:\t{port_text or '<none>'}\n")
        w.write(2, f"{'Host Ports' if ',' in host_text else 'Host Port'}:\t{host_text or '<none>'}\n")
        for title, values in (("Command", c.get("command")), ("Args", c.get("args"))):
            if values:
                w.write(2, f"{title}:\n")
                for v in values:
                    for line in str(v).split("\n"):
                        w.write(3, f"{line}\n")
        if st is not None:
            _state(w, "State", st.get("state") or {})
            if (st.get("lastState") or {}).get("terminated"):
                _state(w, "Last State", st["lastState"])
            w.write(2, f"Ready:\t{'True' if st.get('ready') else 'False'}\n")
            w.write(2, f"Restart Count:\t{int(st.get('restartCount') or 0)}\n")
        resources = c.get("resources") or {}
        for title in ("Limits", "Requests"):
            values = resources.get(title.lower()) or {}
            if values:
                w.write(2, f"{title}:\n")
                for r in sorted(values):
                    w.write(3, f"{r}:\t{Quantity.parse(values[r])}\n")
        for title, key in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"), ("Startup", "startupProbe")):
            if c.get(key):
                w.write(2, f"{title}:\t{describe_probe(c[key])}\n")
        if c.get("envFrom"):
            w.write(2, "Environment Variables from:\n")
            for e in c["envFrom"]:
                ref, source = (e["configMapRef"], "ConfigMap") if e.get("configMapRef") else (e.get("secretRef") or {}, "Secret")
                optional = "true" if ref.get("optional") else "false"
                prefix = f" with prefix '{e['prefix']}'" if e.get("prefix") else ""
                w.write(3, f"{ref.get('name', '')}\t{source}{prefix}\tOptional: {optional}\n")
        _env(w, c, pod)
        mounts = sorted(c.get("volumeMounts") or [], key=lambda m: m.get("mountPath", ""))
        w.write(2, f"Mounts:{'' if mounts else chr(9) + '<none>'}\n")
        for m in mounts:
            flags = ["ro" if m.get("readOnly") else "rw"]
            if m.get("subPath"):
                flags.append(f'path="{m["subPath"]}"')
            w.write(3, f"{m.get('mountPath', '')} from {m.get('name', '')} ({','.join(flags)})\n")


def _state(w: Writer, title: str, state: dict) -> None:
    if state.get("running") is not None:
        w.write(2, f"{title}:\tRunning\n")
        w.write(3, f"Started:\t{rfc1123z(parse_time(state['running'].get('startedAt')))}\n")
    elif state.get("waiting") is not None:
        w.write(2, f"{title}:\tWaiting\n")
        if state["waiting"].get("reason"):
            w.write(3, f"Reason:\t{state['waiting']['reason']}\n")
    elif state.get("terminated") is not None:
        t = state["terminated"]
        w.write(2, f"{title}:\tTerminated\n")
        if t.get("reason"):
            w.write(3, f"Reason:\t{t['reason']}\n")
        if t.get("message"):
            w.write(3, f"Message:\t{t['message']}\n")
        w.write(3, f"Exit Code:\t{int(t.get('exitCode') or 0)}\n")
        if t.get("signal"):
            w.write(3, f"Signal:\t{int(t['signal'])}\n")
        w.write(3, f"Started:\t{rfc1123z(parse_time(t.get('startedAt')))}\n")
        w.write(3, f"Finished:\t{rfc1123z(parse_time(t.get('finishedAt')))}\n")
    else:
        w.write(2, f"{title}:\tWaiting\n")


def describe_probe(probe: dict) -> str:
    attrs = (
        f"delay={int(probe.get('initialDelaySeconds') or 0)}s timeout={int(probe.get('timeoutSeconds') or 1)}s "
        f"period={int(probe.get('periodSeconds') or 10)}s #success={int(probe.get('successThreshold') or 1)} "
        f"#failure={int(probe.get('failureThreshold') or 3)}"
    )
    if probe.get("exec") is not None:
        return f"exec [{' '.join(probe['exec'].get('command') or [])}] {attrs}"
    if probe.get("httpGet") is not None:
        h = probe["httpGet"]
        host, port = h.get("host", ""), str(h.get("port", ""))
        hostport = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
        return f"http-get {str(h.get('scheme', 'HTTP')).lower()}://{hostport}{h.get('path', '')} {attrs}"
    if probe.get("tcpSocket") is not None:
        t = probe["tcpSocket"]
        return f"tcp-socket {t.get('host', '')}:{t.get('port', '')} {attrs}"
    if probe.get("grpc") is not None:
        g = probe["grpc"]
        return f"grpc <pod>:{g.get('port', '')} {g.get('service', '')} {attrs}"
    return f"unknown {attrs}"


def _field_value(pod: dict | None, path: str) -> str:
    if pod is None:
        return ""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"), "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"), "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": status.get("podIP"), "status.hostIP": status.get("hostIP"),
    }
    if path in simple:
        return simple[path] or ""
    for prefix, source in (("metadata.labels", meta.get("labels")), ("metadata.annotations", meta.get("annotations"))):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return (source or {}).get(path[len(prefix) + 2 : -2], "")
    return ""


def _env(w: Writer, container: dict, pod: dict | None) -> None:
    env = container.get("env") or []
    w.write(2, f"Environment:{'' if env else chr(9) + '<none>'}\n")
    for e in env:
        vf = e.get("valueFrom")
        name = e.get("name", "")
        if vf is None:
            for i, line in enumerate(str(e.get("value", "")).split("\n")):
                w.write(3, f"{name}:\t{line}\n" if i == 0 else f"\t{line}\n")
        elif vf.get("fieldRef") is not None:
            fr = vf["fieldRef"]
            w.write(3, f"{name}:\t{_field_value(pod, fr.get('fieldPath', ''))} ({fr.get('apiVersion', 'v1')}:{fr.get('fieldPath', '')})\n")
        elif vf.get("resourceFieldRef") is not None:
            rf = vf["resourceFieldRef"]
            res = rf.get("resource", "")
            section, _, rname = res.partition(".")
            value = ((container.get("resources") or {}).get(section) or {}).get(rname)
            text = str(Quantity.parse(value)) if value is not None else "0"
            if text == "0" and res in ("limits.cpu", "limits.memory"):
                text = "node allocatable"
            w.write(3, f"{name}:\t{text} ({res})\n")
        elif vf.get("secretKeyRef") is not None:
            r = vf["secretKeyRef"]
            w.write(3, f"{name}:\t<set to the key '{r.get('key', '')}' in secret '{r.get('name', '')}'>\tOptional: {'true' if r.get('optional') else 'false'}\n")
        elif vf.get("configMapKeyRef") is not None:
            r = vf["configMapKeyRef"]
            w.write(3, f"{name}:\t<set to the key '{r.get('key', '')}' of config map '{r.get('name', '')}'>\tOptional: {'true' if r.get('optional') else 'false'}\n")


def _optional_ptr(value) -> str:
    return "<nil>" if value is None else ("true" if value else "false")


def describe_volumes(w: Writer, volumes: list, space: str) -> None:
    if not volumes:
        w.write(0, f"{space}Volumes:\t<none>\n")
        return
    w.write(0, f"{space}Volumes:\n")
    indent = " " if space else ""
    for v in volumes:
        w.write(1, f"{indent}{v.get('name', '')}:\n")
        if v.get("hostPath") is not None:
            h = v["hostPath"]
            w.write(2, "Type:\tHostPath (bare host directory volume)\n"
                       f"    Path:\t{h.get('path', '')}\n    HostPathType:\t{h.get('type') or '<none>'}\n")
        elif v.get("emptyDir") is not None:
            e = v["emptyDir"]
            size = str(Quantity.parse(e["sizeLimit"])) if e.get("sizeLimit") and not Quantity.parse(e["sizeLimit"]).is_zero() else "<unset>"
            w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
                       f"    Medium:\t{e.get('medium', '')}\n    SizeLimit:\t{size}\n")
        elif v.get("secret") is not None:
            s = v["secret"]
            w.write(2, "Type:\tSecret (a volume populated by a Secret)\n"
                       f"    SecretName:\t{s.get('secretName', '')}\n    Optional:\t{'true' if s.get('optional') else 'false'}\n")
        elif v.get("configMap") is not None:
            c = v["configMap"]
            w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
                       f"    Name:\t{c.get('name', '')}\n    Optional:\t{'true' if c.get('optional') else 'false'}\n")
        elif v.get("persistentVolumeClaim") is not None:
            c = v["persistentVolumeClaim"]
            w.write(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n"
                       f"    ClaimName:\t{c.get('claimName', '')}\n    ReadOnly:\t{'true' if c.get('readOnly') else 'false'}\n")
        elif v.get("projected") is not None:
            w.write(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
            for src in v["projected"].get("sources") or []:
                if src.get("secret") is not None:
                    w.write(2, f"SecretName:\t{src['secret'].get('name', '')}\n"
                               f"    SecretOptionalName:\t{_optional_ptr(src['secret'].get('optional'))}\n")
                elif src.get("downwardAPI") is not None:
                    w.write(2, "DownwardAPI:\ttrue\n")
                elif src.get("configMap") is not None:
                    w.write(2, f"ConfigMapName:\t{src['configMap'].get('name', '')}\n"
                               f"    ConfigMapOptional:\t{_optional_ptr(src['configMap'].get('optional'))}\n")
                elif src.get("serviceAccountToken") is not None:
                    w.write(2, f"TokenExpirationSeconds:\t{int(src['serviceAccountToken'].get('expirationSeconds') or 3600)}\n")
        elif v.get("downwardAPI") is not None:
            w.write(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n")
            for item in v["downwardAPI"].get("items") or []:
                ref = item.get("fieldRef") or {}
                rref = item.get("resourceFieldRef") or {}
                source = ref.get("fieldPath") or rref.get("resource", "")
                w.write(3, f"{source} -> {item.get('path', '')}\n")
        else:
            w.write(1, "<unknown>\n")


def tolerations_multiline(w: Writer, title: str, tolerations) -> None:
    w.write(0, f"{title}:\t")
    if not tolerations:
        w.write(0, "<none>\n")
        return
    for i, t in enumerate(sorted(tolerations, key=lambda t: t.get("key", ""))):
        if i:
            w.write(0, "\t")
        text = t.get("key", "")
        if t.get("value"):
            text += f"={t['value']}"
        if t.get("effect"):
            text += f":{t['effect']}"
        if t.get("operator") == "Exists" and not t.get("value"):
            text += " op=Exists" if (t.get("key") or t.get("effect")) else "op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {int(t['tolerationSeconds'])}s"
        w.write(0, text + "\n")


def qos_class(pod: dict) -> str:
    """``qos.GetPodQOS``: Guaranteed, Burstable or BestEffort from the containers' resources."""
    spec = pod.get("spec") or {}
    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    guaranteed = True
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = c.get("resources") or {}
        for name, q in (res.get("requests") or {}).items():
            if name in ("cpu", "memory") and not Quantity.parse(q).is_zero():
                requests[name] = requests.get(name, Quantity()) + Quantity.parse(q)
        seen = set()
        for name, q in (res.get("limits") or {}).items():
            if name in ("cpu", "memory") and not Quantity.parse(q).is_zero():
                seen.add(name)
                limits[name] = limits.get(name, Quantity()) + Quantity.parse(q)
        if seen != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(k) == v for k, v in requests.items()) and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"
