"""A small POSIX-shell interpreter for the simulated containers (``sh -c "..."``).

It runs the scripts the classic Kubernetes examples put in ``command``/``args``:
``echo``, ``sleep``, ``exit``, ``;`` / ``&&`` / ``||`` / ``|``, ``while true; do ...;
done``, ``for x in a b; do ...; done``, ``if [ ... ]; then ... fi``, variables and
``$((i+1))``, ``$(date)``, redirections to files, and a busybox-like set of
commands (``cat``, ``ls``, ``touch``, ``rm``, ``env``, ``hostname``, ``wget``,
``nslookup`` ...).

Scripts run on the virtual clock: the interpreter is a generator that *yields*
whenever time must pass (``("sleep", seconds)``), when it needs the outside
world at the current instant (``("world",)`` before a DNS lookup or an HTTP
request), or when it would wait forever (``("block",)``). The process driver in
:mod:`k8slab.node.program` decides when to resume it.

Simplified: no functions, no here-documents, no job control; a pipeline runs its
stages one after the other; glob patterns only match within one directory.

Example
-------
>>> from k8slab.node.program import run_script
>>> run_script('i=0; while [ $i -lt 3 ]; do echo "tick $i"; i=$((i+1)); sleep 1; done; exit 3')
(3, 3.0, 'tick 0\\ntick 1\\ntick 2\\n')
"""

from __future__ import annotations

import ast
import fnmatch
import posixpath
import re
import shlex

from k8slab.node.shellsyntax import ShellSyntaxError, _skip_dquote, _skip_parens, parse
from k8slab.sim.loop import EPOCH

# -- output streams --------------------------------------------------------------------------------


class Capture:
    """A stdout/stderr that keeps what is written (pipes, ``$(...)``)."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


class _FileStream:
    def __init__(self, sh, path, append):
        self.sh, self.path = sh, path
        if not append:
            sh.fs.write(path, "", sh.ctx.clock, sh.ctx.pid)

    def write(self, text):
        self.sh.fs.append(self.path, text, self.sh.ctx.clock, self.sh.ctx.pid)


class _Null:
    def write(self, text):
        pass


class ExitShell(Exception):
    def __init__(self, code):
        self.code = code


class _LoopControl(Exception):
    def __init__(self, kind, levels=1):
        self.kind = kind
        self.levels = levels


# -- the interpreter -------------------------------------------------------------------------------


def format_date(t: float, fmt: str | None = None) -> str:
    """``date`` output at virtual time ``t`` (busybox default format, or a ``+FORMAT``)."""
    from datetime import timedelta

    dt = EPOCH + timedelta(seconds=int(t))
    if fmt is None:
        return dt.strftime("%a %b ") + f"{dt.day:2d}" + dt.strftime(" %H:%M:%S UTC %Y")
    fmt = fmt.replace("%s", str(int(dt.timestamp()))).replace("%N", f"{int((t % 1) * 1e9):09d}")
    return dt.strftime(fmt)


class Shell:
    """One shell process: variables, working directory, and the commands it can run.

    ``ctx`` is the process context (:class:`k8slab.node.program.ProcessContext`): the
    clock, the container's file system, its environment and the outside world.
    """

    def __init__(self, ctx, name="sh", args=(), stdout=None, stderr=None):
        self.ctx = ctx
        self.fs = ctx.fs
        self.name = name
        self.vars = dict(ctx.env)
        self.exported = set(ctx.env)
        self.args = list(args)
        self.status = 0
        self.cwd = ctx.workdir or "/"
        self.stdout = stdout or ctx.stdout
        self.stderr = stderr or ctx.stderr
        self.errexit = False
        self.traps: dict[str, str] = {}
        self.line = 1

    # -- running -------------------------------------------------------------
    def run_script(self, src: str):
        try:
            tree = parse(src)
        except ShellSyntaxError as e:
            self.err(f"{self._prefix()}{e}")
            return 2
        try:
            return (yield from self.run(tree))
        except ExitShell as e:
            return e.code
        except _LoopControl:
            return 0

    def _prefix(self) -> str:
        return f"{self.name}: line {self.line}: " if self.name == "bash" else f"{self.name}: "

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")

    def run(self, node):
        kind = node[0]
        if kind == "list":
            status = 0
            for item, _background in node[1]:
                status = yield from self.run(item)
                self.status = status
                if self.errexit and status != 0 and item[0] == "simple":
                    raise ExitShell(status)
            return status
        if kind == "andor":
            status = yield from self.run(node[1])
            for op, nxt in node[2]:
                if (op == "&&" and status == 0) or (op == "||" and status != 0):
                    status = yield from self.run(nxt)
            self.status = status
            return status
        if kind == "pipe":
            data = None
            status = 0
            for i, cmd in enumerate(node[1]):
                last = i == len(node[1]) - 1
                out = self.stdout if last else Capture()
                saved = self.stdout
                self.stdout = out
                try:
                    status = yield from self.run_with_stdin(cmd, data)
                finally:
                    self.stdout = saved
                if not last:
                    data = out.text()
            if node[2]:
                status = 0 if status else 1
            return status
        if kind == "simple":
            return (yield from self.run_simple(node))
        if kind == "while":
            _, cond, body, until = node
            status = 0
            while True:
                before = self.ctx.clock
                c = yield from self.run(cond)
                if (c == 0) == until:
                    break
                try:
                    status = yield from self.run(body)
                except _LoopControl as lc:
                    if lc.levels > 1:
                        lc.levels -= 1
                        raise
                    if lc.kind == "break":
                        break
                if self.ctx.clock == before:
                    # a loop that never sleeps would spin forever: give it a tick of time
                    yield ("sleep", 0.01)
            return status
        if kind == "for":
            _, var, words, body = node
            if words is None:
                items = list(self.args)
            else:
                items = []
                for w in words:
                    items.extend((yield from self.expand(w)))
            status = 0
            for it in items:
                self.vars[var] = it
                try:
                    status = yield from self.run(body)
                except _LoopControl as lc:
                    if lc.levels > 1:
                        lc.levels -= 1
                        raise
                    if lc.kind == "break":
                        break
            return status
        if kind == "if":
            for cond, body in node[1]:
                c = yield from self.run(cond)
                if c == 0:
                    return (yield from self.run(body))
            if node[2] is not None:
                return (yield from self.run(node[2]))
            return 0
        if kind == "group":
            return (yield from self.run(node[1]))
        raise ShellSyntaxError(f"unknown node {kind}")

    def run_with_stdin(self, cmd, data):
        saved = getattr(self, "_stdin", None)
        self._stdin = data
        try:
            return (yield from self.run(cmd))
        finally:
            self._stdin = saved

    def run_simple(self, node):
        _, assigns, words, redirs = node
        argv: list[str] = []
        for w in words:
            argv.extend((yield from self.expand(w)))
        env_over = {}
        for a in assigns:
            name, raw = a.split("=", 1)
            value = "".join((yield from self.expand(raw, split=False)))
            env_over[name] = value
        if not argv:
            self.vars.update(env_over)
            return 0
        saved = (self.stdout, self.stderr, getattr(self, "_stdin", None))
        try:
            for op, target in redirs:
                if target is not None:
                    path = "".join((yield from self.expand(target, split=False)))
                if op in (">", "1>", ">>", "1>>"):
                    self.stdout = self._open(path, op.endswith(">>"))
                elif op in ("2>", "2>>"):
                    self.stderr = self._open(path, op.endswith(">>"))
                elif op == "&>":
                    self.stdout = self.stderr = self._open(path, False)
                elif op == "2>&1":
                    self.stderr = self.stdout
                elif op in (">&2", "1>&2"):
                    self.stdout = self.stderr
                elif op == "<":
                    content = self.fs.read(self.abspath(path), self.ctx.clock)
                    if content is None:
                        self.err(f"{self._prefix()}can't open '{path}': No such file or directory")
                        return 1
                    self._stdin = content
            return (yield from self.exec_argv(argv, env_over))
        finally:
            self.stdout, self.stderr, self._stdin = saved

    def _open(self, path, append):
        if path == "/dev/null":
            return _Null()
        if path in ("/dev/stdout", "/proc/1/fd/1"):
            return self.ctx.stdout
        if path in ("/dev/stderr", "/proc/1/fd/2"):
            return self.ctx.stderr
        return _FileStream(self, self.abspath(path), append)

    def abspath(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, path)) if path else self.cwd

    def exec_argv(self, argv, env_over=None):
        name = argv[0]
        builtin = _BUILTINS.get(name)
        if builtin is not None:
            status = yield from builtin(self, argv)
            self.status = status
            return status
        base = posixpath.basename(name)
        if base in ("sh", "ash", "bash", "dash"):
            sub_ctx = self.ctx.child(env={**self._env(), **(env_over or {})}, stdout=self.stdout, stderr=self.stderr)
            sub = Shell(sub_ctx, "bash" if base == "bash" else "sh")
            sub.cwd = self.cwd
            status = yield from run_shell_argv(sub, argv[1:], stdin=getattr(self, "_stdin", None))
            self.status = status
            return status
        cmd = COMMANDS.get(base)
        if cmd is None or (name.startswith("/") and not self._on_path(name)):
            if self.ctx.has_program(argv):
                status = yield from self.ctx.run_program(argv, self)
                self.status = status
                return status
            if self.name == "bash":
                self.err(f"bash: line {self.line}: {name}: command not found")
            else:
                self.err(f"{self.name}: {name}: not found")
            self.status = 127
            return 127
        env = self._env()
        if env_over:
            env = {**env, **env_over}
        status = yield from cmd(self, argv, env)
        self.status = status
        return status

    def _on_path(self, path: str) -> bool:
        return posixpath.dirname(path) in ("/bin", "/usr/bin", "/sbin", "/usr/sbin", "/usr/local/bin")

    def _env(self) -> dict:
        return {k: v for k, v in self.vars.items() if k in self.exported}

    @property
    def stdin(self) -> str | None:
        return getattr(self, "_stdin", None)

    # -- expansion -------------------------------------------------------------------
    def expand(self, raw: str, split: bool = True):
        """Expand one word: quotes, ``$VAR``, ``${VAR:-x}``, ``$((..))``, ``$(..)``, globs."""
        segs: list[tuple[str, bool]] = []  # (text, splittable)
        i, n = 0, len(raw)
        quoted = False
        glob = False
        if raw.startswith("~") and (n == 1 or raw[1] == "/"):
            segs.append((self.vars.get("HOME", "/root"), False))
            i = 1
        lit = []
        while i < n:
            c = raw[i]
            if c == "\\" and i + 1 < n:
                lit.append(raw[i + 1])
                quoted = True
                i += 2
            elif c == "'":
                j = raw.find("'", i + 1)
                lit.append(raw[i + 1:j])
                quoted = True
                i = j + 1
            elif c == '"':
                j = _skip_dquote(raw, i + 1)
                if lit:
                    segs.append(("".join(lit), False))
                    lit = []
                inner = yield from self._expand_dquoted(raw[i + 1:j - 1])
                segs.append((inner, False))
                quoted = True
                i = j
            elif c == "$" or c == "`":
                if lit:
                    segs.append(("".join(lit), False))
                    lit = []
                value, i = yield from self._dollar(raw, i)
                segs.append((value, split))
            else:
                if c in "*?[" and split:
                    glob = True
                lit.append(c)
                i += 1
        if lit:
            segs.append(("".join(lit), False))
        if not split:
            return ["".join(s for s, _ in segs)]
        fields: list[str] = []
        cur: list[str] = []
        have = quoted
        for text, splittable in segs:
            if not splittable:
                cur.append(text)
                have = have or bool(text)
                continue
            pieces = text.split()
            if not pieces:
                if text and cur:
                    fields.append("".join(cur))
                    cur, have = [], False
                continue
            if text[0].isspace() and (cur or have):
                fields.append("".join(cur))
                cur, have = [], False
            for k, p in enumerate(pieces):
                if k > 0:
                    fields.append("".join(cur))
                    cur = []
                cur.append(p)
                have = True
            if text[-1].isspace():
                fields.append("".join(cur))
                cur, have = [], False
        if cur or have:
            fields.append("".join(cur))
        if glob and not quoted:
            out = []
            for f in fields:
                out.extend(self._glob(f))
            return out
        return fields

    def _glob(self, pattern: str) -> list[str]:
        if not any(ch in pattern for ch in "*?["):
            return [pattern]
        d, base = posixpath.split(pattern)
        names = self.fs.listdir(self.abspath(d or "."), self.ctx.clock)
        hits = sorted(n for n in names if fnmatch.fnmatchcase(n, base) and not n.startswith("."))
        if not hits:
            return [pattern]
        return [posixpath.join(d, h) if d else h for h in hits]

    def _expand_dquoted(self, text: str):
        out = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
                out.append(text[i + 1])
                i += 2
            elif c in "$`":
                value, i = yield from self._dollar(text, i)
                out.append(value)
            else:
                out.append(c)
                i += 1
        return "".join(out)

    def _dollar(self, text: str, i: int):
        n = len(text)
        if text[i] == "`":
            j = text.find("`", i + 1)
            j = n if j < 0 else j
            value = yield from self.substitute(text[i + 1:j])
            return value, j + 1
        if text.startswith("$((", i):
            j = _skip_parens(text, i + 1)
            expr = yield from self._expand_dquoted(text[i + 3:j - 2])
            return str(self.arith(expr)), j
        if text.startswith("$(", i):
            j = _skip_parens(text, i + 1)
            value = yield from self.substitute(text[i + 2:j - 1])
            return value, j
        if text.startswith("${", i):
            j = text.find("}", i)
            j = n if j < 0 else j
            return self._param(text[i + 2:j]), j + 1
        if i + 1 < n and text[i + 1] in "?$#@*!0123456789":
            ch = text[i + 1]
            return self._special(ch), i + 2
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, i + 1)
        if not m:
            return "$", i + 1
        return self.vars.get(m.group(0), ""), m.end()

    def _special(self, ch: str) -> str:
        if ch == "?":
            return str(self.status)
        if ch == "$":
            return str(self.ctx.pid_number)
        if ch == "#":
            return str(max(0, len(self.args) - 1))
        if ch in "@*":
            return " ".join(self.args[1:])
        if ch == "!":
            return ""
        k = int(ch)
        if k == 0:
            return self.args[0] if self.args else self.name
        return self.args[k] if k < len(self.args) else ""

    def _param(self, body: str) -> str:
        if body.startswith("#"):
            return str(len(self.vars.get(body[1:], "")))
        for op in (":-", ":=", ":+", "-", "="):
            if op in body:
                name, word = body.split(op, 1)
                val = self.vars.get(name)
                if op in (":-", "-"):
                    return val if (val if op == ":-" else val is not None) else word
                if op in (":=", "="):
                    if not val:
                        self.vars[name] = word
                        return word
                    return val
                return word if val else ""
        if body.isdigit() or body in "?$#@*":
            return self._special(body)
        return self.vars.get(body, "")

    def substitute(self, script: str):
        """``$(script)``: run it in a subshell and return its output without trailing newlines."""
        cap = Capture()
        sub = Shell(self.ctx.child(env=self._env(), stdout=cap, stderr=self.stderr), self.name)
        sub.vars = dict(self.vars)
        sub.exported = set(self.exported)
        sub.cwd = self.cwd
        sub.args = self.args
        status = yield from sub.run_script(script)
        self.status = status
        return cap.text().rstrip("\n")

    def arith(self, expr: str) -> int:
        expr = expr.strip()
        py = expr.replace("&&", " and ").replace("||", " or ").replace("/", "//")
        py = re.sub(r"!(?!=)", " not ", py)
        try:
            tree = ast.parse(py, mode="eval")
        except SyntaxError:
            self.err(f"{self._prefix()}arithmetic syntax error")
            raise ExitShell(2) from None
        return int(self._eval(tree.body))

    def _eval(self, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            v = self.vars.get(node.id, "0") or "0"
            try:
                return int(v)
            except ValueError:
                return 0
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand)
            return {ast.USub: lambda: -v, ast.UAdd: lambda: v, ast.Not: lambda: int(not v)}[type(node.op)]()
        if isinstance(node, ast.BinOp):
            a, b = self._eval(node.left), self._eval(node.right)
            ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                   ast.FloorDiv: lambda: int(a / b) if b else 0, ast.Mod: lambda: a % b if b else 0,
                   ast.Pow: lambda: a ** b}
            return ops[type(node.op)]()
        if isinstance(node, ast.Compare):
            left = self._eval(node.left)
            for op, comp in zip(node.ops, node.comparators, strict=False):
                right = self._eval(comp)
                ok = {ast.Lt: left < right, ast.Gt: left > right, ast.LtE: left <= right, ast.GtE: left >= right,
                      ast.Eq: left == right, ast.NotEq: left != right}[type(op)]
                if not ok:
                    return 0
                left = right
            return 1
        if isinstance(node, ast.BoolOp):
            vals = [self._eval(v) for v in node.values]
            return int(all(vals)) if isinstance(node.op, ast.And) else int(any(vals))
        raise ExitShell(2)


def run_shell_argv(sh: Shell, args: list[str], stdin: str | None = None):
    """``sh [-e] -c SCRIPT [NAME ARGS...]`` or ``sh FILE`` or an interactive shell."""
    args = list(args)
    while args and args[0].startswith("-") and args[0] != "-c" and len(args[0]) > 1:
        if "e" in args[0]:
            sh.errexit = True
        if args[0] in ("-c",):
            break
        args.pop(0)
    if args and args[0] in ("-c", "-ec", "-ce"):
        if args[0] != "-c":
            sh.errexit = True
        if len(args) < 2:
            sh.err(f"{sh.name}: -c requires an argument")
            return 2
        sh.args = args[2:] if len(args) > 2 else [sh.name]
        return (yield from sh.run_script(args[1]))
    if args:
        content = sh.fs.read(sh.abspath(args[0]), sh.ctx.clock)
        if content is None:
            sh.err(f"{sh.name}: can't open '{args[0]}': No such file or directory")
            return 2
        sh.args = args
        return (yield from sh.run_script(content))
    if stdin is not None:
        return (yield from sh.run_script(stdin))
    if sh.ctx.interactive:
        yield ("block",)
    return 0  # no -c, no tty: the shell reads EOF from stdin and exits


# -- builtins (change the shell itself) ---------------------------------------------------------


def _b_exit(sh, argv):
    code = sh.status
    if len(argv) > 1:
        try:
            code = int(argv[1]) & 0xFF
        except ValueError:
            sh.err(f"{sh._prefix()}exit: Illegal number: {argv[1]}")
            code = 2
    raise ExitShell(code)
    yield  # pragma: no cover  (makes this a generator)


def _b_true(sh, argv):
    return 0
    yield  # pragma: no cover


def _b_false(sh, argv):
    return 1
    yield  # pragma: no cover


def _b_export(sh, argv):
    for a in argv[1:]:
        if a.startswith("-"):
            continue
        if "=" in a:
            name, value = a.split("=", 1)
            sh.vars[name] = value
        else:
            name = a
            sh.vars.setdefault(name, "")
        sh.exported.add(name)
    return 0
    yield  # pragma: no cover


def _b_unset(sh, argv):
    for a in argv[1:]:
        sh.vars.pop(a, None)
        sh.exported.discard(a)
    return 0
    yield  # pragma: no cover


def _b_set(sh, argv):
    for a in argv[1:]:
        if a.startswith("-") and "e" in a:
            sh.errexit = True
        elif a.startswith("+") and "e" in a:
            sh.errexit = False
    return 0
    yield  # pragma: no cover


def _b_cd(sh, argv):
    target = sh.abspath(argv[1] if len(argv) > 1 else sh.vars.get("HOME", "/"))
    if not sh.fs.isdir(target, sh.ctx.clock):
        sh.err(f"{sh._prefix()}cd: can't cd to {argv[1] if len(argv) > 1 else target}: No such file or directory")
        return 2
    sh.cwd = target
    return 0
    yield  # pragma: no cover


def _b_trap(sh, argv):
    if len(argv) >= 3:
        for sig in argv[2:]:
            sh.traps[sig.upper().removeprefix("SIG")] = argv[1]
            if sig.upper().removeprefix("SIG") in ("TERM", "15", "INT", "EXIT", "0"):
                sh.ctx.handles_sigterm = True
    return 0
    yield  # pragma: no cover


def _b_loop(kind):
    def run(sh, argv):
        raise _LoopControl(kind, int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1)
        yield  # pragma: no cover

    return run


def _b_exec(sh, argv):
    if len(argv) == 1:
        return 0
    status = yield from sh.exec_argv(argv[1:])
    raise ExitShell(status)


def _b_shift(sh, argv):
    k = int(argv[1]) if len(argv) > 1 else 1
    sh.args = sh.args[:1] + sh.args[1 + k:]
    return 0
    yield  # pragma: no cover


def _b_wait(sh, argv):
    return 0
    yield  # pragma: no cover


def _b_read(sh, argv):
    data = sh.stdin
    if not data:
        return 1
    line, _, rest = data.partition("\n")
    sh._stdin = rest
    names = [a for a in argv[1:] if not a.startswith("-")] or ["REPLY"]
    parts = line.split(None, len(names) - 1)
    for k, name in enumerate(names):
        sh.vars[name] = parts[k] if k < len(parts) else ""
    return 0
    yield  # pragma: no cover


def _b_test(sh, argv):
    args = argv[1:]
    if argv[0] == "[":
        if not args or args[-1] != "]":
            sh.err(f"{sh._prefix()}[: missing ]")
            return 2
        args = args[:-1]
    try:
        return 0 if _test(sh, args) else 1
    except ValueError as e:
        sh.err(f"{sh._prefix()}{argv[0]}: {e}")
        return 2
    yield  # pragma: no cover


def _test(sh, args) -> bool:
    if not args:
        return False
    if "-o" in args:
        k = args.index("-o")
        return _test(sh, args[:k]) or _test(sh, args[k + 1:])
    if "-a" in args:
        k = args.index("-a")
        return _test(sh, args[:k]) and _test(sh, args[k + 1:])
    if args[0] == "!":
        return not _test(sh, args[1:])
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        op, v = args
        t = sh.ctx.clock
        path = sh.abspath(v)
        if op == "-z":
            return v == ""
        if op == "-n":
            return v != ""
        if op in ("-e", "-a"):
            return sh.fs.exists(path, t)
        if op == "-f":
            return sh.fs.read(path, t) is not None
        if op == "-d":
            return sh.fs.isdir(path, t)
        if op == "-s":
            return bool(sh.fs.read(path, t))
        if op in ("-r", "-w", "-x"):
            return sh.fs.exists(path, t)
        raise ValueError(f"{op}: unknown operand")
    a, op, b = args[0], args[1], args[2]
    if op in ("=", "=="):
        return a == b
    if op == "!=":
        return a != b
    ops = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__, "-gt": int.__gt__,
           "-ge": int.__ge__}
    if op in ops:
        try:
            return ops[op](int(a), int(b))
        except ValueError:
            bad = a if not a.lstrip("-").isdigit() else b
            raise ValueError(f"{bad}: bad number") from None
    raise ValueError(f"{op}: unknown operand")


_BUILTINS = {
    "exit": _b_exit, "true": _b_true, ":": _b_true, "false": _b_false, "export": _b_export, "unset": _b_unset,
    "set": _b_set, "cd": _b_cd, "trap": _b_trap, "break": _b_loop("break"), "continue": _b_loop("continue"),
    "exec": _b_exec, "shift": _b_shift, "wait": _b_wait, "read": _b_read, "test": _b_test, "[": _b_test,
    "[[": _b_test, "return": _b_exit,
}


def split_command(text: str) -> list[str]:
    """Split a command line as a shell would (used for ``kubectl exec`` strings)."""
    return shlex.split(text)


from k8slab.node.commands import COMMANDS  # noqa: E402  (the commands use the shell, and vice versa)
