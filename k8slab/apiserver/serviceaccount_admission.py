"""The ``ServiceAccount`` admission plugin: every pod runs as a ServiceAccount and gets its token.

On a pod's creation the plugin

* sets ``spec.serviceAccountName`` to ``default`` when the pod names none;
* refuses the pod when that ServiceAccount does not exist (yet): ``pods "web" is
  forbidden: error looking up service account default/default: serviceaccount
  "default" not found`` — the race a namespace created together with its pods can lose;
* unless the pod or its ServiceAccount says ``automountServiceAccountToken: false``,
  adds the projected volume ``kube-api-access-<5 random chars>`` (a bound token that
  the kubelet asks for and renews, the cluster CA from ConfigMap ``kube-root-ca.crt``,
  and the pod's namespace) and mounts it read-only at
  ``/var/run/secrets/kubernetes.io/serviceaccount`` in every container;
* copies the ServiceAccount's ``imagePullSecrets`` when the pod has none.

Mirror pods (the kubelet's copies of static pods) are left alone.

Follows ``plugin/pkg/admission/serviceaccount/admission.go`` of Kubernetes v1.30.

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
...              "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
>>> pod = c.get("pod", "p")
>>> pod["spec"]["serviceAccountName"], pod["spec"]["containers"][0]["volumeMounts"][0]["mountPath"]
('default', '/var/run/secrets/kubernetes.io/serviceaccount')
>>> [sorted(s) for s in pod["spec"]["volumes"][0]["projected"]["sources"]]
[['serviceAccountToken'], ['configMap'], ['downwardAPI']]
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.names import random_suffix
from k8slab.apiserver.admission import AdmissionPlugin

DEFAULT_SERVICE_ACCOUNT = "default"
#: Where the token, ``ca.crt`` and ``namespace`` files appear in each container.
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
#: ``WarnOnlyBoundTokenExpirationSeconds``: a little over an hour, so the API server can tell
#: (and warn about) clients that keep using a token the kubelet has already replaced.
TOKEN_EXPIRATION_SECONDS = 3607
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def api_access_volume(name: str) -> dict:
    """The projected volume the plugin adds (``kube-api-access-<suffix>``), as a real pod shows it.

    >>> [s.get("serviceAccountToken") for s in api_access_volume("kube-api-access-x")["projected"]["sources"]][0]
    {'expirationSeconds': 3607, 'path': 'token'}
    """
    return {"name": name, "projected": {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
            {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}}


def _containers(spec: dict) -> list[dict]:
    return [*(spec.get("initContainers") or ()), *(spec.get("containers") or ()),
            *(spec.get("ephemeralContainers") or ())]


def _should_automount(sa: dict, spec: dict) -> bool:
    # the pod's own setting wins over its ServiceAccount's
    if spec.get("automountServiceAccountToken") is not None:
        return bool(spec["automountServiceAccountToken"])
    if sa.get("automountServiceAccountToken") is not None:
        return bool(sa["automountServiceAccountToken"])
    return True


class ServiceAccountAdmission(AdmissionPlugin):
    """The mutating ``ServiceAccount`` plugin (see module docstring)."""

    name = "ServiceAccount"

    def __init__(self, rng):
        self._rng = rng

    def admit(self, server, req, kind, user, obj, old):
        if kind.kind != "Pod" or old is not None or req.subresource:
            return
        meta = obj.get("metadata") or {}
        if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            return
        spec = obj.setdefault("spec", {})
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = DEFAULT_SERVICE_ACCOUNT
        if spec.get("serviceAccount") != spec["serviceAccountName"]:
            spec["serviceAccount"] = spec["serviceAccountName"]  # the deprecated field mirrors it in v1
        namespace = meta.get("namespace") or "default"
        sa_name = spec["serviceAccountName"]
        kv = server.etcd.get(server.kinds.resolve("serviceaccounts").etcd_key(sa_name, namespace))
        if kv is None:
            raise errors.Forbidden(
                f'pods "{meta.get("name", "")}" is forbidden: error looking up service account '
                f'{namespace}/{sa_name}: serviceaccount "{sa_name}" not found', "pods", meta.get("name"))
        sa = kv.value
        if _should_automount(sa, spec):
            self._mount_token(spec)
        if not spec.get("imagePullSecrets") and sa.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [{"name": s.get("name")} for s in sa["imagePullSecrets"]]

    def _mount_token(self, spec: dict) -> None:
        containers = _containers(spec)
        # a pod that mounts something there itself keeps it
        if any(m.get("mountPath") == MOUNT_PATH for c in containers for m in c.get("volumeMounts") or ()):
            return
        volumes = spec.setdefault("volumes", [])
        taken = {v.get("name") for v in volumes}
        name = VOLUME_PREFIX + random_suffix(self._rng)
        while name in taken:
            name = VOLUME_PREFIX + random_suffix(self._rng)
        volumes.append(api_access_volume(name))
        for c in containers:
            c.setdefault("volumeMounts", []).append({"name": name, "readOnly": True, "mountPath": MOUNT_PATH})


def enable_service_account_admission(api) -> ServiceAccountAdmission:
    """Add the plugin where kube-apiserver runs it: after ``LimitRanger``, before the others."""
    plugin = ServiceAccountAdmission(api.rng.stream("serviceaccount-admission"))
    pos = next((i + 1 for i, p in enumerate(api.mutating) if p.name == "LimitRanger"), 0)
    api.mutating.insert(pos, plugin)
    return plugin


__all__ = ["MOUNT_PATH", "TOKEN_EXPIRATION_SECONDS", "ServiceAccountAdmission", "api_access_volume",
           "enable_service_account_admission"]
