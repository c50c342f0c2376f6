"""Which objects a command names, and fetching them: kubectl's resource builder.

``get pods``, ``get deploy,rs``, ``get pod web-1 web-2``, ``get pod/web-1 svc/web``
and ``get all`` all name a set of (kind, names) pairs. Kinds resolve through the
cluster's :class:`~k8slab.api.kinds.KindRegistry` (``po``, ``deploy``,
``deployments.apps`` ...); ``all`` expands to the kinds of the ``all`` category in
the order kubectl lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8slab.api.errors import ApiError
from k8slab.kubectl.command import KubectlError, Output


@dataclass
class Target:
    kind: object
    names: list[str] | None  # None: every object (a list request)


@dataclass
class Request:
    targets: list[Target]
    single_item: bool  # one object named: -o yaml prints it bare, not in a List
    multiple_types: bool  # kubectl prefixes names with their kind


def all_category(registry) -> list:
    kinds = [k for k in registry.all() if "all" in k.categories]
    group_rank: dict[str, int] = {}
    for k in registry.all():
        group_rank.setdefault(k.group, len(group_rank))
    return sorted(kinds, key=lambda k: (group_rank[k.group] if k.group else -1, k.plural))


def parse_request(kubectl, args: list[str], command: str = "get") -> Request:
    slashed = [a for a in args if "/" in a]
    if slashed and len(slashed) != len(args):
        raise KubectlError(
            "there is no need to specify a resource type as a separate argument when passing arguments in "
            f"resource/name form (e.g. 'kubectl {command} resource/<resource_name>' instead of "
            f"'kubectl {command} resource resource/<resource_name>'"
        )
    if slashed:
        targets: list[Target] = []
        for a in args:
            type_name, _, name = a.partition("/")
            if not type_name or not name or "/" in name:
                raise KubectlError("arguments in resource/name form must have a single resource and name")
            kind = kubectl.kind(type_name)
            existing = next((t for t in targets if t.kind is kind), None)
            if existing is None:
                targets.append(Target(kind, [name]))
            else:
                existing.names.append(name)
        return Request(targets, len(args) == 1, len({t.kind for t in targets}) > 1)
    type_names = [t for t in args[0].split(",") if t]
    names = args[1:] or None
    kinds = []
    for t in type_names:
        if t.lower() == "all":
            kinds.extend(k for k in all_category(kubectl.registry) if k not in kinds)
        else:
            kind = kubectl.kind(t)
            if kind not in kinds:
                kinds.append(kind)
    multiple = len(type_names) > 1 or (len(args) == 1 and args[0].lower() == "all")
    targets = [Target(k, list(names) if names else None) for k in kinds]
    return Request(targets, len(kinds) == 1 and names is not None and len(names) == 1, multiple)


def _key(obj: dict) -> str:
    m = obj.get("metadata") or {}
    return f"{m.get('namespace') or ''}/{m.get('name', '')}"


def typed(kind, obj: dict) -> dict:
    if "kind" not in obj or "apiVersion" not in obj:
        obj = {"apiVersion": kind.api_version, "kind": kind.kind, **obj}
    return obj


def fetch(kubectl, request: Request, out: Output, *, namespace: str | None, label_selector: str | None = None,
          field_selector: str | None = None, ignore_not_found: bool = False,
          errors: list[str] | None = None) -> list[tuple[object, list[dict]]]:
    """The objects of each target, in order; API errors are skipped.

    ``namespace`` None means all namespaces. Errors go to ``errors`` when given (kubectl
    ``get`` prints them after the tables), else straight to ``out``.
    """
    results = []

    def report(e: ApiError) -> None:
        if errors is None:
            out.error(e.kubectl_message())
        else:
            errors.append(e.kubectl_message())

    for target in request.targets:
        kind = target.kind
        ns = namespace if kind.namespaced else None
        objects: list[dict] = []
        if target.names is None:
            try:
                listed = kubectl.client.list(kind.group_resource, ns, label_selector=label_selector,
                                             field_selector=field_selector)
            except ApiError as e:
                report(e)
                continue
            objects = sorted((typed(kind, o) for o in listed.get("items") or []), key=_key)
        else:
            for name in target.names:
                try:
                    objects.append(typed(kind, kubectl.client.get(kind.group_resource, name, ns)))
                except ApiError as e:
                    if ignore_not_found and e.code == 404:
                        continue
                    report(e)
        results.append((kind, objects))
    return results
