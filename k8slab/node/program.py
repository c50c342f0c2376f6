"""What runs inside a simulated container: a program on the virtual clock, its files and its logs.

A :class:`Process` wraps a generator (the program) that yields when time must pass.
The runtime advances it *ahead* of the clock (so it knows when the program will
exit) and stamps everything it writes with the virtual time it happened, so a
``kubectl logs`` at second 12 shows only what was printed by then. Files live in
:class:`Volume` objects that remember every version over time; a container's view
of them is a :class:`Filesystem` (its own writable layer plus the pod's volume
mounts: an ``emptyDir`` shared by two containers is one Volume in both).

Programs come from the image and the pod spec (:func:`build_program`): a server
image's own entrypoint logs its start-up lines and listens on its ports until
stopped; ``sh -c`` runs the :mod:`k8slab.node.shell` interpreter; a few tools have
small models of their own (``python -m http.server``, ``perl ... bpi(N)``,
``stress --vm-bytes``, agnhost's sub-commands).

Simplified: a program needing the outside world (DNS, HTTP) pauses until the
clock reaches it; CPU time is not modelled; logs keep the last 10,000 lines.

Example
-------
>>> run_script("echo hello; sleep 2.5; echo bye >&2; exit 3")
(3, 2.5, 'hello\\nbye\\n')
"""

from __future__ import annotations

import posixpath
import re

from k8slab.node import shell as shell_mod
from k8slab.node.apps import (  # noqa: F401  (re-exported: the runtime serves HTTP through them)
    HttpResponse,
    _server_program,
    _stress_memory,
    _tool,
    block,
    serve_http,
)
from k8slab.node.images import Image

#: Log lines kept per container (the kubelet rotates logs at 10 MiB).
MAX_LOG_LINES = 10_000
#: Steps one call to :meth:`Process.advance` may run before yielding to the clock.
MAX_STEPS = 20_000

_STD_DIRS = ("/bin", "/dev", "/etc", "/home", "/proc", "/root", "/run", "/sbin", "/sys", "/tmp", "/usr",
             "/usr/bin", "/usr/local", "/usr/local/bin", "/var", "/var/log", "/var/run", "/lib", "/opt", "/srv",
             "/mnt", "/media")


class StartError(Exception):
    """The runtime could not start the program (``exec: "x": executable file not found in $PATH``)."""


# -- files over time --------------------------------------------------------------------------------


class Volume:
    """A directory tree whose files change over virtual time.

    ``layers`` are read-only dicts ``{"/path": "content"}`` underneath (image files,
    ConfigMap keys); writes are kept as a history per path so reading at time ``t``
    gives the version written last before ``t``.
    """

    __slots__ = ("layers", "hist", "read_only", "name", "_seq")

    def __init__(self, layers=(), read_only: bool = False, name: str = ""):
        self.layers = tuple(layers)
        self.hist: dict[str, list] = {}
        self.read_only = read_only
        self.name = name
        self._seq = 0

    def __repr__(self) -> str:
        return f"Volume({self.name or '?'})"

    def _static(self, path: str):
        for layer in reversed(self.layers):
            if path in layer:
                return layer[path]
        return None

    def read(self, path: str, t: float):
        h = self.hist.get(path)
        if h:
            for when, _seq, content, _pid in reversed(h):
                if when <= t:
                    return content
        return self._static(path)

    def write(self, path: str, content, t: float, pid) -> None:
        self._seq += 1
        h = self.hist.setdefault(path, [])
        entry = (t, self._seq, content, pid)
        if not h or h[-1][0] <= t:
            h.append(entry)
        else:
            k = len(h)
            while k > 0 and h[k - 1][0] > t:
                k -= 1
            h.insert(k, entry)

    def rollback(self, pid, after: float) -> None:
        """Forget what process ``pid`` wrote after ``after`` (it was killed before doing it)."""
        for path, h in list(self.hist.items()):
            kept = [e for e in h if not (e[3] == pid and e[0] > after)]
            if len(kept) != len(h):
                self.hist[path] = kept

    def _paths(self):
        seen = set()
        for layer in self.layers:
            seen.update(layer)
        seen.update(self.hist)
        return seen

    def listdir(self, path: str, t: float) -> set[str]:
        prefix = "/" if path == "/" else path + "/"
        out = set()
        for p in self._paths():
            if p.startswith(prefix) and self.read(p, t) is not None:
                child = p[len(prefix):].split("/", 1)[0]
                if child and child != ".":
                    out.add(child)
        return out

    def isdir(self, path: str, t: float) -> bool:
        if path == "/":
            return True
        prefix = path + "/"
        return any(p.startswith(prefix) and self.read(p, t) is not None for p in self._paths())


class Filesystem:
    """A container's view: its root layer plus volume mounts (longest mount path wins)."""

    def __init__(self, root: Volume, mounts: dict[str, Volume] | None = None):
        self.root = root
        self.mounts = dict(sorted((mounts or {}).items(), key=lambda kv: -len(kv[0])))

    def resolve(self, path: str) -> tuple[Volume, str]:
        for mp, vol in self.mounts.items():
            if path == mp:
                return vol, "/"
            if path.startswith(mp + "/"):
                return vol, path[len(mp):]
        return self.root, path

    def read(self, path: str, t: float):
        if path == "/dev/null":
            return ""
        vol, inner = self.resolve(path)
        return vol.read(inner, t)

    def write(self, path: str, content: str, t: float, pid) -> None:
        if path == "/dev/null":
            return
        vol, inner = self.resolve(path)
        if not vol.read_only:
            vol.write(inner, content, t, pid)

    def append(self, path: str, text: str, t: float, pid) -> None:
        self.write(path, (self.read(path, t) or "") + text, t, pid)

    def remove(self, path: str, t: float, pid) -> None:
        vol, inner = self.resolve(path)
        if vol.read_only:
            return
        if vol.read(inner, t) is not None:
            vol.write(inner, None, t, pid)
        prefix = inner.rstrip("/") + "/"
        for p in list(vol._paths()):
            if p.startswith(prefix) and vol.read(p, t) is not None:
                vol.write(p, None, t, pid)

    def mkdir(self, path: str, t: float, pid) -> None:
        self.write(path.rstrip("/") + "/.", "", t, pid)

    def exists(self, path: str, t: float) -> bool:
        return self.read(path, t) is not None or self.isdir(path, t)

    def isdir(self, path: str, t: float) -> bool:
        if path in self.mounts or path == "/":
            return True
        if any(mp.startswith(path.rstrip("/") + "/") for mp in self.mounts):
            return True
        vol, inner = self.resolve(path)
        return vol.isdir(inner, t)

    def is_read_only(self, path: str) -> bool:
        return self.resolve(path)[0].read_only

    def listdir(self, path: str, t: float) -> set[str]:
        vol, inner = self.resolve(path)
        names = vol.listdir(inner, t)
        prefix = "/" if path == "/" else path.rstrip("/") + "/"
        for mp in self.mounts:
            if mp.startswith(prefix):
                names.add(mp[len(prefix):].split("/", 1)[0])
        return names

    def rollback(self, pid, after: float) -> None:
        self.root.rollback(pid, after)
        for vol in self.mounts.values():
            vol.rollback(pid, after)


def base_root(image: Image, extra: dict | None = None) -> Volume:
    """A container's root layer: standard directories, the image's files, and ``extra`` (kubelet files)."""
    layers = [_STD_LAYER, dict(image.files)] if image.files else [_STD_LAYER]
    if extra:
        layers.append(extra)
    return Volume(layers, name="rootfs")


_STD_LAYER = {d + "/.": "" for d in _STD_DIRS}


# -- processes ---------------------------------------------------------------------------------------


class _LogStream:
    __slots__ = ("proc", "stream", "buf")

    def __init__(self, proc, stream):
        self.proc = proc
        self.stream = stream
        self.buf = ""

    def write(self, text: str) -> None:
        if not text:
            return
        text = self.buf + text
        *lines, self.buf = text.split("\n")
        t = self.proc.ctx.clock
        for line in lines:
            self.proc.emit(t, self.stream, line)

    def flush(self) -> None:
        if self.buf:
            self.proc.emit(self.proc.ctx.clock, self.stream, self.buf)
            self.buf = ""
            self.proc.unterminated.add(self.stream)  # `printf abc`: the last line has no newline


class ProcessContext:
    """What a program sees: clock, files, environment, identity and the outside world."""

    def __init__(self, *, fs: Filesystem, env: dict, hostname: str = "localhost", ip: str = "", workdir: str = "/",
                 world=None, interactive: bool = False, pid=None, kernel: str = "6.5.0-35-generic",
                 nameserver: str = "10.96.0.10", search: tuple = (), image: Image | None = None, start: float = 0.0):
        self.clock = start
        self.fs = fs
        self.env = env
        self.hostname = hostname
        self.ip = ip
        self.workdir = workdir
        self.world = world
        self.interactive = interactive
        self.pid = pid if pid is not None else object()
        self.pid_number = 1
        self.kernel = kernel
        self.nameserver = nameserver
        self.search = search
        self.image = image
        self.handles_sigterm = False
        self.stdout = None  # set by Process
        self.stderr = None
        self.procs: list[str] = []

    def child(self, env=None, stdout=None, stderr=None):
        return _ChildContext(self, env, stdout, stderr)

    # -- the outside world (DNS, HTTP), through the node's data plane ---------------------
    def resolve(self, name: str):
        if self.world is None or not hasattr(self.world, "resolve"):
            return None
        return self.world.resolve(name)

    def search_domains(self, name: str) -> list[str]:
        if "." in name.rstrip(".") and name.endswith("."):
            return [name.rstrip(".")]
        return [f"{name}.{d}" for d in self.search] or [name]

    def http(self, url: str, headers: dict | None = None):
        if self.world is None or not hasattr(self.world, "http"):
            raise LookupError(url)
        return self.world.http(url, headers) if headers else self.world.http(url)

    def processes(self):
        return [(1, " ".join(self.procs) or "sh")]

    def has_program(self, argv) -> bool:
        return self.image is not None and _tool(argv, self.image) is not None

    def run_program(self, argv, sh):
        factory = _tool(argv, self.image)
        return (yield from factory(self if not isinstance(self, _ChildContext) else self, argv, sh))


class _ChildContext:
    """A subshell's context: its own env and streams, the parent's clock and files."""

    def __init__(self, parent, env, stdout, stderr):
        self._parent = parent
        self.env = env if env is not None else parent.env
        self.stdout = stdout or parent.stdout
        self.stderr = stderr or parent.stderr

    def __getattr__(self, name):
        return getattr(self._parent, name)

    @property
    def clock(self):
        return self._parent.clock

    @clock.setter
    def clock(self, value):
        self._parent.clock = value

    @property
    def handles_sigterm(self):
        return self._parent.handles_sigterm

    @handles_sigterm.setter
    def handles_sigterm(self, value):
        self._parent.handles_sigterm = value

    def child(self, env=None, stdout=None, stderr=None):
        return _ChildContext(self, env, stdout, stderr)

    def has_program(self, argv):
        return self._parent.has_program(argv)

    def run_program(self, argv, sh):
        factory = _tool(argv, self.image)
        return (yield from factory(self, argv, sh))


class Process:
    """A program running over virtual time (see module docstring).

    ``status`` after :meth:`advance`: ``exited``, ``sleeping`` (resumes at :attr:`wake`),
    ``world`` (waits for the clock to reach :attr:`ctx.clock`), ``blocked`` (forever).
    """

    def __init__(self, ctx: ProcessContext, program, memory: int = 0):
        self.ctx = ctx
        self.start = ctx.clock
        self.out: list[tuple[float, str, str]] = []
        ctx.stdout = _LogStream(self, "stdout")
        ctx.stderr = _LogStream(self, "stderr")
        self.gen = program(ctx)
        self.memory = memory
        self.exit_code: int | None = None
        self.exit_time: float | None = None
        self.wake: float | None = None
        self.waiting_world = False
        self.blocked = False
        self.world_steps = 0
        self.listen: dict[int, tuple[float, str, dict]] = {}
        self.announced: set[tuple[int, float]] = set()  # listen times the runtime made events of
        self.follow = None
        self.dropped = 0
        self.unterminated: set[str] = set()  # streams whose output did not end with a newline

    def __repr__(self) -> str:
        state = "exited" if self.exit_time is not None else ("blocked" if self.blocked else "running")
        return f"Process({state}, {len(self.out)} log lines)"

    @property
    def exited(self) -> bool:
        return self.exit_time is not None

    def emit(self, t: float, stream: str, line: str) -> None:
        self.out.append((t, stream, line))
        if len(self.out) > MAX_LOG_LINES:
            cut = MAX_LOG_LINES // 4
            del self.out[:cut]
            self.dropped += cut

    def advance(self, limit: float, now: float) -> str:
        """Run the program up to virtual time ``limit`` (world-dependent steps up to ``now``)."""
        ctx = self.ctx
        steps = 0
        while self.exit_time is None:
            if self.wake is not None:
                if self.wake > limit:
                    return "sleeping"
                ctx.clock = self.wake
                self.wake = None
            if self.blocked:
                return "blocked"
            if self.waiting_world:
                if ctx.clock > now:
                    return "world"
                self.waiting_world = False
                ctx.clock = max(ctx.clock, now)
            steps += 1
            if steps > MAX_STEPS:
                self.wake = ctx.clock
                return "sleeping"
            try:
                req = next(self.gen)
            except StopIteration as stop:
                self._finish(ctx.clock, stop.value if isinstance(stop.value, int) else 0)
                return "exited"
            except shell_mod.ExitShell as e:
                self._finish(ctx.clock, e.code)
                return "exited"
            kind = req[0]
            if kind == "sleep":
                self.wake = ctx.clock + max(0.0, req[1])
            elif kind == "world":
                self.waiting_world = True
                self.world_steps += 1
            elif kind == "block":
                self.blocked = True
            elif kind == "listen":
                _, ports, proto, opts = req
                for p in ports:
                    self.listen[p] = (ctx.clock, proto, opts)
            elif kind == "follow":
                self.follow = (req[1], req[2], ctx.clock)
        return "exited"

    def _finish(self, t: float, code: int) -> None:
        self.ctx.stdout.flush()
        self.ctx.stderr.flush()
        self.exit_time = t
        self.exit_code = code & 0xFF if code >= 0 else code
        self.gen.close()

    def kill(self, t: float, code: int) -> None:
        """End the program at time ``t`` (what it would have done later never happens)."""
        if self.exit_time is not None and self.exit_time <= t:
            return
        self.out = [e for e in self.out if e[0] <= t]
        self.ctx.fs.rollback(self.ctx.pid, t)
        for p in list(self.listen):
            if self.listen[p][0] > t:
                del self.listen[p]
        self.exit_time = t
        self.exit_code = code
        self.wake = None
        self.blocked = False
        self.waiting_world = False
        try:
            self.gen.close()
        except Exception:  # noqa: BLE001 - a program's cleanup cannot fail the runtime
            pass

    def listening(self, port: int, t: float):
        """``(protocol, options)`` when the program listens on ``port`` at time ``t``."""
        entry = self.listen.get(port)
        if entry is None or entry[0] > t or (self.exit_time is not None and self.exit_time <= t):
            return None
        return entry[1], entry[2]

    def lines(self, until: float) -> list[tuple[float, str, str]]:
        """Log lines written up to ``until`` (what ``kubectl logs`` would show then)."""
        out = self.out
        if out and out[-1][0] > until:
            out = [e for e in out if e[0] <= until]
        if self.follow is not None:
            path, n, since = self.follow
            content = self.ctx.fs.read(path, until) or ""
            ls = content.splitlines()
            out = list(out) + [(max(since, until), "stdout", ln) for ln in (ls[-n:] if n else ls)]
        return out


# -- building the program of a container --------------------------------------------------------------

_WRAPPERS = {"docker-entrypoint.sh", "entrypoint.sh", "tini", "dumb-init"}
_SHELLS = {"sh", "ash", "bash", "dash"}


def container_argv(image: Image, command: list | None, args: list | None) -> list[str]:
    """What the container executes: Kubernetes' command/args over the image's ENTRYPOINT/CMD.

    >>> from k8slab.node.images import lookup
    >>> container_argv(lookup("busybox"), None, None)
    ['sh']
    >>> container_argv(lookup("nginx:1.27"), None, ["nginx", "-g", "daemon off;"])
    ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;']
    """
    if command:
        return list(command) + list(args or [])
    return list(image.entrypoint) + (list(args) if args else list(image.cmd))


def expand_env_refs(text: str, env: dict) -> str:
    """Kubernetes' ``$(VAR)`` expansion in command/args (``$$(VAR)`` escapes; unknown stays).

    >>> expand_env_refs("hello $(NAME) $$(NAME) $(NOPE)", {"NAME": "k8s"})
    'hello k8s $(NAME) $(NOPE)'
    """
    if "$" not in text:
        return text

    def sub(m):
        if m.group(0).startswith("$$"):
            return m.group(0)[1:]
        return env.get(m.group(1), m.group(0))

    return re.sub(r"\$\$\([A-Za-z_][A-Za-z0-9_.-]*\)|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, text)


_SERVER_BINARIES: dict[int, tuple[Image, frozenset[str]]] = {}


def _server_binaries(image: Image) -> frozenset[str]:
    # an Image is immutable: work its binaries out once (keyed by identity, checked on use)
    hit = _SERVER_BINARIES.get(id(image))
    if hit is not None and hit[0] is image:
        return hit[1]
    names = frozenset(_server_binaries_of(image))
    _SERVER_BINARIES[id(image)] = (image, names)
    return names


def _server_binaries_of(image: Image) -> set[str]:
    names = {posixpath.basename(x) for x in image.entrypoint[:1] + image.cmd[:1]}
    names -= _WRAPPERS | _SHELLS
    extra = {"nginx": {"nginx", "nginx-debug"}, "redis": {"redis-server"}, "httpd": {"httpd", "httpd-foreground"},
             "postgres": {"postgres"}, "mysql": {"mysqld"}}
    for key, bins in extra.items():
        if image.repository.endswith("/" + key):
            names |= bins
    return names


def build_program(image: Image, argv: list[str], *, interactive: bool = False):
    """The program (a generator function of the context) for ``argv`` in ``image``, and its memory.

    Raises :class:`StartError` when the executable does not exist in the image.
    """
    if not argv:
        raise StartError("no command specified")
    if image.kind == "pause":
        return block, image.memory
    base = posixpath.basename(argv[0])
    if (base == "docker-entrypoint.sh" and len(argv) > 1 and image.cmd
            and (argv[1].startswith("-") or argv[1].endswith(".conf"))):
        # the official images' entrypoint: `args: ["--requirepass", "x"]` means `redis-server --requirepass x`
        argv = [argv[0], image.cmd[0], *argv[1:]]
    if base in _WRAPPERS and len(argv) > 1 and posixpath.basename(argv[1]) not in _server_binaries(image):
        return build_program(image, argv[1:], interactive=interactive)
    if image.kind == "server" and (base in _server_binaries(image) or base in _WRAPPERS):
        return _server_program(image, argv), image.memory
    if base in _SHELLS and image.shell is not None:
        name = "bash" if base == "bash" else "sh"

        def run_sh(ctx):
            sh = shell_mod.Shell(ctx, name)
            return (yield from shell_mod.run_shell_argv(sh, argv[1:]))

        return run_sh, image.memory
    tool = _tool(argv, image)
    if tool is not None:
        mem = _stress_memory(argv) if base == "stress" else image.memory

        def run_tool(ctx):
            sh = shell_mod.Shell(ctx, image.shell or "sh")
            return (yield from tool(ctx, argv, sh))

        return run_tool, mem
    if image.shell is not None and base in shell_mod.COMMANDS and (argv[0] == base or argv[0].startswith("/")):

        def run_cmd(ctx):
            sh = shell_mod.Shell(ctx, image.shell)
            return (yield from sh.exec_argv(argv))

        return run_cmd, image.memory
    raise StartError(f'exec: "{argv[0]}": executable file not found in $PATH')


# -- for doctests and quick checks ---------------------------------------------------------------------------


def run_script(script: str, *, env: dict | None = None, limit: float = 3600.0):
    """Run ``sh -c script`` in a bare busybox-like context; returns (exit code, exit time, output).

    >>> run_script("for x in a b; do echo $x; done")
    (0, 0.0, 'a\\nb\\n')
    """
    from k8slab.node.images import lookup

    ctx = ProcessContext(fs=Filesystem(base_root(lookup("busybox"))), env=dict(env or {"PATH": "/bin"}),
                         hostname="demo", image=lookup("busybox"))
    prog, _mem = build_program(lookup("busybox"), ["sh", "-c", script])
    proc = Process(ctx, prog)
    proc.advance(limit, limit)
    text = "".join(line + "\n" for _t, _s, line in proc.out)
    return proc.exit_code, proc.exit_time, text
