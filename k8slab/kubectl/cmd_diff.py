"""``kubectl diff -f``: what ``apply`` would change, as a unified diff, before you apply it.

kubectl asks the API server for a dry run of each object's apply and compares the
answer (MERGED) with the live object (LIVE), both as YAML without
``managedFields``. Secret values are masked (``***``, or ``*** (before)`` /
``*** (after)`` when they change). The exit code is 1 when something would change,
0 when nothing would — the same contract as ``diff`` itself. k8slab names the two
temporary folders with numbers derived from the content, so the output is stable.

Example
-------
>>> print(unified("apps.v1.Deployment.default.web", {"spec": {"replicas": 2}}, {"spec": {"replicas": 3}},
...               "2025-01-01 00:00:10.000000000 +0000"), end="")  # doctest: +NORMALIZE_WHITESPACE
diff -u -N /tmp/LIVE-4293667004/apps.v1.Deployment.default.web /tmp/MERGED-0238431510/apps.v1.Deployment.default.web
--- /tmp/LIVE-4293667004/apps.v1.Deployment.default.web	2025-01-01 00:00:10.000000000 +0000
+++ /tmp/MERGED-0238431510/apps.v1.Deployment.default.web	2025-01-01 00:00:10.000000000 +0000
@@ -1,2 +1,2 @@
 spec:
-  replicas: 2
+  replicas: 3
"""

from __future__ import annotations

import difflib
import zlib

from k8slab.kubectl.cmd_write import _source, call_hook
from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.encoding import to_yaml
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.printers import for_output

DIFF_FLAGS = [Flag("filename", "f", "strings"), Flag("server-side", "", "bool"), Flag("force-conflicts", "", "bool"),
              Flag("field-manager", "", "string"), Flag("prune", "", "bool"), Flag("selector", "l", "string"),
              Flag("show-managed-fields", "", "bool")]


def file_name(obj: dict) -> str:
    """``apps.v1.Deployment.default.web``: how kubectl names an object's file in the two folders."""
    meta = obj.get("metadata") or {}
    parts = [obj.get("apiVersion", "").replace("/", "."), obj.get("kind", "")]
    if meta.get("namespace"):
        parts.append(meta["namespace"])
    parts.append(meta.get("name", ""))
    return ".".join(parts)


def _mask_secret(live: dict | None, merged: dict | None) -> tuple[dict | None, dict | None]:
    if (merged or live or {}).get("kind") != "Secret":
        return live, merged
    live, merged = (dict(o) if o else o for o in (live, merged))
    for field in ("data", "stringData"):
        before = dict((live or {}).get(field) or {})
        after = dict((merged or {}).get(field) or {})
        for key in set(before) | set(after):
            changed = before.get(key) != after.get(key)
            if key in before:
                before[key] = "*** (before)" if changed else "***"
            if key in after:
                after[key] = "*** (after)" if changed else "***"
        if live and field in live:
            live[field] = before
        if merged and field in merged:
            merged[field] = after
    return live, merged


def _text(obj: dict | None) -> str:
    return to_yaml(for_output(obj)) if obj else ""


def unified(name: str, live: dict | None, merged: dict | None, when: str) -> str:
    """The ``diff -u -N`` text for one object ('' when they are the same)."""
    a, b = _text(live), _text(merged)
    if a == b:
        return ""
    left = f"/tmp/LIVE-{zlib.crc32(a.encode() + name.encode()):010d}/{name}"
    right = f"/tmp/MERGED-{zlib.crc32(b.encode() + name.encode()):010d}/{name}"
    lines = difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True),
                                 fromfile=f"{left}\t{when}", tofile=f"{right}\t{when}")
    return f"diff -u -N {left} {right}\n" + "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def diff(kubectl, args: list[str], out: Output, stdin=None) -> None:
    positional, flags = kubectl.parse(args, DIFF_FLAGS, "diff")
    if positional:
        raise KubectlError(f"Unexpected args: {positional}", help_hint="kubectl diff")
    sources = flags.get("filename")
    if not sources:
        raise KubectlError("must specify one of -f and -k", help_hint="kubectl diff")
    preview = getattr(kubectl.apply_hook, "preview", None)
    if preview is None:
        raise KubectlError("diff needs the cluster's apply dry run, which this kubectl was not given")
    when = kubectl.time().strftime("%Y-%m-%d %H:%M:%S.000000000 +0000")
    changed = False
    for source in sources:
        for _, live, merged in call_hook(kubectl, preview, _source(source, stdin), flags.get("namespace")):
            live, merged = _mask_secret(live, merged)
            text = unified(file_name(merged), live, merged, when)
            if text:
                changed = True
                out.write(text)
    if changed:
        out.exit_code = 1
