"""The in-process ``kubectl``: parse a command line, talk to the API server, print like kubectl.

``Kubectl.run("get pods -o wide")`` returns a :class:`KubectlResult`, a ``str``
holding what a terminal would show (stdout and stderr in the order kubectl
writes them) with ``.stdout``,
``.stderr`` and ``.returncode``. It never raises for a mistake kubectl would
answer with an error: unknown commands, flags and resource types, and API errors
(``Error from server (NotFound): pods "x" not found``) become that text with
return code 1.

Every request goes through the API-server client, exactly as the real kubectl
goes through REST: ``client.get / list / create / patch / delete / logs``.

Example
-------
>>> from datetime import datetime, timezone
>>> from k8slab.api.kinds import default_registry
>>> class NoCluster:
...     def list(self, resource, namespace=None, label_selector=None, field_selector=None):
...         return {"items": []}
>>> k = Kubectl(NoCluster(), default_registry(), now=lambda: datetime(2025, 1, 1, tzinfo=timezone.utc))
>>> k.run("get pods")
No resources found in default namespace.
>>> k.run("kubectl gett").returncode
1
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import datetime

from k8slab.api.errors import ApiError, K8sLabError
from k8slab.kubectl.flags import Flag, FlagError, parse
from k8slab.kubectl.impersonation import impersonating_client, impersonation_flags
from k8slab.kubectl.verbosity import RequestLog, verbosity

KUBECTL_VERSION = "v1.30.0"
KUSTOMIZE_VERSION = "v5.0.4-0.20230601165947-6ce0bf390ce3"

# kubectl's commands in the order cobra knows them (its help groups): suggestions follow it.
KUBECTL_COMMANDS = (
    "create", "expose", "run", "set", "explain", "get", "edit", "delete", "rollout", "scale", "autoscale",
    "certificate", "cluster-info", "top", "cordon", "uncordon", "drain", "taint", "describe", "logs", "attach",
    "exec", "port-forward", "proxy", "cp", "auth", "debug", "events", "diff", "apply", "patch", "replace", "wait",
    "kustomize", "label", "annotate", "completion", "alpha", "api-resources", "api-versions", "config", "plugin",
    "version", "options",
)

GLOBAL_FLAGS = [
    Flag("namespace", "n", "string"),
    Flag("kubeconfig", "", "string"),
    Flag("context", "", "string"),
    Flag("cluster", "", "string"),
    Flag("user", "", "string"),
    Flag("request-timeout", "", "string"),
    Flag("v", "v", "string"),
    Flag("as", "", "string"),
    Flag("as-group", "", "strings"),
    Flag("as-uid", "", "string"),
]


class KubectlResult(str):
    """What kubectl printed: the text itself (stdout then stderr), plus its parts and exit code."""

    stdout: str
    stderr: str
    returncode: int
    exception: BaseException | None

    def __new__(cls, stdout: str = "", stderr: str = "", returncode: int = 0, exception: BaseException | None = None,
                text: str | None = None):
        # ``text`` is both streams in the order they were written; by default stdout then stderr.
        self = super().__new__(cls, stdout + stderr if text is None else text)
        self.stdout = stdout
        self.stderr = stderr
        self.returncode = returncode
        self.exception = exception
        return self

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __repr__(self) -> str:
        # A notebook shows the terminal text, not a quoted Python string.
        return str(self).rstrip("\n")

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self).rstrip("\n"))


class KubectlError(Exception):
    """A failure kubectl reports itself (not the API server): printed as ``error: ...``."""

    def __init__(self, message: str, *, usage: str | None = None, help_hint: str | None = None, raw: bool = False):
        super().__init__(message)
        self.message = message
        self.usage = usage  # "See 'kubectl get --help' for usage."
        self.help_hint = help_hint  # "See 'kubectl get -h' for help and examples"
        self.raw = raw  # the message is printed as is, without "error: "

    def render(self) -> str:
        text = self.message if self.raw else f"error: {self.message}"
        if not text.endswith("\n"):
            text += "\n"
        if self.usage:
            text += f"See '{self.usage} --help' for usage.\n"
        if self.help_hint:
            text += f"See '{self.help_hint} -h' for help and examples\n"
        return text


class Output:
    """The two streams of one command, and the order in which a terminal would show them."""

    def __init__(self):
        self.out: list[str] = []
        self.err: list[str] = []
        self.both: list[str] = []
        self.failed = False
        #: The exit code when not 1 (``kubectl exec`` passes on the command's own).
        self.exit_code: int | None = None

    def _emit(self, stream: list[str], text: str) -> None:
        stream.append(text)
        self.both.append(text)

    def print(self, text: str = "") -> None:
        self._emit(self.out, text if text.endswith("\n") else text + "\n")

    def write(self, text: str) -> None:
        self._emit(self.out, text)

    def error(self, text: str) -> None:
        self._emit(self.err, text if text.endswith("\n") else text + "\n")
        self.failed = True

    def warn(self, text: str) -> None:
        self._emit(self.err, text if text.endswith("\n") else text + "\n")

    def write_err(self, text: str) -> None:
        """Text for stderr as it is (a container's own output, which may not end a line)."""
        self._emit(self.err, text)

    def written(self) -> bool:
        return any(self.out)


def levenshtein(a: str, b: str) -> int:
    a, b = a.lower(), b.lower()
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def suggestions(word: str, candidates=KUBECTL_COMMANDS) -> list[str]:
    """cobra's ``SuggestionsFor``: distance at most 2, or a prefix of the command."""
    return [c for c in candidates if levenshtein(word, c) <= 2 or c.lower().startswith(word.lower())]


class Kubectl:
    """kubectl for one cluster: ``run(argv)`` executes a command line and returns what it printed.

    ``client`` is the API-server client; ``registry`` the cluster's :class:`KindRegistry`;
    ``now()`` the current (virtual) time as an aware UTC datetime; ``apply(source, namespace)``
    the hook behind ``apply -f`` returning lines such as ``deployment.apps/web created``
    (``apply.load(source)``, when present, gives the objects for ``create -f`` and ``delete -f``).
    """

    server_version = KUBECTL_VERSION
    #: Let an unexpected exception escape instead of printing it (for tests of this package).
    reraise_internal_errors = False

    def __init__(self, client, registry, now: Callable[[], datetime], apply: Callable | None = None,
                 default_namespace: str = "default"):
        self.client = client
        self.registry = registry
        self.now = now
        self.apply_hook = apply
        self.default_namespace = default_namespace

    def __repr__(self) -> str:
        return f"Kubectl(namespace={self.default_namespace!r})"

    # -- entry point ------------------------------------------------------------------------
    def run(self, argv: str | list[str], input: str | None = None) -> KubectlResult:
        out = Output()
        exception = None
        try:
            args = shlex.split(argv) if isinstance(argv, str) else [str(a) for a in argv]
            if args and args[0] == "kubectl":
                args = args[1:]
            self._dispatch(args, out, input)
        except KubectlError as e:
            out.error(e.render())
        except FlagError as e:
            out.error(KubectlError(str(e), usage=getattr(e, "command", "kubectl")).render())
        except ApiError as e:
            out.error(e.kubectl_message())
        except K8sLabError as e:
            text = str(e)
            out.error(text if text.startswith("error: ") else f"error: {text}")
        except ValueError as e:  # shlex: "No closing quotation"
            out.error(f"error: {e}")
        except Exception as e:
            if self.reraise_internal_errors:
                raise
            exception = e
            out.error(f"error: {type(e).__name__}: {e}")
        code = out.exit_code if out.exit_code is not None else (1 if out.failed else 0)
        return KubectlResult("".join(out.out), "".join(out.err), code, exception, "".join(out.both))

    def _dispatch(self, args: list[str], out: Output, input: str | None) -> None:
        from k8slab.kubectl import (
            cmd_auth,
            cmd_describe,
            cmd_diff,
            cmd_exec,
            cmd_expose,
            cmd_get,
            cmd_label,
            cmd_logs,
            cmd_node,
            cmd_patch,
            cmd_rollout,
            cmd_run,
            cmd_taint,
            cmd_write,
        )

        verbs = {
            "get": cmd_get.get,
            "describe": cmd_describe.describe,
            "api-resources": cmd_get.api_resources,
            "version": cmd_get.version,
            "create": cmd_write.create,
            "expose": cmd_expose.expose,
            "apply": cmd_write.apply,
            "delete": cmd_write.delete,
            "scale": cmd_write.scale,
            "logs": cmd_logs.logs,
            "exec": cmd_exec.exec_,
            "rollout": cmd_rollout.rollout,
            "cordon": cmd_node.cordon,
            "uncordon": cmd_node.uncordon,
            "drain": cmd_node.drain,
            "taint": cmd_taint.taint,
            "label": cmd_label.label,
            "annotate": cmd_label.annotate,
            "auth": cmd_auth.auth,
            "run": cmd_run.run,
            "diff": cmd_diff.diff,
            "patch": cmd_patch.patch,
            "set": cmd_patch.set_,
        }
        index = first_positional(args, GLOBAL_FLAGS)
        if index is None:
            if any(a in ("-h", "--help") for a in args) or not args:
                out.print(usage_text())
                return
            parse(args, GLOBAL_FLAGS)  # reports the unknown flag
            out.print(usage_text())
            return
        verb = args[index]
        rest = args[:index] + args[index + 1:]
        handler = verbs.get(verb)
        if handler is None:
            if verb in KUBECTL_COMMANDS:
                raise KubectlError(f'"kubectl {verb}" is not available in k8slab\'s in-process kubectl')
            text = f'unknown command "{verb}" for "kubectl"'
            close = suggestions(verb)
            if close:
                text += "\n\nDid you mean this?\n" + "".join(f"\t{c}\n" for c in close)
            raise KubectlError(text)
        if any(a in ("-h", "--help") for a in _before_dash(rest)):
            out.print(f"Run 'kubectl {verb}' as on a real cluster; k8slab prints no help pages.")
            return
        as_user, as_groups = impersonation_flags(rest)
        own = self.client
        if as_user is not None or as_groups:
            # --as: every request of this command carries the impersonated identity
            self.client = impersonating_client(own, as_user, as_groups)
        if verbosity(rest) >= 6:
            self.client = RequestLog(self.client, self.registry, out, self.time)
        try:
            handler(self, rest, out, input)
        finally:
            self.client = own

    # -- helpers for the verbs ------------------------------------------------------------------
    def parse(self, args: list[str], spec: list[Flag], command: str) -> tuple[list[str], dict]:
        try:
            return parse(args, [*spec, *GLOBAL_FLAGS])
        except FlagError as e:
            raise KubectlError(str(e), usage=f"kubectl {command}") from None

    def namespace(self, flags: dict) -> str:
        return flags.get("namespace") or self.default_namespace

    def kind(self, name: str):
        kind = self.registry.resolve(name)
        if kind is None:
            raise KubectlError(f'the server doesn\'t have a resource type "{name}"')
        return kind

    def time(self) -> datetime:
        return self.now()


def _before_dash(args: list[str]) -> list[str]:
    """The arguments before ``--`` (what follows belongs to a command run in a container)."""
    return args[: args.index("--")] if "--" in args else args


def first_positional(args: list[str], spec: list[Flag]) -> int | None:
    """Index of the first argument that is not a flag or a flag's value."""
    takes_value = {f"--{f.name}" for f in spec if f.type != "bool"} | {f"-{f.short}" for f in spec if f.short and f.type != "bool"}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            return i + 1 if i + 1 < len(args) else None
        if a.startswith("-") and len(a) > 1:
            if a in takes_value:
                i += 1
            i += 1
            continue
        return i
    return None


def usage_text() -> str:
    return (
        "kubectl controls the Kubernetes cluster manager (here: k8slab's simulated cluster).\n\n"
        "Commands available in-process:\n"
        "  get, describe, create, run, expose, apply, diff, delete, scale, patch, set image, label,\n"
        "  annotate, logs, exec,\n"
        "  rollout status|history|undo|pause|resume|restart, cordon, uncordon, drain, taint,\n"
        "  auth can-i, api-resources, version\n"
    )
