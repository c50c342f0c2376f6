"""RBAC: who may do what, decided from Roles, ClusterRoles and their bindings.

The API server asks its authorizer about every request after authentication
(``api.authorizer(user, attributes)``). :class:`RBACAuthorizer` answers as
kube-apiserver started by kubeadm does (``--authorization-mode=Node,RBAC``):

1. members of ``system:masters`` may do anything (the privileged-group authorizer);
2. kubelets (``system:node:<name>`` in ``system:nodes``) are judged by the
   :class:`~k8slab.apiserver.node_authorizer.NodeAuthorizer`;
3. RBAC: the rules of every ClusterRoleBinding whose subjects include the user
   (its name, one of its groups, or its ServiceAccount), then those of the
   RoleBindings in the request's namespace. A rule matches on verb, API group,
   resource (``pods/log`` for a subresource, ``*/scale``, ``*``), resource name,
   or non-resource URL. A RoleBinding may refer to a ClusterRole: it grants that
   role's rules in its own namespace only. Nothing matches: denied, with the
   real message (``pods is forbidden: User "alice" cannot list resource "pods"
   in API group "" in the namespace "default"``).

:class:`RBACEscalationCheck` is the other half of RBAC, enforced where Roles and
bindings are stored: nobody may grant permissions they do not hold themselves,
unless they have the ``escalate`` (roles) or ``bind`` (bindings) verb.

:func:`can_i` and :func:`subject_access_review` answer "could this user do that?"
without doing it, as ``kubectl auth can-i`` and the SubjectAccessReview API do.

Follows ``plugin/pkg/auth/authorizer/rbac`` (rbac.go), ``pkg/registry/rbac``
(validation/rule.go, escalation_check.go, the policybased storages) and
``staging/.../endpoints/handlers/responsewriters/errors.go`` of Kubernetes v1.30.
k8slab simplifies: roles and bindings are read from etcd directly (a change
applies to the very next request, without an informer's delay); on update, a
Role or binding whose rules and roleRef did not change skips the escalation check.

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer, UserInfo
>>> api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
>>> _ = api.client("kubectl").create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
>>> authz = enable_rbac(api)
>>> alice = UserInfo("alice", ("system:authenticated",))
>>> authz(alice, {"verb": "list", "resource": "pods", "group": "", "namespace": "default"})
'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"'
>>> can_i(authz, "alice", "create", "selfsubjectaccessreviews", group="authorization.k8s.io")
True
"""

from __future__ import annotations

import json

from k8slab.api import errors
from k8slab.api.kinds import resolve as resolve_builtin_kind
from k8slab.apiserver.admission import AdmissionPlugin
from k8slab.apiserver.node_authorizer import NodeAuthorizer
from k8slab.apiserver.rbac_bootstrap import RBAC_GROUP, bootstrap_policy
from k8slab.apiserver.request import UserInfo

#: The group whose members may do anything (kube-apiserver's loopback client is in it).
SYSTEM_MASTERS = "system:masters"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"

#: The identity of the API server's own loopback client.
LOOPBACK_USER = UserInfo("system:apiserver", (SYSTEM_MASTERS, "system:authenticated"))

_RBAC_RESOURCES = ("clusterroles", "roles", "clusterrolebindings", "rolebindings")
# the websocket GET of exec/attach/portforward needs "create" (AuthorizePodWebsocketUpgradeCreatePermission)
_CONNECT_SUBRESOURCES = {"exec", "attach", "portforward"}


def _q(s) -> str:
    """Go's ``%q`` of a string (double quotes, backslash escapes)."""
    return json.dumps("" if s is None else str(s))


def _q_list(items) -> str:
    """Go's ``%q`` of a ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join(_q(s) for s in items) + "]"


def _aggregate_text(messages: list[str]) -> str:
    """``utilerrors.NewAggregate(errs).Error()``: one message as is, several de-duplicated in brackets."""
    seen: list[str] = []
    for m in messages:
        if m not in seen:
            seen.append(m)
    if not seen:
        return ""
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"


# -- rules ----------------------------------------------------------------------------------------


class CompiledRule:
    """One PolicyRule, with its lists as sets for quick matching (``RuleAllows``)."""

    __slots__ = ("verbs", "groups", "resources", "names", "urls", "raw")

    def __init__(self, raw: dict):
        self.raw = raw
        self.verbs = frozenset(raw.get("verbs") or ())
        self.groups = frozenset(raw.get("apiGroups") or ())
        self.resources = frozenset(raw.get("resources") or ())
        self.names = frozenset(raw.get("resourceNames") or ())
        self.urls = tuple(raw.get("nonResourceURLs") or ())

    def allows(self, attrs: dict) -> bool:
        verbs = self.verbs
        if "*" not in verbs and attrs.get("verb") not in verbs:
            return False
        path = attrs.get("path")
        if path is not None and not attrs.get("resource"):
            for url in self.urls:
                if url == "*" or url == path or (url.endswith("*") and path.startswith(url.rstrip("*"))):
                    return True
            return False
        groups = self.groups
        if "*" not in groups and (attrs.get("group") or "") not in groups:
            return False
        resources = self.resources
        sub = attrs.get("subresource")
        combined = f"{attrs.get('resource')}/{sub}" if sub else attrs.get("resource")
        if "*" not in resources and combined not in resources and not (sub and f"*/{sub}" in resources):
            return False
        return not self.names or (attrs.get("name") or "") in self.names


def compact_string(rule: dict) -> str:
    """``rbacv1helpers.CompactString``: ``{APIGroups:[""], Resources:["pods"], Verbs:["get"]}``."""
    parts = []
    for key, label in (("apiGroups", "APIGroups"), ("resources", "Resources"), ("nonResourceURLs", "NonResourceURLs"),
                       ("resourceNames", "ResourceNames"), ("verbs", "Verbs")):
        if rule.get(key):
            parts.append(f"{label}:{_q_list(rule[key])}")
    return "{" + ", ".join(parts) + "}"


def _breakdown(rule: dict) -> list[dict]:
    """``BreakdownRule``: one rule per (group, resource, verb[, name]) and per (URL, verb)."""
    out = []
    verbs = rule.get("verbs") or ()
    for group in rule.get("apiGroups") or ():
        for resource in rule.get("resources") or ():
            for verb in verbs:
                if rule.get("resourceNames"):
                    for name in rule["resourceNames"]:
                        out.append({"apiGroups": [group], "resources": [resource], "verbs": [verb],
                                    "resourceNames": [name]})
                else:
                    out.append({"apiGroups": [group], "resources": [resource], "verbs": [verb]})
    for url in rule.get("nonResourceURLs") or ():
        for verb in verbs:
            out.append({"nonResourceURLs": [url], "verbs": [verb]})
    return out


def _resources_cover(owner: list[str], wanted: list[str]) -> bool:
    if "*" in owner:
        return True
    for path in wanted:
        if path in owner:
            continue
        if "/" not in path or "*/" + path.split("/", 1)[1] not in owner:
            return False
    return True


def _rule_covers(owner: dict, sub: dict) -> bool:
    ov, og = owner.get("verbs") or [], owner.get("apiGroups") or []
    if not ("*" in ov or all(v in ov for v in sub.get("verbs") or ())):
        return False
    if not ("*" in og or all(g in og for g in sub.get("apiGroups") or ())):
        return False
    if not _resources_cover(owner.get("resources") or [], sub.get("resources") or []):
        return False
    for path in sub.get("nonResourceURLs") or ():
        if not any(u == path or (u.endswith("*") and path.startswith(u.rstrip("*")))
                   for u in owner.get("nonResourceURLs") or ()):
            return False
    names = owner.get("resourceNames") or []
    if sub.get("resourceNames"):
        return not names or all(n in names for n in sub["resourceNames"])
    return not names


def covers(owner_rules: list[dict], servant_rules: list[dict]) -> tuple[bool, list[dict]]:
    """``validation.Covers``: do ``owner_rules`` allow all ``servant_rules`` allow? And what is missing.

    >>> covers([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    ...        [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}])
    (True, [])
    """
    missing = [s for r in servant_rules for s in _breakdown(r) if not any(_rule_covers(o, s) for o in owner_rules)]
    return not missing, missing


def compact_rules(rules: list[dict]) -> list[dict]:
    """``CompactRules``: one rule per (group, resource) for the simple rules that differ only by verb."""
    out: list[dict] = []
    simple: dict[tuple[str, str], dict] = {}
    for r in rules:
        is_simple = (set(r) <= {"apiGroups", "resources", "verbs"} and len(r.get("apiGroups") or ()) == 1
                     and len(r.get("resources") or ()) == 1)
        if not is_simple:
            out.append(r)
            continue
        key = (r["apiGroups"][0], r["resources"][0])
        if key in simple:
            simple[key]["verbs"] = [*simple[key]["verbs"], *(r.get("verbs") or ())]
        else:
            simple[key] = {"apiGroups": list(r["apiGroups"]), "resources": list(r["resources"]),
                           "verbs": list(r.get("verbs") or ())}
    return out + list(simple.values())


# -- where the rules come from -------------------------------------------------------------------------


def _describe_subject(s: dict, binding_namespace: str) -> str:
    if s.get("kind") == "ServiceAccount":
        return f'ServiceAccount {_q(s.get("name", "") + "/" + (s.get("namespace") or binding_namespace))}'
    return f'{s.get("kind")} {_q(s.get("name"))}'


def _applies_to(user: UserInfo, s: dict, namespace: str) -> bool:
    kind = s.get("kind")
    if kind == "User":
        return user.name == s.get("name")
    if kind == "Group":
        return s.get("name") in user.groups
    if kind == "ServiceAccount":
        ns = s.get("namespace") or namespace
        return bool(ns) and user.name == f"{SERVICE_ACCOUNT_PREFIX}{ns}:{s.get('name')}"
    return False


class PolicyStore:
    """The Roles, ClusterRoles and bindings, kept current from etcd, and the rules each user gets.

    The rule lists per (user, groups, namespace) are cached until any RBAC object changes.
    """

    def __init__(self, api):
        self.api = api
        self.generation = 0
        self._objects: dict[str, dict[str, dict]] = {r: {} for r in _RBAC_RESOURCES}
        self._compiled: dict[tuple, list[CompiledRule]] = {}
        self._cache: dict[tuple, tuple[list[tuple[CompiledRule, str]], list[str]]] = {}
        for resource in _RBAC_RESOURCES:
            kind = api.kinds.resolve(resource)
            for kv in api.etcd.range(kind.etcd_prefix):
                self._objects[resource][kv.key] = kv.value
            api.etcd.watch(kind.etcd_prefix, lambda ev, r=resource: self._changed(r, ev))

    def _changed(self, resource: str, ev) -> None:
        if ev.type == "DELETE":
            self._objects[resource].pop(ev.kv.key, None)
        else:
            self._objects[resource][ev.kv.key] = ev.kv.value
        self.generation += 1
        self._cache.clear()
        self._compiled.clear()

    def _key(self, resource: str, name: str, namespace: str | None = None) -> str:
        return self.api.kinds.resolve(resource).etcd_key(name, namespace)

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict | None:
        return self._objects[resource].get(self._key(resource, name, namespace))

    def role_ref(self, ref: dict, namespace: str) -> tuple[dict | None, str | None]:
        """``GetRoleReferenceRules``: the role a binding's roleRef points to, or the error."""
        kind, name = ref.get("kind"), ref.get("name", "")
        if kind == "Role":
            role = self.get("roles", name, namespace) if namespace else None
            if role is None:
                return None, f'role.{RBAC_GROUP} {_q(name)} not found'
        elif kind == "ClusterRole":
            role = self.get("clusterroles", name)
            if role is None:
                return None, f'clusterrole.{RBAC_GROUP} {_q(name)} not found'
        else:
            return None, f"unsupported role reference kind: {_q(kind)}"
        return role, None

    def role_ref_rules(self, ref: dict, namespace: str) -> tuple[list[dict] | None, str | None]:
        role, err = self.role_ref(ref, namespace)
        return (None, err) if role is None else ([r for r in role.get("rules") or () if isinstance(r, dict)], None)

    def _compile(self, role: dict) -> list[CompiledRule]:
        m = role["metadata"]
        key = (role.get("kind"), m.get("namespace"), m.get("name"))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = [CompiledRule(r) for r in role.get("rules") or () if isinstance(r, dict)]
        return compiled

    def _bindings(self, resource: str, namespace: str | None) -> list[dict]:
        objs = self._objects[resource]
        if namespace is None:
            return [objs[k] for k in sorted(objs)]
        prefix = self.api.kinds.resolve(resource).etcd_prefix + namespace + "/"
        return [objs[k] for k in sorted(objs) if k.startswith(prefix)]

    def rules_for(self, user: UserInfo, namespace: str | None) -> tuple[list[tuple[CompiledRule, str]], list[str]]:
        """``VisitRulesFor``: each rule that applies to ``user`` in ``namespace`` with where it comes from,
        and the errors met resolving role references."""
        ck = (user.name, user.groups, namespace or "")
        hit = self._cache.get(ck)
        if hit is not None:
            return hit
        out: list[tuple[CompiledRule, str]] = []
        errs: list[str] = []
        scopes = [("clusterrolebindings", None)]
        if namespace:
            scopes.append(("rolebindings", namespace))
        for resource, ns in scopes:
            for b in self._bindings(resource, ns):
                bns = b["metadata"].get("namespace") or ""
                subjects = [s for s in b.get("subjects") or () if isinstance(s, dict)]
                match = next((s for s in subjects if _applies_to(user, s, bns)), None)
                if match is None:
                    continue
                ref = b.get("roleRef") or {}
                role, err = self.role_ref(ref, bns)
                if err is not None:
                    errs.append(err)
                    continue
                if resource == "clusterrolebindings":
                    source = (f'ClusterRoleBinding {_q(b["metadata"]["name"])} of {ref.get("kind")} '
                              f'{_q(ref.get("name"))} to {_describe_subject(match, "")}')
                else:
                    source = (f'RoleBinding {_q(b["metadata"]["name"] + "/" + bns)} of {ref.get("kind")} '
                              f'{_q(ref.get("name"))} to {_describe_subject(match, bns)}')
                for compiled in self._compile(role):
                    out.append((compiled, source))
        result = (out, errs)
        self._cache[ck] = result
        return result


# -- the authorizer ------------------------------------------------------------------------------------


def forbidden_message(user: UserInfo, attrs: dict, reason: str = "") -> str:
    """The message of the 403 the API server returns (``responsewriters.Forbidden``).

    >>> forbidden_message(UserInfo("alice"), {"verb": "get", "resource": "pods", "subresource": "log",
    ...                                         "group": "", "namespace": "dev", "name": "web"})
    'pods "web" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "dev"'
    >>> forbidden_message(UserInfo("bob"), {"verb": "list", "resource": "nodes", "group": ""})
    'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope'
    """
    verb, resource = attrs.get("verb"), attrs.get("resource")
    if not resource:
        msg = f'User {_q(user.name)} cannot {verb} path {_q(attrs.get("path", ""))}'
    else:
        full = f"{resource}/{attrs['subresource']}" if attrs.get("subresource") else resource
        where = (f'in the namespace {_q(attrs["namespace"])}' if attrs.get("namespace") else "at the cluster scope")
        msg = f'User {_q(user.name)} cannot {verb} resource {_q(full)} in API group {_q(attrs.get("group") or "")} {where}'
    msg = msg.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if reason:
        msg = f"{msg}: {reason}"
    if not resource:
        return f"forbidden: {msg}"
    gr = f"{resource}.{attrs['group']}" if attrs.get("group") else resource
    if attrs.get("name"):
        return f'{gr} {_q(attrs["name"])} is forbidden: {msg}'
    return f"{gr} is forbidden: {msg}"


class RBACAuthorizer:
    """``--authorization-mode=Node,RBAC`` behind the ``system:masters`` short cut (see module docstring).

    Use it as the API server's authorizer: ``api.authorizer = RBACAuthorizer(api)``. Calling it
    returns ``None`` (allowed) or the Forbidden message; :meth:`authorize` returns the decision
    and the reason, as a SubjectAccessReview shows them.
    """

    def __init__(self, api, *, modes: tuple[str, ...] = ("Node", "RBAC")):
        self.api = api
        self.modes = tuple(modes)
        self.store = PolicyStore(api)
        self.node = NodeAuthorizer(api) if "Node" in self.modes else None

    def __repr__(self) -> str:
        return f"RBACAuthorizer({','.join(self.modes)})"

    def __call__(self, user: UserInfo, attrs: dict) -> str | None:
        allowed, reason = self.authorize(user, attrs)
        return None if allowed else forbidden_message(user, _request_attrs(attrs), reason)

    def authorize(self, user: UserInfo, attrs: dict) -> tuple[bool, str]:
        """``(allowed, reason)`` for ``attrs`` (verb, group, resource, subresource, namespace, name, or path)."""
        attrs = _request_attrs(attrs)
        if SYSTEM_MASTERS in user.groups:
            return True, ""
        reasons = []
        if self.node is not None:
            allowed, reason = self.node.authorize(user, attrs)
            if allowed:
                return True, reason
            if reason:
                reasons.append(reason)
        if "RBAC" in self.modes:
            allowed, reason = self.authorize_rbac(user, attrs)
            if allowed:
                return True, reason
            if reason:
                reasons.append(reason)
        return False, "\n".join(reasons)

    def authorize_rbac(self, user: UserInfo, attrs: dict) -> tuple[bool, str]:
        rules, errs = self.store.rules_for(user, attrs.get("namespace") if attrs.get("resource") else None)
        for compiled, source in rules:
            if compiled.allows(attrs):
                return True, f"RBAC: allowed by {source}"
        return False, f"RBAC: {_aggregate_text(errs)}" if errs else ""

    def rules_for(self, user: UserInfo, namespace: str | None) -> tuple[list[dict], list[str]]:
        """The rules ``user`` holds in ``namespace`` (``RulesFor``) and the resolution errors."""
        if SYSTEM_MASTERS in user.groups:
            return [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                    {"nonResourceURLs": ["*"], "verbs": ["*"]}], []
        rules, errs = self.store.rules_for(user, namespace)
        return [c.raw for c, _ in rules], list(errs)


def _request_attrs(attrs: dict) -> dict:
    if (attrs.get("resource") == "pods" and attrs.get("subresource") in _CONNECT_SUBRESOURCES
            and attrs.get("verb") == "get"):
        return dict(attrs, verb="create")
    return attrs


# -- escalation prevention ----------------------------------------------------------------------------


class RBACEscalationCheck(AdmissionPlugin):
    """The policy-based storage of Roles and bindings: no granting of rights one does not hold.

    Creating or changing a Role/ClusterRole needs every rule in it to be held by the
    requester (or the ``escalate`` verb on it); a binding needs the rules of the role it
    refers to (or the ``bind`` verb on that role). ``system:masters`` may do anything.
    """

    name = "RBACEscalationCheck"

    def __init__(self, authorizer: RBACAuthorizer):
        self.authorizer = authorizer

    def admit(self, server, req, kind, user, obj, old):
        if kind.group != RBAC_GROUP or req.subresource or SYSTEM_MASTERS in user.groups:
            return
        namespace = (obj["metadata"].get("namespace") or "") if kind.namespaced else ""
        name = obj["metadata"].get("name")
        if kind.kind in ("Role", "ClusterRole"):
            if old is not None and old.get("rules") == obj.get("rules") and (
                    old.get("aggregationRule") == obj.get("aggregationRule")):
                return
            allowed, _ = self.authorizer.authorize(user, {
                "verb": "escalate", "group": kind.group, "resource": kind.plural, "namespace": namespace or None,
                "name": req.name})
            if allowed:
                return
            self._confirm_no_escalation(user, namespace, list(obj.get("rules") or ()), kind.group_resource, name)
            if kind.kind == "ClusterRole" and obj.get("aggregationRule"):
                full = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                        {"nonResourceURLs": ["*"], "verbs": ["*"]}]
                if not covers(self.authorizer.rules_for(user, namespace or None)[0], full)[0]:
                    raise errors.Forbidden(f'{kind.group_resource} {_q(name)} is forbidden: must have cluster-admin '
                                           "privileges to use the aggregationRule", kind.group_resource, name)
            return
        if kind.kind in ("RoleBinding", "ClusterRoleBinding"):
            ref = obj.get("roleRef") or {}
            if old is not None and old.get("roleRef") == ref:
                return
            if ref.get("kind") in ("Role", "ClusterRole"):
                allowed, _ = self.authorizer.authorize(user, {
                    "verb": "bind", "group": ref.get("apiGroup") or "",
                    "resource": "roles" if ref["kind"] == "Role" else "clusterroles",
                    "namespace": namespace or None, "name": ref.get("name")})
                if allowed:
                    return
            rules, err = self.authorizer.store.role_ref_rules(ref, namespace)
            if err is not None:
                if ref.get("kind") in ("Role", "ClusterRole"):
                    raise errors.NotFound(f"{ref['kind'].lower()}.{RBAC_GROUP}", ref.get("name", ""))
                raise errors.BadRequest(err)
            self._confirm_no_escalation(user, namespace, rules, kind.group_resource, name)

    def _confirm_no_escalation(self, user, namespace: str, rules: list[dict], group_resource: str, name) -> None:
        owner, errs = self.authorizer.rules_for(user, namespace or None)
        ok, missing = covers(owner, rules)
        if ok:
            return
        descriptions = sorted({compact_string(r) for r in compact_rules(missing)})
        msg = (f"user {_q(user.name)} (groups={_q_list(user.groups)}) is attempting to grant RBAC permissions "
               "not currently held:\n" + "\n".join(descriptions))
        if errs:
            msg += f"; resolution errors: [{_aggregate_text(errs)}]"
        raise errors.Forbidden(f"{group_resource} {_q(name)} is forbidden: {msg}", group_resource, name)


# -- asking without doing --------------------------------------------------------------------------------


def _user(user) -> UserInfo:
    return user if isinstance(user, UserInfo) else UserInfo(str(user), ("system:authenticated",))


def can_i(authorizer, user, verb: str, resource: str, namespace: str | None = None, name: str | None = None,
          subresource: str | None = None, group: str | None = None) -> bool:
    """Would ``user`` be allowed ``verb`` on ``resource``? (``kubectl auth can-i``)

    ``authorizer`` is an :class:`RBACAuthorizer` or any API-server authorizer callable.
    ``user`` is a :class:`UserInfo` or a user name (then in ``system:authenticated`` only).
    ``resource`` may be ``pods/log``, ``deployments.apps``, a short name (``deploy``), or a
    non-resource URL (``/healthz``). Without ``group`` the group is the kind's, when known.

    >>> from k8slab.sim import EventLoop, Randomness, Trace
    >>> from k8slab.etcd import Etcd
    >>> from k8slab.apiserver import APIServer
    >>> authz = enable_rbac(APIServer(Etcd(), EventLoop(), Trace(), Randomness(0)))
    >>> can_i(authz, "alice", "get", "/healthz"), can_i(authz, "alice", "list", "deploy", "default")
    (True, False)
    """
    attrs = resource_attributes(getattr(authorizer, "api", None), verb, resource, namespace, name, subresource, group)
    if isinstance(authorizer, RBACAuthorizer):
        return authorizer.authorize(_user(user), attrs)[0]
    return authorizer(_user(user), _request_attrs(attrs)) is None


def resource_attributes(api, verb: str, resource: str, namespace: str | None = None, name: str | None = None,
                        subresource: str | None = None, group: str | None = None) -> dict:
    """The authorizer attributes of a request, resolving short names and ``plural.group`` as discovery does.

    >>> resource_attributes(None, "get", "deploy/scale", "dev")
    {'verb': 'get', 'resource': 'deployments', 'group': 'apps', 'namespace': 'dev', 'name': None, 'subresource': 'scale'}
    """
    if resource.startswith("/"):
        return {"verb": verb, "path": resource}
    if "/" in resource and subresource is None:
        resource, subresource = resource.split("/", 1)
    kind = api.kinds.resolve(resource) if api is not None else resolve_builtin_kind(resource)
    if kind is not None and (group is None or group == kind.group):
        resource, group = kind.plural, kind.group
    return {"verb": verb, "resource": resource, "group": group or "", "namespace": namespace or None,
            "name": name, "subresource": subresource or None}


def subject_access_review(authorizer: RBACAuthorizer, review: dict) -> dict:
    """Answer a SubjectAccessReview: the review back, with ``status.allowed`` (and ``reason``) filled in.

    ``spec`` holds ``user``, ``groups`` and ``resourceAttributes`` (``namespace``, ``verb``,
    ``group``, ``resource``, ``subresource``, ``name``) or ``nonResourceAttributes``
    (``path``, ``verb``), as in ``authorization.k8s.io/v1``.
    """
    spec = review.get("spec") or {}
    user = UserInfo(spec.get("user", ""), tuple(spec.get("groups") or ()))
    if spec.get("resourceAttributes") is not None:
        ra = spec["resourceAttributes"]
        attrs = {"verb": ra.get("verb", ""), "resource": ra.get("resource", ""), "group": ra.get("group", ""),
                 "namespace": ra.get("namespace") or None, "name": ra.get("name") or None,
                 "subresource": ra.get("subresource") or None}
    else:
        nra = spec.get("nonResourceAttributes") or {}
        attrs = {"verb": nra.get("verb", ""), "path": nra.get("path", "")}
    allowed, reason = authorizer.authorize(user, attrs)
    status: dict = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    out = {"apiVersion": "authorization.k8s.io/v1", "kind": review.get("kind", "SubjectAccessReview"),
           "metadata": dict(review.get("metadata") or {}), "spec": spec, "status": status}
    return out


def self_subject_access_review(authorizer: RBACAuthorizer, user: UserInfo, review: dict) -> dict:
    """A SelfSubjectAccessReview: the same question, about the requester (what ``kubectl auth can-i`` posts)."""
    spec = dict(review.get("spec") or {}, user=user.name, groups=list(user.groups))
    out = subject_access_review(authorizer, dict(review, spec=spec, kind="SelfSubjectAccessReview"))
    out["spec"] = review.get("spec") or {}
    return out


def self_subject_rules_review(authorizer: RBACAuthorizer, user: UserInfo, namespace: str) -> dict:
    """A SelfSubjectRulesReview (``kubectl auth can-i --list``): the rules ``user`` holds in ``namespace``."""
    status: dict = {"resourceRules": [], "nonResourceRules": [], "incomplete": False}
    if authorizer.node is not None and authorizer.node.node_name(user) is not None and SYSTEM_MASTERS not in user.groups:
        status["incomplete"] = True
        status["evaluationError"] = "node authorizer does not support user rule resolution"
    rules, errs = authorizer.rules_for(user, namespace)
    for r in rules:
        if r.get("resources"):
            rr = {"verbs": list(r.get("verbs") or ()), "apiGroups": list(r.get("apiGroups") or ()),
                  "resources": list(r["resources"])}
            if r.get("resourceNames"):
                rr["resourceNames"] = list(r["resourceNames"])
            status["resourceRules"].append(rr)
        if r.get("nonResourceURLs"):
            status["nonResourceRules"].append({"verbs": list(r.get("verbs") or ()),
                                               "nonResourceURLs": list(r["nonResourceURLs"])})
    if errs:
        status["evaluationError"] = _aggregate_text(errs)
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "metadata": {},
            "spec": {"namespace": namespace}, "status": status}


# -- turning it on ------------------------------------------------------------------------------------------


def loopback_client(api, actor: str = "kube-apiserver"):
    """A client with the API server's own identity (``system:apiserver`` in ``system:masters``)."""
    return api.client(actor, user=LOOPBACK_USER, shared_results=True)


def ensure_bootstrap_policy(api, objects: list[dict] | None = None) -> list[str]:
    """Create the default roles and bindings that are missing (the ``rbac/bootstrap-roles`` hook).

    Returns ``kind/name`` of each object created.
    """
    client = loopback_client(api)
    created = []
    for obj in objects if objects is not None else bootstrap_policy():
        kind = api.kinds.for_object(obj["apiVersion"], obj["kind"])
        try:
            client.get(kind.group_resource, obj["metadata"]["name"], obj["metadata"].get("namespace"))
            continue
        except errors.NotFound:
            pass
        client.create(obj)
        created.append(f"{obj['kind']}/{obj['metadata']['name']}")
    return created


def enable_rbac(api, *, bootstrap: bool = True, modes: tuple[str, ...] = ("Node", "RBAC"),
                extra: list[dict] = ()) -> RBACAuthorizer:
    """Turn on ``--authorization-mode=Node,RBAC``: bootstrap policy, authorizer, escalation check.

    Every :class:`k8slab.Cluster` does this when it starts (``c.authorizer``); call it
    yourself only for a bare :class:`~k8slab.apiserver.server.APIServer`.

    ``extra`` are more RBAC objects to create with the bootstrap policy (e.g.
    :func:`~k8slab.apiserver.rbac_bootstrap.cloud_controller_manager_objects`).
    Returns the authorizer (also set as ``api.authorizer``).
    """
    if bootstrap:
        ensure_bootstrap_policy(api, [*bootstrap_policy(), *extra])
    authz = RBACAuthorizer(api, modes=modes)
    api.authorizer = authz
    if not any(isinstance(p, RBACEscalationCheck) for p in api.validating):
        api.validating.insert(0, RBACEscalationCheck(authz))
    return authz


__all__ = [
    "LOOPBACK_USER",
    "SYSTEM_MASTERS",
    "CompiledRule",
    "PolicyStore",
    "RBACAuthorizer",
    "RBACEscalationCheck",
    "can_i",
    "compact_rules",
    "compact_string",
    "covers",
    "enable_rbac",
    "ensure_bootstrap_policy",
    "forbidden_message",
    "loopback_client",
    "resource_attributes",
    "self_subject_access_review",
    "self_subject_rules_review",
    "subject_access_review",
]
