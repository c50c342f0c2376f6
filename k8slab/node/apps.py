"""What the catalogue's images actually do when they run: servers, and a few tools.

* **Servers** (nginx, httpd, redis, postgres, the echo servers ...) log their
  start-up lines as the real images do, start listening on their ports after a
  short start-up, and answer HTTP requests (:func:`serve_http`) the way the real
  program would: nginx serves the files under ``/usr/share/nginx/html`` (so an init
  container that writes ``index.html`` into a shared ``emptyDir`` changes the page),
  ``hashicorp/http-echo`` answers its ``-text``, ``hello-app`` and agnhost's
  ``serve-hostname`` answer with the pod's hostname — handy to see load spread over
  pods. postgres and mysql refuse to start without their password variable.
* **Tools** with a model of their own: ``python -m http.server``, ``python -c``
  (``print``/``sleep``/``exit``), ``perl -Mbignum=bpi -wle 'print bpi(N)'`` (the
  Job example: it really prints pi), ``stress --vm-bytes`` (memory for OOM kills).

Example
-------
>>> render_line("{nginxts} [notice] 1#1: nginx/{version}", 5.5, {"version": "1.27.0"})
'2025/01/01 00:00:05 [notice] 1#1: nginx/1.27.0'
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass, field
from datetime import timedelta

from k8slab.node import shell as shell_mod
from k8slab.node.images import Image
from k8slab.sim.loop import EPOCH


def block(ctx):
    """A program that waits forever (``sleep infinity``, the pause container)."""
    yield ("block",)
    return 0


# -- server images ------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render_line(text: str, t: float, fields: dict) -> str:
    """Fill ``{nginxts}``-style placeholders of a start-up line at virtual time ``t``."""
    if "{" not in text:
        return text

    def sub(m):
        key = m.group(1)
        if key in fields:
            return str(fields[key])
        stamp = _stamp(key, t)
        return m.group(0) if stamp is None else stamp

    return _PLACEHOLDER.sub(sub, text).replace("{{", "{").replace("}}", "}")


@functools.lru_cache(maxsize=1024)
def _stamp(key: str, t: float) -> str | None:
    # many containers start at the same virtual instant: format each (style, instant) once
    dt = EPOCH + timedelta(seconds=t)
    micro = dt.microsecond
    if key in ("nginxts", "gots"):
        return dt.strftime("%Y/%m/%d %H:%M:%S")
    if key == "httpdts":
        return dt.strftime("%a %b %d %H:%M:%S.") + f"{micro:06d}" + dt.strftime(" %Y")
    if key == "redists":
        return dt.strftime("%d %b %Y %H:%M:%S.") + f"{micro // 1000:03d}"
    if key == "pgts":
        return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{micro // 1000:03d}"
    if key == "mysqlts":
        return dt.strftime("%Y-%m-%d %H:%M:%S")
    if key == "isots":
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{micro:06d}Z"
    if key == "klogts":
        return dt.strftime("I%m%d %H:%M:%S.") + f"{micro:06d}"
    return None


def image_version(image: Image, ctx) -> str:
    tag = getattr(ctx, "image_tag", None) or ""
    if re.fullmatch(r"\d+\.\d+\.\d+", tag):
        return tag
    if re.fullmatch(r"\d+\.\d+", tag):
        return tag + ".0"
    return image.version


def _server_program(image: Image, argv: list[str]):
    http_kind = image.http
    ports = tuple(image.ports)
    opts: dict = {}
    startup = image.startup
    ready_after = image.ready_after
    args = argv[1:]
    if image.repository.endswith("/http-echo"):
        opts["text"] = "hello-world"
        for a in args:
            if a.startswith("-text="):
                opts["text"] = a.split("=", 1)[1]
            elif a.startswith("-listen="):
                ports = (int(a.rsplit(":", 1)[1]),)
        startup = tuple((o, s, line.replace(":5678", f":{ports[0]}")) for o, s, line in startup)
    elif image.repository.endswith("/agnhost"):
        sub = args[0] if args else "pause"
        flags = dict(a.lstrip("-").split("=", 1) for a in args[1:] if a.startswith("--") and "=" in a)
        if sub == "serve-hostname":
            http_kind, ports = "serve-hostname", (int(flags.get("port", 9376)),)
            startup = ((0.0, "stdout", f"Serving on port {ports[0]}."),)
        elif sub == "netexec":
            http_kind, ports = "netexec", (int(flags.get("http-port", 8080)),)
            startup = ((0.0, "stderr", "{klogts}       1 log.go:245] Started HTTP server on port " + str(ports[0])),)
        elif sub == "liveness":
            http_kind, ports = "agnhost-liveness", (8080,)
            startup = ()
        else:
            return block
    elif image.repository.endswith("/hello-app"):
        opts["version"] = "2.0.0" if "2.0" in argv[0] else "1.0.0"

    def run(ctx):
        for alternatives in image.requires_env:
            if not any(ctx.env.get(v) for v in alternatives):
                for line in image.missing_env_log:
                    ctx.stderr.write(render_line(line, ctx.clock, {}) + "\n")
                return 1
        fields = {"ip": ctx.ip, "hostname": ctx.hostname, "version": image_version(image, ctx)}
        last = 0.0
        for offset, stream, text in startup:
            if offset > last:
                yield ("sleep", offset - last)
                last = offset
            (ctx.stdout if stream == "stdout" else ctx.stderr).write(render_line(text, ctx.clock, fields) + "\n")
        if ready_after > last:
            yield ("sleep", ready_after - last)
        if image.stop_seconds is not None:
            ctx.handles_sigterm = True
        if ports:
            yield ("listen", ports, http_kind or "tcp", {**opts, "start": ctx.clock})
        yield ("block",)
        return 0

    return run


# -- tools with models of their own ------------------------------------------------------------------------


def _tool(argv, image):
    base = posixpath.basename(argv[0])
    if base.startswith("python") and image.repository.endswith("/python"):
        return _python
    if base.startswith("perl") and image.repository.endswith("/perl"):
        return _perl
    if base == "stress" and image.repository.endswith("/stress"):
        return _stress
    if base == "curl" and image.repository.endswith("/curl"):
        return lambda ctx, argv, sh: shell_mod.COMMANDS["curl"](sh, argv, sh._env())
    return None


def _python(ctx, argv, sh):
    args = argv[1:]
    if args[:2] == ["-m", "http.server"]:
        port = int(args[2]) if len(args) > 2 and args[2].isdigit() else 8000
        ctx.stdout.write(f"Serving HTTP on 0.0.0.0 port {port} (http://0.0.0.0:{port}/) ...\n")
        yield ("listen", (port,), "python-http", {"root": sh.cwd, "start": ctx.clock})
        yield ("block",)
        return 0
    if args and args[0] == "-c" and len(args) > 1:
        return (yield from _python_code(ctx, args[1]))
    if args and not args[0].startswith("-"):
        path = sh.abspath(args[0])
        code = ctx.fs.read(path, ctx.clock)
        if code is None:
            ctx.stderr.write(f"{argv[0]}: can't open file '{path}': [Errno 2] No such file or directory\n")
            return 2
        return (yield from _python_code(ctx, code))
    if getattr(ctx, "interactive", False):
        yield ("block",)
    return 0  # no script and no terminal: the interpreter reads EOF and exits


def _python_code(ctx, code: str):
    """A sliver of Python: ``print(...)`` of literals, ``time.sleep(n)``, ``sys.exit(n)``."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        ctx.stderr.write(f'  File "<string>", line {e.lineno}\n    {e.text or ""}\nSyntaxError: {e.msg}\n')
        return 1
    stmts = list(tree.body)
    loops = 0
    while stmts:
        node = stmts.pop(0)
        if isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value:
            loops += 1
            stmts = list(node.body) + [node] + stmts
            if loops > 10_000:
                yield ("sleep", 0.01)
            continue
        call = node.value if isinstance(node, ast.Expr) else None
        if not isinstance(call, ast.Call):
            continue
        fn = ast.unparse(call.func)
        try:
            values = [ast.literal_eval(a) for a in call.args]
        except ValueError:
            values = [ast.unparse(a) for a in call.args]
        if fn == "print":
            ctx.stdout.write(" ".join(str(v) for v in values) + "\n")
        elif fn in ("time.sleep", "sleep") and values:
            yield ("sleep", float(values[0]))
        elif fn in ("sys.exit", "exit", "quit"):
            return int(values[0]) if values and isinstance(values[0], int) else 0
    return 0


def _pi_digits(n: int) -> str:
    """``n`` significant digits of pi (what ``perl -Mbignum=bpi -wle 'print bpi(n)'`` prints)."""
    guard = 10
    scale = 10 ** (n + guard)

    def arctan_inv(x):
        total = term = scale // x
        k, sign = 3, -1
        x2 = x * x
        while term:
            term //= x2
            total += sign * (term // k)
            sign, k = -sign, k + 2
        return total

    pi = 4 * (4 * arctan_inv(5) - arctan_inv(239))
    digits = str(pi)[: n]
    return digits[0] + "." + digits[1:]


def _perl(ctx, argv, sh):
    code = next((argv[k + 1] for k, a in enumerate(argv[:-1]) if a.startswith("-") and a.endswith("e")), "")
    m = re.search(r"bpi\((\d+)\)", code)
    if m:
        n = min(int(m.group(1)), 20000)
        yield ("sleep", 1.0 + n / 400)
        ctx.stdout.write(_pi_digits(n) + "\n")
        return 0
    for s in re.findall(r'print\s+"([^"]*)"', code):
        ctx.stdout.write(s.replace("\\n", "\n") + ("\n" if "-l" in " ".join(argv) else ""))
    return 0


def _stress_memory(argv) -> int:
    vm, size = 0, 256 * 1024 * 1024
    for k, a in enumerate(argv):
        if a in ("--vm", "-m") and k + 1 < len(argv):
            vm = int(argv[k + 1])
        if a == "--vm-bytes" and k + 1 < len(argv):
            size = _bytes(argv[k + 1])
    return vm * size + 1024 * 1024


def _bytes(text: str) -> int:
    m = re.fullmatch(r"(\d+)([bBkKmMgG]?)", text)
    if not m:
        return 0
    return int(m.group(1)) * {"": 1, "b": 1, "B": 1, "k": 1024, "K": 1024, "m": 1024**2, "M": 1024**2,
                              "g": 1024**3, "G": 1024**3}[m.group(2)]


def _stress(ctx, argv, sh):
    counts = {"cpu": 0, "io": 0, "vm": 0, "hdd": 0}
    timeout = None
    for k, a in enumerate(argv):
        key = a.lstrip("-")
        if key in counts and k + 1 < len(argv):
            counts[key] = int(argv[k + 1])
        if key in ("timeout", "t") and k + 1 < len(argv):
            timeout = float(argv[k + 1].rstrip("s"))
    ctx.stdout.write(f"stress: info: [1] dispatching hogs: {counts['cpu']} cpu, {counts['io']} io, "
                     f"{counts['vm']} vm, {counts['hdd']} hdd\n")
    if timeout is None:
        yield ("block",)
        return 0
    yield ("sleep", timeout)
    ctx.stdout.write(f"stress: info: [1] successful run completed in {int(timeout)}s\n")
    return 0


# -- HTTP served by programs ----------------------------------------------------------------------------------


@dataclass
class HttpResponse:
    """What a server answered: status code, reason, body, headers, and who served it."""

    status: int
    body: str = ""
    reason: str = ""
    headers: dict = field(default_factory=dict)
    pod: str = ""
    ip: str = ""

    def __post_init__(self):
        if not self.reason:
            self.reason = _REASONS.get(self.status, "")

    def __repr__(self) -> str:
        return f"HttpResponse({self.status} {self.reason}, {len(self.body)} bytes from {self.pod or '?'})"


_REASONS = {200: "OK", 301: "Moved Permanently", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable"}

_NGINX_ERROR = ("<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}"
                "</h1></center>\r\n<hr><center>nginx/{version}</center>\r\n</body>\r\n</html>\r\n")


def serve_http(proc, kind: str, opts: dict, *, method: str = "GET", path: str = "/", host: str = "",
               client_ip: str = "", headers: dict | None = None, now: float = 0.0) -> HttpResponse:
    """Answer one HTTP request the way the program ``kind`` would, logging it as that server does."""
    ctx = proc.ctx
    path_only, _, query = path.partition("?")
    headers = headers or {}
    agent = headers.get("User-Agent", "curl/8.5.0")
    dt = EPOCH + timedelta(seconds=now)
    started = opts.get("start", proc.start)
    client_ip = client_ip or "127.0.0.1"
    if kind == "ingress" and path_only in ("/healthz", "/readyz"):
        return HttpResponse(200, "ok")  # the controller's health endpoint (port 10254)
    if kind in ("nginx", "httpd", "ingress", "python-http"):
        root = {"nginx": "/usr/share/nginx/html", "httpd": "/usr/local/apache2/htdocs"}.get(kind, opts.get("root", "/"))
        target = posixpath.normpath(root + "/" + path_only.lstrip("/"))
        status, body = 200, None
        if ctx.fs.isdir(target, now):
            body = ctx.fs.read(target.rstrip("/") + "/index.html", now)
            if body is None and kind == "python-http":
                names = sorted(ctx.fs.listdir(target, now))
                body = ("<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Directory "
                        f"listing for {path_only}</title>\n</head>\n<body>\n<h1>Directory listing for {path_only}</h1>"
                        "\n<hr>\n<ul>\n" + "".join(f'<li><a href="{n}">{n}</a></li>\n' for n in names)
                        + "</ul>\n<hr>\n</body>\n</html>\n")
            if body is None:
                status = 403
        else:
            body = ctx.fs.read(target, now)
            if body is None:
                status = 404
        if status != 200:
            version = image_version(ctx.image, ctx) if ctx.image else ""
            body = _NGINX_ERROR.format(code=status, reason=_REASONS[status], version=version) if kind == "nginx" else (
                f"<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{status} "
                f"{_REASONS[status]}</title>\n</head><body>\n<h1>{_REASONS[status]}</h1>\n</body></html>\n")
        size = len(body.encode())
        stamp = dt.strftime("%d/%b/%Y:%H:%M:%S +0000")
        if kind == "nginx":
            proc.emit(now, "stdout", f'{client_ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "-" '
                                     f'"{agent}" "-"')
        elif kind == "httpd":
            proc.emit(now, "stdout", f'{client_ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size}')
        elif kind == "python-http":
            proc.emit(now, "stderr", f'{client_ip} - - [{dt.strftime("%d/%b/%Y %H:%M:%S")}] "{method} {path} '
                                     f'HTTP/1.1" {status} -')
        return HttpResponse(status, body, headers={"Server": "nginx" if kind == "nginx" else "Apache"})
    if kind == "http-echo":
        return HttpResponse(200, opts.get("text", "") + "\n")
    if kind == "hello-app":
        proc.emit(now, "stderr", f"{dt.strftime('%Y/%m/%d %H:%M:%S')} Serving request: {path_only}")
        return HttpResponse(200, f"Hello, world!\nVersion: {opts.get('version', '1.0.0')}\nHostname: {ctx.hostname}\n")
    if kind == "serve-hostname":
        return HttpResponse(200, ctx.hostname)
    if kind == "netexec":
        if path_only == "/hostname":
            return HttpResponse(200, ctx.hostname)
        if path_only == "/clientip":
            return HttpResponse(200, f"{client_ip}:40000")
        if path_only == "/echo":
            msg = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("msg", "")
            return HttpResponse(200, msg)
        if path_only in ("/healthz", "/readyz"):
            return HttpResponse(200, "ok")
        return HttpResponse(200, "NOW: " + dt.strftime("%Y-%m-%d %H:%M:%S.%f000 +0000 UTC"))
    if kind == "agnhost-liveness":
        if path_only == "/healthz":
            if now - started > 10:
                return HttpResponse(500, f"error: {now - started:.6f}")
            return HttpResponse(200, "ok")
        return HttpResponse(404, "404 page not found\n")
    if kind == "echo-server":
        lines = [f"Request served by {ctx.hostname}", "", f"HTTP/1.1 {method} {path}", "", f"Host: {host}",
                 "Accept: */*", f"User-Agent: {agent}"]
        return HttpResponse(200, "\n".join(lines) + "\n")
    if kind == "whoami":
        lines = [f"Hostname: {ctx.hostname}", "IP: 127.0.0.1", "IP: ::1", f"IP: {ctx.ip}",
                 f"RemoteAddr: {client_ip}:40000", f"{method} {path} HTTP/1.1", f"Host: {host}",
                 f"User-Agent: {agent}", "Accept: */*"]
        return HttpResponse(200, "\r\n".join(lines) + "\r\n")
    if kind == "k8slab-echo":
        proc.emit(now, "stdout", f"{client_ip} {method} {path}")
        return HttpResponse(200, f"pod={ctx.hostname} ip={ctx.ip} path={path}\n")
    if kind == "health":
        if path_only in ("/health", "/healthz", "/ready", "/readyz", "/livez"):
            return HttpResponse(200, "ok" if path_only != "/health" else "OK")
        return HttpResponse(404, "404 page not found\n")
    # a TCP server that does not speak HTTP (redis, postgres, mysql)
    return HttpResponse(0, "", reason="Empty reply from server")


