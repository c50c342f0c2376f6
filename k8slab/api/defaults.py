"""The defaults the API server fills in, so ``kubectl get -o yaml`` shows what a real cluster shows.

A learner writes ten lines of Deployment; the stored object has many more:
``replicas: 1``, a ``RollingUpdate`` strategy of 25 % / 25 %, ``restartPolicy:
Always``, ``imagePullPolicy``, ``terminationMessagePath`` and so on. These come
from the ``SetDefaults_*`` functions of each API group (``pkg/apis/*/v1/defaults.go``),
plus a few values that admission plugins set on pods (``serviceAccountName``,
``priority``, ``enableServiceLinks``). :func:`apply_defaults` applies them all;
fields the user set are never changed. As in Go, a string field set to ``""``
counts as unset.

:func:`apply_defaults` also does what decoding a request into the API server's
internal types does (``pkg/apis/*/v1/conversion.go``): a Secret's ``stringData``
is merged into ``data`` (base64) and dropped; base64 values are checked and
written canonically (a bad one is a ``400 BadRequest``, like the real
``illegal base64 data at input byte 4``); a StatefulSet's claim templates get
``apiVersion: v1`` and ``kind: PersistentVolumeClaim``.

What a registry strategy does on create and update (``pkg/registry/*/strategy.go``)
is :func:`prepare_for_create` / :func:`prepare_for_update`: a DaemonSet's
``deprecated.daemonset.template.generation`` annotation, a new volume's or
claim's ``Pending`` status.

Not here: values the API server *allocates* (a Service's ``clusterIP`` and
``ipFamilies``, a Job's generated selector, an object's ``uid``), and the
``DefaultTolerationSeconds`` admission plugin, which is
:func:`default_toleration_seconds`.

Simplified: quantities are not rounded up to milli-units (``SetDefaults_ResourceList``);
the LimitRange and the LoadBalancer status ``ipMode`` defaults are not filled in.

Example
-------
>>> d = apply_defaults({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
...     "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
...         "metadata": {"labels": {"app": "web"}},
...         "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
>>> d["spec"]["replicas"], d["spec"]["strategy"]["rollingUpdate"]
(1, {'maxUnavailable': '25%', 'maxSurge': '25%'})
>>> d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"]
'IfNotPresent'
>>> apply_defaults({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
...                 "stringData": {"password": "s3cret"}})["data"]
{'password': 'czNjcmV0'}
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterable
from typing import Any

from k8slab.api import errors

__all__ = [
    "ANNOTATION_TEMPLATE_GENERATION",
    "apply_defaults",
    "decode_base64",
    "default_toleration_seconds",
    "image_pull_policy",
    "int_or_percent",
    "prepare_for_create",
    "prepare_for_update",
]

_DEFAULT_MODE = 0o644  # 420: files from ConfigMaps and Secrets are rw-r--r--
#: A ``ClientIP`` session affinity lasts three hours unless told otherwise.
_CLIENT_IP_TIMEOUT = 10800
#: The annotation with a DaemonSet's template generation (``DeprecatedTemplateGeneration``).
ANNOTATION_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def _sub(obj: dict, key: str) -> dict:
    """``obj[key]`` as a dict, created when missing (a non-dict value is left alone)."""
    value = obj.get(key)
    if value is None:
        value = obj[key] = {}
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _default(obj: dict, key: str, value: Any) -> Any:
    """Set ``obj[key]`` when it is missing or null (a nil pointer in Go)."""
    if obj.get(key) is None:
        obj[key] = value
    return obj[key]


def _default_str(obj: dict, key: str, value: str) -> Any:
    """Set a string field when missing, null or ``""``: Go cannot tell ``""`` from unset."""
    if obj.get(key) is None or obj.get(key) == "":
        obj[key] = value
    return obj[key]


def image_pull_policy(image: str) -> str:
    """The default ``imagePullPolicy`` for an image: ``Always`` for ``:latest`` or no tag.

    An image pinned by digest (``@sha256:...``) is ``IfNotPresent``.

    Example
    -------
    >>> image_pull_policy("nginx"), image_pull_policy("nginx:latest"), image_pull_policy("nginx:1.27")
    ('Always', 'Always', 'IfNotPresent')
    >>> image_pull_policy("registry:5000/team/app@sha256:abc")
    'IfNotPresent'
    """
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]  # a ":" before the last "/" is a registry port
    tag = last.rpartition(":")[2] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    # int32 fields: 0 is Go's "unset" too
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                       ("failureThreshold", 3)):
        if probe.get(key) in (None, 0):
            probe[key] = value
    http = probe.get("httpGet")
    if isinstance(http, dict):
        _default_str(http, "path", "/")
        _default_str(http, "scheme", "HTTP")


def _container(ctr: dict) -> None:
    if not ctr.get("imagePullPolicy") and isinstance(ctr.get("image"), str):
        ctr["imagePullPolicy"] = image_pull_policy(ctr["image"])
    _default_str(ctr, "terminationMessagePath", "/dev/termination-log")
    _default_str(ctr, "terminationMessagePolicy", "File")
    _default(ctr, "resources", {})  # a struct in Go, so always present in the output
    for port in _dicts(ctr.get("ports")):
        _default_str(port, "protocol", "TCP")
    for env in _dicts(ctr.get("env")):
        ref = (
            (env.get("valueFrom") or {}).get("fieldRef")
            if isinstance(env.get("valueFrom"), dict)
            else None
        )
        if isinstance(ref, dict):
            _default_str(ref, "apiVersion", "v1")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(ctr.get(key))


def _claim_spec(spec: Any) -> None:
    """``SetDefaults_PersistentVolumeClaimSpec``: wherever a claim spec appears."""
    if isinstance(spec, dict):
        _default(spec, "volumeMode", "Filesystem")


def _volume(vol: dict) -> None:
    sources = [k for k in vol if k != "name"]
    if not sources:
        vol["emptyDir"] = {}  # a volume with no source is an emptyDir
    for key in ("configMap", "secret", "projected", "downwardAPI"):
        if isinstance(vol.get(key), dict):
            _default(vol[key], "defaultMode", _DEFAULT_MODE)
    if isinstance(vol.get("hostPath"), dict):
        _default(vol["hostPath"], "type", "")  # HostPathUnset: shown as type: ""
    if isinstance(vol.get("projected"), dict):
        for source in _dicts(vol["projected"].get("sources")):
            if isinstance(source.get("serviceAccountToken"), dict):
                _default(source["serviceAccountToken"], "expirationSeconds", 3600)
    ephemeral = vol.get("ephemeral")
    if isinstance(ephemeral, dict) and isinstance(ephemeral.get("volumeClaimTemplate"), dict):
        _claim_spec(ephemeral["volumeClaimTemplate"].get("spec"))


def _pod_spec(spec: dict) -> None:
    """``SetDefaults_PodSpec`` and the container defaults: for pods and pod templates alike."""
    _default_str(spec, "restartPolicy", "Always")
    _default_str(spec, "dnsPolicy", "ClusterFirst")
    _default_str(spec, "schedulerName", "default-scheduler")
    _default(spec, "terminationGracePeriodSeconds", 30)
    _default(spec, "securityContext", {})
    for ctr in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        _container(ctr)
    for vol in _dicts(spec.get("volumes")):
        _volume(vol)
    if spec.get("hostNetwork"):
        for ctr in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
            for port in _dicts(ctr.get("ports")):
                if not port.get("hostPort"):
                    port["hostPort"] = port.get("containerPort")


def _pod(obj: dict) -> None:
    spec = _sub(obj, "spec")
    _pod_spec(spec)
    # SetDefaults_Pod (pods only, not templates): requests default to limits.
    for ctr in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        resources = ctr.get("resources")
        if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
            requests = _sub(resources, "requests")
            for name, value in resources["limits"].items():
                requests.setdefault(name, copy.deepcopy(value))
    _default(spec, "enableServiceLinks", True)
    # Set by admission plugins on every new pod (ServiceAccount, Priority); the
    # deprecated serviceAccount field mirrors serviceAccountName in v1.
    _default_str(spec, "serviceAccountName", "default")
    _default_str(spec, "serviceAccount", spec["serviceAccountName"])


def _template(spec: dict) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        _pod_spec(_sub(template, "spec"))


def _rolling_update(strategy: dict, **values: Any) -> None:
    rolling = _sub(strategy, "rollingUpdate")
    for key, value in values.items():
        _default(rolling, key, value)


def _deployment(obj: dict) -> None:
    spec = _sub(obj, "spec")
    _default(spec, "replicas", 1)
    strategy = _sub(spec, "strategy")
    _default_str(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _rolling_update(strategy, maxUnavailable="25%", maxSurge="25%")
    _default(spec, "revisionHistoryLimit", 10)
    _default(spec, "progressDeadlineSeconds", 600)
    _template(spec)


def _replica_set(obj: dict) -> None:
    spec = _sub(obj, "spec")
    _default(spec, "replicas", 1)
    _template(spec)


def _stateful_set(obj: dict) -> None:
    spec = _sub(obj, "spec")
    _default(spec, "replicas", 1)
    _default_str(spec, "podManagementPolicy", "OrderedReady")
    strategy = _sub(spec, "updateStrategy")
    if not strategy.get("type"):
        # Only a strategy that named no type gets a rollingUpdate block: an explicit
        # "type: RollingUpdate" without one keeps none (and updates every ordinal).
        strategy["type"] = "RollingUpdate"
        _sub(strategy, "rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        _default(strategy["rollingUpdate"], "partition", 0)
    _default(spec, "revisionHistoryLimit", 10)
    policy = _sub(spec, "persistentVolumeClaimRetentionPolicy")
    _default_str(policy, "whenDeleted", "Retain")
    _default_str(policy, "whenScaled", "Retain")
    for claim in _dicts(spec.get("volumeClaimTemplates")):
        # conversion to apps/v1 names the templates' type (kubernetes#87706)
        claim["apiVersion"] = "v1"
        claim["kind"] = "PersistentVolumeClaim"
        _claim_spec(_sub(claim, "spec"))
        _default_str(_sub(claim, "status"), "phase", "Pending")
    _template(spec)


def _daemon_set(obj: dict) -> None:
    spec = _sub(obj, "spec")
    strategy = _sub(spec, "updateStrategy")
    _default_str(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _rolling_update(strategy, maxUnavailable=1, maxSurge=0)
    _default(spec, "revisionHistoryLimit", 10)
    _template(spec)


def _job(obj: dict) -> None:
    spec = _sub(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _default(spec, "parallelism", 1)
    _default(spec, "backoffLimit", 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6)
    _default(spec, "completionMode", "NonIndexed")
    _default(spec, "suspend", False)
    _default(
        spec,
        "podReplacementPolicy",
        "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed",
    )
    # batch/v1 copies the pod template's labels to a Job that has none.
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    meta = _sub(obj, "metadata")
    if isinstance(template_labels, dict) and not meta.get("labels"):
        meta["labels"] = dict(template_labels)
    _template(spec)


def _cron_job(obj: dict) -> None:
    spec = _sub(obj, "spec")
    _default_str(spec, "concurrencyPolicy", "Allow")
    _default(spec, "suspend", False)
    _default(spec, "successfulJobsHistoryLimit", 3)
    _default(spec, "failedJobsHistoryLimit", 1)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        # Only the pod template inside gets defaults; the Job's own come when a Job is made.
        _template(_sub(job_template, "spec"))


def _service(obj: dict) -> None:
    spec = _sub(obj, "spec")
    affinity = _default_str(spec, "sessionAffinity", "None")
    if affinity == "None":
        spec.pop("sessionAffinityConfig", None)
    elif affinity == "ClientIP":
        config = spec.get("sessionAffinityConfig")
        client = config.get("clientIP") if isinstance(config, dict) else None
        if not isinstance(client, dict) or client.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": _CLIENT_IP_TIMEOUT}}
    _default_str(spec, "type", "ClusterIP")
    for port in _dicts(spec.get("ports")):
        _default_str(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and "port" in port:
            port["targetPort"] = port["port"]
    stype = spec["type"]
    if stype in ("NodePort", "LoadBalancer") or (stype == "ClusterIP" and spec.get("externalIPs")):
        _default_str(spec, "externalTrafficPolicy", "Cluster")
    if stype in ("ClusterIP", "NodePort", "LoadBalancer"):
        _default(spec, "internalTrafficPolicy", "Cluster")
    if stype == "LoadBalancer":
        _default(spec, "allocateLoadBalancerNodePorts", True)


def _namespace(obj: dict) -> None:
    meta = _sub(obj, "metadata")
    if isinstance(meta.get("name"), str) and meta["name"]:
        # Every namespace carries its own name as a label, to be selectable.
        _sub(meta, "labels")["kubernetes.io/metadata.name"] = meta["name"]
    _sub(obj, "spec").setdefault("finalizers", ["kubernetes"])


# -- decoding: what turning a request's JSON into the internal types does -----------------

_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUES = {ord(c): i for i, c in enumerate(_B64_ALPHABET)}
_NEWLINES = (ord("\n"), ord("\r"))


def decode_base64(text: str) -> bytes:
    """Decode like Go's ``base64.StdEncoding``, which decodes ``[]byte`` fields of a request.

    Newlines are skipped; anything else outside the alphabet, a missing ``=``
    or trailing characters raise ``ValueError`` with Go's message, whose byte
    offset is what the API server reports.

    Example
    -------
    >>> decode_base64("czNjcmV0")
    b's3cret'
    >>> decode_base64("s3cret")
    Traceback (most recent call last):
    ...
    ValueError: illegal base64 data at input byte 4
    """
    src = text.encode()
    out = bytearray()
    si = 0
    while si < len(src):
        # one quantum of four characters (decodeQuantum)
        quantum: list[int] = []
        while len(quantum) < 4:
            if si == len(src):
                if not quantum:
                    return bytes(out)
                # a padded encoding must end on a whole quantum
                raise ValueError(f"illegal base64 data at input byte {si - len(quantum)}")
            c = src[si]
            si += 1
            if c in _B64_VALUES:
                quantum.append(_B64_VALUES[c])
                continue
            if c in _NEWLINES:
                continue
            if c != ord("=") or len(quantum) < 2:
                raise ValueError(f"illegal base64 data at input byte {si - 1}")
            if len(quantum) == 2:  # "==" expected: the second one must follow
                while si < len(src) and src[si] in _NEWLINES:
                    si += 1
                if si == len(src):
                    raise ValueError(f"illegal base64 data at input byte {len(src)}")
                if src[si] != ord("="):
                    raise ValueError(f"illegal base64 data at input byte {si - 1}")
                si += 1
            while si < len(src) and src[si] in _NEWLINES:
                si += 1
            if si < len(src):
                raise ValueError(f"illegal base64 data at input byte {si}")
            break
        value = 0
        for i, part in enumerate(quantum):
            value |= part << (18 - 6 * i)
        out += value.to_bytes(3, "big")[: len(quantum) - 1]
    return bytes(out)


def _json_kind(value: Any) -> str:
    """How Go's JSON decoder names a value's type in ``cannot unmarshal <kind>``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "array" if isinstance(value, list) else "object"


def _decode_error(kind: str, detail: str) -> errors.BadRequest:
    return errors.BadRequest(f'{kind} in version "v1" cannot be handled as a {kind}: {detail}')


def _string_map(obj: dict, key: str, kind: str) -> None:
    """A ``map[string]string`` field: values must be strings (``null`` reads as ``""``)."""
    values = obj.get(key)
    if not isinstance(values, dict):
        return
    for name in sorted(values, key=str):
        value = values[name]
        if value is None:
            values[name] = ""
        elif not isinstance(value, str):
            raise _decode_error(kind, f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                                      f"{kind}.{key} of type string")


def _bytes_map(obj: dict, key: str, kind: str) -> None:
    """A ``map[string][]byte`` field: base64 values, checked and written canonically."""
    values = obj.get(key)
    if not isinstance(values, dict):
        return
    for name in sorted(values, key=str):
        value = values[name]
        if value is None:
            values[name] = ""
            continue
        if not isinstance(value, str):
            raise _decode_error(kind, f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                                      f"{kind}.{key} of type []uint8")
        try:
            decoded = decode_base64(value)
        except ValueError as e:
            raise _decode_error(kind, str(e)) from None
        values[name] = base64.b64encode(decoded).decode()


def _secret(obj: dict) -> None:
    _default_str(obj, "type", "Opaque")
    _bytes_map(obj, "data", "Secret")
    _string_map(obj, "stringData", "Secret")
    string_data = obj.get("stringData")
    if isinstance(string_data, dict):
        # Convert_v1_Secret_To_core_Secret: stringData overwrites data; the internal
        # Secret has no stringData, so it is never stored nor returned.
        del obj["stringData"]
        if string_data:
            data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(value.encode()).decode()
            obj["data"] = dict(sorted(data.items()))  # a Go map: printed in key order


def _config_map(obj: dict) -> None:
    _string_map(obj, "data", "ConfigMap")
    _bytes_map(obj, "binaryData", "ConfigMap")


def _claim(obj: dict) -> None:
    _claim_spec(_sub(obj, "spec"))
    _default_str(_sub(obj, "status"), "phase", "Pending")


def _volume_object(obj: dict) -> None:
    spec = _sub(obj, "spec")
    _default_str(spec, "persistentVolumeReclaimPolicy", "Retain")
    _default(spec, "volumeMode", "Filesystem")
    if isinstance(spec.get("hostPath"), dict):
        _default(spec["hostPath"], "type", "")
    _default_str(_sub(obj, "status"), "phase", "Pending")


def _priority_class(obj: dict) -> None:
    _default(obj, "preemptionPolicy", "PreemptLowerPriority")


def _endpoints(obj: dict) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            _default_str(port, "protocol", "TCP")


def _pod_template_object(obj: dict) -> None:
    template = obj.get("template")
    if isinstance(template, dict):
        _pod_spec(_sub(template, "spec"))


_BY_KIND = {
    "Pod": _pod,
    "Deployment": _deployment,
    "ReplicaSet": _replica_set,
    "StatefulSet": _stateful_set,
    "DaemonSet": _daemon_set,
    "Job": _job,
    "CronJob": _cron_job,
    "Service": _service,
    "Namespace": _namespace,
    "Secret": _secret,
    "ConfigMap": _config_map,
    "PersistentVolumeClaim": _claim,
    "PersistentVolume": _volume_object,
    "PriorityClass": _priority_class,
    "Endpoints": _endpoints,
    "PodTemplate": _pod_template_object,
}


def apply_defaults(obj: dict) -> dict:
    """Fill in the defaults a real API server sets, in place; returns ``obj``.

    Kinds without defaults are returned unchanged; fields already set are kept.
    Applying twice changes nothing more.

    Raises
    ------
    k8slab.api.errors.BadRequest
        When the object could not be decoded by a real API server: a value of
        a Secret's ``data`` that is not base64, a ConfigMap value that is not a
        string (``ConfigMap in version "v1" cannot be handled as a ConfigMap: ...``).

    Example
    -------
    >>> pod = apply_defaults({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    >>> pod["spec"]["restartPolicy"], pod["spec"]["containers"][0]["imagePullPolicy"]
    ('Always', 'Always')
    >>> apply_defaults({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})["spec"]
    {'finalizers': ['kubernetes']}
    """
    if isinstance(obj, dict):
        fill = _BY_KIND.get(obj.get("kind"))
        if fill is not None:
            fill(obj)
    return obj


# -- registry strategies: PrepareForCreate / PrepareForUpdate --------------------------------


def _template_generation(ds: dict) -> int | None:
    """The generation the annotation carries (``None`` when absent); a non-number is a 400."""
    annotations = (ds.get("metadata") or {}).get("annotations")
    value = annotations.get(ANNOTATION_TEMPLATE_GENERATION) if isinstance(annotations, dict) else None
    if value is None:
        return None
    try:
        return int(str(value), 10)
    except ValueError:
        raise _decode_error("DaemonSet", f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def _set_template_generation(ds: dict, generation: int) -> None:
    meta = _sub(ds, "metadata")
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    annotations[ANNOTATION_TEMPLATE_GENERATION] = str(generation)
    meta["annotations"] = dict(sorted(annotations.items()))


def prepare_for_create(obj: dict, now: str) -> dict:
    """What the kind's registry strategy does to a new object before it is stored.

    * DaemonSet: ``deprecated.daemonset.template.generation`` starts at ``"1"``
      (or the value given, if larger: ``spec.templateGeneration`` of the internal type);
    * PersistentVolume: the status is reset to ``phase: Pending`` with
      ``lastPhaseTransitionTime: now`` (``PersistentVolumeLastPhaseTransitionTime``, beta in 1.30);
    * PersistentVolumeClaim: the status is reset to ``phase: Pending``.

    ``now`` is the creation timestamp (``2025-01-01T00:00:10Z``). Modifies ``obj``
    in place and returns it. Raises :class:`~k8slab.api.errors.BadRequest` for a
    DaemonSet whose annotation is not a number, as decoding it does.

    Example
    -------
    >>> ds = prepare_for_create({"kind": "DaemonSet", "metadata": {"name": "agent"}}, "2025-01-01T00:00:10Z")
    >>> ds["metadata"]["annotations"]
    {'deprecated.daemonset.template.generation': '1'}
    >>> prepare_for_create({"kind": "PersistentVolume", "status": {"phase": "Bound"}}, "2025-01-01T00:00:10Z")["status"]
    {'phase': 'Pending', 'lastPhaseTransitionTime': '2025-01-01T00:00:10Z'}
    """
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind == "DaemonSet":
        _set_template_generation(obj, max(_template_generation(obj) or 0, 1))
    elif kind == "PersistentVolume":
        obj["status"] = {"phase": "Pending", "lastPhaseTransitionTime": now}
    elif kind == "PersistentVolumeClaim":
        obj["status"] = {"phase": "Pending"}
    return obj


def prepare_for_update(obj: dict, old: dict) -> dict:
    """What the kind's registry strategy does to an updated object (not a status update).

    A DaemonSet keeps its stored template generation, plus one when the update
    changes the pod template; whatever the request says in the annotation is
    ignored (it is not the user's to set). Call after :func:`apply_defaults`, so
    that the templates compare defaulted. Modifies ``obj`` in place and returns it.

    Example
    -------
    >>> old = {"kind": "DaemonSet", "metadata": {"annotations": {ANNOTATION_TEMPLATE_GENERATION: "1"}},
    ...        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}}
    >>> new = {"kind": "DaemonSet", "metadata": {},
    ...        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "agent:2"}]}}}}
    >>> prepare_for_update(new, old)["metadata"]["annotations"]
    {'deprecated.daemonset.template.generation': '2'}
    """
    if isinstance(obj, dict) and obj.get("kind") == "DaemonSet" and isinstance(old, dict):
        _template_generation(obj)  # the request must still decode
        generation = _template_generation(old) or 1
        old_template = (old.get("spec") or {}).get("template")
        new_template = (obj.get("spec") or {}).get("template") if isinstance(obj.get("spec"), dict) else None
        if new_template != old_template:
            generation += 1
        _set_template_generation(obj, generation)
    return obj


_NOT_READY = "node.kubernetes.io/not-ready"
_UNREACHABLE = "node.kubernetes.io/unreachable"


def default_toleration_seconds(pod: dict, seconds: int = 300) -> dict:
    """The ``DefaultTolerationSeconds`` admission plugin: tolerate a lost node for 5 minutes.

    Adds ``NoExecute`` tolerations of the ``not-ready`` and ``unreachable`` node
    taints with ``tolerationSeconds: 300``, unless the pod already tolerates
    them. This is why pods of a failed node are evicted about five minutes
    after the node stops reporting. Modifies ``pod`` in place and returns it.

    Example
    -------
    >>> pod = default_toleration_seconds({"kind": "Pod", "spec": {"containers": []}})
    >>> [(t["key"], t["tolerationSeconds"]) for t in pod["spec"]["tolerations"]]
    [('node.kubernetes.io/not-ready', 300), ('node.kubernetes.io/unreachable', 300)]
    """
    spec = _sub(pod, "spec")
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = spec["tolerations"] = []
    if not isinstance(tolerations, list):
        return pod

    def tolerates(key: str) -> bool:
        # An empty key or effect matches everything, as in the real plugin.
        return any(
            (t.get("key") in (key, None, "")) and (t.get("effect") in ("NoExecute", None, ""))
            for t in _dicts(tolerations)
        )

    for key in (_NOT_READY, _UNREACHABLE):
        if not tolerates(key):
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": seconds,
                }
            )
    return pod


def int_or_percent(value: int | str, total: int, round_up: bool) -> int:
    """An int-or-percent field resolved against a total (``GetScaledValueFromIntOrPercent``).

    A rolling update rounds ``maxSurge`` up and ``maxUnavailable`` down, so
    25 % of 3 replicas is 1 extra pod but 0 unavailable ones.

    Raises ``ValueError`` for a string that is not a percentage, as Kubernetes does.

    Example
    -------
    >>> int_or_percent("25%", 3, round_up=True), int_or_percent("25%", 3, round_up=False)
    (1, 0)
    >>> int_or_percent(2, 10, round_up=False)
    2
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid type: {type(value).__name__} is not an int or a percentage")
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not value.endswith("%"):
        raise ValueError("invalid type: string is not a percentage")
    digits = value[:-1]
    try:
        percent = int(digits)
    except ValueError:
        raise ValueError(
            f'invalid value "{value}": strconv.Atoi: parsing "{digits}": invalid syntax'
        ) from None
    scaled = percent * total
    return -(-scaled // 100) if round_up else scaled // 100


#: The annotation that makes an IngressClass the default for Ingresses that name none.
ANNOTATION_IS_DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"


def default_ingress_class(classes: Iterable[dict]) -> dict | None:
    """The IngressClass the ``DefaultIngressClass`` admission plugin writes into a class-less Ingress.

    Among classes annotated ``ingressclass.kubernetes.io/is-default-class: "true"``
    the newest wins (ties: name ascending); ``None`` when there is no default.

    >>> a = {"metadata": {"name": "a", "creationTimestamp": "2025-01-01T00:00:01Z",
    ...                   "annotations": {ANNOTATION_IS_DEFAULT_CLASS: "true"}}}
    >>> b = {"metadata": {"name": "b", "creationTimestamp": "2025-01-01T00:00:05Z",
    ...                   "annotations": {ANNOTATION_IS_DEFAULT_CLASS: "true"}}}
    >>> default_ingress_class([a, b])["metadata"]["name"]
    'b'
    """
    found = [c for c in classes
             if ((c.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_IS_DEFAULT_CLASS) == "true"]
    if not found:
        return None
    # newest first, then by name: sort by name, then stably by timestamp descending
    found.sort(key=lambda c: c["metadata"]["name"])
    found.sort(key=lambda c: c["metadata"].get("creationTimestamp") or "", reverse=True)
    return found[0]
