"""ServiceAccounts: the default account and the CA ConfigMap in every namespace, and bound tokens
that authenticate a client as its ServiceAccount."""

import pytest

import k8slab
from k8slab.api import errors
from k8slab.apiserver.rbac import enable_rbac
from k8slab.apiserver.tokens import ServiceAccountTokens, decode_claims
from k8slab.controlplane.manager import ControllerManager
from k8slab.controlplane.serviceaccount import (
    DESCRIPTION,
    ROOT_CA_CONFIGMAP,
    RootCACertPublisher,
    ServiceAccountsController,
)


@pytest.fixture
def cluster():
    c = k8slab.Cluster(workers=1, seed=0)
    # the controller manager runs these; start them here only for a cluster that does not
    missing = [k for k in (ServiceAccountsController, RootCACertPublisher) if k.name not in c.controllers]
    if missing:
        ControllerManager(c.api, c.loop, c.rng, missing).start()
    c.run()
    return c


def names(c, resource, namespace):
    return sorted(o["metadata"]["name"] for o in c.get(resource, namespace=namespace))


def test_every_namespace_gets_a_default_service_account(cluster):
    c = cluster
    for ns in ("default", "kube-node-lease", "kube-public", "kube-system"):
        assert "default" in names(c, "serviceaccounts", ns)
    c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    assert names(c, "serviceaccounts", "team-a") == []  # the controller has not run yet
    c.run()
    assert names(c, "serviceaccounts", "team-a") == ["default"]
    sa = c.get("serviceaccount", "default", namespace="team-a")
    assert set(sa) == {"apiVersion", "kind", "metadata"}
    creators = {e.actor for e in c.trace.filter(type="request", resource="serviceaccounts", verb="create",
                                                 name="default")}
    assert creators == {"service-account-controller"}


def test_a_deleted_default_service_account_comes_back(cluster):
    c = cluster
    uid = c.get("serviceaccount", "default")["metadata"]["uid"]
    c.admin.delete("serviceaccounts", "default", "default")
    c.run()
    again = c.get("serviceaccount", "default")
    assert again["metadata"]["uid"] != uid


def test_the_root_ca_configmap_is_published_and_restored(cluster):
    c = cluster
    cms = {ns: c.get("configmap", ROOT_CA_CONFIGMAP, namespace=ns) for ns in ("default", "kube-system")}
    ca = cms["default"]["data"]["ca.crt"]
    assert ca.startswith("-----BEGIN CERTIFICATE-----\n") and ca.endswith("\n-----END CERTIFICATE-----\n")
    assert cms["kube-system"]["data"] == {"ca.crt": ca}  # one CA for the cluster
    assert cms["default"]["metadata"]["annotations"] == {"kubernetes.io/description": DESCRIPTION}
    # tampered with: put back
    changed = dict(cms["default"], data={"ca.crt": "nope"})
    c.admin.update(changed)
    c.run()
    assert c.get("configmap", ROOT_CA_CONFIGMAP)["data"] == {"ca.crt": ca}
    # deleted: created again
    c.admin.delete("configmaps", ROOT_CA_CONFIGMAP, "default")
    c.run()
    assert c.get("configmap", ROOT_CA_CONFIGMAP)["data"] == {"ca.crt": ca}
    # a terminating namespace gets nothing new
    c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}})
    c.admin.delete("namespaces", "gone")
    c.run()
    assert [f for ctl in c.controllers.values() for f in ctl.failures if "gone" in f.key] == []


def test_same_seed_same_certificate():
    pems = []
    for _ in range(2):
        c = k8slab.Cluster(workers=0, seed=7)
        if RootCACertPublisher.name not in c.controllers:
            ControllerManager(c.api, c.loop, c.rng, [RootCACertPublisher]).start()
        c.run()
        pems.append(c.get("configmap", ROOT_CA_CONFIGMAP)["data"]["ca.crt"])
    assert pems[0] == pems[1]


def test_a_bound_token_authenticates_its_service_account(cluster):
    c = cluster
    enable_rbac(c.api)
    tokens = ServiceAccountTokens(c.api)
    c.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder"}})
    tr = tokens.request("default", "builder", expiration_seconds=1200)
    assert tr["kind"] == "TokenRequest" and tr["spec"]["expirationSeconds"] == 1200
    claims = decode_claims(tr["status"]["token"])
    assert claims["sub"] == "system:serviceaccount:default:builder"
    assert claims["exp"] - claims["iat"] == 1200
    assert claims["kubernetes.io"]["serviceaccount"] == {
        "name": "builder", "uid": c.get("serviceaccount", "builder")["metadata"]["uid"]}
    ci = c.api.client("ci", token=tr["status"]["token"])
    with pytest.raises(errors.Forbidden) as e:
        ci.list("pods", "default")
    assert e.value.message == ('pods is forbidden: User "system:serviceaccount:default:builder" cannot list '
                               'resource "pods" in API group "" in the namespace "default"')
    c.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": "builder-edit"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
             "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "default"}]})
    ci.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "built"}})
    assert [r.actor for r in c.trace.filter(type="request", resource="configmaps", name="built")] == ["ci"]
    with pytest.raises(errors.Forbidden):
        ci.list("pods", "kube-system")
    # the token dies with its ServiceAccount
    c.admin.delete("serviceaccounts", "builder", "default")
    with pytest.raises(errors.ApiError) as e:
        ci.list("configmaps", "default")
    assert (e.value.code, e.value.message) == (401, "Unauthorized")


def test_a_token_expires_and_may_be_bound_to_a_pod(cluster):
    c = cluster
    # RBAC is on: let the default ServiceAccount read namespaces, so its requests show who it is
    c.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "default-view"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
             "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]})
    tokens = ServiceAccountTokens(c.api)
    short = tokens.request("default", "default", expiration_seconds=600)["status"]["token"]
    c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    bound = tokens.request("default", "default", bound_pod="client")
    assert decode_claims(bound["status"]["token"])["kubernetes.io"]["pod"]["name"] == "client"
    assert bound["spec"]["boundObjectRef"]["kind"] == "Pod"
    c.api.client("a", token=short).get("namespaces", "default")
    c.run(seconds=601)
    with pytest.raises(errors.ApiError) as e:
        c.api.client("a", token=short).get("namespaces", "default")
    assert e.value.code == 401
    holder = c.api.client("b", token=bound["status"]["token"])
    holder.get("namespaces", "default")
    c.admin.delete("pods", "client", "default", grace_period_seconds=0, force=True)
    with pytest.raises(errors.ApiError):
        holder.get("namespaces", "default")


def test_token_requests_are_checked(cluster):
    tokens = ServiceAccountTokens(cluster.api)
    with pytest.raises(errors.NotFound) as e:
        tokens.request("default", "nobody")
    assert e.value.message == 'serviceaccounts "nobody" not found'
    with pytest.raises(errors.Invalid) as e:
        tokens.request("default", "default", expiration_seconds=60)
    assert e.value.message == ('TokenRequest.authentication.k8s.io "default" is invalid: spec.expirationSeconds: '
                               "Invalid value: 60: may not specify a duration less than 10 minutes")
