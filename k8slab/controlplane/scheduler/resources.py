"""What a pod asks for and what a node offers, as the scheduler counts them.

The rules are those of ``resourcehelper.PodRequests`` (component-helpers) that
kube-scheduler v1.30 uses:

* the requests of the regular containers are **summed**;
* an init container runs alone before them, so the pod needs at least the
  **largest** init container (the *max rule*) — plus any *sidecar* (an init
  container with ``restartPolicy: Always``) started before it, which keeps
  running and therefore also adds to the sum;
* for **scoring**, a container that asks for no CPU or no memory is counted as
  asking for 100m CPU / 200Mi memory (``DefaultMilliCPURequest`` and
  ``DefaultMemoryRequest``), so that many "free" pods do not all pile onto one
  node. For **filtering** (does it fit?) such a pod counts as zero.

k8slab simplification: ``spec.overhead`` (RuntimeClass pod overhead) is ignored.

CPU is kept in millicores, everything else in base units (bytes, or a count).

Example
-------
>>> pod = {"spec": {"containers": [
...     {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
...     {"name": "b"}]}}
>>> pod_requests(pod)
{'cpu': 250, 'memory': 67108864}
>>> non_zero_requests(pod)
(350, 276824064)
"""

from __future__ import annotations

from functools import lru_cache

from k8slab.api.quantity import cpu_millis, to_bytes

#: CPU a container without a CPU request counts for when scoring (``schedutil.DefaultMilliCPURequest``).
DEFAULT_MILLI_CPU_REQUEST = 100
#: Memory a container without a memory request counts for when scoring (``schedutil.DefaultMemoryRequest``, 200 MB).
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"


@lru_cache(maxsize=4096)
def quantity_value(name: str, value) -> int:
    """A quantity of resource ``name`` as the scheduler's int64: millicores for CPU, base units otherwise."""
    try:
        return cpu_millis(value) if name == CPU else to_bytes(value)
    except (ValueError, TypeError):
        return 0  # the API server validates quantities; a broken one counts as nothing


def resource_list(rl: dict | None) -> dict[str, int]:
    """A ``ResourceList`` (``{"cpu": "500m", ...}``) as integers."""
    if not rl:
        return {}
    return {k: quantity_value(k, v) for k, v in rl.items()}


def _container_requests(c: dict, non_missing: dict[str, int] | None) -> dict[str, int]:
    reqs = resource_list((c.get("resources") or {}).get("requests"))
    if non_missing:
        for k, v in non_missing.items():
            if k not in reqs:
                reqs[k] = v
    return reqs


def _add(into: dict[str, int], other: dict[str, int]) -> None:
    for k, v in other.items():
        into[k] = into.get(k, 0) + v


def _max(into: dict[str, int], other: dict[str, int]) -> None:
    for k, v in other.items():
        if v > into.get(k, 0):
            into[k] = v


def pod_requests(pod: dict, non_missing: dict[str, int] | None = None) -> dict[str, int]:
    """The pod's effective requests (``PodRequests``): containers summed, init containers by the max rule.

    ``non_missing`` gives values for resources a container does not request at all
    (how the scoring defaults are applied).

    Example
    -------
    >>> pod = {"spec": {"initContainers": [{"name": "init", "resources": {"requests": {"cpu": "2"}}}],
    ...                 "containers": [{"name": "app", "resources": {"requests": {"cpu": "500m"}}}]}}
    >>> pod_requests(pod)["cpu"]
    2000
    """
    spec = pod.get("spec") or {}
    reqs: dict[str, int] = {}
    for c in spec.get("containers") or ():
        _add(reqs, _container_requests(c, non_missing))
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for c in spec.get("initContainers") or ():
        creqs = _container_requests(c, non_missing)
        if c.get("restartPolicy") == "Always":
            # A sidecar keeps running next to the app containers...
            _add(reqs, creqs)
            _add(sidecars, creqs)
            use = dict(sidecars)
        else:
            # ...and next to every init container started after it.
            use = dict(creqs)
            _add(use, sidecars)
        _max(init_max, use)
    _max(reqs, init_max)
    return {k: v for k, v in reqs.items() if v}


_NON_ZERO_DEFAULTS = {CPU: DEFAULT_MILLI_CPU_REQUEST, MEMORY: DEFAULT_MEMORY_REQUEST}


def non_zero_requests(pod: dict) -> tuple[int, int]:
    """``(milli CPU, memory bytes)`` with the scoring defaults for containers that request nothing."""
    reqs = pod_requests(pod, _NON_ZERO_DEFAULTS)
    return reqs.get(CPU, 0), reqs.get(MEMORY, 0)


def node_allocatable(node: dict) -> dict[str, int]:
    """``status.allocatable`` of a node as integers (``pods`` is the number of pods it accepts)."""
    return resource_list((node.get("status") or {}).get("allocatable"))
