"""The image catalogue: which images exist in k8slab's pretend registries, and how they behave.

A real node pulls layers from a registry; k8slab has no network, so this table
says, for every image a lesson may use, how big it is (hence how long a pull
takes), what it runs by default (``ENTRYPOINT`` / ``CMD``), and what that program
does: a *server* (nginx, httpd, redis, echo servers) starts, logs its start-up
lines and listens on ports until stopped; a *toolbox* (busybox, alpine, ubuntu)
runs whatever shell command the pod gives it. An image not in the catalogue does
not exist: pulling it fails like a typo does on Docker Hub.

Names are normalised as containerd does (``nginx`` → ``docker.io/library/nginx:latest``).

Simplified: one architecture (amd64); a tag's size and digest are derived from its
name (stable, not the registry's); pull time is 0.8 s plus size at 25 MB/s.

Example
-------
>>> ref = normalize("nginx:1.27")
>>> ref.full, ref.repository
('docker.io/library/nginx:1.27', 'docker.io/library/nginx')
>>> img = lookup(ref)
>>> img.kind, img.ports, round(pull_seconds(ref), 3)
('server', (80,), 3.653)
>>> lookup(normalize("nginxx")) is None
True
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from k8slab.apiserver.server import KUBERNETES_VERSION

#: Bytes per second a pull downloads (a decent home connection to Docker Hub).
PULL_BANDWIDTH = 25_000_000
#: Fixed cost of every pull: resolve the tag, fetch the manifest, authenticate.
PULL_OVERHEAD = 0.8
#: A pull of an image already on the node only checks the digest (imagePullPolicy: Always).
DIGEST_CHECK_SECONDS = 0.3
#: How long resolving a name that does not exist takes before the registry says no.
NOT_FOUND_SECONDS = 0.9

MiB = 1024 * 1024

_REF = re.compile(
    r"^(?:(?P<registry>[a-z0-9.-]+(?::[0-9]+)?|localhost(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


class InvalidImageName(ValueError):
    """The reference cannot be parsed (uppercase letters, spaces ...)."""


@dataclass(frozen=True)
class ImageRef:
    """A normalised image reference: registry, repository path, tag and/or digest."""

    registry: str
    path: str
    tag: str | None
    digest: str | None
    given: str

    @property
    def repository(self) -> str:
        return f"{self.registry}/{self.path}"

    @property
    def full(self) -> str:
        """``docker.io/library/nginx:1.27`` (what containerd and ``status.image`` show)."""
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag or 'latest'}"

    @property
    def key(self) -> str:
        return f"{self.repository}:{self.tag or 'latest'}"


#: References already parsed (ImageRef is immutable and a pure function of the text).
_NORMALIZED: dict[str, ImageRef] = {}


def normalize(image: str) -> ImageRef:
    """Parse ``image`` like containerd's ``ParseNormalizedNamed`` (default registry docker.io).

    >>> normalize("bitnami/redis").full
    'docker.io/bitnami/redis:latest'
    >>> normalize("registry.k8s.io/pause:3.9").repository
    'registry.k8s.io/pause'
    """
    if type(image) is str:
        ref = _NORMALIZED.get(image)
        if ref is None:
            ref = _normalize(image)  # an invalid reference raises, and is not remembered
            if len(_NORMALIZED) < 4096:
                _NORMALIZED[image] = ref
        return ref
    return _normalize(image)


def _normalize(image: str) -> ImageRef:
    m = _REF.match(image or "")
    if not m:
        why = "repository name must be lowercase" if image and image.lower() != image else "invalid reference format"
        if why != "invalid reference format":
            why = "invalid reference format: " + why
        raise InvalidImageName(f'couldn\'t parse image reference "{image}": {why}')
    registry = m.group("registry")
    path = m.group("path")
    if registry is None or ("." not in registry and ":" not in registry and registry != "localhost"):
        if registry is not None:
            path = f"{registry}/{path}"
        registry = "docker.io"
        if "/" not in path:
            path = f"library/{path}"
    tag = m.group("tag")
    digest = m.group("digest")
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef(registry, path, tag, digest, image)


@dataclass(frozen=True)
class Image:
    """One repository of the catalogue and the behaviour of what it runs.

    ``kind`` is ``server`` (runs until stopped), ``toolbox`` (runs the command the pod
    gives; busybox, alpine, ubuntu) or ``pause``. ``http`` names how a server answers
    HTTP (see :mod:`k8slab.node.runtime`). ``stop_seconds`` is how quickly the program
    exits on SIGTERM (``None``: it ignores SIGTERM, as PID 1 without a handler does,
    and is killed when the grace period ends).
    """

    repository: str
    tags: str  # regular expression of the tags that exist
    size: int  # compressed bytes (what "Image size" reports)
    kind: str = "toolbox"
    entrypoint: tuple = ()
    cmd: tuple = ()
    env: tuple = (("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),)
    workdir: str = "/"
    ports: tuple = ()
    http: str | None = None
    startup: tuple = ()  # (seconds after start, stream, line); {ts} style placeholders
    ready_after: float = 0.1  # seconds until the server listens
    memory: int = 2 * MiB  # working set (bytes)
    stop_seconds: float | None = None
    stop_code: int = 0
    shell: str | None = "sh"  # None: a scratch / distroless image without a shell
    files: tuple = ()  # (path, content) shipped in the image
    preloaded: bool = False  # present on every node from boot (kind's node image)
    requires_env: tuple = ()  # env vars without which the server refuses to start
    missing_env_log: tuple = ()
    version: str = ""

    def has_tag(self, tag: str | None) -> bool:
        return tag is None or re.fullmatch(self.tags, tag) is not None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def image_digest(ref: ImageRef) -> str:
    """The repo digest of a tag: ``sha256:<64 hex>`` (stable, derived from the name)."""
    return ref.digest or "sha256:" + _digest("manifest:" + ref.key)


def image_id(ref: ImageRef) -> str:
    """The image (config) id, ``sha256:<64 hex>``."""
    return "sha256:" + _digest("config:" + (ref.digest or ref.key))


def image_size(ref: ImageRef, img: Image) -> int:
    # Tags of one repository differ a little in size; derive it from the tag name.
    jitter = int(_digest("size:" + ref.key)[:6], 16) % 2_000_000
    return img.size + jitter


def pull_seconds(ref: ImageRef) -> float:
    """Virtual seconds a first pull of ``ref`` takes (unknown images: the failed resolve)."""
    img = lookup(ref)
    if img is None:
        return NOT_FOUND_SECONDS
    return round(PULL_OVERHEAD + image_size(ref, img) / PULL_BANDWIDTH, 3)


# -- the catalogue --------------------------------------------------------------------------

_NGINX_INDEX = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""

_NGINX_STARTUP = (
    (0.0, "stdout", "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"),
    (0.0, "stdout", "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/"),
    (0.0, "stdout", "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh"),
    (0.01, "stdout", "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf"),
    (0.02, "stdout", "/docker-entrypoint.sh: Configuration complete; ready for start up"),
    (0.03, "stderr", "{nginxts} [notice] 1#1: using the \"epoll\" event method"),
    (0.03, "stderr", "{nginxts} [notice] 1#1: nginx/{version}"),
    (0.03, "stderr", "{nginxts} [notice] 1#1: start worker processes"),
)

_HTTPD_STARTUP = (
    (0.0, "stderr", "AH00558: httpd: Could not reliably determine the server's fully qualified domain name, "
                    "using {ip}. Set the 'ServerName' directive globally to suppress this message"),
    (0.02, "stderr", "[{httpdts}] [mpm_event:notice] [pid 1:tid 1] AH00489: Apache/{version} (Unix) configured "
                     "-- resuming normal operations"),
    (0.02, "stderr", "[{httpdts}] [core:notice] [pid 1:tid 1] AH00094: Command line: 'httpd -D FOREGROUND'"),
)

_REDIS_STARTUP = (
    (0.0, "stdout", "1:C {redists} * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"),
    (0.0, "stdout", "1:C {redists} * Redis version={version}, bits=64, commit=00000000, modified=0, pid=1, just started"),
    (0.01, "stdout", "1:M {redists} * Running mode=standalone, port=6379."),
    (0.02, "stdout", "1:M {redists} * Server initialized"),
    (0.02, "stdout", "1:M {redists} * Ready to accept connections tcp"),
)

_POSTGRES_STARTUP = (
    (0.0, "stdout", "The files belonging to this database system will be owned by user \"postgres\"."),
    (1.5, "stdout", "PostgreSQL init process complete; ready for start up."),
    (1.6, "stderr", "{pgts} UTC [1] LOG:  starting PostgreSQL {version} on x86_64-pc-linux-gnu"),
    (1.6, "stderr", "{pgts} UTC [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432"),
    (1.7, "stderr", "{pgts} UTC [1] LOG:  database system is ready to accept connections"),
)

_MYSQL_STARTUP = (
    (0.0, "stdout", "{mysqlts}+00:00 [Note] [Entrypoint]: Entrypoint script for MySQL Server {version}-1.el9 started."),
    (0.1, "stdout", "{mysqlts}+00:00 [Note] [Entrypoint]: Initializing database files"),
    (9.0, "stdout", "{mysqlts}+00:00 [Note] [Entrypoint]: MySQL init process done. Ready for start up."),
    (9.5, "stderr", "{mysqlts}Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. "
                    "Version: '{version}'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL."),
)

_K8S_TAG = re.escape(KUBERNETES_VERSION)
_GO_LOG = "{klogts}       1 {source}] {msg}"


def _klog(msg: str, source: str = "server.go:100", at: float = 0.0) -> tuple:
    return (at, "stderr", _GO_LOG.replace("{source}", source).replace("{msg}", msg))


_CATALOGUE: tuple[Image, ...] = (
    Image("docker.io/library/nginx", r"latest|stable|mainline|alpine|(stable|mainline)-alpine|1\.(1[0-9]|2[0-7])(\.\d+)?(-alpine|-perl|-bookworm)?",
          71 * 1000 * 1000, "server", ("/docker-entrypoint.sh",), ("nginx", "-g", "daemon off;"),
          env=(("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), ("NGINX_VERSION", "{version}")),
          ports=(80,), http="nginx", startup=_NGINX_STARTUP, memory=9 * MiB, stop_seconds=0.1,
          files=(("/usr/share/nginx/html/index.html", _NGINX_INDEX),
                 ("/usr/share/nginx/html/50x.html", "<!DOCTYPE html>\n<html>\n<head>\n<title>Error</title>\n</head>\n"
                  "<body>\n<h1>An error occurred.</h1>\n</body>\n</html>\n"),
                 ("/etc/nginx/nginx.conf", "user  nginx;\nworker_processes  auto;\n"),
                 ("/etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
                  'VERSION_ID="12"\nID=debian\n')),
          version="1.27.0"),
    # the StatefulSet tutorial's web server (kubernetes.io "StatefulSet Basics")
    Image("registry.k8s.io/nginx-slim", r"0\.(8|2[0-7])", 26 * 1000 * 1000, "server", (), ("nginx", "-g", "daemon off;"),
          ports=(80,), http="nginx", memory=4 * MiB, stop_seconds=0.1,
          files=(("/usr/share/nginx/html/index.html", _NGINX_INDEX),), version="1.25.3"),
    Image("docker.io/library/httpd", r"latest|alpine|2(\.4(\.\d+)?)?(-alpine)?", 58 * 1000 * 1000, "server",
          (), ("httpd-foreground",), ports=(80,), http="httpd", startup=_HTTPD_STARTUP, memory=6 * MiB,
          stop_seconds=0.2,
          files=(("/usr/local/apache2/htdocs/index.html", "<html><body><h1>It works!</h1></body></html>\n"),),
          workdir="/usr/local/apache2", version="2.4.62"),
    Image("docker.io/library/redis", r"latest|alpine|[67](\.\d+){0,2}(-alpine)?", 45 * 1000 * 1000, "server",
          ("docker-entrypoint.sh",), ("redis-server",), ports=(6379,), http="tcp", startup=_REDIS_STARTUP,
          memory=4 * MiB, stop_seconds=0.1, workdir="/data", version="7.2.5"),
    Image("docker.io/library/postgres", r"latest|alpine|1[2-7](\.\d+)?(-alpine)?", 150 * 1000 * 1000, "server",
          ("docker-entrypoint.sh",), ("postgres",), ports=(5432,), http="tcp", startup=_POSTGRES_STARTUP,
          ready_after=1.7, memory=30 * MiB, stop_seconds=0.5,
          requires_env=(("POSTGRES_PASSWORD", "POSTGRES_HOST_AUTH_METHOD"),),
          missing_env_log=(
              "Error: Database is uninitialized and superuser password is not specified.",
              "       You must specify POSTGRES_PASSWORD to a non-empty value for the",
              "       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\".",
          ), version="16.3"),
    Image("docker.io/library/mysql", r"latest|lts|[58](\.\d+){0,2}", 170 * 1000 * 1000, "server",
          ("docker-entrypoint.sh",), ("mysqld",), ports=(3306,), http="tcp", startup=_MYSQL_STARTUP,
          ready_after=9.5, memory=360 * MiB, stop_seconds=1.0,
          requires_env=(("MYSQL_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD"),),
          missing_env_log=(
              "{mysqlts}+00:00 [ERROR] [Entrypoint]: Database is uninitialized and password option is not specified",
              "    You need to specify one of the following as an environment variable:",
              "    - MYSQL_ROOT_PASSWORD",
              "    - MYSQL_ALLOW_EMPTY_PASSWORD",
              "    - MYSQL_RANDOM_ROOT_PASSWORD",
          ), version="8.4.0"),
    Image("docker.io/library/busybox", r"latest|stable|musl|glibc|uclibc|1\.(2\d|3[0-7])(\.\d+)?(-musl|-glibc|-uclibc)?",
          2_150_000, "toolbox", (), ("sh",), memory=1 * MiB, version="1.36.1"),
    Image("docker.io/library/alpine", r"latest|edge|3(\.\d+){0,2}", 3_600_000, "toolbox", (), ("/bin/sh",),
          memory=1 * MiB, files=(("/etc/os-release", 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.0\n'
                                  'PRETTY_NAME="Alpine Linux v3.20"\n'),), version="3.20.0"),
    Image("docker.io/library/ubuntu", r"latest|rolling|jammy|noble|focal|2[024]\.04", 29_700_000, "toolbox", (),
          ("/bin/bash",), shell="bash", memory=2 * MiB,
          files=(("/etc/os-release", 'PRETTY_NAME="Ubuntu 24.04 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\n'),),
          version="24.04"),
    Image("docker.io/library/debian", r"latest|bookworm(-slim)?|bullseye(-slim)?|1[12](\.\d+)?(-slim)?", 49_000_000,
          "toolbox", (), ("bash",), shell="bash", memory=2 * MiB,
          files=(("/etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
                  'VERSION_ID="12"\nID=debian\n'),), version="12"),
    Image("docker.io/library/python", r"latest|alpine|slim|3(\.\d+){0,2}(-slim|-alpine|-bookworm|-slim-bookworm)?",
          390_000_000, "toolbox", (), ("python3",), shell="bash", memory=12 * MiB,
          env=(("PATH", "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"), ("LANG", "C.UTF-8"),
               ("PYTHON_VERSION", "3.12.4")), version="3.12.4"),
    Image("docker.io/library/perl", r"latest|slim|5(\.\d+){0,2}(-slim)?", 335_000_000, "toolbox", (), ("perl5.40.0", "-de0"),
          shell="bash", memory=8 * MiB, version="5.40.0"),
    Image("docker.io/curlimages/curl", r"latest|\d+\.\d+\.\d+", 10_500_000, "toolbox", ("/entrypoint.sh",), ("curl",),
          memory=2 * MiB, version="8.8.0"),
    Image("docker.io/polinux/stress", r"latest|1\.0\.4", 4_000_000, "toolbox", (), ("stress",), memory=1 * MiB),
    Image("docker.io/hashicorp/http-echo", r"latest|0\.2\.3|1\.0(\.0)?", 3_500_000, "server", ("/http-echo",), (),
          ports=(5678,), http="http-echo", shell=None, memory=3 * MiB, stop_seconds=0.05, version="1.0.0",
          startup=((0.0, "stderr", "{gots} [INFO] server is listening on :5678"),)),
    Image("gcr.io/google-samples/hello-app", r"1\.0|2\.0", 11_000_000, "server", ("./hello-app",), (), ports=(8080,),
          http="hello-app", shell=None, memory=3 * MiB, stop_seconds=0.05,
          startup=((0.0, "stderr", "{gots} Server listening on port 8080"),)),
    Image("us-docker.pkg.dev/google-samples/containers/gke/hello-app", r"1\.0|2\.0", 11_000_000, "server",
          ("./hello-app",), (), ports=(8080,), http="hello-app", shell=None, memory=3 * MiB, stop_seconds=0.05,
          startup=((0.0, "stderr", "{gots} Server listening on port 8080"),)),
    Image("registry.k8s.io/e2e-test-images/agnhost", r"2\.(3\d|4\d|5[0-3])", 51_000_000, "server", ("/agnhost",), ("pause",),
          ports=(), http="agnhost", memory=5 * MiB, stop_seconds=0.05, version="2.52"),
    Image("docker.io/kicbase/echo-server", r"latest|1\.0", 2_700_000, "server", ("/echo-server",), (), ports=(8080,),
          http="echo-server", shell=None, memory=2 * MiB, stop_seconds=0.05,
          startup=((0.0, "stdout", "Echo server listening on port 8080."),)),
    Image("docker.io/traefik/whoami", r"latest|v1\.\d+(\.\d+)?", 3_000_000, "server", ("/whoami",), (), ports=(80,),
          http="whoami", shell=None, memory=2 * MiB, stop_seconds=0.05,
          startup=((0.0, "stderr", "{gots} Starting up on port 80"),)),
    Image("docker.io/k8slab/echo", r"latest|1\.0", 2_500_000, "server", ("/echo",), (), ports=(8080,),
          http="k8slab-echo", memory=2 * MiB, stop_seconds=0.05,
          startup=((0.0, "stdout", "echo: listening on :8080"),)),
    # -- what kind's node image ships, present on every node from boot --
    Image("registry.k8s.io/pause", r"3\.\d+", 321_520, "pause", ("/pause",), (), shell=None, memory=256 * 1024,
          stop_seconds=0.0, preloaded=True),
    Image("registry.k8s.io/etcd", r"3\.5\.\d+-0", 57_000_000, "server", (), ("etcd",), ports=(2379, 2380, 2381),
          http="health", shell=None, memory=40 * MiB, stop_seconds=0.2, preloaded=True,
          startup=((0.0, "stderr", '{{"level":"info","ts":"{isots}","caller":"etcdmain/etcd.go:73",'
                                   '"msg":"Running: ","args":["etcd"]}}'),
                   (0.2, "stderr", '{{"level":"info","ts":"{isots}","caller":"embed/serve.go:187",'
                                   '"msg":"serving client traffic securely","address":"127.0.0.1:2379"}}'))),
    Image("registry.k8s.io/kube-apiserver", _K8S_TAG, 32_000_000, "server", (), ("kube-apiserver",), ports=(6443,),
          http="health", shell=None, memory=250 * MiB, stop_seconds=0.5, preloaded=True,
          startup=(_klog("Version: " + KUBERNETES_VERSION, "options.go:221"),
                   _klog("Serving securely on [::]:6443", "secure_serving.go:213", 0.4))),
    Image("registry.k8s.io/kube-controller-manager", _K8S_TAG, 31_000_000, "server", (), ("kube-controller-manager",),
          ports=(10257,), http="health", shell=None, memory=50 * MiB, stop_seconds=0.2, preloaded=True,
          startup=(_klog("Version: " + KUBERNETES_VERSION, "controllermanager.go:189"),
                   _klog("Started \"nodelifecycle\"", "controllermanager.go:759", 0.3))),
    Image("registry.k8s.io/kube-scheduler", _K8S_TAG, 19_000_000, "server", (), ("kube-scheduler",),
          ports=(10259,), http="health", shell=None, memory=20 * MiB, stop_seconds=0.2, preloaded=True,
          startup=(_klog("Starting Kubernetes Scheduler", "server.go:154", 0.1),)),
    Image("registry.k8s.io/kube-proxy", _K8S_TAG, 28_000_000, "server", ("/usr/local/bin/kube-proxy",), (),
          ports=(10256,), http="health", memory=15 * MiB, stop_seconds=0.1, preloaded=True,
          startup=(_klog("Using iptables Proxier", "server_linux.go:165"),)),
    Image("registry.k8s.io/coredns/coredns", r"v1\.1[01]\.\d+", 16_000_000, "server", ("/coredns",), (),
          ports=(53, 8080, 8181, 9153), http="health", shell=None, memory=15 * MiB, stop_seconds=5.0, preloaded=True,
          startup=((0.0, "stdout", ".:53"), (0.0, "stdout", "[INFO] plugin/reload: Running configuration SHA512 = 591cf3"),
                   (0.0, "stdout", "CoreDNS-1.11.1"), (0.0, "stdout", "linux/amd64, go1.20.7, ae2bbc2"))),
    Image("docker.io/kindest/kindnetd", r"v2024\d{4}-[0-9a-f]{8}", 25_000_000, "server", ("/bin/kindnetd",), (),
          memory=10 * MiB, stop_seconds=0.1, preloaded=True, shell=None,
          startup=((0.0, "stderr", "{klogts}       1 main.go:116] setting mtu 1500 for CNI"),)),
    Image("registry.k8s.io/ingress-nginx/controller", r"v1\.\d+\.\d+", 105_000_000, "server", ("/nginx-ingress-controller",),
          (), ports=(80, 443, 10254), http="ingress", memory=90 * MiB, stop_seconds=1.0,
          startup=(_klog("Starting NGINX Ingress controller", "main.go:205"),)),
)

_BY_REPOSITORY = {img.repository: img for img in _CATALOGUE}

#: What kind's node image has on every node before anything is pulled.
PRELOADED = (
    "registry.k8s.io/pause:3.9",
    "registry.k8s.io/etcd:3.5.12-0",
    f"registry.k8s.io/kube-apiserver:{KUBERNETES_VERSION}",
    f"registry.k8s.io/kube-controller-manager:{KUBERNETES_VERSION}",
    f"registry.k8s.io/kube-scheduler:{KUBERNETES_VERSION}",
    f"registry.k8s.io/kube-proxy:{KUBERNETES_VERSION}",
    "registry.k8s.io/coredns/coredns:v1.11.1",
    "docker.io/kindest/kindnetd:v20240513-cd2ac642",
)

#: The sandbox ("infra") image every pod gets.
PAUSE_IMAGE = "registry.k8s.io/pause:3.9"


def lookup(ref: ImageRef | str) -> Image | None:
    """The catalogue entry for ``ref``, or ``None`` when the repository or tag does not exist."""
    if isinstance(ref, str):
        ref = normalize(ref)
    img = _BY_REPOSITORY.get(ref.repository)
    if img is None or not img.has_tag(ref.tag):
        return None
    return img


def repository_known(ref: ImageRef) -> bool:
    return ref.repository in _BY_REPOSITORY


def catalogue() -> list[str]:
    """The repositories k8slab knows, sorted."""
    return sorted(_BY_REPOSITORY)


def pull_error(ref: ImageRef, runtime: str = "containerd") -> str:
    """The error a runtime reports for an image it cannot pull (as kubelet v1.30 shows it)."""
    if runtime == "docker":
        if repository_known(ref):
            return f"Error response from daemon: manifest for {ref.given} not found: manifest unknown: manifest unknown"
        short = ref.given.split(":")[0]
        return (f"Error response from daemon: pull access denied for {short}, repository does not exist or may "
                "require 'docker login': denied: requested access to the resource is denied")
    if runtime == "cri-o":
        if repository_known(ref):
            return f"reading manifest {ref.tag} in {ref.repository}: manifest unknown"
        return (f"initializing source docker://{ref.full}: reading manifest {ref.tag or 'latest'} in {ref.repository}: "
                "requested access to the resource is denied")
    if repository_known(ref):
        return (f'failed to pull and unpack image "{ref.full}": failed to resolve reference "{ref.full}": '
                f"{ref.full}: not found")
    return (f'failed to pull and unpack image "{ref.full}": failed to resolve reference "{ref.full}": pull access '
            "denied, repository does not exist or may require authorization: server message: insufficient_scope: "
            "authorization failed")


@dataclass
class ImageRecord:
    """An image stored on a node (one entry of ``crictl images`` / node ``status.images``)."""

    ref: ImageRef
    image: Image
    id: str
    size: int
    names: list = field(default_factory=list)

    @property
    def repo_digest(self) -> str:
        return f"{self.ref.repository}@{image_digest(self.ref)}"
