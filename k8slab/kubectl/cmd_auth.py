"""``kubectl auth can-i`` and ``kubectl auth whoami``: asking the API server about access.

Follows ``staging/.../kubectl/pkg/cmd/auth/cani.go`` and ``whoami.go``. ``can-i VERB
TYPE[/NAME]`` (or ``VERB /url``) prints ``yes``, or ``no`` with exit code 1; ``--list``
prints the rules the user holds in the namespace as a table; warnings (an unknown
verb or resource, a resource that is not namespaced) go to stderr as kubectl's
warning printer writes them.

On a real cluster kubectl posts a SelfSubjectAccessReview (``--list``: a
SelfSubjectRulesReview). k8slab's API server has no such endpoint yet, so the
question goes straight to the API server's authorizer (``client.server.authorizer``)
through :func:`k8slab.kubectl.impersonation.access_allowed`, with the identity
behind kubectl's client (``--as`` changes it, as impersonation does).

k8slab simplifies: ``--list`` needs an authorizer that can list a user's rules (RBAC,
or the default allow-all one); others report that the list may be incomplete.
"""

from __future__ import annotations

from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.impersonation import access_allowed, caller_of
from k8slab.kubectl.policy_rules import compact_and_sort, policy_row
from k8slab.kubectl.tabwriter import table

CAN_I_FLAGS = [
    Flag("all-namespaces", "A", "bool"),
    Flag("quiet", "q", "bool"),
    Flag("subresource", "", "string"),
    Flag("list", "", "bool"),
    Flag("no-headers", "", "bool"),
]

RESOURCE_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "use", "bind",
                  "impersonate", "*", "approve", "sign", "escalate", "attest"}
NON_RESOURCE_VERBS = {"get", "put", "post", "head", "options", "delete", "patch", "*"}
#: Resources the server knows that discovery does not list (the impersonate verb's users and groups).
NON_STANDARD_RESOURCES = {"users", "groups"}

AUTH_HELP = """Inspect authorization.

Available Commands:
  can-i         Check whether an action is allowed
  reconcile     Reconciles rules for RBAC role, role binding, cluster role, and cluster role binding objects
  whoami        Experimental: Check self subject attributes
"""


def auth(kubectl, args: list[str], out: Output, stdin=None) -> None:
    if not args or args[0].startswith("-"):
        out.write(AUTH_HELP)
        return
    sub, rest = args[0], args[1:]
    if sub == "can-i":
        return can_i(kubectl, rest, out)
    if sub == "whoami":
        return whoami(kubectl, rest, out)
    if sub == "reconcile":
        raise KubectlError('"kubectl auth reconcile" is not available in k8slab\'s in-process kubectl')
    raise KubectlError(f'unknown command "{sub}" for "kubectl auth"')


def _warn(out: Output, message: str) -> None:
    # kubectl's messages end in a newline and printers.WarningPrinter adds one: a blank line follows
    out.warn(f"Warning: {message}\n\n")


def _resource_for(kubectl, arg: str, out: Output) -> tuple[str, str, bool | None]:
    """``resourceFor``: (plural, group, namespaced) for a resource argument, warning when it is unknown."""
    if arg == "*":
        return "*", "", True
    kind = kubectl.registry.resolve(arg.lower())
    if kind is not None:
        return kind.plural, kind.group, kind.namespaced
    resource, _, group = arg.lower().partition(".")
    if f"{resource}.{group}".rstrip(".") not in NON_STANDARD_RESOURCES:
        if group:
            _warn(out, f"the server doesn't have a resource type '{resource}' in group '{group}'")
        else:
            _warn(out, f"the server doesn't have a resource type '{resource}'")
    return arg, "", None


def _user(kubectl):
    user = caller_of(kubectl.client)
    server = getattr(kubectl.client, "server", None)
    if user is None or server is None:
        raise KubectlError("auth can-i needs a client connected to k8slab's API server")
    return server, user


def can_i(kubectl, args: list[str], out: Output) -> None:
    positional, flags = kubectl.parse(args, CAN_I_FLAGS, "auth can-i")
    if flags.get("list"):
        if positional:
            raise KubectlError("list option must be specified with no arguments")
        if flags.get("quiet") or flags.get("all-namespaces") or flags.get("subresource"):
            raise KubectlError("list option can't be specified with neither quiet, all-namespaces nor subresource "
                               "options")
        namespace = kubectl.namespace(flags)
        return _access_list(kubectl, namespace, bool(flags.get("no-headers")), out)
    if len(positional) != 2:
        raise KubectlError("you must specify two arguments: verb resource or verb resource/resourceName.\n"
                           "See 'kubectl auth can-i -h' for help and examples.")
    verb, target = positional
    url = target if target.startswith("/") else None
    resource = group = name = ""
    namespaced = None
    if url is None:
        type_arg, _, name = target.partition("/")
        resource, group, namespaced = _resource_for(kubectl, type_arg, out)
    all_ns = bool(flags.get("all-namespaces"))
    if url is not None:
        if flags.get("subresource"):
            raise KubectlError("--subresource can not be used with NonResourceURL")
        if verb not in NON_RESOURCE_VERBS:
            _warn(out, f"verb '{verb}' is not a known verb")
    else:
        if not all_ns and namespaced is False:
            if group:
                _warn(out, f"resource '{resource}' is not namespace scoped in group '{group}'")
            else:
                _warn(out, f"resource '{resource}' is not namespace scoped")
        if verb not in RESOURCE_VERBS:
            _warn(out, f"verb '{verb}' is not a known verb")
    if flags.get("no-headers"):
        raise KubectlError("--no-headers cannot be set without --list specified")
    server, user = _user(kubectl)
    if url is not None:
        attrs = {"verb": verb, "path": url}
    else:
        attrs = {"verb": verb, "resource": resource, "group": group, "name": name,
                 "namespace": "" if all_ns else kubectl.namespace(flags),
                 "subresource": flags.get("subresource") or ""}
    allowed, reason = access_allowed(server, user, attrs)
    if not flags.get("quiet"):
        out.print("yes" if allowed else "no" + (f" - {reason}" if reason else ""))
    if not allowed:
        out.exit_code = 1


def _rules_of(server, user, namespace: str) -> tuple[list[dict], bool, str]:
    """(rules, incomplete, evaluation error) as a SelfSubjectRulesReview reports them."""
    authorizer = server.authorizer
    rules_for = getattr(authorizer, "rules_for", None)
    if callable(rules_for):
        rules, _errors = rules_for(user, namespace)
        node = getattr(authorizer, "node", None)
        is_node = node is not None and hasattr(node, "node_name") and node.node_name(user) is not None
        masters = "system:masters" in user.groups
        if is_node and not masters:
            return list(rules), True, "node authorizer does not support user rule resolution"
        return list(rules), False, ""
    if getattr(authorizer, "__name__", "") == "_allow_all":
        # the AlwaysAllow authorizer: everything, everywhere
        return [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]}], False, ""
    return [], True, "authorizer does not support user rule resolution"


def _access_list(kubectl, namespace: str, no_headers: bool, out: Output) -> None:
    server, user = _user(kubectl)
    rules, incomplete, evaluation_error = _rules_of(server, user, namespace)
    if incomplete:
        out.warn(f"Warning: the list may be incomplete: {evaluation_error}")
    # SelfSubjectRulesReview splits rules into resource and non-resource rules
    split = []
    for r in rules:
        if r.get("resources"):
            split.append({k: list(r[k]) for k in ("verbs", "apiGroups", "resources", "resourceNames") if r.get(k)})
        if r.get("nonResourceURLs"):
            split.append({"verbs": list(r.get("verbs") or []), "nonResourceURLs": list(r["nonResourceURLs"])})
    rows = [] if no_headers else [["Resources", "Non-Resource URLs", "Resource Names", "Verbs"]]
    rows += [policy_row(r) for r in compact_and_sort(split)]
    if rows:
        out.write(table(rows))


def whoami(kubectl, args: list[str], out: Output) -> None:
    positional, flags = kubectl.parse(args, [Flag("output", "o", "string")], "auth whoami")
    if positional:
        raise KubectlError(f"unknown command {positional[0]!r} for \"kubectl auth whoami\"")
    _server, user = _user(kubectl)
    rows = [["ATTRIBUTE", "VALUE"], ["Username", user.name]]
    if user.groups:
        rows.append(["Groups", "[" + " ".join(user.groups) + "]"])
    out.write(table(rows))
