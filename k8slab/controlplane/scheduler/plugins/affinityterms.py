"""Pod affinity terms as the scheduler reads them (``framework.AffinityTerm``).

A ``podAffinityTerm`` says *which pods* (``labelSelector`` in some namespaces)
and *where* (``topologyKey``: pods on nodes with the same value of that label
are "together"). The namespaces a term looks at:

* ``namespaces`` and ``namespaceSelector`` both missing: the pod's own namespace;
* otherwise the listed ``namespaces`` plus every namespace whose labels match
  ``namespaceSelector`` (``{}`` matches all namespaces).

A missing ``labelSelector`` matches no pod. ``matchLabelKeys`` /
``mismatchLabelKeys`` are alpha in v1.30 (feature gate off by default): ignored.

Example
-------
>>> pod = {"metadata": {"namespace": "shop", "labels": {"app": "web"}}, "spec": {"affinity": {
...     "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
...         {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}}}
>>> t = parse_terms(pod).required_anti[0]
>>> sorted(t.namespaces), t.key, t.matches("shop", {"app": "web"}), t.matches("other", {"app": "web"})
(['shop'], 'kubernetes.io/hostname', True, False)
"""

from __future__ import annotations

from k8slab.api.selectors import LabelSelector

_NOTHING = LabelSelector(nothing=True)


def _selector(raw) -> LabelSelector:
    try:
        return LabelSelector.from_dict(raw)
    except (ValueError, TypeError, AttributeError):
        return _NOTHING  # the API server validates selectors; a broken one selects nothing


class AffinityTerm:
    """One parsed ``podAffinityTerm``: namespaces, namespace selector, label selector, topology key."""

    __slots__ = ("namespaces", "ns_selector", "selector", "key", "weight")

    def __init__(self, namespaces: frozenset, ns_selector: LabelSelector, selector: LabelSelector, key: str,
                 weight: int = 0):
        self.namespaces = namespaces
        self.ns_selector = ns_selector
        self.selector = selector
        self.key = key
        self.weight = weight

    @classmethod
    def of(cls, raw: dict, namespace: str, weight: int = 0) -> AffinityTerm:
        names = raw.get("namespaces") or []
        ns_raw = raw.get("namespaceSelector")
        namespaces = frozenset(names) if (names or ns_raw is not None) else frozenset((namespace,))
        return cls(namespaces, _selector(ns_raw), _selector(raw.get("labelSelector")),
                   raw.get("topologyKey") or "", weight)

    def matches(self, namespace: str, labels: dict, ns_labels: dict | None = None) -> bool:
        """``AffinityTerm.Matches``: the pod's namespace is covered and its labels are selected."""
        if namespace in self.namespaces or self.ns_selector.matches(ns_labels):
            return self.selector.matches(labels)
        return False

    @property
    def all_namespaces(self) -> bool:
        """True when the term covers every namespace (``namespaceSelector: {}``)."""
        return self.ns_selector.empty

    def merged(self, namespace_names: list[str]) -> AffinityTerm:
        """The incoming pod's term with ``namespaceSelector`` unrolled into ``namespaces``
        (``mergeAffinityTermNamespacesIfNotEmpty``); ``namespace_names`` are those it selects."""
        if self.ns_selector.empty or self.ns_selector.nothing:
            return self
        return AffinityTerm(self.namespaces | frozenset(namespace_names), _NOTHING, self.selector, self.key,
                            self.weight)

    def __repr__(self) -> str:
        ns = "*" if self.all_namespaces else ",".join(sorted(self.namespaces))
        return f"AffinityTerm({ns}: {self.selector!s} by {self.key})"


class PodTerms:
    """All pod (anti-)affinity terms of one pod (``framework.PodInfo``'s term lists)."""

    __slots__ = ("required", "required_anti", "preferred", "preferred_anti")

    def __init__(self, required=(), required_anti=(), preferred=(), preferred_anti=()):
        self.required: list[AffinityTerm] = list(required)
        self.required_anti: list[AffinityTerm] = list(required_anti)
        self.preferred: list[AffinityTerm] = list(preferred)
        self.preferred_anti: list[AffinityTerm] = list(preferred_anti)

    @property
    def any(self) -> bool:
        return bool(self.required or self.required_anti or self.preferred or self.preferred_anti)

    def uses_namespace_selector(self) -> bool:
        return any(not t.ns_selector.nothing for group in (self.required, self.required_anti, self.preferred,
                                                            self.preferred_anti) for t in group)


EMPTY = PodTerms()


def parse_terms(pod: dict) -> PodTerms:
    """The parsed pod (anti-)affinity terms of a Pod dict (``EMPTY`` when it has none)."""
    spec = pod.get("spec") or {}
    aff = spec.get("affinity") or {}
    pa, paa = aff.get("podAffinity"), aff.get("podAntiAffinity")
    if pa is None and paa is None:
        return EMPTY
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    pa, paa = pa or {}, paa or {}

    def required(group):
        return [AffinityTerm.of(t or {}, ns) for t in group.get("requiredDuringSchedulingIgnoredDuringExecution")
                or ()]

    def preferred(group):
        return [AffinityTerm.of((t or {}).get("podAffinityTerm") or {}, ns, int((t or {}).get("weight") or 0))
                for t in group.get("preferredDuringSchedulingIgnoredDuringExecution") or ()]

    return PodTerms(required(pa), required(paa), preferred(pa), preferred(paa))


def has_pod_affinity(spec: dict) -> bool:
    """``podWithAffinity``: the pod has a ``podAffinity`` or ``podAntiAffinity`` (even empty)."""
    aff = spec.get("affinity") or {}
    return aff.get("podAffinity") is not None or aff.get("podAntiAffinity") is not None


def has_required_anti_affinity(spec: dict) -> bool:
    """The pod has at least one required anti-affinity term (``PodsWithRequiredAntiAffinity``)."""
    paa = (spec.get("affinity") or {}).get("podAntiAffinity") or {}
    return bool(paa.get("requiredDuringSchedulingIgnoredDuringExecution"))
