"""``--as`` and ``--as-group``: running a kubectl command as someone else.

Real kubectl adds ``Impersonate-User`` / ``Impersonate-Group`` headers; the API
server first checks that the caller may ``impersonate`` that user (and those
groups), then serves the request as the impersonated identity, which is always
in ``system:authenticated`` as well. Here the same two steps happen in process:
:func:`access_allowed` asks the API server's authorizer, and
:func:`impersonating_client` returns a client carrying the new identity.

k8slab simplifies: the impersonation check happens once per command, not once
per request, and ``--as-uid`` and user extras are ignored.

Example
-------
>>> impersonation_flags(["get", "pods", "--as=alice", "--as-group", "devs", "--", "--as=bob"])
('alice', ['devs'])
>>> impersonation_flags(["get", "pods"])
(None, [])
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.apiserver.request import UserInfo
from k8slab.kubectl.flags import flag_values

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"


def impersonation_flags(args: list[str]) -> tuple[str | None, list[str]]:
    """The values of ``--as`` and ``--as-group`` in a command line (flags after ``--`` do not count)."""
    user, groups = None, []
    for flag, value in flag_values(args, ("--as", "--as-group")):
        if flag == "--as":
            user = value
        else:
            groups.append(value)
    return user, groups


def caller_of(client) -> UserInfo | None:
    """The identity the API server sees behind ``client`` (``None`` for a client without a server)."""
    server = getattr(client, "server", None)
    if server is None:
        return None
    return server.tokens.get(getattr(client, "token", "") or "")


def access_allowed(server, user: UserInfo, attrs: dict) -> tuple[bool, str]:
    """``(allowed, reason)`` from the API server's authorizer, as a SubjectAccessReview answers.

    An authorizer with an ``authorize`` method (the RBAC one) gives the review's own reason;
    a plain ``authorizer(user, attrs)`` function only says no (with the Forbidden text), so the
    reason is left empty, as a SubjectAccessReview of a denial without a reason has it.
    """
    authorizer = server.authorizer
    full = {"verb": attrs.get("verb"), "resource": attrs.get("resource"), "group": attrs.get("group") or "",
            "namespace": attrs.get("namespace") or None, "name": attrs.get("name") or None,
            "subresource": attrs.get("subresource") or None}
    if "path" in attrs:
        full = {"verb": attrs.get("verb"), "path": attrs["path"]}
    decide = getattr(authorizer, "authorize", None)
    if callable(decide):
        allowed, reason = decide(user, full)
        return bool(allowed), "" if allowed else (reason or "")
    return authorizer(user, full) is None, ""


def impersonated_user(name: str, groups: list[str]) -> UserInfo:
    """The identity the API server gives an impersonated request (``system:authenticated`` added)."""
    groups = list(groups)
    if AUTHENTICATED not in groups and UNAUTHENTICATED not in groups and name != "system:anonymous":
        groups.append(AUTHENTICATED)
    return UserInfo(name, tuple(groups))


def impersonating_client(client, name: str | None, groups: list[str]):
    """A client acting as ``name`` (and ``groups``), after checking the caller may impersonate them."""
    server = getattr(client, "server", None)
    if server is None:
        return client
    if not name:
        raise errors.BadRequest("requesting uid, groups or user-extra for  without impersonating a user")
    caller = caller_of(client)
    checks = [("users", name)] + [("groups", g) for g in groups]
    for resource, value in checks:
        attrs = {"verb": "impersonate", "resource": resource, "group": "", "name": value}
        if caller is not None and server.authorizer(caller, dict(attrs, namespace=None, subresource=None)) is not None:
            message = (f'{resource} "{value}" is forbidden: User "{caller.name}" cannot impersonate resource '
                       f'"{resource}" in API group "" at the cluster scope')
            raise errors.Forbidden(message, resource, value)
    return server.client(f"kubectl (as {name})", user=impersonated_user(name, groups))
