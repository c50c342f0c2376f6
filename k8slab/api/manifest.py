"""Reading manifests (YAML or JSON) while remembering where each field was written.

``kubectl apply -f`` accepts a file, a directory, or text with several
documents separated by ``---``. :func:`load_manifests` reads all of them into
:class:`Manifest` objects: the plain object dict plus, for every field, the line
it came from, so that a later error can say "deploy.yaml, line 7:
spec.replcas". Objects of ``kind: List`` are unpacked into their items, as
kubectl does.

Problems found while reading (bad YAML, a duplicated key, a document without
``kind``) raise :class:`~k8slab.api.errors.ManifestError` worded like kubectl's
messages. Line numbers are counted from the top of the file (kubectl counts
from the top of each document, which is harder to use).

Example
-------
>>> text = '''
... apiVersion: v1
... kind: Pod
... metadata:
...   name: web
... spec:
...   containers:
...   - name: nginx
...     image: nginx:1.27
... '''
>>> [m] = load_manifests(text, filename="pod.yaml")
>>> m
Manifest(Pod/web, pod.yaml:2)
>>> m.line_of("spec.containers[0].image")
9
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from k8slab.api.errors import ManifestError

__all__ = ["Manifest", "join_field_path", "load_manifests", "split_field_path"]

Path = tuple  # a field path as a tuple of keys (str) and list indices (int)

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_VALUE_TAG = "tag:yaml.org,2002:value"


# --------------------------------------------------------------------------
# Field paths: "spec.containers[0].image" <-> ("spec", "containers", 0, "image")
# --------------------------------------------------------------------------


def split_field_path(path: str | tuple | list) -> tuple:
    """A dotted field path as a tuple; ``[n]`` is a list index, ``[text]`` a map key.

    Example
    -------
    >>> split_field_path("spec.containers[0].resources.requests[cpu]")
    ('spec', 'containers', 0, 'resources', 'requests', 'cpu')
    >>> split_field_path("metadata.labels[app.kubernetes.io/name]")
    ('metadata', 'labels', 'app.kubernetes.io/name')
    """
    if isinstance(path, (tuple, list)):
        return tuple(path)
    parts: list = []
    buf = ""
    i, n = 0, len(path)
    while i < n:
        ch = path[i]
        if ch == ".":
            if buf:
                parts.append(buf)
            buf = ""
        elif ch == "[":
            if buf:
                parts.append(buf)
            buf = ""
            close = path.find("]", i)
            if close < 0:
                close = n
            inner = path[i + 1 : close]
            parts.append(int(inner) if inner.isdigit() else inner)
            i = close
        else:
            buf += ch
        i += 1
    if buf:
        parts.append(buf)
    return tuple(parts)


def join_field_path(path: tuple | list) -> str:
    """A tuple field path in the dotted form Kubernetes prints.

    Example
    -------
    >>> join_field_path(("spec", "template", "spec", "containers", 1, "name"))
    'spec.template.spec.containers[1].name'
    >>> join_field_path(("metadata", "labels", "app.kubernetes.io/name"))
    'metadata.labels[app.kubernetes.io/name]'
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part or any(c in part for c in "./[] "):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


# --------------------------------------------------------------------------
# The manifest
# --------------------------------------------------------------------------


@dataclass
class Manifest:
    """One object read from a manifest, with where it came from.

    Attributes
    ----------
    obj : dict
        The object as plain JSON-shaped data (dicts, lists, str, int, float,
        bool, None), keys in the order they were written.
    source : str
        The file it was read from, or ``"<string>"`` / ``"<dict>"``.
    index : int
        Its position among the objects read from that source (0-based).
    line : int or None
        The 1-based line where the object starts (None for a dict source).
    """

    obj: Any
    source: str = "<string>"
    index: int = 0
    line: int | None = None
    lines: dict = field(default_factory=dict, repr=False, compare=False)

    def line_of(self, path: str | tuple | list) -> int | None:
        """The 1-based line of a field, or of its nearest parent that was written.

        ``path`` is dotted (``"spec.template.spec.containers[0].image"``) or a
        tuple of keys and indices. Returns ``None`` when lines are unknown.

        Example
        -------
        >>> [m] = load_manifests("kind: ConfigMap\\napiVersion: v1\\nmetadata:\\n  name: x\\n")
        >>> m.line_of("metadata.name"), m.line_of("data.missing")
        (4, 1)
        """
        parts = split_field_path(path)
        for n in range(len(parts), 0, -1):
            line = self.lines.get(parts[:n])
            if line is not None:
                return line
        return self.line

    @property
    def kind(self) -> str:
        return self.obj.get("kind", "") if isinstance(self.obj, dict) else ""

    @property
    def api_version(self) -> str:
        return self.obj.get("apiVersion", "") if isinstance(self.obj, dict) else ""

    @property
    def name(self) -> str:
        meta = self.obj.get("metadata") if isinstance(self.obj, dict) else None
        return (
            (meta.get("name") or meta.get("generateName") or "") if isinstance(meta, dict) else ""
        )

    def __repr__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"Manifest({self.kind}/{self.name}, {where})"


# --------------------------------------------------------------------------
# YAML with line numbers
# --------------------------------------------------------------------------

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ManifestLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that keeps dates and ``=`` as strings, as Kubernetes' YAML reader does."""


# Kubernetes reads YAML into JSON: a date stays the text it was, never a
# datetime, and a lone "=" is just a string.
_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_TIMESTAMP_TAG, _VALUE_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# PyYAML's pure-Python scanner words a few problems differently from libyaml,
# which kubectl's Go YAML library is a port of; use the wording kubectl prints.
_GO_YAML_WORDING = {
    "mapping values are not allowed here": "mapping values are not allowed in this context",
    "found character '\\t' that cannot start any token": "found character that cannot start any token",
}


def _json_key(key: Any) -> str:
    # JSON keys are strings: YAML `80:` or `true:` become "80" and "true".
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def _plain(value: Any) -> Any:
    """Fresh JSON-shaped copy: string keys, and no object shared between two places.

    YAML anchors make two fields point to one Python object; a later change to
    one (defaulting, patching) must not show up in the other.
    """
    if isinstance(value, dict):
        return {_json_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _yaml_error(exc: yaml.YAMLError, source: str) -> ManifestError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    problem = _GO_YAML_WORDING.get(problem, problem)
    where = f"line {line}: " if line is not None else ""
    return ManifestError(f"error converting YAML to JSON: yaml: {where}{problem}", source, line)


def _check_duplicate_keys(node: yaml.Node, source: str, path: tuple, seen: set) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in first_line:
                    # kubectl: "yaml: unmarshal errors: line 9: mapping key "replicas"
                    # already defined at line 7"; the location says "line 9" already.
                    raise ManifestError(
                        f"mapping key {json.dumps(key)} already defined at line {first_line[key]}",
                        source,
                        line,
                        join_field_path(path + (key,)) or None,
                    )
                first_line[key] = line
                _check_duplicate_keys(value_node, source, path + (key,), seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicate_keys(item, source, path + (i,), seen)


def _record_lines(node: yaml.Node, value: Any, path: tuple, lines: dict, seen: set, key_of) -> None:
    # Walk the composed node tree next to the constructed value. A node met a
    # second time (an alias) is not walked again: its fields keep the lines of
    # the anchor, which is where they are written.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode) and isinstance(value, dict):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_of(key_node)
            if key not in value:
                continue
            child = path + (key,)
            lines.setdefault(child, key_node.start_mark.line + 1)
            _record_lines(value_node, value[key], child, lines, seen, key_of)
    elif isinstance(node, yaml.SequenceNode) and isinstance(value, list):
        for i, (item_node, item) in enumerate(zip(node.value, value, strict=False)):
            child = path + (i,)
            lines.setdefault(child, item_node.start_mark.line + 1)
            _record_lines(item_node, item, child, lines, seen, key_of)


def _documents(text: str, source: str) -> list[tuple[Any, int, dict]]:
    """(object, first line, field lines) of each non-empty document in ``text``."""
    docs = []
    loader = _ManifestLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _check_duplicate_keys(node, source, (), set())
            value = _plain(loader.construct_document(node))
            if value is None:
                continue  # an empty document between two "---"
            lines: dict = {}
            _record_lines(
                node, value, (), lines, set(), lambda n: _json_key(loader.construct_object(n))
            )
            docs.append((value, node.start_mark.line + 1, lines))
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    finally:
        loader.dispose()
    return docs


# --------------------------------------------------------------------------
# Turning documents into manifests
# --------------------------------------------------------------------------


def _compact_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


_JSON_TYPE = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "bool",
    int: "number",
    float: "number",
}


def _check_object(obj: Any, source: str, line: int | None) -> None:
    if not isinstance(obj, dict):
        kind = _JSON_TYPE.get(type(obj), "value")
        raise ManifestError(
            f'unable to decode "{source}": json: cannot unmarshal {kind} into Go value of type '
            "struct { APIVersion string; Kind string } "
            "(each document must be a mapping with apiVersion, kind and metadata)",
            source,
            line,
        )
    if not obj.get("kind"):
        raise ManifestError(
            f"unable to decode \"{source}\": Object 'Kind' is missing in '{_compact_json(obj)}'",
            source,
            line,
        )
    if not obj.get("apiVersion"):
        raise ManifestError(
            f'error validating "{source}": error validating data: apiVersion not set', source, line
        )
    for key in ("kind", "apiVersion"):
        if not isinstance(obj[key], str):
            raise ManifestError(
                f'unable to decode "{source}": json: cannot unmarshal {_JSON_TYPE.get(type(obj[key]), "value")} '
                f"into Go struct field .{key} of type string",
                source,
                line,
            )


def _is_list(obj: dict) -> bool:
    return obj.get("kind", "").endswith("List") and isinstance(obj.get("items"), list)


def _expand(obj: Any, source: str, line: int | None, lines: dict, out: list[Manifest]) -> None:
    _check_object(obj, source, line)
    if not _is_list(obj):
        out.append(Manifest(obj, source, len(out), line, lines))
        return
    for i, item in enumerate(obj["items"]):
        prefix = ("items", i)
        item_lines = {p[2:]: n for p, n in lines.items() if p[:2] == prefix and len(p) > 2}
        _expand(item, source, lines.get(prefix, line), item_lines, out)


def _load_text(text: str, source: str, out: list[Manifest]) -> None:
    for obj, line, lines in _documents(text, source):
        _expand(obj, source, line, lines, out)


def _load_file(path: pathlib.Path, shown: str, out: list[Manifest]) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"error reading {shown}: {exc}", shown) from None
    try:
        _load_text(text, shown, out)
    except ManifestError:
        if path.suffix != ".json":
            raise
        # JSON indented with tabs is valid JSON but not valid YAML.
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise ManifestError(
                f"error parsing {shown}: {exc}", shown, getattr(exc, "lineno", None)
            ) from None
        _expand(obj, shown, 1, {}, out)


def _looks_like_path(text: str) -> bool:
    if "\n" in text or ": " in text or not text.strip():
        return False
    return text.endswith(_MANIFEST_SUFFIXES) or os.sep in text or os.path.exists(text)


def load_manifests(source: Any, *, filename: str | None = None) -> list[Manifest]:
    """Read every object of a manifest, as ``kubectl apply -f`` would.

    Parameters
    ----------
    source : str, pathlib.Path, dict or list of dicts
        YAML (or JSON) text; the path of a file; the path of a directory (its
        ``.yaml``, ``.yml`` and ``.json`` files in name order, not recursive);
        one object as a dict; or a list of object dicts.
    filename : str, optional
        The name to report in errors for text sources (default ``<string>``).

    Returns
    -------
    list of Manifest
        One per object, in order; empty documents are skipped and ``List``
        objects unpacked. An empty source gives an empty list.

    Raises
    ------
    ManifestError
        For unreadable YAML, duplicate keys, a document that is not a mapping,
        or one without ``kind`` or ``apiVersion``.

    Example
    -------
    >>> ms = load_manifests("apiVersion: v1\\nkind: Namespace\\nmetadata: {name: a}\\n---\\n"
    ...                     "apiVersion: v1\\nkind: Namespace\\nmetadata: {name: b}\\n")
    >>> [(m.name, m.line) for m in ms]
    [('a', 1), ('b', 5)]
    >>> load_manifests("kind: Pod\\nmetadata: {name: x}\\n")
    Traceback (most recent call last):
    ...
    k8slab.api.errors.ManifestError: error: <string>, line 1: error validating "<string>": error validating data: apiVersion not set
    """
    out: list[Manifest] = []
    if isinstance(source, Mapping):
        obj = _plain(dict(source))
        _expand(obj, filename or "<dict>", None, {}, out)
        return out
    if isinstance(source, (list, tuple)):
        for item in source:
            item = _plain(dict(item)) if isinstance(item, Mapping) else item
            _expand(item, filename or "<dict>", None, {}, out)
        return out
    if isinstance(source, pathlib.PurePath) or (
        isinstance(source, str) and _looks_like_path(source)
    ):
        path = pathlib.Path(source)
        shown = str(source)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix in _MANIFEST_SUFFIXES:
                    _load_file(child, str(child), out)
            return out
        if path.is_file():
            _load_file(path, shown, out)
            return out
        raise ManifestError(f'the path "{shown}" does not exist', shown)
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    if not isinstance(source, str):
        raise ManifestError(
            f"cannot read a manifest from a {type(source).__name__}", filename or "<string>"
        )
    _load_text(source, filename or "<string>", out)
    return out
