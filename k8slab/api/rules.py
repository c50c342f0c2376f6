"""The API server's own rules, beyond the schema: what a 422 ``Invalid`` lists.

An object can fit the OpenAPI schema (:mod:`k8slab.api.schema`) and still be
refused: a name with capitals, a Deployment whose selector does not match its
template's labels, two containers with the same name, a Job whose pods would
restart forever, a Service port out of range, a ConfigMap key that cannot be
a file name, a ``kubernetes.io/tls`` Secret without ``tls.key``, or an update
that changes a field that is immutable (a Secret's ``type``, the data of an
``immutable: true`` ConfigMap). :func:`semantic_causes` runs the rules of the
real API server for the object's kind (``pkg/apis/*/validation``), in its
order, and returns every broken one as a cause worded like the real
``field.Error``; the simulated API server calls it on every create and update.
Pod spec rules live in :mod:`k8slab.api.rules_pod`.

A StatefulSet's pod template is *not* checked as a pod spec, as in Go (a TODO
there): its containers may mount a ``volumeClaimTemplates`` entry, and any
other mistake shows when its pods are created.

Simplified: where Go walks a map (ConfigMap keys) in random order, causes come
in key order; the error of a ``.dockerconfigjson`` that is not JSON is worded
like Go's for the common mistakes only.

Example
-------
>>> deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
...           "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "web"}},
...                    "template": {"metadata": {"labels": {"app": "web"}},
...                                 "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
>>> [(c["field"], c["message"]) for c in semantic_causes(deploy)]
[('spec.replicas', 'Invalid value: -1: must be greater than or equal to 0')]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from k8slab.api import cron
from k8slab.api.defaults import decode_base64
from k8slab.api.errors import field_cause
from k8slab.api.field_errors import (
    GoLiteral,
    check_nonnegative,
    dict_field,
    duplicate,
    forbidden,
    go_label_selector,
    go_value,
    int_field,
    invalid,
    list_field,
    not_supported,
    required,
    str_field,
    type_invalid,
    typed_field,
)
from k8slab.api.names import (
    dns1123_label_errors,
    port_name_errors,
    qualified_name_errors,
    validate_labels,
    validate_object_name,
)
from k8slab.api.rules_pod import (
    PORT_RANGE,
    PROTOCOLS,
    RESTART_POLICIES,
    config_key_errors,
    pod_spec,
    pod_template,
    pod_update,
)
from k8slab.api.selectors import LabelSelector, validate_label_selector

__all__ = ["semantic_causes"]

_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_NODE_PORT_RANGE = (30000, 32767)
#: The most data a ConfigMap or Secret may hold (``MaxSecretSize``, 1 MiB).
_MAX_CONFIG_SIZE = 1024 * 1024
_IMMUTABLE = "field is immutable when `immutable` is set"
_WORKLOAD_WORD = {
    "Deployment": "deployment",
    "ReplicaSet": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
}


def _name_errors(kind: str, name: str, prefix: bool = False) -> list[str]:
    if kind == "StatefulSet":
        # ValidateStatefulSetName: a DNS label since 1.27, as each pod's hostname is built from it
        if prefix and name.endswith("-"):
            name = name[:-1] + "a"
        return dns1123_label_errors(name)
    return validate_object_name(kind, name, prefix=prefix)


def _object_meta(obj: Mapping, kind: str, causes: list) -> None:
    meta = dict_field(obj, "metadata", "metadata", causes)
    if meta is None:
        causes.append(required("metadata.name", "name or generateName is required"))
        return
    name = str_field(meta, "name", "metadata.name", causes)
    generate = str_field(meta, "generateName", "metadata.generateName", causes)
    if generate:
        for msg in _name_errors(kind, generate, prefix=True):
            causes.append(invalid("metadata.generateName", generate, msg))
    if not name and not generate:
        causes.append(required("metadata.name", "name or generateName is required"))
    elif name:
        for msg in _name_errors(kind, name):
            causes.append(invalid("metadata.name", name, msg))
    namespace = str_field(meta, "namespace", "metadata.namespace", causes)
    if namespace:
        for msg in dns1123_label_errors(namespace):
            causes.append(invalid("metadata.namespace", namespace, msg))
    causes.extend(
        validate_labels(dict_field(meta, "labels", "metadata.labels", causes), "metadata.labels")
    )
    _annotations(dict_field(meta, "annotations", "metadata.annotations", causes) or {},
                 "metadata.annotations", causes)


def _annotations(annotations: Mapping, path: str, causes: list) -> None:
    """``ValidateAnnotations``: qualified-name keys, 256 KiB in all."""
    size = 0
    for key in sorted(annotations, key=str):
        for msg in qualified_name_errors(str(key)):
            causes.append(invalid(path, str(key), msg))
        size += len(str(key)) + len(str(annotations[key] or ""))
    if size > 256 * 1024:
        causes.append(field_cause(path, "Too long: must have at most 262144 bytes", "FieldValueTooLong"))


def _selector_and_template(spec: Mapping, kind: str, causes: list, bad_selector: str) -> dict:
    """A workload's selector, and whether its template's labels match it; returns the template.

    ``bad_selector`` is the detail when the selector cannot be compiled (the
    wording differs between kinds).
    """
    selector = dict_field(spec, "selector", "spec.selector", causes)
    compiled = None
    # A selector of the wrong type is reported (once) as such: the API server
    # could not even decode it, so the rules that read it are skipped.
    undecodable = spec.get("selector") is not None and selector is None
    if selector is None:
        if not undecodable:
            causes.append(required("spec.selector"))
    else:
        selector_causes = validate_label_selector(selector, "spec.selector")
        causes.extend(selector_causes)
        undecodable = any(c["reason"] == "FieldValueTypeInvalid" for c in selector_causes)
        empty = not selector.get("matchLabels") and not selector.get("matchExpressions")
        if empty and not undecodable:
            causes.append(
                invalid(
                    "spec.selector",
                    go_label_selector(selector),
                    f"empty selector is invalid for {_WORKLOAD_WORD[kind]}",
                )
            )
    if not undecodable:
        try:  # a missing selector selects nothing, so no template matches it
            compiled = LabelSelector.from_dict(selector)
        except ValueError:
            causes.append(invalid("spec.selector", go_label_selector(selector), bad_selector))
    template = dict_field(spec, "template", "spec.template", causes) or {}
    if compiled is not None and not compiled.empty:
        labels = (
            (template.get("metadata") or {}).get("labels")
            if isinstance(template.get("metadata"), Mapping)
            else None
        )
        if not isinstance(labels, dict) or not compiled.matches(
            {str(k): str(v) for k, v in labels.items()}
        ):
            shown = labels if isinstance(labels, dict) else GoLiteral("map[string]string(nil)")
            causes.append(
                invalid(
                    "spec.template.metadata.labels",
                    shown,
                    "`selector` does not match template `labels`",
                )
            )
    return template


def _workload(obj: Mapping, kind: str, causes: list) -> None:
    """Deployment, ReplicaSet and DaemonSet: selector, template (all of its pod spec), replicas."""
    spec = dict_field(obj, "spec", "spec", causes) or {}
    if kind != "DaemonSet":
        check_nonnegative(spec, "replicas", "spec.replicas", causes)
    template = _selector_and_template(spec, kind, causes, "invalid label selector")
    pod_template(template, "spec.template", causes)
    restart = _restart_policy(template)
    if restart and restart != "Always" and restart in RESTART_POLICIES:
        causes.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    template_spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    if template_spec.get("activeDeadlineSeconds") is not None:
        # Deployments share ReplicaSet's template rules, and so its wording
        owner = "DaemonSet" if kind == "DaemonSet" else "ReplicaSet"
        causes.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                                f"activeDeadlineSeconds in {owner} is not Supported"))
    if kind == "Deployment":
        strategy = dict_field(spec, "strategy", "spec.strategy", causes) or {}
        stype = str_field(strategy, "type", "spec.strategy.type", causes) or "RollingUpdate"
        if stype not in ("Recreate", "RollingUpdate"):
            causes.append(not_supported("spec.strategy.type", stype, ["Recreate", "RollingUpdate"]))
        elif stype == "Recreate" and strategy.get("rollingUpdate") is not None:
            causes.append(
                forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            )
        check_nonnegative(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", causes)
    check_nonnegative(spec, "minReadySeconds", "spec.minReadySeconds", causes)


def _stateful_set(obj: Mapping, causes: list) -> None:
    """``ValidateStatefulSetSpec``: policies, counts, selector and template labels, not the pod spec.

    The real API server does not validate a StatefulSet's pod spec (a TODO in
    Go): a ``volumeMount`` may name a ``volumeClaimTemplates`` entry, which is
    no volume of the template. A template that is otherwise broken is accepted
    here and fails when the controller creates the pods. A field left unset is
    not an error: the server defaults it before validating.
    """
    spec = dict_field(obj, "spec", "spec", causes) or {}
    policy = str_field(spec, "podManagementPolicy", "spec.podManagementPolicy", causes)
    if policy and policy not in ("OrderedReady", "Parallel"):
        causes.append(invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"))
    strategy = dict_field(spec, "updateStrategy", "spec.updateStrategy", causes) or {}
    stype = str_field(strategy, "type", "spec.updateStrategy.type", causes) or "RollingUpdate"
    rolling = dict_field(strategy, "rollingUpdate", "spec.updateStrategy.rollingUpdate", causes)
    if stype == "OnDelete":
        if rolling is not None:
            partition = rolling.get("partition") if isinstance(rolling.get("partition"), int) else 0
            shown = GoLiteral(f"apps.RollingUpdateStatefulSetStrategy{{Partition:{partition}, "
                              "MaxUnavailable:(*intstr.IntOrString)(nil)}")
            causes.append(invalid("spec.updateStrategy.rollingUpdate", shown,
                                  "only allowed for updateStrategy 'RollingUpdate'"))
    elif stype == "RollingUpdate":
        if rolling is not None:
            check_nonnegative(rolling, "partition", "spec.updateStrategy.rollingUpdate.partition", causes)
    else:
        # Go prints the struct with %#v; a set rollingUpdate would show as a pointer address
        pointer = "nil" if rolling is None else "0xc000000000"
        shown = GoLiteral(f"apps.StatefulSetUpdateStrategy{{Type:{go_value(stype)}, "
                          f"RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)({pointer})}}")
        causes.append(invalid("spec.updateStrategy", shown, "must be 'RollingUpdate' or 'OnDelete'"))
    retention = dict_field(spec, "persistentVolumeClaimRetentionPolicy",
                           "spec.persistentVolumeClaimRetentionPolicy", causes) or {}
    for key in ("whenDeleted", "whenScaled"):
        where = f"spec.persistentVolumeClaimRetentionPolicy.{key}"
        value = str_field(retention, key, where, causes)
        if value and value not in ("Retain", "Delete"):
            causes.append(not_supported(where, value, ["Retain", "Delete"]))
    check_nonnegative(spec, "replicas", "spec.replicas", causes)
    check_nonnegative(spec, "minReadySeconds", "spec.minReadySeconds", causes)
    ordinals = dict_field(spec, "ordinals", "spec.ordinals", causes)
    if ordinals is not None:
        check_nonnegative(ordinals, "start", "spec.ordinals.start", causes)
    template = _selector_and_template(spec, "StatefulSet", causes, "")
    # ValidatePodTemplateSpecForStatefulSet: the template's labels and annotations only
    # (note the paths: spec.template.labels, not spec.template.metadata.labels)
    meta = dict_field(template, "metadata", "spec.template.metadata", causes) or {}
    causes.extend(validate_labels(dict_field(meta, "labels", "spec.template.labels", causes),
                                  "spec.template.labels"))
    _annotations(dict_field(meta, "annotations", "spec.template.annotations", causes) or {},
                 "spec.template.annotations", causes)
    template_spec = dict_field(template, "spec", "spec.template.spec", causes) or {}
    restart = str_field(template_spec, "restartPolicy", "spec.template.spec.restartPolicy", causes)
    if restart and restart != "Always":
        causes.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if template_spec.get("activeDeadlineSeconds") is not None:
        causes.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                                "activeDeadlineSeconds in StatefulSet is not Supported"))


def _restart_policy(template: Mapping) -> str | None:
    """A pod template's ``restartPolicy``: ``""`` when unset, ``None`` when not a string.

    (:func:`~k8slab.api.rules_pod.pod_spec` reports one of the wrong type.)
    """
    spec = template.get("spec")
    restart = spec.get("restartPolicy") if isinstance(spec, dict) else None
    if restart is None:
        return ""
    return restart if isinstance(restart, str) else None


def _job_spec(spec: Any, path: str, causes: list) -> None:
    spec = spec if isinstance(spec, dict) else {}
    for key in (
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ):
        check_nonnegative(spec, key, f"{path}.{key}", causes)
    template = pod_template(spec.get("template"), f"{path}.template", causes)
    restart = _restart_policy(template)
    where = f"{path}.template.spec.restartPolicy"
    if restart is None:
        pass  # not a string: reported by pod_template
    elif not restart or restart == "Always":
        # A Job's pods must end: the pod default (Always) is not allowed.
        causes.append(required(where, 'valid values: "OnFailure", "Never"'))
    elif restart not in ("OnFailure", "Never"):
        causes.append(not_supported(where, restart, ["OnFailure", "Never"]))


def _cronjob(obj: Mapping, old: Mapping | None, causes: list) -> None:
    """CronJob rules in the API server's order: schedule, deadline, policy, job template, limits, zone."""
    spec = dict_field(obj, "spec", "spec", causes) or {}
    schedule = str_field(spec, "schedule", "spec.schedule", causes)
    time_zone = spec.get("timeZone") if isinstance(spec.get("timeZone"), str) else None
    if not schedule:
        causes.append(required("spec.schedule"))
    else:
        old_schedule = ((old or {}).get("spec") or {}).get("schedule") or ""
        for message in cron.schedule_errors(schedule, time_zone,
                                            allow_tz_in_schedule="TZ" in str(old_schedule)):
            causes.append(invalid("spec.schedule", schedule, message))
    check_nonnegative(spec, "startingDeadlineSeconds", "spec.startingDeadlineSeconds", causes)
    policy = spec.get("concurrencyPolicy")
    if policy is not None and policy not in ("Allow", "Forbid", "Replace"):
        causes.append(not_supported("spec.concurrencyPolicy", policy, ["Allow", "Forbid", "Replace"]))
    job_template = dict_field(spec, "jobTemplate", "spec.jobTemplate", causes) or {}
    _job_spec(job_template.get("spec"), "spec.jobTemplate.spec", causes)
    for key in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        check_nonnegative(spec, key, f"spec.{key}", causes)
    for message in cron.time_zone_errors(time_zone):
        causes.append(invalid("spec.timeZone", time_zone, message))


def _service(obj: Mapping, causes: list) -> None:
    spec = dict_field(obj, "spec", "spec", causes) or {}
    stype = str_field(spec, "type", "spec.type", causes) or "ClusterIP"
    headless = spec.get("clusterIP") == "None"
    ports = list_field(spec, "ports", "spec.ports", causes)
    if not ports and spec.get("ports") in (None, []) and not headless and stype != "ExternalName":
        causes.append(required("spec.ports"))
    ports = ports or []
    external = str_field(spec, "externalName", "spec.externalName", causes)
    if stype == "ExternalName" and not external and spec.get("externalName") in (None, ""):
        causes.append(required("spec.externalName"))
    names: set = set()
    seen: set = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        if not isinstance(port, dict):
            causes.append(type_invalid(path, port, "object"))
            continue
        # Fields of the wrong type are reported by the typed readers, once.
        pname = str_field(port, "name", f"{path}.name", causes)
        if pname:
            for msg in dns1123_label_errors(pname):
                causes.append(invalid(f"{path}.name", pname, msg))
            if pname in names:
                causes.append(duplicate(f"{path}.name", pname))
            names.add(pname)
        elif len(ports) > 1 and port.get("name") in (None, ""):
            causes.append(required(f"{path}.name"))
        number = int_field(port, "port", f"{path}.port", causes)
        if number is None:
            if port.get("port") is None:  # unset reads as 0
                causes.append(invalid(f"{path}.port", 0, PORT_RANGE))
        elif not 1 <= number <= 65535:
            causes.append(invalid(f"{path}.port", number, PORT_RANGE))
        protocol = str_field(port, "protocol", f"{path}.protocol", causes) or "TCP"
        if protocol not in PROTOCOLS:
            causes.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
        target = typed_field(
            port, "targetPort", f"{path}.targetPort", (int, str), causes, "integer,string"
        )
        if isinstance(target, int) and target != 0 and not 1 <= target <= 65535:
            causes.append(invalid(f"{path}.targetPort", target, PORT_RANGE))
        elif isinstance(target, str) and target:
            for msg in port_name_errors(target):
                causes.append(invalid(f"{path}.targetPort", target, msg))
        node_port = int_field(port, "nodePort", f"{path}.nodePort", causes)
        if node_port:
            if stype == "ClusterIP":
                causes.append(
                    forbidden(f"{path}.nodePort", "may not be used when `type` is 'ClusterIP'")
                )
            elif not _NODE_PORT_RANGE[0] <= node_port <= _NODE_PORT_RANGE[1]:
                low, high = _NODE_PORT_RANGE
                causes.append(
                    invalid(
                        f"{path}.nodePort",
                        node_port,
                        f"provided port is not in the valid range. The range of valid ports is {low}-{high}",
                    )
                )
        key = (protocol, number)
        if key in seen:
            causes.append(
                duplicate(
                    path,
                    GoLiteral(
                        f'core.ServicePort{{Name:"", Protocol:"{protocol}", AppProtocol:(*string)(nil), '
                        f'Port:{number or 0}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}'
                    ),
                )
            )
        seen.add(key)
    causes.extend(
        validate_labels(dict_field(spec, "selector", "spec.selector", causes), "spec.selector")
    )
    affinity = str_field(spec, "sessionAffinity", "spec.sessionAffinity", causes) or "None"
    if affinity not in ("ClientIP", "None"):
        causes.append(not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    if stype not in _SERVICE_TYPES:
        causes.append(not_supported("spec.type", stype, _SERVICE_TYPES))


def _config_key_causes(keys, part: str, causes: list) -> None:
    for key in sorted(keys, key=str):
        for msg in config_key_errors(str(key)):
            causes.append(invalid(f"{part}[{key}]", str(key), msg))


def _bytes_of(value: Any, encoded: bool) -> bytes:
    """A data value as the bytes the API server holds (base64-decoded when ``encoded``)."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if encoded:
        try:
            return decode_base64(text)
        except ValueError:
            pass  # not base64: the server refuses it before validating (a 400)
    return text.encode()


def _immutable(obj: Mapping, old: Mapping, parts: tuple, causes: list, view=None) -> None:
    """``immutable: true`` freezes the data and itself (``ValidateConfigMapUpdate``/``ValidateSecretUpdate``)."""
    if old.get("immutable") is not True:
        return
    if obj.get("immutable") is not True:
        causes.append(forbidden("immutable", _IMMUTABLE))
    for part in parts:
        new_value = view(obj) if view else obj.get(part)
        old_value = view(old) if view else old.get(part)
        if (new_value or None) != (old_value or None):  # an empty map is Go's nil map
            causes.append(forbidden(part, _IMMUTABLE))


def _config_map(obj: Mapping, old: Mapping | None, causes: list) -> None:
    """``ValidateConfigMap`` (and the update rules first, as ``ValidateConfigMapUpdate`` runs them)."""
    if old is not None:
        _immutable(obj, old, ("data", "binaryData"), causes)
    data = dict_field(obj, "data", "data", causes) or {}
    binary = dict_field(obj, "binaryData", "binaryData", causes) or {}
    size = 0
    for key in sorted(data, key=str):
        for msg in config_key_errors(str(key)):
            causes.append(invalid(f"data[{key}]", str(key), msg))
        if key in binary:
            causes.append(invalid(f"data[{key}]", str(key), "duplicate of key present in binaryData"))
        size += len(_bytes_of(data[key], False))
    for key in sorted(binary, key=str):
        for msg in config_key_errors(str(key)):
            causes.append(invalid(f"binaryData[{key}]", str(key), msg))
        if key in data:
            causes.append(invalid(f"binaryData[{key}]", str(key), "duplicate of key present in data"))
        size += len(_bytes_of(binary[key], True))
    if size > _MAX_CONFIG_SIZE:
        # (Go reports this on the path "", which prints as ": Too long...")
        causes.append(field_cause("", f"Too long: must have at most {_MAX_CONFIG_SIZE} bytes", "FieldValueTooLong"))


def _secret_data(obj: Mapping) -> dict:
    """A Secret's data as the server holds it: ``data`` decoded, overwritten by ``stringData``."""
    data = {str(k): _bytes_of(v, True) for k, v in (obj.get("data") or {}).items()} \
        if isinstance(obj.get("data"), dict) else {}
    if isinstance(obj.get("stringData"), dict):
        data.update({str(k): _bytes_of(v, False) for k, v in obj["stringData"].items()})
    return data


_SERVICE_ACCOUNT_NAME = "kubernetes.io/service-account.name"


def _secret(obj: Mapping, old: Mapping | None, causes: list) -> None:
    """``ValidateSecret`` (after ``ValidateSecretUpdate``'s own rules on an update).

    ``stringData`` counts as the ``data`` it becomes, so its keys are reported
    as ``data[key]``, as the real server (which has merged them by then) does.
    """
    stype = str_field(obj, "type", "type", causes) or "Opaque"
    if old is not None:
        old_type = old.get("type") or "Opaque"
        if stype != old_type:
            causes.append(invalid("type", stype, "field is immutable"))
        _immutable(obj, old, ("data",), causes, view=_secret_data)
    dict_field(obj, "data", "data", causes)
    dict_field(obj, "stringData", "stringData", causes)
    data = _secret_data(obj)
    _config_key_causes(data, "data", causes)
    if sum(len(v) for v in data.values()) > _MAX_CONFIG_SIZE:
        causes.append(field_cause("data", f"Too long: must have at most {_MAX_CONFIG_SIZE} bytes",
                                  "FieldValueTooLong"))
    if stype == "kubernetes.io/service-account-token":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not isinstance(annotations, dict) or not annotations.get(_SERVICE_ACCOUNT_NAME):
            causes.append(required(f"metadata.annotations[{_SERVICE_ACCOUNT_NAME}]"))
    elif stype in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if stype == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if key not in data:
            causes.append(required(f"data[{key}]"))
        else:
            problem = _go_json_object_error(data[key])
            if problem:
                causes.append(invalid(f"data[{key}]", "<secret contents redacted>", problem))
    elif stype == "kubernetes.io/basic-auth":
        # either may be empty, but one of them must be there
        if "username" not in data and "password" not in data:
            causes.append(required("data[username]"))
            causes.append(required("data[password]"))
    elif stype == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            causes.append(required("data[ssh-privatekey]"))
    elif stype == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in data:
                causes.append(required(f"data[{key}]"))


def _go_quote_char(c: str) -> str:
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    return "'" + go_value(c)[1:-1] + "'"


def _go_json_object_error(raw: bytes) -> str | None:
    """The error of Go's ``json.Unmarshal`` of ``raw`` into a map, or ``None`` if it would work.

    Example
    -------
    >>> _go_json_object_error(b'{"auths": {}}') is None
    True
    >>> _go_json_object_error(b"auths"), _go_json_object_error(b"[]"), _go_json_object_error(b'{"a": 1')
    ("invalid character 'a' looking for beginning of value", 'json: cannot unmarshal array into Go value of type map[string]interface {}', 'unexpected end of JSON input')
    """
    text = raw.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        rest = text[e.pos:]
        if not rest.strip() or e.msg.startswith("Unterminated string"):
            return "unexpected end of JSON input"
        c = rest[0]
        if e.msg.startswith("Invalid control character"):
            return f"invalid character {_go_quote_char(c)} in string literal"
        if e.msg == "Extra data":
            return f"invalid character {_go_quote_char(c)} after top-level value"
        if e.msg.startswith("Expecting property name"):
            return f"invalid character {_go_quote_char(c)} looking for beginning of object key string"
        if e.msg.startswith("Expecting ':'"):
            return f"invalid character {_go_quote_char(c)} after object key"
        if e.msg.startswith("Expecting ','"):
            inside = "object key:value pair" if _innermost(text[: e.pos]) == "{" else "array element"
            return f"invalid character {_go_quote_char(c)} after {inside}"
        return f"invalid character {_go_quote_char(c)} looking for beginning of value"
    if isinstance(value, dict) or value is None:
        return None
    kind = ("array" if isinstance(value, list) else "string" if isinstance(value, str)
            else "bool" if isinstance(value, bool) else "number")
    return f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"


def _innermost(text: str) -> str:
    """The innermost ``{`` or ``[`` still open at the end of ``text`` (JSON, strings skipped)."""
    stack: list[str] = []
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            stack.append(c)
        elif c in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _update_causes(obj: Mapping, old: Mapping, kind: str, causes: list) -> None:
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if not isinstance(spec, dict) or not isinstance(old_spec, dict):
        return
    if kind in _WORKLOAD_WORD and spec.get("selector") != old_spec.get("selector"):
        causes.append(
            invalid("spec.selector", go_label_selector(spec.get("selector")), "field is immutable")
        )
    if kind == "StatefulSet":
        mutable = {
            "replicas",
            "ordinals",
            "template",
            "updateStrategy",
            "persistentVolumeClaimRetentionPolicy",
            "minReadySeconds",
        }
        if {k: v for k, v in spec.items() if k not in mutable} != {
            k: v for k, v in old_spec.items() if k not in mutable
        }:
            causes.append(
                forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                )
            )
    if kind == "Job":
        # the selector, completion mode and (unless suspended) the pod template are fixed at creation
        if spec.get("selector") != old_spec.get("selector"):
            causes.append(invalid("spec.selector", go_label_selector(spec.get("selector")), "field is immutable"))
        if spec.get("completionMode") != old_spec.get("completionMode"):
            causes.append(invalid("spec.completionMode", spec.get("completionMode"), "field is immutable"))
        if spec.get("template") != old_spec.get("template") and not (spec.get("suspend") and old_spec.get("suspend")):
            causes.append(invalid("spec.template", "core.PodTemplateSpec{...}", "field is immutable"))
        if (spec.get("completionMode") or "NonIndexed") == "NonIndexed" and \
                spec.get("completions") != old_spec.get("completions"):
            causes.append(invalid("spec.completions", spec.get("completions"), "field is immutable"))
    if kind == "Pod":
        pod_update(obj, old, causes)
    if kind == "Service":
        ip, old_ip = spec.get("clusterIP"), old_spec.get("clusterIP")
        if ip and old_ip and ip != old_ip:
            causes.append(invalid("spec.clusterIPs[0]", [ip], "may not change once set"))


def semantic_causes(obj: Mapping, old: Mapping | None = None) -> list[dict]:
    """Every rule of the real API server that ``obj`` breaks, as 422 ``causes``.

    Parameters
    ----------
    obj : dict
        The object (defaulted or not: a missing ``restartPolicy`` counts as
        the default ``Always``).
    old : dict, optional
        The stored object, for an update: adds the update rules (a workload's
        selector is immutable; a pod's spec may change only its images,
        tolerations and deadlines).

    Returns
    -------
    list of dict
        ``errors.field_cause`` dicts in the order the API server checks,
        ready for ``errors.Invalid(kind, group, name, causes)``. Empty when valid.

    Example
    -------
    >>> pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
    ...        "spec": {"containers": [{"name": "web", "image": "nginx"},
    ...                                {"name": "web", "image": "busybox"}]}}
    >>> [(c["field"], c["message"]) for c in semantic_causes(pod)]
    [('spec.containers[1].name', 'Duplicate value: "web"')]
    """
    if not isinstance(obj, dict):
        return [type_invalid("", obj, "object")]
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else ""
    causes: list[dict] = []
    _object_meta(obj, kind, causes)
    if kind == "Pod":
        pod_spec(obj.get("spec"), "spec", causes)
    elif kind == "StatefulSet":
        _stateful_set(obj, causes)
    elif kind in _WORKLOAD_WORD:
        _workload(obj, kind, causes)
    elif kind == "Job":
        _job_spec(obj.get("spec"), "spec", causes)
    elif kind == "CronJob":
        _cronjob(obj, old, causes)
    elif kind == "PodTemplate":
        pod_template(obj.get("template"), "template", causes)
    elif kind == "Service":
        _service(obj, causes)
    elif kind == "ConfigMap":
        _config_map(obj, old if isinstance(old, dict) else None, causes)
    elif kind == "Secret":
        _secret(obj, old if isinstance(old, dict) else None, causes)
    if old is not None and isinstance(old, dict):
        _update_causes(obj, old, kind, causes)
    return causes
