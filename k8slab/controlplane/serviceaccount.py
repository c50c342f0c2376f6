"""Two controllers that furnish every namespace: its ``default`` ServiceAccount and the cluster's CA.

* The **ServiceAccount controller** (``serviceaccount-controller``) makes sure each
  active namespace has a ServiceAccount named ``default`` — the identity of every pod
  that names none — and puts it back if it is deleted.
* The **root CA certificate publisher** (``root-ca-certificate-publisher-controller``)
  keeps a ConfigMap ``kube-root-ca.crt`` in each namespace holding the cluster's CA
  certificate (``ca.crt``), which pods mount (in their projected token volume) to
  check they are talking to the real API server. It restores the ConfigMap if it is
  deleted or changed.

Each runs with its own ServiceAccount's credentials (``service-account-controller``,
``root-ca-cert-publisher``), as kube-controller-manager runs them.

Follows ``pkg/controller/serviceaccount/serviceaccounts_controller.go`` and
``pkg/controller/certificates/rootcacertpublisher/publisher.go`` of Kubernetes v1.30.
k8slab simplifies: the CA certificate is a made-up PEM block (seeded random bytes,
not a parsable X.509 certificate), unless the controller manager is given one as
``manager.root_ca``.

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=1, seed=0)  # its kube-controller-manager runs both
>>> sorted(n for n in c.controllers if n.startswith(("serviceaccount", "root-ca")))
['root-ca-certificate-publisher-controller', 'serviceaccount-controller']
>>> _ = c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
>>> _ = c.run()
>>> [sa["metadata"]["name"] for sa in c.get("serviceaccounts", namespace="team-a")]
['default']
>>> [cm["metadata"]["name"] for cm in c.get("configmaps", namespace="team-a")]
['kube-root-ca.crt']
"""

from __future__ import annotations

import base64

from k8slab.api import errors
from k8slab.api.objects import clone
from k8slab.apiserver.events import EventRecorder
from k8slab.controlplane.controller import Controller

#: The ServiceAccounts every namespace gets (``--service-account-names``... only ``default``).
SERVICE_ACCOUNTS_TO_ENSURE = ("default",)

ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as "
    "the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of "
    "Kubernetes clusters."
)


def _terminating(e: errors.ApiError) -> bool:
    # NamespaceLifecycle's refusal (the NamespaceTerminating cause of the real Status)
    return e.code == 403 and "because it is being terminated" in e.message


def _namespace_key(obj: dict) -> str:
    return obj["metadata"]["name"]


class _OwnIdentity(Controller):
    """A controller that runs as a ServiceAccount named differently from itself."""

    service_account = ""

    def setup(self) -> None:
        self.client = self.manager.client_for(self.service_account)
        self.recorder = EventRecorder(self.client, self.name, enabled=self.manager.events_enabled)


class ServiceAccountsController(_OwnIdentity):
    """Creates the ``default`` ServiceAccount of each active namespace (see module docstring)."""

    name = "serviceaccount-controller"
    service_account = "service-account-controller"

    def setup(self) -> None:
        super().setup()
        self.namespaces = self.informers.informer("namespaces")
        self.service_accounts = self.informers.informer("serviceaccounts")
        self.service_accounts.add_event_handler(
            on_delete=lambda sa: self.queue.add(sa["metadata"].get("namespace") or ""))
        self.namespaces.add_event_handler(
            on_add=lambda ns: self.queue.add(_namespace_key(ns)),
            on_update=lambda old, new: self.queue.add(_namespace_key(new)))

    def sync(self, key: str) -> None:
        ns = self.namespaces.lister.get(key)
        if ns is None or (ns.get("status") or {}).get("phase") != "Active":
            return  # gone, or terminating: nothing may be created in it
        failures = []
        for name in SERVICE_ACCOUNTS_TO_ENSURE:
            if self.service_accounts.lister.get(name, key) is not None:
                continue
            try:
                self.client.create({"apiVersion": "v1", "kind": "ServiceAccount",
                                    "metadata": {"name": name, "namespace": key}}, key, hand_over=True)
            except errors.AlreadyExists:
                pass
            except errors.ApiError as e:
                if not _terminating(e):
                    failures.append(e)
        if failures:
            raise failures[0]


def root_ca_pem(rng) -> str:
    """A PEM block standing in for the cluster CA's certificate (kubeadm's ``/etc/kubernetes/pki/ca.crt``)."""
    der = rng.getrandbits(8 * 768).to_bytes(768, "big")
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


class RootCACertPublisher(_OwnIdentity):
    """Publishes the cluster CA as ConfigMap ``kube-root-ca.crt`` in every namespace (see module docstring)."""

    name = "root-ca-certificate-publisher-controller"
    service_account = "root-ca-cert-publisher"

    def setup(self) -> None:
        super().setup()
        self.root_ca = getattr(self.manager, "root_ca", None) or root_ca_pem(self.manager.rng.stream("cluster-ca"))
        self.configmaps = self.informers.informer("configmaps")
        self.configmaps.add_event_handler(on_update=lambda old, new: self._configmap_changed(new),
                                          on_delete=self._configmap_changed)
        self.namespaces = self.informers.informer("namespaces")
        self.namespaces.add_event_handler(on_add=lambda ns: self.queue.add(_namespace_key(ns)),
                                          on_update=self._namespace_updated)

    def _configmap_changed(self, cm: dict) -> None:
        if cm["metadata"].get("name") == ROOT_CA_CONFIGMAP:
            self.queue.add(cm["metadata"].get("namespace") or "")

    def _namespace_updated(self, old: dict, new: dict) -> None:
        if (new.get("status") or {}).get("phase") == "Active":
            self.queue.add(_namespace_key(new))

    def sync(self, key: str) -> None:
        data = {"ca.crt": self.root_ca}
        cm = self.configmaps.lister.get(ROOT_CA_CONFIGMAP, key)
        if cm is None:
            try:
                self.client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": key,
                                                 "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                                    "data": data}, key, hand_over=True)
            except errors.ApiError as e:
                # no retry when the namespace is gone or going
                if e.code == 404 or _terminating(e):
                    return
                raise
            return
        if cm.get("data") == data and ((cm["metadata"].get("annotations") or {}).get(DESCRIPTION_ANNOTATION)):
            return
        new = clone(cm)
        new["data"] = data
        new["metadata"].setdefault("annotations", {})[DESCRIPTION_ANNOTATION] = DESCRIPTION
        self.client.update(new)


__all__ = ["ROOT_CA_CONFIGMAP", "RootCACertPublisher", "ServiceAccountsController", "root_ca_pem"]
