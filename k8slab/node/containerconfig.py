"""What the kubelet hands the runtime for each container: argv, environment, files and mounts.

* **Environment**: the image's ``ENV``, ``HOSTNAME``, the ``kubernetes`` Service
  variables, then ``envFrom`` and ``env`` of the spec (values, ``$(VAR)``
  references to earlier ones, ``fieldRef``, ``resourceFieldRef``,
  ``configMapKeyRef``, ``secretKeyRef``). A missing ConfigMap or Secret makes the
  container fail with ``CreateContainerConfigError``.
* **Command line**: Kubernetes' ``command`` / ``args`` over the image's
  ``ENTRYPOINT`` / ``CMD``, with ``$(VAR)`` expanded.
* **Files**: the kubelet-managed ``/etc/hosts``, ``/etc/hostname``,
  ``/etc/resolv.conf``; volumes (``emptyDir`` shared by the pod's containers,
  ``configMap`` / ``secret`` / ``downwardAPI`` / ``projected`` files,
  ``hostPath`` shared on the node, ``persistentVolumeClaim`` data that outlives the pod).

Simplified: ConfigMap/Secret files are read once, when the pod starts (the real
kubelet refreshes them within about a minute); only the ``kubernetes`` Service gets
``*_SERVICE_HOST`` variables (not every Service of the namespace).
"""

from __future__ import annotations

import base64
import weakref

from k8slab.api import errors
from k8slab.api.objects import owner_reference
from k8slab.api.quantity import cpu_millis, to_bytes
from k8slab.network.dns import resolv_conf as dns_resolv_conf
from k8slab.node.images import lookup, normalize
from k8slab.node.program import Volume, container_argv, expand_env_refs
from k8slab.node.runtime import new_volume
from k8slab.sim.loop import timestamp

CLUSTER_DOMAIN = "cluster.local"
CLUSTER_DNS = "10.96.0.10"
KUBERNETES_SERVICE_IP = "10.96.0.1"

_SERVICE_ENV = {
    "KUBERNETES_PORT": f"tcp://{KUBERNETES_SERVICE_IP}:443",
    "KUBERNETES_PORT_443_TCP": f"tcp://{KUBERNETES_SERVICE_IP}:443",
    "KUBERNETES_PORT_443_TCP_ADDR": KUBERNETES_SERVICE_IP,
    "KUBERNETES_PORT_443_TCP_PORT": "443",
    "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
    "KUBERNETES_SERVICE_HOST": KUBERNETES_SERVICE_IP,
    "KUBERNETES_SERVICE_PORT": "443",
    "KUBERNETES_SERVICE_PORT_HTTPS": "443",
}

# Data of persistent volumes lives outside any node ("network storage"), one store per API server.
_DISKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class ConfigError(Exception):
    """The container cannot be configured (``CreateContainerConfigError``)."""


class MountError(Exception):
    """A volume cannot be set up (``FailedMount``)."""

    def __init__(self, volume: str, message: str):
        super().__init__(message)
        self.volume = volume


def pod_hostname(pod: dict) -> str:
    spec = pod.get("spec") or {}
    return spec.get("hostname") or pod["metadata"]["name"][:63]


def hosts_file(pod: dict, ip: str) -> str:
    """The ``/etc/hosts`` the kubelet writes for a pod."""
    spec = pod.get("spec") or {}
    lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             "fe00::0\tip6-localnet", "fe00::0\tip6-mcastprefix", "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"]
    host = pod_hostname(pod)
    if spec.get("subdomain"):
        ns = pod["metadata"].get("namespace", "default")
        lines.append(f"{ip}\t{host}.{spec['subdomain']}.{ns}.svc.{CLUSTER_DOMAIN}\t{host}")
    else:
        lines.append(f"{ip}\t{host}")
    aliases = spec.get("hostAliases") or []
    if aliases:
        lines += ["", "# Entries added by HostAliases."]
        for a in aliases:
            lines.append(f"{a.get('ip')}\t" + "\t".join(a.get("hostnames") or []))
    return "\n".join(lines) + "\n"


def search_domains(pod: dict) -> list[str]:
    ns = pod["metadata"].get("namespace", "default")
    return [f"{ns}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN]


def resolv_conf(pod: dict) -> str:
    """The file the kubelet writes: the same one the cluster's resolver reads (dnsPolicy, dnsConfig)."""
    return dns_resolv_conf(pod)


# -- volumes ------------------------------------------------------------------------------------------


def _get(worker, resource: str, name: str):
    try:
        return worker.k.client.get(resource, name, worker.namespace)
    except errors.NotFound:
        return None


def _data_of(obj: dict, secret: bool) -> dict:
    data = {}
    for k, v in (obj.get("data") or {}).items():
        data[k] = base64.b64decode(v).decode(errors="replace") if secret else v
    if secret:
        for k, v in (obj.get("stringData") or {}).items():
            data[k] = v
    return data


def _config_data(worker, secret: bool, name, optional, fail, get=None) -> dict | None:
    """The (decoded) data of the ConfigMap or Secret called ``name``.

    ``None`` when it is missing and ``optional``; otherwise a missing one raises
    ``fail(message)`` with the kubelet's message (``configmap "x" not found``).
    ``get(resource, name)`` reads it (default: a GET from the API server).
    """
    obj = (get or (lambda resource, n: _get(worker, resource, n)))("secrets" if secret else "configmaps", name or "")
    if obj is None:
        if optional:
            return None
        raise fail(f'{"secret" if secret else "configmap"} "{name}" not found')
    return _data_of(obj, secret)


def _key_files(data: dict, items, prefix: str = "") -> dict:
    files = {}
    if items:
        for it in items:
            if it.get("key") in data:
                files["/" + prefix + it.get("path", it["key"])] = data[it["key"]]
    else:
        for k, v in data.items():
            files["/" + prefix + k] = v
    return files


def _field_value(pod: dict, path: str, ip: str = "") -> str:
    m = pod["metadata"]
    if path == "metadata.name":
        return m["name"]
    if path == "metadata.namespace":
        return m.get("namespace", "default")
    if path == "metadata.uid":
        return m.get("uid", "")
    if path in ("metadata.labels", "metadata.annotations"):
        d = m.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(d.items()))
    if path.startswith("metadata.labels['") or path.startswith("metadata.annotations['"):
        kind, key = path[len("metadata."):].split("['", 1)
        return (m.get(kind) or {}).get(key.rstrip("']"), "")
    spec = pod.get("spec") or {}
    if path == "spec.nodeName":
        return spec.get("nodeName", "")
    if path == "spec.serviceAccountName":
        return spec.get("serviceAccountName", "default")
    if path in ("status.podIP", "status.podIPs"):
        return ip
    if path in ("status.hostIP", "status.hostIPs"):
        return (pod.get("status") or {}).get("hostIP", "")
    return ""


def _resource_value(spec: dict, ref: dict, node_alloc: dict) -> str:
    resource = ref.get("resource", "")
    res = spec.get("resources") or {}
    kind, _, name = resource.partition(".")
    value = (res.get(kind) or {}).get(name)
    divisor = ref.get("divisor", "1")
    if name == "cpu":
        millis = cpu_millis(value) if value is not None else (node_alloc["cpu"] if kind == "limits" else 0)
        div = cpu_millis(divisor) or 1000
        return str(-(-millis // div))
    b = to_bytes(value) if value is not None else (node_alloc["memory"] if kind == "limits" else 0)
    return str(-(-b // (to_bytes(divisor) or 1)))


def pod_volumes(worker) -> dict[str, Volume]:
    """Set up the pod's volumes (raises :class:`MountError` when a source is missing)."""
    pod = worker.pod
    out: dict[str, Volume] = {}
    for vol in (pod.get("spec") or {}).get("volumes") or ():
        name = vol["name"]
        if "emptyDir" in vol:
            out[name] = new_volume(f"emptyDir:{name}")
        elif "configMap" in vol or "secret" in vol:
            secret = "configMap" not in vol
            out[name] = new_volume(f"{'secret' if secret else 'configMap'}:{name}", _config_volume_files(worker, vol),
                                   True)
        elif "downwardAPI" in vol:
            files = {"/" + it["path"]: _field_value(pod, (it.get("fieldRef") or {}).get("fieldPath", ""))
                     for it in vol["downwardAPI"].get("items") or () if it.get("fieldRef")}
            out[name] = new_volume(f"downwardAPI:{name}", files, True)
        elif "projected" in vol:
            files = {}
            for src in vol["projected"].get("sources") or ():
                if "configMap" in src or "secret" in src:
                    secret = "configMap" not in src
                    ref = src["secret" if secret else "configMap"]
                    data = _config_data(worker, secret, ref.get("name"), ref.get("optional"),
                                        lambda msg, vol_name=name: MountError(vol_name, msg))
                    if data is not None:
                        files.update(_key_files(data, ref.get("items")))
                elif "serviceAccountToken" in src:
                    # asked for once every other source is there (a failed mount is retried)
                    files["/" + src["serviceAccountToken"].get("path", "token")] = src["serviceAccountToken"]
                elif "downwardAPI" in src:
                    for it in src["downwardAPI"].get("items") or ():
                        if it.get("fieldRef"):
                            files["/" + it["path"]] = _field_value(pod, it["fieldRef"].get("fieldPath", ""))
            for path, v in list(files.items()):
                if isinstance(v, dict):
                    files[path] = _token(worker, v)
                    _refresh_later(worker, files, path, v)
            out[name] = new_volume(f"projected:{name}", files, True)
        elif "hostPath" in vol:
            path = vol["hostPath"].get("path", "/")
            host = worker.k.host_volumes
            if path not in host:
                host[path] = new_volume(f"hostPath:{path}")
            out[name] = host[path]
        elif "persistentVolumeClaim" in vol:
            # The volume manager mounts only a claim bound to a volume (getPVCExtractPV), and the
            # data lives on that PersistentVolume's disk: it outlives every pod that mounts it.
            source = vol["persistentVolumeClaim"]
            claim = source.get("claimName", "")
            pvc = _get(worker, "persistentvolumeclaims", claim)
            problem = f"error processing PVC {worker.namespace}/{claim}"
            if pvc is None:
                raise MountError(name, f"{problem}: failed to fetch PVC from API server: "
                                       f'persistentvolumeclaims "{claim}" not found')
            if pvc["metadata"].get("deletionTimestamp"):
                raise MountError(name, f"{problem}: PVC is being deleted")
            if (pvc.get("status") or {}).get("phase") != "Bound":
                raise MountError(name, f"{problem}: PVC is not bound")
            pv_name = (pvc.get("spec") or {}).get("volumeName")
            if not pv_name:
                raise MountError(name, f"{problem}: PVC has empty pvc.Spec.VolumeName")
            disks = _DISKS.setdefault(worker.k.api, {})
            if pv_name not in disks:
                disks[pv_name] = new_volume(f"pv:{pv_name}")
            out[name] = _ReadOnlyView(disks[pv_name]) if source.get("readOnly") else disks[pv_name]
        else:
            out[name] = new_volume(f"{name}")
    return out


def _config_volume_files(worker, vol: dict, get=None) -> dict | None:
    """The files of a ``configMap`` or ``secret`` volume: one per key (or per listed item)."""
    secret = "configMap" not in vol
    src = vol["secret" if secret else "configMap"]
    data = _config_data(worker, secret, src.get("secretName" if secret else "name"), src.get("optional"),
                        lambda msg, vol_name=vol["name"]: MountError(vol_name, msg), get)
    return None if data is None else _key_files(data, src.get("items"))


def refresh_config_volumes(worker, now: float) -> list[str]:
    """The kubelet's periodic pod sync for ConfigMap and Secret volumes: rewrite the files whose
    source changed since they were written (keys added, changed or removed); returns the volumes changed.
    The sources come from the kubelet's watches on them, so a sync sends no request.

    A source that has gone missing leaves the files as they are, as the real kubelet does.
    """
    changed = []
    for vol in (worker.pod.get("spec") or {}).get("volumes") or ():
        if "configMap" not in vol and "secret" not in vol:
            continue
        volume = worker.volumes.get(vol["name"])
        if volume is None:
            continue
        watched = getattr(worker.k, "watched", None)
        get = None
        if watched is not None:
            def get(resource, name, watched=watched):
                return watched(resource, worker.namespace, name)
        try:
            files = _config_volume_files(worker, vol, get) or {}
        except MountError:
            continue
        old = {p for p in volume._paths() if volume.read(p, now) is not None}
        updates = {p: c for p, c in files.items() if volume.read(p, now) != c}
        updates.update({p: None for p in old - set(files)})
        for path, content in sorted(updates.items()):
            volume.write(path, content, now, None)
        if updates:
            changed.append(vol["name"])
    return changed


def _token(worker, source: dict) -> str:
    """The token file of a ``serviceAccountToken`` projection: a bound token from the TokenRequest API.

    The kubelet asks for it on behalf of the pod (bound to the pod, so it dies with it),
    with the projection's audience and lifetime. A cluster without the TokenRequest API
    (a bare API server in a test) gets a token-shaped placeholder naming the account.
    """
    pod = worker.pod
    sa = (pod.get("spec") or {}).get("serviceAccountName", "default")
    ns = pod["metadata"].get("namespace", "default")
    tokens = getattr(worker.k.api, "service_account_tokens", None)
    if tokens is not None:
        audience = source.get("audience")
        try:
            tr = tokens.request(ns, sa, expiration_seconds=int(source.get("expirationSeconds") or 3600),
                                audiences=[audience] if audience else None, bound_pod=pod["metadata"]["name"])
            return tr["status"]["token"]
        except errors.ApiError as e:
            raise MountError(source.get("path", "token"), f"failed to fetch token: {e.message}") from None
    payload = base64.urlsafe_b64encode(f'{{"sub":"system:serviceaccount:{ns}:{sa}"}}'.encode()).decode().rstrip("=")
    return "eyJhbGciOiJSUzI1NiIsImtpZCI6Ims4c2xhYiJ9." + payload + ".c2lnbmF0dXJl"


def _refresh_later(worker, files: dict, path: str, source: dict) -> None:
    # the kubelet's token manager replaces a token once 80% of its lifetime has passed
    if getattr(worker.k.api, "service_account_tokens", None) is None:
        return
    ttl = int(source.get("expirationSeconds") or 3600)
    uid = worker.pod["metadata"].get("uid")

    def refresh():
        if worker.k.workers.get(uid) is not worker or not worker.k.running:
            return  # the pod (or the kubelet) is gone: nobody renews its token
        try:
            files[path] = _token(worker, source)
        except MountError:
            return
        _refresh_later(worker, files, path, source)

    worker.k.loop.call_later(0.8 * ttl, refresh, who=worker.k.actor,
                             what=f"renew the token of {worker.namespace}/{worker.pod['metadata'].get('name')}",
                             background=True)


# -- environment -----------------------------------------------------------------------------------------------


def container_env(worker, spec: dict, image) -> dict:
    pod = worker.pod
    env: dict[str, str] = {}
    for k, v in image.env:
        env[k] = v.replace("{version}", image.version)
    env["HOSTNAME"] = pod_hostname(pod)
    env.update(_SERVICE_ENV)
    user: dict[str, str] = {}
    for src in spec.get("envFrom") or ():
        prefix = src.get("prefix", "")
        if "configMapRef" in src or "secretRef" in src:
            secret = "configMapRef" not in src
            ref = src["secretRef" if secret else "configMapRef"]
            data = _config_data(worker, secret, ref.get("name"), ref.get("optional"), ConfigError)
            for k, v in (data or {}).items():
                user[prefix + k] = v
    ip = worker.sandbox.ip if worker.sandbox else ""
    for e in spec.get("env") or ():
        name = e.get("name")
        if "value" in e or "valueFrom" not in e:
            user[name] = expand_env_refs(str(e.get("value", "")), {**env, **user})
            continue
        vf = e["valueFrom"]
        if "fieldRef" in vf:
            user[name] = _field_value(pod, vf["fieldRef"].get("fieldPath", ""), ip)
        elif "resourceFieldRef" in vf:
            target = spec
            cname = vf["resourceFieldRef"].get("containerName")
            if cname:
                target = next((c for c in (pod.get("spec") or {}).get("containers") or () if c["name"] == cname), spec)
            user[name] = _resource_value(target, vf["resourceFieldRef"], worker.k.allocatable_of())
        elif "configMapKeyRef" in vf or "secretKeyRef" in vf:
            secret = "configMapKeyRef" not in vf
            ref = vf["secretKeyRef" if secret else "configMapKeyRef"]
            data = _config_data(worker, secret, ref.get("name"), ref.get("optional"), ConfigError)
            if data is None:
                continue
            if ref.get("key") not in data:
                if ref.get("optional"):
                    continue
                kind = "Secret" if secret else "ConfigMap"
                raise ConfigError(f"couldn't find key {ref.get('key')} in {kind} {worker.namespace}/{ref.get('name')}")
            user[name] = data[ref["key"]]
    env.update(user)
    env.setdefault("HOME", "/root")
    return env


class _World:
    """The outside world as a program in this pod sees it, through the node's data plane."""

    def __init__(self, kubelet, worker):
        self.k = kubelet
        self.worker = worker

    @property
    def pod(self) -> dict:
        # the pod as it is now: the copy a container was created from may predate its IP
        pod = self.worker.pod
        sandbox = getattr(self.worker, "sandbox", None)
        if not (pod.get("status") or {}).get("podIP") and sandbox is not None and sandbox.ip:
            pod = {**pod, "status": {**(pod.get("status") or {}), "podIP": sandbox.ip}}
        return pod

    def resolve(self, name: str):
        dp = self.k.dataplane
        if dp is None or not hasattr(dp, "resolve"):
            return None
        return dp.resolve(name, self.pod)

    def http(self, url: str, headers: dict | None = None):
        dp = self.k.dataplane
        if dp is None or not hasattr(dp, "http"):
            raise LookupError(url)
        return dp.http(url, self.pod, headers=headers)


def container_config(worker, st) -> dict:
    """The CRI ``ContainerConfig`` of container ``st`` of ``worker``'s pod."""
    spec = st.spec
    ref = normalize(spec.get("image", ""))
    image = lookup(ref)
    env = container_env(worker, spec, image)
    argv = container_argv(image, spec.get("command"), spec.get("args"))
    argv = [expand_env_refs(a, env) for a in argv]
    mounts = {}
    for vm in spec.get("volumeMounts") or ():
        vol = worker.volumes.get(vm.get("name"))
        if vol is None:
            raise ConfigError(f'cannot find volume "{vm.get("name")}" to mount into container "{st.name}"')
        if vm.get("readOnly") and not vol.read_only:
            vol = _ReadOnlyView(vol)
        mounts[vm["mountPath"].rstrip("/") or "/"] = vol
    pod = worker.pod
    ip = worker.sandbox.ip
    files = {"/etc/hosts": hosts_file(pod, ip), "/etc/hostname": pod_hostname(pod) + "\n",
             "/etc/resolv.conf": resolv_conf(pod)}
    limits = (spec.get("resources") or {}).get("limits") or {}
    return {
        "name": st.name,
        "image": spec.get("image", ""),
        "argv": argv,
        "env": env,
        "workdir": spec.get("workingDir"),
        "mounts": mounts,
        "files": files,
        "memory_limit": to_bytes(limits["memory"]) if "memory" in limits else None,
        "interactive": bool(spec.get("stdin") and spec.get("tty")) or bool(spec.get("stdin")),
        "attempt": st.restart_count + (1 if st.current is not None else 0),
        "labels": {"io.kubernetes.container.name": st.name, "io.kubernetes.pod.name": worker.name,
                   "io.kubernetes.pod.namespace": worker.namespace, "io.kubernetes.pod.uid": worker.uid},
        "world": _World(worker.k, worker),
        "nameserver": CLUSTER_DNS,
        "search": search_domains(pod),
    }


class _ReadOnlyView(Volume):
    """A read-only mount of a writable volume (``readOnly: true``)."""

    def __init__(self, vol: Volume):
        super().__init__(name=vol.name, read_only=True)
        self._vol = vol

    def read(self, path, t):
        return self._vol.read(path, t)

    def listdir(self, path, t):
        return self._vol.listdir(path, t)

    def isdir(self, path, t):
        return self._vol.isdir(path, t)

    def _paths(self):
        return self._vol._paths()

    def rollback(self, pid, after):
        pass


# -- mirror pods ------------------------------------------------------------------------------------------------


def mirror_pod(static: dict, node: dict) -> dict:
    """The API object that mirrors a static pod: same name, marked as a mirror, owned by the Node."""
    m = static["metadata"]
    ann = dict(m.get("annotations") or {})
    ann["kubernetes.io/config.mirror"] = m["uid"]
    meta = {"annotations": dict(sorted(ann.items())), "name": m["name"], "namespace": m.get("namespace", "default"),
            "ownerReferences": [owner_reference(node, controller=True)]}
    meta["ownerReferences"][0].pop("blockOwnerDeletion", None)
    if m.get("labels"):
        meta["labels"] = dict(m["labels"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": dict(static["spec"])}


__all__ = ["ConfigError", "MountError", "container_config", "mirror_pod", "pod_volumes", "timestamp"]
