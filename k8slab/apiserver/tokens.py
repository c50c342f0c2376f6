"""ServiceAccount tokens: how a pod (or a script) proves it is ``system:serviceaccount:<ns>:<name>``.

Since v1.24 a ServiceAccount gets no long-lived Secret; clients ask the API
server for a short-lived, *bound* token instead (the TokenRequest API,
``POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token``, which is what
``kubectl create token`` and the kubelet's projected token volumes do). The
token is a signed JWT naming the ServiceAccount (and the pod it is bound to); the
API server's authenticator accepts it until it expires or until that
ServiceAccount or pod is deleted, and authenticates the bearer as the user
``system:serviceaccount:<ns>:<name>`` in the groups ``system:serviceaccounts``,
``system:serviceaccounts:<ns>`` and ``system:authenticated``.

Follows ``pkg/registry/core/serviceaccount/storage/token.go`` and
``pkg/serviceaccount`` (claims.go, jwt.go) of Kubernetes v1.30.
k8slab simplifies: the signature is random bytes, not RSA; the API server's token
table is the authenticator (a token is registered when issued and removed when it
expires or its ServiceAccount or pod goes).

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
>>> admin = api.client("kubectl")
>>> _ = admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
>>> _ = admin.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder"}})
>>> tokens = ServiceAccountTokens(api)
>>> tr = tokens.request("default", "builder")
>>> tr["status"]["expirationTimestamp"]
'2025-01-01T01:00:00Z'
>>> api.client("ci", token=tr["status"]["token"]).get("serviceaccounts", "builder", "default")["metadata"]["name"]
'builder'
>>> api.tokens[tr["status"]["token"]].name
'system:serviceaccount:default:builder'
"""

from __future__ import annotations

import base64
import json

from k8slab.api import errors
from k8slab.apiserver.request import UserInfo
from k8slab.sim.loop import EPOCH, timestamp

#: The issuer kubeadm configures (``--service-account-issuer``), also the default audience.
ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600
_HEADER = {"alg": "RS256", "kid": "k8slab"}


def service_account_user(namespace: str, name: str) -> UserInfo:
    """The identity a ServiceAccount's token authenticates as."""
    return UserInfo(f"system:serviceaccount:{namespace}:{name}",
                    ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode_claims(token: str) -> dict:
    """The claims (payload) of a JWT, unverified, as ``jwt.io`` shows them.

    >>> decode_claims(_b64(b"{}") + "." + _b64(b'{"sub":"x"}') + ".sig")
    {'sub': 'x'}
    """
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class ServiceAccountTokens:
    """The TokenRequest API and the table of tokens it issued (see module docstring)."""

    def __init__(self, api, *, issuer: str = ISSUER):
        self.api = api
        self.issuer = issuer
        self._rng = api.rng.stream("serviceaccount-tokens")
        # token -> (namespace, name, bound pod uid or None)
        self.issued: dict[str, tuple[str, str, str | None]] = {}
        self._by_sa: dict[str, list[str]] = {}
        self._by_pod: dict[str, list[str]] = {}
        kinds = api.kinds
        api.etcd.watch(kinds.resolve("serviceaccounts").etcd_prefix, self._sa_changed)
        api.etcd.watch(kinds.resolve("pods").etcd_prefix, self._pod_changed)

    def __repr__(self) -> str:
        return f"ServiceAccountTokens({len(self.issued)} valid)"

    def request(self, namespace: str, name: str, *, expiration_seconds: int = DEFAULT_EXPIRATION_SECONDS,
                audiences: list[str] | None = None, bound_pod: str | None = None) -> dict:
        """Issue a token for ServiceAccount ``namespace/name`` and return the TokenRequest with its status.

        ``bound_pod`` names a pod of the namespace: the token then dies with that pod.
        """
        if expiration_seconds < MIN_EXPIRATION_SECONDS:
            raise errors.Invalid("TokenRequest", "authentication.k8s.io", name, [errors.field_cause(
                "spec.expirationSeconds",
                f"Invalid value: {expiration_seconds}: may not specify a duration less than 10 minutes")])
        sa = self._read("serviceaccounts", name, namespace)
        pod = self._read("pods", bound_pod, namespace) if bound_pod else None
        now = self.api.loop.now
        iat = int((EPOCH.timestamp()) + now)
        exp = iat + int(expiration_seconds)
        audiences = list(audiences or [self.issuer])
        kube = {"namespace": namespace,
                "serviceaccount": {"name": name, "uid": sa["metadata"].get("uid")}}
        if pod is not None:
            kube["pod"] = {"name": bound_pod, "uid": pod["metadata"].get("uid")}
        claims = {"aud": audiences, "exp": exp, "iat": iat, "iss": self.issuer,
                  "jti": self._jti(), "kubernetes.io": kube, "nbf": iat,
                  "sub": f"system:serviceaccount:{namespace}:{name}"}
        token = ".".join([_b64(json.dumps(_HEADER, separators=(",", ":")).encode()),
                          _b64(json.dumps(claims, separators=(",", ":")).encode()),
                          _b64(self._rng.getrandbits(2048).to_bytes(256, "big"))])
        self.issued[token] = (namespace, name, pod["metadata"].get("uid") if pod is not None else None)
        self._by_sa.setdefault(sa["metadata"].get("uid"), []).append(token)
        if pod is not None:
            self._by_pod.setdefault(pod["metadata"].get("uid"), []).append(token)
        self.api.add_token(token, service_account_user(namespace, name))
        self.api.loop.call_at(now + expiration_seconds, self.revoke, token, who="kube-apiserver",
                              what=f"token of {namespace}/{name} expires", background=True)
        spec: dict = {"audiences": audiences, "expirationSeconds": int(expiration_seconds)}
        if pod is not None:
            spec["boundObjectRef"] = {"apiVersion": "v1", "kind": "Pod", "name": bound_pod,
                                      "uid": pod["metadata"].get("uid")}
        return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "metadata": {"creationTimestamp": None, "name": name, "namespace": namespace},
                "spec": spec, "status": {"expirationTimestamp": timestamp(now + expiration_seconds),
                                         "token": token}}

    def revoke(self, token: str) -> None:
        """Stop accepting ``token``."""
        self.issued.pop(token, None)
        self.api.tokens.pop(token, None)

    def _read(self, resource: str, name: str, namespace: str) -> dict:
        kind = self.api.kinds.resolve(resource)
        kv = self.api.etcd.get(kind.etcd_key(name, namespace))
        if kv is None:
            raise errors.NotFound(kind.group_resource, name)
        return kv.value

    def _jti(self) -> str:
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"

    def _sa_changed(self, ev) -> None:
        if ev.type == "DELETE":
            for token in self._by_sa.pop(ev.kv.value["metadata"].get("uid"), ()):
                self.revoke(token)

    def _pod_changed(self, ev) -> None:
        if ev.type == "DELETE" and self._by_pod:
            for token in self._by_pod.pop(ev.kv.value["metadata"].get("uid"), ()):
                self.revoke(token)


__all__ = ["ISSUER", "ServiceAccountTokens", "decode_claims", "service_account_user"]
