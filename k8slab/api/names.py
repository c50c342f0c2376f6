"""Names, labels and generated suffixes, checked and worded as Kubernetes does.

Object names are DNS-1123 subdomains (``web.v1``) for most kinds, DNS-1123
labels (``kube-system``) for Namespaces, and DNS-1035 labels (must start with a
letter) for Services. Label keys are qualified names (``app.kubernetes.io/name``)
and label values at most 63 characters. The error texts below are the API
server's own, so a learner can search for them.

:func:`validate_labels` turns bad labels into "causes", the dicts of a 422
``Invalid`` response, worded like Go's ``field.Error`` by
:mod:`k8slab.api.field_errors` (``Invalid value: "my app": a valid label ...``).
The cause builders (:func:`invalid`, :func:`required`...) are importable from
here too.

Generated names come last: ``generateName`` suffixes and the
``pod-template-hash`` use the same 27-character alphabet, chosen by Kubernetes so
that no vowels (no accidental words) and no look-alike characters appear.

Example
-------
>>> is_dns1123_subdomain("web.v1"), is_dns1123_label("web.v1")
(True, False)
>>> validate_object_name("Pod", "Web")[0][:49]
'a lowercase RFC 1123 subdomain must consist of lo'
>>> import random
>>> random_suffix(random.Random(0))
'q7rcl'
"""

from __future__ import annotations

import json
import random
import re
import struct
from collections.abc import Mapping
from typing import Any

# The Go-worded cause builders live in field_errors; re-exported for older imports.
from k8slab.api.field_errors import (
    GoLiteral,
    duplicate,
    forbidden,
    go_value,
    invalid,
    not_found,
    not_supported,
    required,
)

__all__ = [
    "GoLiteral",
    "SUFFIX_ALPHABET",
    "dns1035_label_errors",
    "dns1123_label_errors",
    "dns1123_subdomain_errors",
    "duplicate",
    "fnv32a",
    "forbidden",
    "go_value",
    "invalid",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "label_value_errors",
    "not_found",
    "not_supported",
    "pod_template_hash",
    "port_name_errors",
    "qualified_name_errors",
    "random_suffix",
    "required",
    "safe_encode",
    "validate_labels",
    "validate_object_name",
]

# --------------------------------------------------------------------------
# Name rules (k8s.io/apimachinery/pkg/util/validation)
# --------------------------------------------------------------------------

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"

_DNS1123_LABEL_RE = re.compile("^" + DNS1123_LABEL_FMT + "$")
_DNS1123_SUBDOMAIN_RE = re.compile("^" + DNS1123_SUBDOMAIN_FMT + "$")
_DNS1035_LABEL_RE = re.compile("^" + DNS1035_LABEL_FMT + "$")
_QUALIFIED_NAME_RE = re.compile("^" + QUALIFIED_NAME_FMT + "$")
_LABEL_VALUE_RE = re.compile("^" + LABEL_VALUE_FMT + "$")

_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    # Same shape as Go's validation.RegexError, including its double space
    # before "or" when there are several examples.
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def dns1123_label_errors(value: str) -> list[str]:
    """Why ``value`` is not a DNS-1123 label (empty list when it is).

    Example
    -------
    >>> dns1123_label_errors("web-1")
    []
    >>> dns1123_label_errors("x" * 64)
    ['must be no more than 63 characters']
    """
    errs = []
    if len(value) > 63:
        errs.append(_max_len_error(63))
    if not _DNS1123_LABEL_RE.match(value):
        errs.append(_regex_error(_DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def dns1123_subdomain_errors(value: str) -> list[str]:
    """Why ``value`` is not a DNS-1123 subdomain (empty list when it is).

    Example
    -------
    >>> dns1123_subdomain_errors("example.com")
    []
    >>> dns1123_subdomain_errors("Web")[0].startswith("a lowercase RFC 1123 subdomain")
    True
    """
    errs = []
    if len(value) > 253:
        errs.append(_max_len_error(253))
    if not _DNS1123_SUBDOMAIN_RE.match(value):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def dns1035_label_errors(value: str) -> list[str]:
    """Why ``value`` is not a DNS-1035 label (must start with a letter).

    Example
    -------
    >>> dns1035_label_errors("web")
    []
    >>> dns1035_label_errors("1web")[0][:33]
    'a DNS-1035 label must consist of '
    """
    errs = []
    if len(value) > 63:
        errs.append(_max_len_error(63))
    if not _DNS1035_LABEL_RE.match(value):
        errs.append(_regex_error(_DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_dns1123_label(name: str) -> bool:
    """True when ``name`` is a DNS-1123 label (``web-1``; no dots, at most 63 chars).

    Example
    -------
    >>> is_dns1123_label("kube-system"), is_dns1123_label("Kube")
    (True, False)
    """
    return isinstance(name, str) and not dns1123_label_errors(name)


def is_dns1123_subdomain(name: str) -> bool:
    """True when ``name`` is a DNS-1123 subdomain (``web.v1``; at most 253 chars).

    Example
    -------
    >>> is_dns1123_subdomain("web.v1"), is_dns1123_subdomain("web_v1")
    (True, False)
    """
    return isinstance(name, str) and not dns1123_subdomain_errors(name)


def is_dns1035_label(name: str) -> bool:
    """True when ``name`` is a DNS-1035 label (a DNS-1123 label starting with a letter).

    Example
    -------
    >>> is_dns1035_label("web"), is_dns1035_label("1web")
    (True, False)
    """
    return isinstance(name, str) and not dns1035_label_errors(name)


def qualified_name_errors(value: str) -> list[str]:
    """Why ``value`` is not a qualified name, the form of label and annotation keys.

    A qualified name is ``[prefix/]name``: the optional prefix a DNS-1123
    subdomain, the name at most 63 characters.

    Example
    -------
    >>> qualified_name_errors("app.kubernetes.io/name")
    []
    >>> qualified_name_errors("app:web")[0][:36]
    'name part must consist of alphanumer'
    """
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in dns1123_subdomain_errors(prefix))
    else:
        return [
            "a qualified name "
            + _regex_error(_QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len_error(63))
    if not _QUALIFIED_NAME_RE.match(name):
        errs.append(
            "name part "
            + _regex_error(_QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def label_value_errors(value: str) -> list[str]:
    """Why ``value`` is not a valid label value (empty is allowed; at most 63 characters).

    Example
    -------
    >>> label_value_errors("v1.2_beta")
    []
    >>> label_value_errors("a b")[0][:28]
    'a valid label must be an emp'
    """
    errs = []
    if len(value) > 63:
        errs.append(_max_len_error(63))
    if not _LABEL_VALUE_RE.match(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


_PORT_NAME_CHARS = re.compile("^[-a-z0-9]+$")
_HAS_LETTER = re.compile("[a-z]")


def port_name_errors(name: str) -> list[str]:
    """Why ``name`` is not a valid port name (an IANA service name, at most 15 characters).

    Example
    -------
    >>> port_name_errors("http"), port_name_errors("http-metrics-port")
    ([], ['must be no more than 15 characters'])
    """
    errs = []
    if len(name) > 15:
        errs.append(_max_len_error(15))
    if not _PORT_NAME_CHARS.match(name):
        errs.append("must contain only alphanumeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if not _HAS_LETTER.search(name):
        errs.append("must contain at least one letter (a-z)")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


# Which rule each kind's name follows; kinds not listed are DNS-1123 subdomains.
_LABEL_NAMED = {"Namespace"}
_DNS1035_NAMED = {"Service"}
# Role names and friends only need to be usable as a URL path segment.
_PATH_SEGMENT_NAMED = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
# A CronJob's name gets an 11-character suffix for its Jobs, hence 52.
_MAX_LENGTH = {"CronJob": 52}


def _path_segment_errors(name: str) -> list[str]:
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    errs = []
    for bad in ("/", "%"):
        if bad in name:
            errs.append(f"may not contain '{bad}'")
    return errs


def validate_object_name(kind: str, name: str, *, prefix: bool = False) -> list[str]:
    """Why ``name`` is not a valid ``metadata.name`` for ``kind`` (empty when valid).

    Parameters
    ----------
    kind : str
        The object's kind (``Pod``, ``Namespace``, ``Service``...).
    name : str
        The name to check.
    prefix : bool
        Check a ``generateName`` prefix instead: a trailing ``-`` is allowed,
        since random characters will follow it.

    Example
    -------
    >>> validate_object_name("Deployment", "web.v1")
    []
    >>> validate_object_name("Namespace", "team.a")[0][:32]
    'a lowercase RFC 1123 label must '
    >>> validate_object_name("Service", "1st")[0][:16]
    'a DNS-1035 label'
    """
    if prefix and name.endswith("-"):
        # maskTrailingDash: the generated suffix will provide the last character.
        name = name[:-1] + "a"
    if kind in _PATH_SEGMENT_NAMED:
        return _path_segment_errors(name)
    if kind in _LABEL_NAMED:
        errs = dns1123_label_errors(name)
    elif kind in _DNS1035_NAMED:
        errs = dns1035_label_errors(name)
    else:
        errs = dns1123_subdomain_errors(name)
    limit = _MAX_LENGTH.get(kind)
    if limit is not None and len(name) > limit and not prefix:
        errs.append(_max_len_error(limit))
    return errs


# --------------------------------------------------------------------------
# Labels, as causes
# --------------------------------------------------------------------------


def validate_labels(labels: Any, field: str) -> list[dict]:
    """Causes for invalid label keys or values (empty list when all are valid).

    As in ``ValidateLabels``, every cause names the whole map's field (for
    example ``metadata.labels``) and the offending key or value.

    Example
    -------
    >>> validate_labels({"app": "web"}, "metadata.labels")
    []
    >>> validate_labels({"app": "my app"}, "metadata.labels")[0]["message"][:30]
    'Invalid value: "my app": a val'
    """
    causes: list[dict] = []
    if not isinstance(labels, dict):
        return causes
    for key in sorted(labels, key=str):  # sorted: Go map order is random, ours is stable
        value = labels[key]
        key = str(key)
        for msg in qualified_name_errors(key):
            causes.append(invalid(field, key, msg))
        if not isinstance(value, str):
            value = "" if value is None else str(value)
        for msg in label_value_errors(value):
            causes.append(invalid(field, value, msg))
    return causes


# --------------------------------------------------------------------------
# Generated names
# --------------------------------------------------------------------------

#: The alphabet of generated name suffixes: no vowels, no 0/1/3 (look like o, l, e).
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(rng: random.Random, n: int = 5) -> str:
    """``n`` random characters for ``generateName`` and pod names (``web-7d4b9c-x2x8q``).

    ``rng`` is the cluster's seeded generator, so names repeat from run to run.

    Example
    -------
    >>> random_suffix(random.Random(1), 5)
    'gx87d'
    """
    return "".join(SUFFIX_ALPHABET[rng.randrange(len(SUFFIX_ALPHABET))] for _ in range(n))


def safe_encode(s: str) -> str:
    """Kubernetes' ``rand.SafeEncodeString``: each character mapped into :data:`SUFFIX_ALPHABET`.

    Used on the decimal digits of a hash, so the result only ever contains
    ``4 5 6 7 8 9 b c d f`` (the images of ``0``..``9``).

    Example
    -------
    >>> safe_encode("0123456789")
    '456789bcdf'
    """
    return "".join(SUFFIX_ALPHABET[ord(ch) % len(SUFFIX_ALPHABET)] for ch in s)


def fnv32a(data: bytes) -> int:
    """The 32-bit FNV-1a hash (Go's ``hash/fnv.New32a``).

    Example
    -------
    >>> fnv32a(b""), fnv32a(b"a")
    (2166136261, 3826002220)
    """
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def pod_template_hash(template: Mapping, collision_count: int | None = None) -> str:
    """The ``pod-template-hash`` label a Deployment gives its ReplicaSets and pods.

    The real controller hashes a Go ``spew`` dump of the template struct with
    FNV-1a; k8slab hashes the template's canonical JSON (sorted keys, no
    spaces) instead, so the value differs from a real cluster's for the same
    template, but its form is the real one: the decimal hash encoded by
    :func:`safe_encode`, up to 10 characters from ``4-9 b c d f``. Like the
    real one, it changes when the template changes, and a ``collision_count``
    (``status.collisionCount``) is mixed in as 8 little-endian bytes.

    Example
    -------
    >>> h = pod_template_hash({"metadata": {"labels": {"app": "web"}}})
    >>> set(h) <= set("456789bcdf"), len(h) <= 10
    (True, True)
    >>> h == pod_template_hash({"metadata": {"labels": {"app": "web"}}}, collision_count=1)
    False
    """
    data = json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    if collision_count is not None:
        data += struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\x00" * 4
    return safe_encode(str(fnv32a(data)))
