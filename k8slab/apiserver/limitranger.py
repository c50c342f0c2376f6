"""LimitRanger: per-container defaults and bounds from a namespace's LimitRanges.

A LimitRange says, for a namespace, what a ``Container`` (or a whole ``Pod``, or a
``PersistentVolumeClaim``) may ask for: ``min``, ``max``, ``maxLimitRequestRatio``,
and the ``default`` limits and ``defaultRequest`` requests given to containers
that set none. The ``LimitRanger`` admission plugin works in both phases:

* mutating: a new pod's containers get the defaults they lack, and the pod an
  annotation saying so (``kubernetes.io/limit-ranger: LimitRanger plugin set: cpu,
  memory request for container nginx; cpu, memory limit for container nginx``);
* validating: the result must respect every bound, or the request is rejected
  (``pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2``).

Follows ``plugin/pkg/admission/limitranger/admission.go`` and the LimitRange
defaulting (``SetDefaults_LimitRangeItem``) of Kubernetes v1.30.
k8slab simplifies: LimitRanges are read from etcd directly (no informer lag, no
live-lookup cache).

Example
-------
>>> lr = {"spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}}
>>> pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "nginx"}]}}
>>> apply_defaults(lr, pod); pod["spec"]["containers"][0]["resources"]
{'limits': {'cpu': '500m'}, 'requests': {'cpu': '500m'}}
>>> pod["metadata"]["annotations"]
{'kubernetes.io/limit-ranger': 'LimitRanger plugin set: cpu request for container nginx; cpu limit for container nginx'}
"""

from __future__ import annotations

from k8slab.api.quantity import cpu_millis
from k8slab.apiserver.admission import AdmissionPlugin
from k8slab.apiserver.quota import NamespacedObjects, forbidden, pod_resources, q, q_str

ANNOTATION = "kubernetes.io/limit-ranger"


def effective_limits(limit_range: dict) -> list[dict]:
    """The items of a LimitRange with their defaults filled in (``SetDefaults_LimitRangeItem``):
    a Container's ``default`` from ``max``, ``defaultRequest`` from ``default``, then from ``min``."""
    out = []
    for item in ((limit_range.get("spec") or {}).get("limits")) or ():
        if not isinstance(item, dict):
            continue
        item = dict(item)
        if item.get("type") == "Container":
            default = dict(item.get("default") or {})
            for k, v in (item.get("max") or {}).items():
                default.setdefault(k, v)
            request = dict(item.get("defaultRequest") or {})
            for k, v in default.items():
                request.setdefault(k, v)
            for k, v in (item.get("min") or {}).items():
                request.setdefault(k, v)
            item["default"], item["defaultRequest"] = default, request
        out.append(item)
    return out


def _canonical(value) -> str:
    try:
        return q_str(q(value))
    except (ValueError, TypeError):
        return str(value)


def apply_defaults(limit_range: dict, pod: dict) -> None:
    """``PodMutateLimitFunc``: give each container the defaults it lacks, and note it on the pod."""
    requests, limits = {}, {}
    for item in effective_limits(limit_range):
        if item.get("type") == "Container":
            requests.update(item.get("defaultRequest") or {})
            limits.update(item.get("default") or {})
    notes = []
    spec = pod.setdefault("spec", {})
    for group, label in (("containers", "container"), ("initContainers", "init container")):
        for c in spec.get(group) or ():
            res = c.setdefault("resources", {})
            c_limits = res.setdefault("limits", {})
            c_requests = res.setdefault("requests", {})
            set_limits = sorted(k for k in limits if k not in c_limits)
            set_requests = sorted(k for k in requests if k not in c_requests)
            for k in set_limits:
                c_limits[k] = _canonical(limits[k])
            for k in set_requests:
                c_requests[k] = _canonical(requests[k])
            if not c_limits:
                del res["limits"]
            if not c_requests:
                del res["requests"]
            if set_requests:
                notes.append(f"{', '.join(set_requests)} request for {label} {c.get('name')}")
            if set_limits:
                notes.append(f"{', '.join(set_limits)} limit for {label} {c.get('name')}")
    if notes:
        pod.setdefault("metadata", {}).setdefault("annotations", {})[ANNOTATION] = (
            "LimitRanger plugin set: " + "; ".join(notes))


def _milli(value) -> int:
    return cpu_millis(value)


def _min(limit_type, resource, enforced, requests, limits) -> str | None:
    req, lim = requests.get(resource), limits.get(resource)
    if req is None:
        return f"minimum {resource} usage per {limit_type} is {_canonical(enforced)}.  No request is specified"
    if _milli(req) < _milli(enforced):
        return f"minimum {resource} usage per {limit_type} is {_canonical(enforced)}, but request is {_canonical(req)}"
    if lim is not None and _milli(lim) < _milli(enforced):
        return f"minimum {resource} usage per {limit_type} is {_canonical(enforced)}, but limit is {_canonical(lim)}"
    return None


def _max(limit_type, resource, enforced, requests, limits) -> str | None:
    req, lim = requests.get(resource), limits.get(resource)
    if lim is None:
        return f"maximum {resource} usage per {limit_type} is {_canonical(enforced)}.  No limit is specified"
    if _milli(lim) > _milli(enforced):
        return f"maximum {resource} usage per {limit_type} is {_canonical(enforced)}, but limit is {_canonical(lim)}"
    if req is not None and _milli(req) > _milli(enforced):
        return f"maximum {resource} usage per {limit_type} is {_canonical(enforced)}, but request is {_canonical(req)}"
    return None


def _max_request(limit_type, resource, enforced, requests) -> str | None:
    req = requests.get(resource)
    if req is None:
        return f"maximum {resource} usage per {limit_type} is {_canonical(enforced)}.  No request is specified"
    if _milli(req) > _milli(enforced):
        return f"maximum {resource} usage per {limit_type} is {_canonical(enforced)}, but request is {_canonical(req)}"
    return None


def _ratio(limit_type, resource, enforced, requests, limits) -> str | None:
    req, lim = requests.get(resource), limits.get(resource)
    if req is None or _milli(req) == 0:
        return (f"{resource} max limit to request ratio per {limit_type} is {_canonical(enforced)}, "
                "but no request is specified or request is 0")
    if lim is None or _milli(lim) == 0:
        return (f"{resource} max limit to request ratio per {limit_type} is {_canonical(enforced)}, "
                "but no limit is specified or limit is 0")
    observed = _milli(lim) / _milli(req)
    if observed * 1000 > _milli(enforced):
        return (f"{resource} max limit to request ratio per {limit_type} is {_canonical(enforced)}, "
                f"but provided ratio is {observed:f}")
    return None


def _check(item: dict, limit_type: str, requests: dict, limits: dict) -> list[str]:
    errs = []
    for key, fn in (("min", _min), ("max", _max), ("maxLimitRequestRatio", _ratio)):
        for resource in sorted(item.get(key) or {}):
            try:
                err = fn(limit_type, resource, item[key][resource], requests, limits)
            except (ValueError, TypeError):
                continue
            if err:
                errs.append(err)
    return errs


def validate_pod(limit_range: dict, pod: dict) -> list[str]:
    """``PodValidateLimitFunc``: every bound a pod's containers (or the pod as a whole) break."""
    errs: list[str] = []
    spec = pod.get("spec") or {}
    for item in effective_limits(limit_range):
        if item.get("type") == "Container":
            for c in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
                res = (c or {}).get("resources") or {}
                errs += _check(item, "Container", res.get("requests") or {}, res.get("limits") or {})
        elif item.get("type") == "Pod":
            requests = {k: q_str(v) for k, v in pod_resources(pod, "requests", overhead=False).items()}
            limits = {k: q_str(v) for k, v in pod_resources(pod, "limits", overhead=False).items()}
            errs += _check(item, "Pod", requests, limits)
    return errs


def validate_claim(limit_range: dict, pvc: dict) -> list[str]:
    """``PersistentVolumeClaimValidateLimitFunc``: storage requests within min and max."""
    errs: list[str] = []
    requests = ((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}
    for item in effective_limits(limit_range):
        if item.get("type") != "PersistentVolumeClaim":
            continue
        for resource in sorted(item.get("min") or {}):
            err = _min("PersistentVolumeClaim", resource, item["min"][resource], requests, {})
            if err:
                errs.append(err)
        for resource in sorted(item.get("max") or {}):
            err = _max_request("PersistentVolumeClaim", resource, item["max"][resource], requests)
            if err:
                errs.append(err)
    return errs


def _aggregate(errs: list[str]) -> str:
    seen = list(dict.fromkeys(errs))
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


class LimitRanger:
    """The plugin; :meth:`mutating` and :meth:`validating` give its two admission phases."""

    def __init__(self):
        self._ranges: dict[int, NamespacedObjects] = {}

    def ranges(self, server, namespace: str) -> list[dict]:
        cache = self._ranges.get(id(server))
        if cache is None:
            cache = self._ranges[id(server)] = NamespacedObjects(server, "limitranges")
        return cache.list(namespace)

    def mutating(self) -> AdmissionPlugin:
        return _LimitRangerPhase(self, mutate=True)

    def validating(self) -> AdmissionPlugin:
        return _LimitRangerPhase(self, mutate=False)


class _LimitRangerPhase(AdmissionPlugin):
    name = "LimitRanger"

    def __init__(self, plugin: LimitRanger, mutate: bool):
        self.plugin = plugin
        self.mutate = mutate

    def __repr__(self) -> str:
        return f"LimitRanger({'mutating' if self.mutate else 'validating'})"

    def admit(self, server, req, kind, user, obj, old):
        if req.subresource or kind.kind not in ("Pod", "PersistentVolumeClaim"):
            return
        # containers cannot change after creation, so pod updates are not checked again
        if kind.kind == "Pod" and old is not None:
            return
        if old is not None and old["metadata"].get("deletionTimestamp"):
            return
        ranges = self.plugin.ranges(server, obj["metadata"].get("namespace") or "")
        for lr in ranges:
            if self.mutate:
                if kind.kind == "Pod":
                    apply_defaults(lr, obj)
                continue
            errs = validate_pod(lr, obj) if kind.kind == "Pod" else validate_claim(lr, obj)
            if errs:
                raise forbidden(kind, obj, _aggregate(errs))


__all__ = ["ANNOTATION", "LimitRanger", "apply_defaults", "effective_limits", "validate_claim", "validate_pod"]

