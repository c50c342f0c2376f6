"""ResourceQuota: a namespace's budget, charged by the API server at admission.

A ResourceQuota lists hard limits (``spec.hard``) on what a namespace may hold:
``pods``, ``requests.cpu``, ``limits.memory``, ``services.nodeports``,
``count/deployments.apps`` ... The ``ResourceQuota`` admission plugin, last of the
validating plugins, measures what a new object would use (its *usage*, computed
by the *evaluator* of its resource), adds it to the quota's ``status.used`` and
rejects the request if a hard limit would be passed::

    pods "web-1" is forbidden: exceeded quota: compute, requested: requests.cpu=500m,
    used: requests.cpu=1500m, limited: requests.cpu=2

When it admits, it writes the new ``status.used`` itself (before the object is
stored), so the next request sees it; the resource-quota controller
(:mod:`k8slab.controlplane.resourcequota`) recounts from the objects that exist,
to give back what deleted objects used. A quota that limits ``cpu`` or ``memory``
also makes every container say how much it needs (``failed quota: compute:
must specify limits.cpu for: nginx``): a LimitRange's defaults
(:mod:`k8slab.apiserver.limitranger`) are how namespaces usually arrange that.

Follows ``staging/.../admission/plugin/resourcequota`` (admission.go,
controller.go), ``staging/.../quota/v1`` (resources.go, generic) and
``pkg/quota/v1/evaluator/core`` (pods.go, services.go, persistent_volume_claims.go)
of Kubernetes v1.30.
k8slab simplifies: quotas are read from etcd directly (no informer lag); the
admission configuration's ``limitedResources`` is not supported.

Example
-------
>>> pretty_print(add({"requests.cpu": q("1")}, {"requests.cpu": q("500m")}))
'requests.cpu=1500m'
>>> pod = {"metadata": {"name": "p"}, "spec": {"containers": [
...     {"name": "c", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]}}
>>> pretty_print(pod_usage(pod))
'count/pods=1,cpu=250m,memory=64Mi,pods=1,requests.cpu=250m,requests.memory=64Mi'
"""

from __future__ import annotations

from fractions import Fraction

from k8slab.api import errors
from k8slab.api.quantity import (
    BINARY_SI,
    DECIMAL_SI,
    canonical_quantity,
    format_bytes,
    parse_quantity,
    quantity_format,
)
from k8slab.apiserver.admission import AdmissionPlugin, qos_class
from k8slab.sim.loop import parse_timestamp

# -- quantities and resource lists ---------------------------------------------------------------------

#: A quantity as ``resource.Quantity`` keeps it: its value and its format (DecimalSI, BinarySI).
Q = tuple[Fraction, str]
ResourceList = dict[str, Q]

ZERO: Q = (Fraction(0), DECIMAL_SI)


def q(value) -> Q:
    """Parse a quantity (``"500m"``, ``"1Gi"``, ``3``) into :data:`Q`."""
    return parse_quantity(value), quantity_format(value)


def q_str(value: Q) -> str:
    """``Quantity.String()``: the canonical text of a quantity.

    >>> q_str(q("1.5Gi")), q_str(q("0.5")), q_str(ZERO)
    ('1536Mi', '500m', '0')
    """
    amount, fmt = value
    if fmt == BINARY_SI and amount.denominator == 1:
        return format_bytes(int(amount))
    nanos = amount * 10**9
    return canonical_quantity(f"{int(nanos)}n") if nanos.denominator == 1 else canonical_quantity(str(float(amount)))


def q_add(a: Q, b: Q) -> Q:
    # Quantity.Add: a zero value takes the other's format
    return a[0] + b[0], (b[1] if a[0] == 0 else a[1])


def parse_list(values: dict | None) -> ResourceList:
    """A ResourceList from an object (``{"cpu": "500m"}``); unparsable values are left out."""
    out: ResourceList = {}
    for k, v in (values or {}).items():
        try:
            out[k] = q(v)
        except (ValueError, TypeError):
            continue
    return out


def format_list(rl: ResourceList) -> dict[str, str]:
    """A ResourceList as an object holds it, keys sorted."""
    return {k: q_str(rl[k]) for k in sorted(rl)}


def add(a: ResourceList, b: ResourceList) -> ResourceList:
    """``quota.Add``: the sum of two lists (a key in one only is copied)."""
    out = dict(a)
    for k, v in b.items():
        out[k] = q_add(out[k], v) if k in out else v
    return out


def subtract_non_negative(a: ResourceList, b: ResourceList) -> ResourceList:
    """``quota.SubtractWithNonNegativeResult``."""
    out = {}
    for k, v in a.items():
        amount = v[0] - (b[k][0] if k in b else 0)
        out[k] = (max(amount, Fraction(0)), v[1])
    for k, v in b.items():
        if k not in out:
            out[k] = (Fraction(0), v[1])
    return out


def mask(rl: ResourceList, names) -> ResourceList:
    """``quota.Mask``: only the keys in ``names``."""
    names = set(names)
    return {k: v for k, v in rl.items() if k in names}


def less_than_or_equal(a: ResourceList, b: ResourceList) -> tuple[bool, list[str]]:
    """``quota.LessThanOrEqual``: is every key of ``b`` within its limit in ``a``? And which are not."""
    exceeded = sorted(k for k, v in b.items() if k in a and a[k][0] > v[0])
    return not exceeded, exceeded


def remove_zeros(rl: ResourceList) -> ResourceList:
    return {k: v for k, v in rl.items() if v[0] != 0}


def equals(a: ResourceList, b: ResourceList) -> bool:
    """``quota.Equals``: same keys, same values (whatever the format)."""
    return a.keys() == b.keys() and all(a[k][0] == b[k][0] for k in a)


def pretty_print(rl: ResourceList) -> str:
    """``prettyPrint``: ``k=v`` pairs in key order, joined by commas."""
    return ",".join(f"{k}={q_str(rl[k])}" for k in sorted(rl))


# -- what a pod asks for --------------------------------------------------------------------------------


def _add_into(total: ResourceList, rl: ResourceList) -> None:
    for k, v in rl.items():
        total[k] = q_add(total[k], v) if k in total else v


def _max_into(total: ResourceList, rl: ResourceList) -> None:
    for k, v in rl.items():
        if k not in total or v[0] > total[k][0]:
            total[k] = v


def pod_resources(pod: dict, field: str, *, overhead: bool = True) -> ResourceList:
    """``resourcehelper.PodRequests`` / ``PodLimits`` (``field`` is ``requests`` or ``limits``).

    The containers' sum, or the largest init container if larger (sidecars, init
    containers with ``restartPolicy: Always``, count with the containers).
    """
    spec = pod.get("spec") or {}
    total: ResourceList = {}
    for c in spec.get("containers") or ():
        _add_into(total, parse_list(((c or {}).get("resources") or {}).get(field)))
    sidecars: ResourceList = {}
    init: ResourceList = {}
    for c in spec.get("initContainers") or ():
        own = parse_list(((c or {}).get("resources") or {}).get(field))
        if (c or {}).get("restartPolicy") == "Always":
            _add_into(total, own)
            _add_into(sidecars, own)
            cur = dict(sidecars)
        else:
            cur = dict(own)
            _add_into(cur, sidecars)
        _max_into(init, cur)
    _max_into(total, init)
    if overhead and spec.get("overhead"):
        extra = parse_list(spec["overhead"])
        if field == "requests":
            _add_into(total, extra)
        else:
            for k, v in extra.items():
                if k in total:
                    total[k] = q_add(total[k], v)
    return total


_NATIVE_PREFIX = "kubernetes.io/"


def _is_native(name: str) -> bool:
    return "/" not in name or _NATIVE_PREFIX in name


def _compute_usage(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """``podComputeUsageHelper``: the quota resources that requests and limits amount to."""
    out: ResourceList = {"pods": q("1")}
    for res in ("cpu", "memory", "ephemeral-storage"):
        if res in requests:
            out[res] = requests[res]
            out[f"requests.{res}"] = requests[res]
        if res in limits:
            out[f"limits.{res}"] = limits[res]
    for name, value in requests.items():
        if name.startswith("hugepages-"):
            out[name] = value
            out[f"requests.{name}"] = value
        elif not _is_native(name):
            out[f"requests.{name}"] = value
    return out


def pod_counts_for_quota(pod: dict, now: float | None = None) -> bool:
    """``QuotaV1Pod``: a finished pod, or one past its deletion grace period, uses no compute quota."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    m = pod.get("metadata") or {}
    if now is not None and m.get("deletionTimestamp") and m.get("deletionGracePeriodSeconds") is not None:
        if now > parse_timestamp(m["deletionTimestamp"]) + m["deletionGracePeriodSeconds"]:
            return False
    return True


def pod_usage(pod: dict, now: float | None = None) -> ResourceList:
    """``PodUsageFunc``: ``count/pods`` always; ``pods`` and compute resources while the pod lives."""
    usage: ResourceList = {"count/pods": q("1")}
    if not pod_counts_for_quota(pod, now):
        return usage
    return add(usage, _compute_usage(pod_resources(pod, "requests"), pod_resources(pod, "limits")))


# -- evaluators -------------------------------------------------------------------------------------------

#: Resources quota needs each container to state when a quota tracks them (a historic mistake, kept).
_VALIDATION_SET = {"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}

_LEGACY_COUNT_ALIASES = {"configmaps": "configmaps", "resourcequotas": "resourcequotas",
                         "replicationcontrollers": "replicationcontrollers", "secrets": "secrets"}


def object_count_name(group_resource: str) -> str:
    """``count/pods``, ``count/deployments.apps``: the object-count resource of a resource."""
    return f"count/{group_resource}"


class Evaluator:
    """Measures the usage of one resource (``quota.Evaluator``): the generic object count."""

    operations = ("create",)

    def __init__(self, group_resource: str):
        self.group_resource = group_resource
        self.resources = [object_count_name(group_resource)]
        alias = _LEGACY_COUNT_ALIASES.get(group_resource)
        if alias:
            self.resources.append(alias)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.group_resource})"

    def handles(self, operation: str) -> bool:
        return operation in self.operations

    def matching_resources(self, names) -> list[str]:
        return [n for n in names if n in self.resources]

    def matches_scope(self, selector: dict, obj: dict) -> bool:
        return False  # scopes are about pods

    def constraints(self, required: list[str], obj: dict) -> str | None:
        return None

    def usage(self, obj: dict, now: float | None = None) -> ResourceList:
        return {r: q("1") for r in self.resources}


class PodEvaluator(Evaluator):
    resources_list = ["count/pods", "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
                      "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
                      "pods"]

    def __init__(self):
        super().__init__("pods")
        self.resources = list(self.resources_list)

    def matching_resources(self, names) -> list[str]:
        out = [n for n in self.resources if n in set(names)]
        for n in names:
            if n.startswith(("hugepages-", "requests.hugepages-")) or (
                    not _is_native(n) and n.startswith("requests.")):
                out.append(n)
        return out

    def matches_scope(self, selector: dict, pod: dict) -> bool:
        spec = pod.get("spec") or {}
        scope = selector.get("scopeName")
        if scope in ("Terminating", "NotTerminating"):
            terminating = isinstance(spec.get("activeDeadlineSeconds"), int) and spec["activeDeadlineSeconds"] >= 0
            return terminating if scope == "Terminating" else not terminating
        if scope in ("BestEffort", "NotBestEffort"):
            best_effort = qos_class(spec) == "BestEffort"
            return best_effort if scope == "BestEffort" else not best_effort
        if scope == "PriorityClass":
            pc = spec.get("priorityClassName") or ""
            op, values = selector.get("operator", "Exists"), selector.get("values") or []
            if op == "Exists":
                return bool(pc)
            if op == "DoesNotExist":
                return not pc
            if op == "In":
                return bool(pc) and pc in values
            if op == "NotIn":
                return not pc or pc not in values
            return False
        if scope == "CrossNamespacePodAffinity":
            aff = spec.get("affinity") or {}
            for key in ("podAffinity", "podAntiAffinity"):
                terms = aff.get(key) or {}
                for t in terms.get("requiredDuringSchedulingIgnoredDuringExecution") or ():
                    if t.get("namespaces") or t.get("namespaceSelector") is not None:
                        return True
                for w in terms.get("preferredDuringSchedulingIgnoredDuringExecution") or ():
                    t = w.get("podAffinityTerm") or {}
                    if t.get("namespaces") or t.get("namespaceSelector") is not None:
                        return True
        return False

    def constraints(self, required: list[str], pod: dict) -> str | None:
        """``podEvaluator.Constraints``: each container must state the cpu/memory the quota tracks."""
        required_set = set(required) & _VALIDATION_SET
        missing: dict[str, set[str]] = {}
        spec = pod.get("spec") or {}
        for c in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
            res = (c or {}).get("resources") or {}
            have = set(_compute_usage(parse_list(res.get("requests")), parse_list(res.get("limits"))))
            for r in required_set - have:
                missing.setdefault(r, set()).add((c or {}).get("name", ""))
        if not missing:
            return None
        return "must specify " + "; ".join(f"{r} for: {','.join(sorted(missing[r]))}" for r in sorted(missing))

    def usage(self, pod: dict, now: float | None = None) -> ResourceList:
        return pod_usage(pod, now)


class ServiceEvaluator(Evaluator):
    operations = ("create", "update")  # a Service may change type

    def __init__(self):
        super().__init__("services")
        self.resources = ["count/services", "services", "services.loadbalancers", "services.nodeports"]

    def usage(self, svc: dict, now: float | None = None) -> ResourceList:
        spec = svc.get("spec") or {}
        ports = spec.get("ports") or []
        out = {"count/services": q("1"), "services": q("1"), "services.loadbalancers": ZERO,
               "services.nodeports": ZERO}
        if spec.get("type") == "NodePort":
            out["services.nodeports"] = q(len(ports))
        elif spec.get("type") == "LoadBalancer":
            if spec.get("allocateLoadBalancerNodePorts") is False:
                out["services.nodeports"] = q(sum(1 for p in ports if p.get("nodePort")))
            else:
                out["services.nodeports"] = q(len(ports))
            out["services.loadbalancers"] = q("1")
        return out


class PersistentVolumeClaimEvaluator(Evaluator):
    operations = ("create", "update")  # a claim may grow
    _SC_SUFFIX = ".storageclass.storage.k8s.io/"

    def __init__(self):
        super().__init__("persistentvolumeclaims")
        self.resources = ["count/persistentvolumeclaims", "persistentvolumeclaims", "requests.storage"]

    def matching_resources(self, names) -> list[str]:
        return [n for n in names if n in self.resources or (
            self._SC_SUFFIX in n and n.endswith(("/requests.storage", "/persistentvolumeclaims")))]

    def usage(self, pvc: dict, now: float | None = None) -> ResourceList:
        out = {"count/persistentvolumeclaims": q("1"), "persistentvolumeclaims": q("1")}
        storage = parse_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests")).get("storage")
        sc = (pvc.get("spec") or {}).get("storageClassName")
        if sc:
            out[f"{sc}{self._SC_SUFFIX}persistentvolumeclaims"] = q("1")
        if storage is not None:
            out["requests.storage"] = storage
            if sc:
                out[f"{sc}{self._SC_SUFFIX}requests.storage"] = storage
        return out


_SPECIAL = {"pods": PodEvaluator, "services": ServiceEvaluator, "persistentvolumeclaims": PersistentVolumeClaimEvaluator}
_EVALUATORS: dict[str, Evaluator] = {}

#: Resources quota never charges (``DefaultIgnoredResources``).
IGNORED_RESOURCES = {"events", "events.events.k8s.io"}


def evaluator_for(group_resource: str) -> Evaluator:
    """The evaluator of a resource (``pods``, ``deployments.apps``); object count for most."""
    ev = _EVALUATORS.get(group_resource)
    if ev is None:
        cls = _SPECIAL.get(group_resource)
        ev = _EVALUATORS[group_resource] = cls() if cls else Evaluator(group_resource)
    return ev


def scope_selectors(quota: dict) -> list[dict]:
    """A quota's ``spec.scopes`` (as Exists selectors) followed by its ``spec.scopeSelector``."""
    spec = quota.get("spec") or {}
    out = [{"scopeName": s, "operator": "Exists"} for s in spec.get("scopes") or ()]
    out += list(((spec.get("scopeSelector") or {}).get("matchExpressions")) or ())
    return out


def quota_matches(evaluator: Evaluator, quota: dict, obj: dict) -> bool:
    """``generic.Matches``: the quota tracks a resource of this evaluator and all its scopes match."""
    hard = list(((quota.get("status") or {}).get("hard")) or {})
    if not evaluator.matching_resources(hard):
        return False
    return all(evaluator.matches_scope(sel, obj) for sel in scope_selectors(quota))


# -- the admission plugin -------------------------------------------------------------------------------------


class NamespacedObjects:
    """Objects of one resource by namespace, kept current from etcd (what an admission plugin's lister sees)."""

    def __init__(self, api, resource: str):
        self.kind = api.kinds.resolve(resource)
        self._by_ns: dict[str, dict[str, dict]] = {}
        for kv in api.etcd.range(self.kind.etcd_prefix):
            self._put(kv.value)
        api.etcd.watch(self.kind.etcd_prefix, self._changed)

    def _put(self, obj: dict) -> None:
        m = obj["metadata"]
        self._by_ns.setdefault(m.get("namespace") or "", {})[m["name"]] = obj

    def _changed(self, ev) -> None:
        if ev.type == "DELETE":
            m = ev.kv.value["metadata"]
            bucket = self._by_ns.get(m.get("namespace") or "")
            if bucket is not None:
                bucket.pop(m["name"], None)
        else:
            self._put(ev.kv.value)

    def list(self, namespace: str) -> list[dict]:
        """The objects of ``namespace``, by name."""
        bucket = self._by_ns.get(namespace) or {}
        return [bucket[k] for k in sorted(bucket)]


def object_name(obj: dict) -> str:
    """The name admission errors show: the object's name, else its generateName, else ``Unknown``."""
    m = obj.get("metadata") or {}
    return m.get("name") or m.get("generateName") or "Unknown"


def forbidden(kind, obj: dict, message: str) -> errors.Forbidden:
    """``admission.NewForbidden``: ``pods "x" is forbidden: <message>``."""
    name = object_name(obj)
    return errors.Forbidden(f'{kind.group_resource} "{name}" is forbidden: {message}', kind.group_resource, name)


class ResourceQuotaAdmission(AdmissionPlugin):
    """The ``ResourceQuota`` validating admission plugin (see module docstring)."""

    name = "ResourceQuota"

    def __init__(self):
        self._quotas: dict[int, NamespacedObjects] = {}

    def quotas(self, server) -> NamespacedObjects:
        cache = self._quotas.get(id(server))
        if cache is None:
            cache = self._quotas[id(server)] = NamespacedObjects(server, "resourcequotas")
        return cache

    def admit(self, server, req, kind, user, obj, old):
        if req.subresource or not kind.namespaced or kind.group_resource in IGNORED_RESOURCES:
            return
        namespace = obj["metadata"].get("namespace") or ""
        quotas = self.quotas(server).list(namespace)
        if not quotas:
            return
        evaluator = evaluator_for(kind.group_resource)
        operation = "update" if old is not None else "create"
        if not evaluator.handles(operation):
            return
        now = server.loop.now
        interesting = []
        for quota in quotas:
            if not quota_matches(evaluator, quota, obj):
                continue
            status = quota.get("status") or {}
            restricted = evaluator.matching_resources(list(status.get("hard") or {}))
            problem = evaluator.constraints(restricted, obj)
            if problem:
                raise forbidden(kind, obj, f"failed quota: {quota['metadata']['name']}: {problem}")
            used = status.get("used") or {}
            missing = [r for r in restricted if r not in used]
            if missing:
                raise forbidden(kind, obj, f"status unknown for quota: {quota['metadata']['name']}, "
                                           f"resources: {','.join(sorted(restricted))}")
            interesting.append(quota)
        if not interesting:
            return
        usage = evaluator.usage(obj, now)
        negative = sorted(k for k, v in usage.items() if v[0] < 0)
        if negative:
            raise forbidden(kind, obj, f"quota usage is negative for resource(s): {','.join(negative)}")
        deltas = {}
        for quota in interesting:
            delta = usage
            if old is not None and old["metadata"].get("resourceVersion") and quota_matches(evaluator, quota, old):
                delta = subtract_non_negative(usage, evaluator.usage(old, now))
            delta = remove_zeros(delta)
            if delta:
                deltas[quota["metadata"]["name"]] = delta
        updates = []
        for quota in interesting:
            delta = deltas.get(quota["metadata"]["name"])
            if not delta:
                continue
            status = quota.get("status") or {}
            hard = parse_list(status.get("hard"))
            used = parse_list(status.get("used"))
            requested = mask(delta, hard)
            new_used = add(used, requested)
            ok, exceeded = less_than_or_equal(mask(new_used, requested), hard)
            if not ok:
                raise forbidden(kind, obj, (
                    f"exceeded quota: {quota['metadata']['name']}, requested: {pretty_print(mask(requested, exceeded))}, "
                    f"used: {pretty_print(mask(used, exceeded))}, limited: {pretty_print(mask(hard, exceeded))}"))
            if not equals(new_used, used):
                updates.append((quota, new_used))
        if req.options.get("dryRun"):
            return
        for quota, new_used in updates:
            self._charge(server, quota, new_used)

    @staticmethod
    def _charge(server, quota: dict, used: ResourceList) -> None:
        # as the real plugin does, through the API server's own (loopback) client
        from k8slab.apiserver.rbac import loopback_client

        body = dict(quota)
        body["metadata"] = dict(quota["metadata"])
        body["status"] = {"hard": dict((quota.get("status") or {}).get("hard") or {}), "used": format_list(used)}
        loopback_client(server).update_status(body)


def enable_quota_admission(api) -> tuple:
    """Add the ``LimitRanger`` (mutating and validating) and ``ResourceQuota`` plugins, in kube-apiserver's order.

    Every :class:`k8slab.Cluster` does this when it starts; call it yourself only for a
    bare API server. Returns the three plugins.
    """
    from k8slab.apiserver.limitranger import LimitRanger

    limit_ranger = LimitRanger()
    mutate, validate = limit_ranger.mutating(), limit_ranger.validating()
    # LimitRanger comes right after NamespaceLifecycle; ResourceQuota is the last validating plugin
    api.mutating.insert(0, mutate)
    pos = next((i + 1 for i, p in enumerate(api.validating) if p.name == "NamespaceLifecycle"), 0)
    api.validating.insert(pos, validate)
    quota = ResourceQuotaAdmission()
    api.validating.append(quota)
    return mutate, validate, quota


__all__ = [
    "IGNORED_RESOURCES",
    "Evaluator",
    "NamespacedObjects",
    "PodEvaluator",
    "ResourceQuotaAdmission",
    "add",
    "enable_quota_admission",
    "equals",
    "evaluator_for",
    "format_list",
    "mask",
    "object_count_name",
    "parse_list",
    "pod_counts_for_quota",
    "pod_resources",
    "pod_usage",
    "pretty_print",
    "q",
    "q_str",
    "quota_matches",
    "scope_selectors",
]
