"""The defaults the API server fills in, so ``kubectl get -o yaml`` shows what a real cluster shows.

A learner writes ten lines of Deployment; the stored object has many more:
``replicas: 1``, a ``RollingUpdate`` strategy of 25 % / 25 %, ``restartPolicy:
Always``, ``imagePullPolicy``, ``terminationMessagePath`` and so on. These come
from the ``SetDefaults_*`` functions of each API group, plus a few values that
admission plugins set on pods (``serviceAccountName``, ``priority``,
``enableServiceLinks``). :func:`apply_defaults` applies them all; fields the
user set are never changed.

Not here: values the API server *allocates* (a Service's ``clusterIP`` and
``ipFamilies``, a Job's generated selector, an object's ``uid``), and the
``DefaultTolerationSeconds`` admission plugin, which is
:func:`default_toleration_seconds`.

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
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

__all__ = ["apply_defaults", "default_toleration_seconds", "image_pull_policy", "int_or_percent"]

_DEFAULT_MODE = 0o644  # 420: files from ConfigMaps and Secrets are rw-r--r--


def _sub(obj: dict, key: str) -> dict:
    """``obj[key]`` as a dict, created when missing (a non-dict value is left alone)."""
    value = obj.get(key)
    if value is None:
        value = obj[key] = {}
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


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
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def _container(ctr: dict) -> None:
    if "imagePullPolicy" not in ctr and isinstance(ctr.get("image"), str):
        ctr["imagePullPolicy"] = image_pull_policy(ctr["image"])
    ctr.setdefault("terminationMessagePath", "/dev/termination-log")
    ctr.setdefault("terminationMessagePolicy", "File")
    ctr.setdefault("resources", {})  # a struct in Go, so always present in the output
    for port in _dicts(ctr.get("ports")):
        port.setdefault("protocol", "TCP")
    for env in _dicts(ctr.get("env")):
        ref = (
            (env.get("valueFrom") or {}).get("fieldRef")
            if isinstance(env.get("valueFrom"), dict)
            else None
        )
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(ctr.get(key))


def _volume(vol: dict) -> None:
    sources = [k for k in vol if k != "name"]
    if not sources:
        vol["emptyDir"] = {}  # a volume with no source is an emptyDir
    for key in ("configMap", "secret", "projected", "downwardAPI"):
        if isinstance(vol.get(key), dict):
            vol[key].setdefault("defaultMode", _DEFAULT_MODE)


def _pod_spec(spec: dict) -> None:
    """``SetDefaults_PodSpec`` and the container defaults: for pods and pod templates alike."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for ctr in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        _container(ctr)
    for vol in _dicts(spec.get("volumes")):
        _volume(vol)
    if spec.get("hostNetwork"):
        for ctr in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
            for port in _dicts(ctr.get("ports")):
                port.setdefault("hostPort", port.get("containerPort"))


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
    spec.setdefault("enableServiceLinks", True)
    # Set by admission plugins on every new pod (ServiceAccount, Priority); the
    # deprecated serviceAccount field mirrors serviceAccountName in v1.
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def _template(spec: dict) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        _pod_spec(_sub(template, "spec"))


def _rolling_update(strategy: dict, **values: Any) -> None:
    rolling = _sub(strategy, "rollingUpdate")
    for key, value in values.items():
        rolling.setdefault(key, value)


def _deployment(obj: dict) -> None:
    spec = _sub(obj, "spec")
    spec.setdefault("replicas", 1)
    strategy = _sub(spec, "strategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _rolling_update(strategy, maxUnavailable="25%", maxSurge="25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec)


def _replica_set(obj: dict) -> None:
    spec = _sub(obj, "spec")
    spec.setdefault("replicas", 1)
    _template(spec)


def _stateful_set(obj: dict) -> None:
    spec = _sub(obj, "spec")
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = _sub(spec, "updateStrategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _rolling_update(strategy, partition=0)
    spec.setdefault("revisionHistoryLimit", 10)
    policy = _sub(spec, "persistentVolumeClaimRetentionPolicy")
    policy.setdefault("whenDeleted", "Retain")
    policy.setdefault("whenScaled", "Retain")
    for claim in _dicts(spec.get("volumeClaimTemplates")):
        _sub(claim, "spec").setdefault("volumeMode", "Filesystem")
    _template(spec)


def _daemon_set(obj: dict) -> None:
    spec = _sub(obj, "spec")
    strategy = _sub(spec, "updateStrategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _rolling_update(strategy, maxUnavailable=1, maxSurge=0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(spec)


def _job(obj: dict) -> None:
    spec = _sub(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault(
        "backoffLimit", 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6
    )
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault(
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
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        # Only the pod template inside gets defaults; the Job's own come when a Job is made.
        _template(_sub(job_template, "spec"))


def _service(obj: dict) -> None:
    spec = _sub(obj, "spec")
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in _dicts(spec.get("ports")):
        port.setdefault("protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and "port" in port:
            port["targetPort"] = port["port"]
    stype = spec["type"]
    if stype in ("NodePort", "LoadBalancer") or (stype == "ClusterIP" and spec.get("externalIPs")):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if stype in ("ClusterIP", "NodePort", "LoadBalancer"):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if stype == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


def _namespace(obj: dict) -> None:
    meta = _sub(obj, "metadata")
    if isinstance(meta.get("name"), str):
        # Every namespace carries its own name as a label, to be selectable.
        _sub(meta, "labels")["kubernetes.io/metadata.name"] = meta["name"]
    _sub(obj, "spec").setdefault("finalizers", ["kubernetes"])


def _secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")


def _claim(obj: dict) -> None:
    _sub(obj, "spec").setdefault("volumeMode", "Filesystem")


def _volume_object(obj: dict) -> None:
    spec = _sub(obj, "spec")
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")


def _endpoints(obj: dict) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            port.setdefault("protocol", "TCP")


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
    "PersistentVolumeClaim": _claim,
    "PersistentVolume": _volume_object,
    "Endpoints": _endpoints,
    "PodTemplate": _pod_template_object,
}


def apply_defaults(obj: dict) -> dict:
    """Fill in the defaults a real API server sets, in place; returns ``obj``.

    Kinds without defaults are returned unchanged; fields already set are kept.
    Applying twice changes nothing more.

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
