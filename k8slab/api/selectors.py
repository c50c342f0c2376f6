"""Label selectors and field selectors: how a Service finds its pods, and ``kubectl get -l``.

A label selector is an AND of requirements on an object's labels:

* ``app=web`` / ``app==web`` (equal), ``app!=web`` (not equal, or no such label),
* ``tier in (a,b)``, ``tier notin (a)`` (set based; ``notin`` also matches a missing label),
* ``key`` (the label exists), ``!key`` (it does not).

In YAML a selector is written as ``matchLabels`` and ``matchExpressions``
(:meth:`LabelSelector.from_dict`); on the command line as text
(:func:`parse_selector`). Both become the same :class:`LabelSelector`, printed
the way Kubernetes prints it: requirements sorted by key, values sorted.

Two edge cases matter: an *empty* selector (``{}``) matches every object, while a
*missing* selector (``None``) matches none, exactly as
``metav1.LabelSelectorAsSelector`` decides.

Field selectors (``--field-selector spec.nodeName=worker-1``) compare fields of
the object itself; :func:`parse_field_selector` reads them.

Example
-------
>>> sel = LabelSelector.from_dict({"matchLabels": {"app": "web"},
...     "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]})
>>> str(sel)
'app=web,tier in (a,b)'
>>> sel.matches({"app": "web", "tier": "a"}), sel.matches({"app": "web"})
(True, False)
>>> parse_selector("env notin (dev), !canary").matches({"env": "prod"})
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from k8slab.api.field_errors import (
    forbidden,
    go_value,
    invalid,
    required,
    type_invalid,
    typed_field,
)
from k8slab.api.names import label_value_errors, qualified_name_errors, validate_labels

__all__ = [
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "SUPPORTED_FIELD_LABELS",
    "parse_field_selector",
    "parse_selector",
    "selector_from_set",
    "validate_label_selector",
]

# Operators as Kubernetes spells them (k8s.io/apimachinery/pkg/selection).
EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, EXISTS, DOES_NOT_EXIST = "in", "notin", "exists", "!"
GREATER_THAN, LESS_THAN = "gt", "lt"
_BINARY_OPERATORS = [IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN]
_VALID_OPERATORS = _BINARY_OPERATORS + [EXISTS, DOES_NOT_EXIST]

# metav1.LabelSelectorOperator (YAML) -> selection.Operator (text form)
_FROM_YAML_OPERATOR = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def _aggregate(messages: list[str]) -> str:
    # utilerrors.NewAggregate: one error prints alone, several as "[a, b]".
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


@dataclass(frozen=True)
class Requirement:
    """One condition of a label selector: ``key``, an operator and its values.

    Example
    -------
    >>> r = Requirement.new("tier", "in", ["db", "cache"])
    >>> str(r), r.matches({"tier": "db"}), r.matches({})
    ('tier in (cache,db)', True, False)
    """

    key: str
    operator: str
    values: tuple[str, ...] = ()

    @classmethod
    def new(cls, key: str, operator: str, values: Iterable[str] = ()) -> Requirement:
        """Build a requirement, checking it as ``labels.NewRequirement`` does.

        Raises ``ValueError`` with the API machinery's message, for example
        ``values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty``.
        """
        values = tuple(values)
        problems = []
        key_errs = qualified_name_errors(key)
        if key_errs:
            problems.append(f"key: Invalid value: {go_value(key)}: {'; '.join(key_errs)}")
        shown = go_value(list(values))
        if operator in (IN, NOT_IN):
            if not values:
                problems.append(
                    f"values: Invalid value: {shown}: for 'in', 'notin' operators, values set can't be empty"
                )
        elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
            if len(values) != 1:
                problems.append(
                    f"values: Invalid value: {shown}: exact-match compatibility requires one single value"
                )
        elif operator in (EXISTS, DOES_NOT_EXIST):
            if values:
                problems.append(
                    f"values: Invalid value: {shown}: values set must be empty for exists and does not exist"
                )
        elif operator in (GREATER_THAN, LESS_THAN):
            if len(values) != 1:
                problems.append(
                    f"values: Invalid value: {shown}: for 'Gt', 'Lt' operators, exactly one value is required"
                )
            for i, v in enumerate(values):
                if not _is_int(v):
                    problems.append(
                        f"values[{i}]: Invalid value: {go_value(v)}: for 'Gt', 'Lt' operators, the value must be an integer"
                    )
        else:
            supported = ", ".join(go_value(o) for o in _VALID_OPERATORS)
            problems.append(
                f"operator: Unsupported value: {go_value(operator)}: supported values: {supported}"
            )
        for i, v in enumerate(values):
            errs = label_value_errors(v)
            if errs:
                problems.append(
                    f"values[{i}][{key}]: Invalid value: {go_value(v)}: {'; '.join(errs)}"
                )
        if problems:
            raise ValueError(_aggregate(problems))
        return cls(key, operator, values)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a set of labels satisfies this requirement."""
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels or not _is_int(labels[self.key]) or len(self.values) != 1:
                return False
            have, want = int(labels[self.key]), int(self.values[0])
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        values = ",".join(sorted(self.values)) if len(self.values) > 1 else "".join(self.values)
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{values}"


def _is_int(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return body.isdigit() and body.isascii()


class LabelSelector:
    """A parsed label selector: an AND of :class:`Requirement`, or *nothing*.

    Build one with :meth:`from_dict` (YAML form), :func:`parse_selector` (text
    form) or :func:`selector_from_set` (a plain ``{key: value}`` map).

    Example
    -------
    >>> LabelSelector.from_dict({}).empty, LabelSelector.from_dict({}).matches({"a": "b"})
    (True, True)
    >>> LabelSelector.from_dict(None).matches({"a": "b"})
    False
    """

    __slots__ = ("requirements", "_nothing")

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False):
        # Sorted by key (stable), as labels.Selector.Add does.
        self.requirements: tuple[Requirement, ...] = tuple(
            sorted(requirements, key=lambda r: r.key)
        )
        self._nothing = nothing

    @classmethod
    def from_dict(cls, selector: Mapping[str, Any] | None) -> LabelSelector:
        """The selector of a ``matchLabels`` / ``matchExpressions`` dict.

        ``None`` gives a selector that matches nothing; ``{}`` one that matches
        everything. Raises ``ValueError`` for an unknown operator or an invalid
        key or value, with the API machinery's message, and for a field of the
        wrong type (``matchLabels: 1``, ``values: "a"``) with the field and its
        type: ``matchLabels: Invalid value: "integer": matchLabels in body must
        be of type object: "integer"``.

        Example
        -------
        >>> str(LabelSelector.from_dict({"matchExpressions": [
        ...     {"key": "canary", "operator": "DoesNotExist"},
        ...     {"key": "env", "operator": "NotIn", "values": ["dev"]}]}))
        '!canary,env notin (dev)'
        """
        if selector is None:
            return cls(nothing=True)
        if not isinstance(selector, dict):
            raise ValueError(f"invalid label selector: {selector!r}")
        # Decoding comes first: a field of the wrong type fails before any check.
        problems: list[dict] = []
        match_labels, expressions = _read_selector(selector, "", problems)
        if problems:
            raise ValueError(f"{problems[0]['field']}: {problems[0]['message']}")
        reqs = []
        for key in sorted(
            match_labels, key=str
        ):  # first error deterministic (Go's map order is not)
            reqs.append(Requirement.new(str(key), EQUALS, [_label_text(match_labels[key])]))
        for expr in expressions:
            if expr.operator not in _FROM_YAML_OPERATOR:
                raise ValueError(
                    f"{go_value(expr.operator or '')} is not a valid label selector operator"
                )
            reqs.append(Requirement.new(expr.key, _FROM_YAML_OPERATOR[expr.operator], expr.values))
        return cls(reqs)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (it matches every object)."""
        return not self._nothing and not self.requirements

    @property
    def nothing(self) -> bool:
        """True for the selector of a missing (``None``) selector, which matches no object."""
        return self._nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with these labels is selected.

        Example
        -------
        >>> parse_selector("app=web,tier!=db").matches({"app": "web", "tier": "cache"})
        True
        """
        if self._nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        if self._nothing:
            return "LabelSelector(nothing)"
        return f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelSelector):
            return NotImplemented
        return self._nothing == other._nothing and self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash((self._nothing, self.requirements))


def _label_text(value: Any) -> str:
    # YAML may hand us `true` or `1` where Kubernetes only has strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass(frozen=True)
class _Expression:
    """One ``matchExpressions`` entry whose fields all have their Go types."""

    path: str  # where it sits, for causes: "spec.selector.matchExpressions[0]"
    key: str
    operator: str | None
    values: list[str]


def _read_selector(
    selector: Mapping, field_path: str, causes: list
) -> tuple[Mapping, list[_Expression]]:
    """``matchLabels`` and ``matchExpressions`` read as the Go types they decode into.

    Each field of the wrong type (``matchLabels: 1``, ``values: "a"``, a map as
    a label value...) adds a ``FieldValueTypeInvalid`` cause, worded like
    :func:`~k8slab.api.field_errors.type_invalid`, and is left out: a bad
    ``matchLabels`` reads as ``{}``, a bad label entry or expression is dropped.
    Scalars where a string belongs (``1``, ``true``) are kept, as YAML gives them.

    Example
    -------
    >>> causes = []
    >>> _read_selector({"matchLabels": 1}, "spec.selector", causes)
    ({}, [])
    >>> causes[0]["field"], causes[0]["message"]
    ('spec.selector.matchLabels', 'Invalid value: "integer": spec.selector.matchLabels in body must be of type object: "integer"')
    """
    where = f"{field_path}." if field_path else ""
    raw_labels = typed_field(
        selector, "matchLabels", f"{where}matchLabels", dict, causes, "object"
    )
    labels: dict = {}
    for key, value in (raw_labels or {}).items():
        if isinstance(value, (dict, list, tuple)):
            causes.append(type_invalid(f"{where}matchLabels.{key}", value, "string"))
        else:
            labels[key] = value
    raw_expressions = typed_field(
        selector, "matchExpressions", f"{where}matchExpressions", (list, tuple), causes, "array"
    )
    expressions = []
    for i, expr in enumerate(raw_expressions or []):
        path = f"{where}matchExpressions[{i}]"
        if not isinstance(expr, dict):
            causes.append(type_invalid(path, expr, "object"))
            continue
        before = len(causes)
        key = typed_field(expr, "key", f"{path}.key", str, causes, "string")
        operator = typed_field(expr, "operator", f"{path}.operator", str, causes, "string")
        values = typed_field(expr, "values", f"{path}.values", (list, tuple), causes, "array")
        for j, value in enumerate(values or []):
            if isinstance(value, (dict, list, tuple)):
                causes.append(type_invalid(f"{path}.values[{j}]", value, "string"))
        if len(causes) == before:
            expressions.append(
                _Expression(path, key or "", operator, [_label_text(v) for v in values or []])
            )
    return labels, expressions


def selector_from_set(labels: Mapping[str, str] | None) -> LabelSelector:
    """A selector matching exactly these labels (``labels.SelectorFromSet``; no validation).

    Example
    -------
    >>> str(selector_from_set({"tier": "web", "app": "shop"}))
    'app=shop,tier=web'
    """
    return LabelSelector(
        Requirement(str(k), EQUALS, (_label_text(v),)) for k, v in (labels or {}).items()
    )


# --------------------------------------------------------------------------
# The text form: a lexer and a recursive-descent parser, as labels.Parse
# --------------------------------------------------------------------------

_SPECIAL = set("=!(),><")
_WHITESPACE = set(" \t\r\n")
_TOKENS = {
    ")": "CLOSE",
    ",": "COMMA",
    "!": "NOT",
    "==": "DEQ",
    "=": "EQ",
    ">": "GT",
    "in": "IN",
    "<": "LT",
    "!=": "NEQ",
    "notin": "NOTIN",
    "(": "OPEN",
}
_OPERATOR_OF = {
    "IN": IN,
    "EQ": EQUALS,
    "DEQ": DOUBLE_EQUALS,
    "GT": GREATER_THAN,
    "LT": LESS_THAN,
    "NOTIN": NOT_IN,
    "NEQ": NOT_EQUALS,
}


def _lex(text: str) -> list[tuple[str, str]]:
    tokens = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= end:
            tokens.append(("END", ""))
            return tokens
        if text[pos] in _SPECIAL:
            # Longest run of special characters that still forms a known token.
            buf, best = "", None
            while pos < end and text[pos] in _SPECIAL:
                buf += text[pos]
                if buf in _TOKENS:
                    best = (_TOKENS[buf], buf)
                    pos += 1
                elif best is not None:
                    break
                else:
                    pos += 1
            if best is None:
                tokens.append(("ERROR", f"error expected: keyword found '{buf}'"))
            else:
                tokens.append(best)
        else:
            start = pos
            while pos < end and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
                pos += 1
            word = text[start:pos]
            tokens.append((_TOKENS.get(word, "ID") if word in ("in", "notin") else "ID", word))


class _Parser:
    def __init__(self, text: str):
        self.items = _lex(text)
        self.pos = 0

    def _peek(self, values: bool = True) -> tuple[str, str]:
        tok, lit = self.items[self.pos]
        # In value context "in" and "notin" are ordinary words ("tier in (in)").
        return ("ID" if values and tok in ("IN", "NOTIN") else tok), lit

    def _next(self, values: bool = True) -> tuple[str, str]:
        item = self._peek(values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self._peek()
            if tok in ("ID", "NOT"):
                try:
                    reqs.append(self._requirement())
                except ValueError as exc:
                    raise ValueError(f"unable to parse requirement: {exc}") from None
                tok, lit = self._next()
                if tok == "END":
                    return reqs
                if tok == "COMMA":
                    tok2, lit2 = self._peek()
                    if tok2 not in ("ID", "NOT"):
                        raise ValueError(f"found '{lit2}', expected: identifier after ','")
                    continue
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            if tok == "END":
                return reqs
            raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def _requirement(self) -> Requirement:
        operator = None
        tok, lit = self._next()
        if tok == "NOT":
            operator = DOES_NOT_EXIST
            tok, lit = self._next()
        if tok != "ID":
            raise ValueError(f"found '{lit}', expected: identifier")
        key = lit
        errs = qualified_name_errors(key)
        if errs:
            raise ValueError(f"<nil>: Invalid value: {go_value(key)}: {'; '.join(errs)}")
        if operator == DOES_NOT_EXIST or self._peek()[0] in ("END", "COMMA"):
            # "!key" takes no operator: whatever follows is reported by parse().
            return Requirement.new(key, operator or EXISTS)
        tok, lit = self._next(values=False)
        if tok not in _OPERATOR_OF:
            raise ValueError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        operator = _OPERATOR_OF[tok]
        values = self._set_values() if operator in (IN, NOT_IN) else self._exact_value()
        return Requirement.new(key, operator, sorted(values))

    def _set_values(self) -> set[str]:
        tok, lit = self._next()
        if tok != "OPEN":
            raise ValueError(f"found '{lit}' expected: '('")
        tok, lit = self._peek()
        if tok in ("ID", "COMMA"):
            values = self._identifiers()
            if self._next()[0] != "CLOSE":
                raise ValueError(f"found '{lit}', expected: ')'")
            return values
        if tok == "CLOSE":
            self._next()
            return {""}
        raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")

    def _identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self._next()
            if tok == "ID":
                values.add(lit)
                tok2, lit2 = self._peek()
                if tok2 == "COMMA":
                    continue
                if tok2 == "CLOSE":
                    return values
                raise ValueError(f"found '{lit2}', expected: ',' or ')'")
            if tok == "COMMA":  # "(,a)", "(a,,b)" and "(a,)" all include the empty value
                if not values:
                    values.add("")
                tok2, _ = self._peek()
                if tok2 == "CLOSE":
                    values.add("")
                    return values
                if tok2 == "COMMA":
                    self._next()
                    values.add("")
                continue
            raise ValueError(f"found '{lit}', expected: ',', or identifier")

    def _exact_value(self) -> set[str]:
        tok, _ = self._peek()
        if tok in ("END", "COMMA"):
            return {""}
        tok, lit = self._next()
        if tok == "ID":
            return {lit}
        raise ValueError(f"found '{lit}', expected: identifier")


def parse_selector(text: str) -> LabelSelector:
    """Parse a label selector written as text, as ``kubectl get -l`` takes it.

    Raises ``ValueError`` with the message of Kubernetes' ``labels.Parse``, e.g.
    ``unable to parse requirement: found 'a', expected: in, notin, =, ==, !=, gt, lt``
    is not what you get for ``env in a`` — you get ``found 'a' expected: '('``.

    Example
    -------
    >>> str(parse_selector("tier in (web, api),app==shop,!canary"))
    'app==shop,!canary,tier in (api,web)'
    >>> parse_selector("")
    LabelSelector('')
    >>> parse_selector("app:web")
    Traceback (most recent call last):
    ...
    ValueError: unable to parse requirement: <nil>: Invalid value: "app:web": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')
    """
    return LabelSelector(_Parser(text).parse())


# --------------------------------------------------------------------------
# Field selectors
# --------------------------------------------------------------------------

#: Field labels each kind supports in ``--field-selector`` (all support
#: ``metadata.name`` and, when namespaced, ``metadata.namespace``).
SUPPORTED_FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "Pod": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.podIPs",
        "status.nominatedNodeName",
    ),
    "Node": ("spec.unschedulable",),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "ReplicaSet": ("status.replicas",),
    "Job": ("status.successful",),
    "Service": ("spec.clusterIP", "spec.type"),
}


@dataclass(frozen=True)
class FieldRequirement:
    """``field=value`` or ``field!=value`` of a field selector."""

    field: str
    operator: str  # "=", "==" or "!="
    value: str

    def matches(self, obj: Mapping) -> bool:
        equal = _field_text(obj, self.field) == self.value
        return not equal if self.operator == NOT_EQUALS else equal

    def __str__(self) -> str:
        return f"{self.field}{'!=' if self.operator == NOT_EQUALS else '='}{self.value}"


def _field_text(obj: Mapping, path: str) -> str:
    # Fields are compared as text; a missing field reads as "" (so
    # "spec.nodeName=" selects pods not yet scheduled).
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    return _text_of(value)


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # status.podIPs: [{"ip": ...}]
        return ",".join(str(v.get("ip", v)) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


class FieldSelector:
    """A parsed ``--field-selector``: an AND of :class:`FieldRequirement`.

    Example
    -------
    >>> fs = parse_field_selector("spec.nodeName=worker-1,status.phase!=Failed")
    >>> pod = {"spec": {"nodeName": "worker-1"}, "status": {"phase": "Running"}}
    >>> fs.matches(pod), str(fs)
    (True, 'spec.nodeName=worker-1,status.phase!=Failed')
    """

    __slots__ = ("requirements", "_compiled")

    def __init__(self, requirements: Iterable[FieldRequirement] = ()):
        self.requirements = tuple(requirements)
        # (path parts, value, negated) per requirement: the dotted path is split once, not per object
        self._compiled = tuple(
            (tuple(r.field.split(".")), r.value, r.operator == NOT_EQUALS) for r in self.requirements
        )

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Mapping) -> bool:
        # the same as all(r.matches(obj) for r in self.requirements), with _field_text inlined
        for parts, expected, negated in self._compiled:
            value: Any = obj
            for part in parts:
                if type(value) is not dict and not isinstance(value, dict):
                    value = ""
                    break
                value = value.get(part)
            if type(value) is str:
                text = value
            else:
                text = _text_of(value)
            if (text == expected) is negated:
                return False
        return True

    def check_supported(self, kind: str, namespaced: bool = True) -> None:
        """Raise ``ValueError('field label not supported: ...')`` for a field the kind cannot filter on.

        Example
        -------
        >>> parse_field_selector("spec.foo=bar").check_supported("Pod")
        Traceback (most recent call last):
        ...
        ValueError: field label not supported: spec.foo
        """
        allowed = {"metadata.name", *SUPPORTED_FIELD_LABELS.get(kind, ())}
        if namespaced:
            allowed.add("metadata.namespace")
        for r in self.requirements:
            if r.field not in allowed:
                raise ValueError(f"field label not supported: {r.field}")

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"


def parse_field_selector(text: str) -> FieldSelector:
    """Parse ``a.b=c``, ``a.b==c`` and ``a.b!=c`` terms separated by commas.

    Raises ``ValueError("invalid selector: '...'; can't understand '...'")`` as
    ``fields.ParseSelector`` does.

    Example
    -------
    >>> parse_field_selector("metadata.name==web").matches({"metadata": {"name": "web"}})
    True
    >>> parse_field_selector("status.phase")
    Traceback (most recent call last):
    ...
    ValueError: invalid selector: 'status.phase'; can't understand 'status.phase'
    """
    reqs = []
    for part in sorted(text.split(",")):  # sorted, as the real parser does
        if part == "":
            continue
        for op in (NOT_EQUALS, DOUBLE_EQUALS, EQUALS):
            pieces = part.split(op)
            if len(pieces) == 2:
                reqs.append(FieldRequirement(pieces[0], op, pieces[1]))
                break
        else:
            raise ValueError(f"invalid selector: '{text}'; can't understand '{part}'")
    return FieldSelector(reqs)


# --------------------------------------------------------------------------
# Validation of a selector written in YAML
# --------------------------------------------------------------------------


def validate_label_selector(selector: Any, field_path: str) -> list[dict]:
    """Causes (``errors.field_cause`` dicts) for a bad ``matchLabels``/``matchExpressions``.

    Checks what ``ValidateLabelSelector`` checks: label keys and values, known
    operators, values present for ``In``/``NotIn`` and absent for
    ``Exists``/``DoesNotExist``. A field of the wrong type (``matchLabels: 1``)
    is a ``FieldValueTypeInvalid`` cause, and the rules skip it.

    Example
    -------
    >>> causes = validate_label_selector(
    ...     {"matchExpressions": [{"key": "env", "operator": "In"}]}, "spec.selector")
    >>> causes[0]["field"], causes[0]["message"]
    ('spec.selector.matchExpressions[0].values', "Required value: must be specified when `operator` is 'In' or 'NotIn'")
    """
    causes: list[dict] = []
    if not isinstance(selector, dict):
        return causes
    labels, expressions = _read_selector(selector, field_path, causes)
    causes.extend(validate_labels(labels, f"{field_path}.matchLabels"))
    for expr in expressions:
        path, operator, values = expr.path, expr.operator, expr.values
        if operator in ("In", "NotIn"):
            if not values:
                causes.append(
                    required(
                        f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"
                    )
                )
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                causes.append(
                    forbidden(
                        f"{path}.values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            causes.append(
                invalid(f"{path}.operator", operator or "", "not a valid selector operator")
            )
        for msg in qualified_name_errors(expr.key):
            causes.append(invalid(f"{path}.key", expr.key, msg))
        for j, text in enumerate(values):
            for msg in label_value_errors(text):
                causes.append(invalid(f"{path}.values[{j}]", text, msg))
    return causes
