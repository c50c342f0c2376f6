"""ServiceAccounts: the default account and the CA ConfigMap in every namespace, and bound tokens
that authenticate a client as its ServiceAccount."""

import re

import pytest

import k8slab
from k8slab.api import errors
from k8slab.apiserver.tokens import decode_claims
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
    assert c.api.authorizer is c.authorizer  # RBAC is on in every cluster
    tokens = c.tokens
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
    tokens = c.tokens
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
    tokens = cluster.tokens
    with pytest.raises(errors.NotFound) as e:
        tokens.request("default", "nobody")
    assert e.value.message == 'serviceaccounts "nobody" not found'
    with pytest.raises(errors.Invalid) as e:
        tokens.request("default", "default", expiration_seconds=60)
    assert e.value.message == ('TokenRequest.authentication.k8s.io "default" is invalid: spec.expirationSeconds: '
                               "Invalid value: 60: may not specify a duration less than 10 minutes")


# -- the ServiceAccount admission plugin and the token the kubelet projects -------------------------------------


def box(name, **spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}], **spec}}


def test_a_pod_runs_as_the_default_service_account_and_mounts_its_api_access_volume(cluster):
    c = cluster
    c.apply(box("p", initContainers=[{"name": "init", "image": "busybox", "command": ["true"]}]))
    pod = c.get("pod", "p")
    spec = pod["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("default", "default")
    [volume] = spec["volumes"]
    name = volume["name"]
    assert re.fullmatch(r"kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}", name)
    assert volume["projected"] == {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}
    mount = {"name": name, "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
    assert [ct["volumeMounts"] for ct in spec["initContainers"] + spec["containers"]] == [[mount], [mount]]
    c.run()
    assert c.get("pod", "p")["status"]["phase"] == "Running"
    sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount"
    assert c.kubectl(f"exec p -- ls {sa_dir}").stdout == "ca.crt\nnamespace\ntoken\n"
    pod = c.get("pod", "p")
    [files] = c.kubelets[pod["spec"]["nodeName"]].workers[pod["metadata"]["uid"]].volumes[name].layers
    assert files["/namespace"] == "default"
    assert c.kubectl(f"exec p -- cat {sa_dir}/namespace").stdout == "default"  # no final newline, as in the file
    ca = c.get("configmap", ROOT_CA_CONFIGMAP)["data"]["ca.crt"]
    assert files["/ca.crt"] == ca
    # the token is a real bound token from the TokenRequest API: it authenticates as the pod's account
    token = files["/token"]
    assert c.kubectl(f"exec p -- cat {sa_dir}/token").stdout == token
    assert c.api.tokens[token].name == "system:serviceaccount:default:default"
    claims = decode_claims(token)
    assert claims["exp"] - claims["iat"] == 3607
    assert claims["kubernetes.io"]["pod"] == {"name": "p", "uid": c.get("pod", "p")["metadata"]["uid"]}
    with pytest.raises(errors.Forbidden) as e:  # the default account may do nothing much
        c.api.client("in-pod", token=token).list("secrets", "default")
    assert e.value.message == ('secrets is forbidden: User "system:serviceaccount:default:default" cannot list '
                               'resource "secrets" in API group "" in the namespace "default"')
    # and dies with the pod
    c.admin.delete("pods", "p", "default", grace_period_seconds=0, force=True)
    assert token not in c.api.tokens


def test_automount_can_be_switched_off_by_the_pod_or_its_service_account(cluster):
    c = cluster
    c.apply([{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "quiet"},
              "automountServiceAccountToken": False},
             box("by-pod", automountServiceAccountToken=False),
             box("by-account", serviceAccountName="quiet"),
             box("pod-wins", serviceAccountName="quiet", automountServiceAccountToken=True)])
    specs = {n: c.get("pod", n)["spec"] for n in ("by-pod", "by-account", "pod-wins")}
    assert [("volumes" in s, "volumeMounts" in s["containers"][0]) for s in specs.values()] == [
        (False, False), (False, False), (True, True)]
    assert specs["by-account"]["serviceAccountName"] == "quiet"


def test_a_pod_of_a_missing_service_account_is_refused(cluster):
    c = cluster
    with pytest.raises(errors.Forbidden) as e:
        c.apply(box("orphan", serviceAccountName="nobody"))
    assert e.value.message == ('pods "orphan" is forbidden: error looking up service account default/nobody: '
                               'serviceaccount "nobody" not found')
    # a namespace and its pod in one apply: the pod can lose the race with the ServiceAccount controller
    with pytest.raises(errors.Forbidden) as e:
        c.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}},
                 dict(box("first"), metadata={"name": "first", "namespace": "fresh"})])
    assert e.value.message.endswith("error looking up service account fresh/default: "
                                    'serviceaccount "default" not found')
    c.run()
    c.apply(dict(box("first"), metadata={"name": "first", "namespace": "fresh"}))
    assert c.get("pod", "first", namespace="fresh")["spec"]["serviceAccountName"] == "default"


def test_mirror_pods_keep_their_spec(cluster):
    mirror = cluster.get("pod", "kube-apiserver-control-plane", namespace="kube-system")
    assert "volumes" not in mirror["spec"]
    assert "kubernetes.io/config.mirror" in mirror["metadata"]["annotations"]


def test_the_kubelet_renews_the_token_before_it_expires(cluster):
    c = cluster
    c.apply(box("long"))
    c.run()
    pod = c.get("pod", "long")
    name = pod["spec"]["volumes"][0]["name"]
    [files] = c.kubelets[pod["spec"]["nodeName"]].workers[pod["metadata"]["uid"]].volumes[name].layers
    first = files["/token"]
    issued = decode_claims(first)["iat"]
    c.run(seconds=2800)  # less than 80% of 3607 s since it was issued
    assert files["/token"] == first
    c.run(seconds=200)
    second = files["/token"]
    assert second != first and decode_claims(second)["iat"] - issued == pytest.approx(0.8 * 3607, abs=1)
    assert first in c.api.tokens  # the old one stays valid until it expires
    c.run(seconds=700)
    assert first not in c.api.tokens and second in c.api.tokens
