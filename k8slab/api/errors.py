"""Errors k8slab raises, shaped like the ones a real API server or kubectl reports.

Two families:

* :class:`ApiError` carries a Kubernetes ``Status`` object (``code``, ``reason``,
  ``message``, ``details``) exactly as the API server would return it; kubectl
  prints it as ``Error from server (NotFound): pods "x" not found``.
* :class:`ManifestError` is a problem found in a learner's YAML before anything
  is sent: it names the file, the line and the field.

Example
-------
>>> e = NotFound("pods", "web-1")
>>> str(e)
'Error from server (NotFound): pods "web-1" not found'
>>> e.code
404
"""

from __future__ import annotations


class K8sLabError(Exception):
    """Base class of every error k8slab raises on bad input."""


class ApiError(K8sLabError):
    """An error response of the API server, holding its ``Status`` object."""

    def __init__(self, status: dict):
        self.status = status
        super().__init__(self.kubectl_message())

    @property
    def code(self) -> int:
        return int(self.status.get("code", 500))

    @property
    def reason(self) -> str:
        return self.status.get("reason", "")

    @property
    def message(self) -> str:
        return self.status.get("message", "")

    def kubectl_message(self) -> str:
        """The line kubectl prints for this error."""
        if not self.reason:  # e.g. etcd's own error passed through: kubectl prints no reason
            return f"Error from server: {self.message}"
        reason = self.reason
        if self.code == 422 and reason == "Invalid":
            return _invalid_message(self.status) or f"The {self.message}"
        return f"Error from server ({reason}): {self.message}"

    def __str__(self) -> str:
        return self.kubectl_message()


def _invalid_message(st: dict) -> str | None:
    """kubectl's ``checkErr`` for an Invalid error: the plain kind, one cause inline, several as ``*`` lines."""
    details = st.get("details") or {}
    causes = details.get("causes") or []
    if not causes or not (details.get("kind") or details.get("name")):
        return None
    head = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid: '
    lines = [f'{c["field"]}: {c["message"]}' if c.get("field") else c.get("message", "") for c in causes]
    if len(lines) == 1:
        return head + lines[0]
    return head + "\n" + "".join(f"* {line}\n" for line in lines).rstrip("\n")


def status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    """A ``Status`` object as the API server returns it for a failure."""
    st = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        st["details"] = details
    return st


def _details(name: str | None, resource: str, group: str = "", causes: list | None = None) -> dict:
    # Status.details.kind holds the resource (plural) name, as the real server does.
    d: dict = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = resource
    if causes:
        d["causes"] = causes
    return d


def _split(group_resource: str) -> tuple[str, str]:
    resource, _, group = group_resource.partition(".")
    return resource, group


class NotFound(ApiError):
    def __init__(self, group_resource: str, name: str):
        res, grp = _split(group_resource)
        msg = f'{group_resource} "{name}" not found'
        super().__init__(status(404, "NotFound", msg, _details(name, res, grp)))


class AlreadyExists(ApiError):
    def __init__(self, group_resource: str, name: str):
        res, grp = _split(group_resource)
        msg = f'{group_resource} "{name}" already exists'
        super().__init__(status(409, "AlreadyExists", msg, _details(name, res, grp)))


class Conflict(ApiError):
    def __init__(self, group_resource: str, name: str, why: str | None = None):
        res, grp = _split(group_resource)
        why = why or (
            "the object has been modified; please apply your changes to the latest version and try again"
        )
        msg = f'Operation cannot be fulfilled on {group_resource} "{name}": {why}'
        super().__init__(status(409, "Conflict", msg, _details(name, res, grp)))


class Forbidden(ApiError):
    def __init__(self, message: str, group_resource: str = "", name: str | None = None):
        res, grp = _split(group_resource) if group_resource else ("", "")
        super().__init__(status(403, "Forbidden", message, _details(name, res, grp)))


class BadRequest(ApiError):
    def __init__(self, message: str):
        super().__init__(status(400, "BadRequest", message))


class MethodNotAllowed(ApiError):
    def __init__(self, message: str):
        super().__init__(status(405, "MethodNotAllowed", message))


class InternalError(ApiError):
    def __init__(self, message: str):
        super().__init__(status(500, "InternalError", f"Internal error occurred: {message}"))


class Timeout(ApiError):
    def __init__(self, message: str):
        super().__init__(status(504, "Timeout", message))


class Invalid(ApiError):
    """422: the object failed validation; ``causes`` lists each bad field.

    Each cause is ``{"reason": "FieldValueInvalid", "message": ..., "field": "spec.replicas"}``.
    """

    def __init__(self, kind: str, group: str, name: str, causes: list[dict]):
        qualified = f"{kind}.{group}" if group else kind
        parts = [c["field"] + ": " + c["message"] if c.get("field") else c["message"] for c in causes]
        if len(parts) == 1:
            detail = parts[0]
        else:
            detail = "[" + ", ".join(parts) + "]"
        msg = f'{qualified} "{name}" is invalid: {detail}'
        super().__init__(status(422, "Invalid", msg, _details(name, kind, group, causes)))

    @property
    def causes(self) -> list[dict]:
        return self.status.get("details", {}).get("causes", [])


def field_cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict:
    return {"reason": reason, "message": message, "field": field}


class ManifestError(K8sLabError):
    """A problem in a manifest found while reading or checking it, before any request.

    ``source`` is the file name (or ``<string>``), ``line`` the 1-based line, ``field``
    the dotted path of the offending field (``spec.replcas``) when there is one.
    """

    def __init__(self, message: str, source: str = "<string>", line: int | None = None, field: str | None = None):
        self.source = source
        self.line = line
        self.field = field
        self.detail = message
        super().__init__(self.render())

    def render(self) -> str:
        where = self.source
        if self.line is not None:
            where += f", line {self.line}"
        if self.field:
            return f"error: {where}: {self.field}: {self.detail}"
        return f"error: {where}: {self.detail}"

    def __str__(self) -> str:
        return self.render()


class NodeError(K8sLabError):
    """A cluster-level action on a node that cannot be done (unknown node, duplicate name)."""
