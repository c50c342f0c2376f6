"""RBAC: the Forbidden messages, what bindings grant (and where), escalation, the Node authorizer,
and a whole cluster at work with RBAC on."""

import pytest
from conftest import nginx_deployment

import k8slab
from k8slab.api import errors
from k8slab.apiserver.rbac import (
    RBACAuthorizer,
    can_i,
    self_subject_access_review,
    self_subject_rules_review,
    subject_access_review,
)
from k8slab.apiserver.request import UserInfo

RBAC_V1 = "rbac.authorization.k8s.io/v1"


@pytest.fixture(scope="module")
def cluster():
    c = k8slab.Cluster(workers=2, seed=0)
    c.authz = c.authorizer  # every cluster runs with --authorization-mode=Node,RBAC
    for ns in ("dev", "prod"):
        c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    c.run()  # their default ServiceAccounts, which pods run as
    return c


def user_client(c, name, *groups):
    return c.api.client(name, user=UserInfo(name, (*groups, "system:authenticated")))


def role(name, namespace, rules):
    return {"apiVersion": RBAC_V1, "kind": "Role", "metadata": {"name": name, "namespace": namespace}, "rules": rules}


def binding(kind, name, role_kind, role_name, subjects, namespace=None):
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": RBAC_V1, "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
            "subjects": subjects}


def user(name):
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}


def forbidden(fn, *args, **kw) -> str:
    with pytest.raises(errors.Forbidden) as e:
        fn(*args, **kw)
    assert e.value.code == 403 and e.value.reason == "Forbidden"
    return e.value.message


# -- messages ------------------------------------------------------------------------------------------


def test_a_user_without_bindings_gets_the_real_forbidden_messages(cluster):
    alice = user_client(cluster, "alice")
    assert forbidden(alice.list, "pods", "default") == (
        'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"')
    assert forbidden(alice.list, "nodes") == (
        'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope')
    assert forbidden(alice.get, "deployments", "web", "default") == (
        'deployments.apps "web" is forbidden: User "alice" cannot get resource "deployments" '
        'in API group "apps" in the namespace "default"')
    assert forbidden(alice.logs, "web", "default") == (
        'pods "web" is forbidden: User "alice" cannot get resource "pods/log" in API group "" '
        'in the namespace "default"')
    # exec over websockets still needs "create" on pods/exec
    assert forbidden(alice.exec, "web", "default", ["ls"]).startswith(
        'pods "web" is forbidden: User "alice" cannot create resource "pods/exec"')
    err = pytest.raises(errors.Forbidden, alice.list, "pods", "default").value
    assert err.status["details"] == {"kind": "pods"}
    assert str(err).startswith("Error from server (Forbidden): pods is forbidden: ")


def test_a_watch_is_authorized_like_a_list(cluster):
    alice = user_client(cluster, "alice")
    assert forbidden(alice.watch, "pods", lambda *a: None, "default") == (
        'pods is forbidden: User "alice" cannot watch resource "pods" in API group "" in the namespace "default"')


# -- what bindings grant -----------------------------------------------------------------------------------


def test_a_rolebinding_grants_its_role_in_its_namespace_only(cluster):
    cluster.apply([
        role("pod-reader", "dev", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]),
        binding("RoleBinding", "read-pods", "Role", "pod-reader", [user("bob")], "dev"),
    ])
    bob = user_client(cluster, "bob")
    assert bob.list("pods", "dev")["items"] == []
    assert forbidden(bob.list, "pods", "prod") == (
        'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "prod"')
    # the role says nothing about creating, nor about other resources
    assert forbidden(bob.create, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, "dev") == (
        'configmaps is forbidden: User "bob" cannot create resource "configmaps" in API group "" '
        'in the namespace "dev"')
    # nor about listing across namespaces
    assert forbidden(bob.list, "pods").endswith('cannot list resource "pods" in API group "" at the cluster scope')


def test_a_rolebinding_to_a_clusterrole_grants_it_in_the_binding_namespace(cluster):
    cluster.apply(binding("RoleBinding", "carol-edit", "ClusterRole", "edit", [user("carol")], "dev"))
    carol = user_client(cluster, "carol")
    carol.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1"}},
                 "dev")
    assert carol.get("configmaps", "settings", "dev")["data"] == {"a": "1"}
    assert forbidden(carol.get, "configmaps", "settings", "prod") == (
        'configmaps "settings" is forbidden: User "carol" cannot get resource "configmaps" in API group "" '
        'in the namespace "prod"')
    # edit does not include roles, nor quotas' writes
    assert forbidden(carol.list, "roles", "dev").startswith("roles.rbac.authorization.k8s.io is forbidden")
    assert can_i(cluster.authz, "carol", "get", "resourcequotas", "dev")
    assert not can_i(cluster.authz, "carol", "create", "resourcequotas", "dev")


def test_a_clusterrolebinding_grants_everywhere_to_a_group(cluster):
    cluster.apply(binding("ClusterRoleBinding", "auditors-view", "ClusterRole", "view",
                          [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "auditors"}]))
    dave = user_client(cluster, "dave", "auditors")
    assert [len(dave.list("deployments", ns)["items"]) for ns in ("dev", "prod")] == [0, 0]
    assert dave.list("pods")["kind"] == "PodList"  # across all namespaces
    # view has no secrets and no cluster-scoped resources
    assert forbidden(dave.list, "secrets", "dev").startswith('secrets is forbidden: User "dave" cannot list')
    assert forbidden(dave.list, "nodes").startswith('nodes is forbidden: User "dave"')
    eve = user_client(cluster, "eve")  # not in the group
    assert forbidden(eve.list, "deployments", "dev").startswith('deployments.apps is forbidden: User "eve"')


def test_resource_names_subresources_and_wildcards(cluster):
    authz = cluster.authz
    cluster.apply([
        role("one-pod", "dev", [
            {"apiGroups": [""], "resources": ["pods"], "resourceNames": ["web"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            {"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["update"]},
            {"apiGroups": ["*"], "resources": ["configmaps"], "verbs": ["*"]},
        ]),
        binding("RoleBinding", "frank-one-pod", "Role", "one-pod", [user("frank")], "dev"),
    ])
    assert can_i(authz, "frank", "get", "pods", "dev", name="web")
    assert not can_i(authz, "frank", "get", "pods", "dev", name="db")
    assert not can_i(authz, "frank", "list", "pods", "dev")  # resourceNames never match a list
    assert can_i(authz, "frank", "get", "pods/log", "dev", name="db")
    assert not can_i(authz, "frank", "get", "pods/status", "dev", name="web")
    assert can_i(authz, "frank", "update", "deployments/scale", "dev")
    assert not can_i(authz, "frank", "update", "deployments", "dev")
    assert can_i(authz, "frank", "deletecollection", "configmaps", "dev")


def test_service_accounts_match_by_name_and_by_group(cluster):
    authz = cluster.authz
    cluster.apply([
        role("pod-reader", "prod", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]),
        binding("RoleBinding", "builder", "Role", "pod-reader",
                [{"kind": "ServiceAccount", "name": "builder", "namespace": "prod"}], "prod"),
        binding("RoleBinding", "all-of-dev", "Role", "pod-reader",
                [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:serviceaccounts:dev"}],
                "prod"),
    ])

    def sa(ns, name):
        return UserInfo(f"system:serviceaccount:{ns}:{name}",
                        ("system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"))

    assert can_i(authz, sa("prod", "builder"), "list", "pods", "prod")
    assert can_i(authz, sa("dev", "anyone"), "list", "pods", "prod")
    assert not can_i(authz, sa("default", "builder"), "list", "pods", "prod")
    assert authz(sa("default", "builder"), {"verb": "list", "resource": "pods", "group": "", "namespace": "prod"}) == (
        'pods is forbidden: User "system:serviceaccount:default:builder" cannot list resource "pods" '
        'in API group "" in the namespace "prod"')


def test_a_binding_to_a_missing_role_says_so(cluster):
    cluster.apply(binding("RoleBinding", "ghostly", "Role", "ghost", [user("gina")], "dev"))
    gina = user_client(cluster, "gina")
    assert forbidden(gina.list, "pods", "dev") == (
        'pods is forbidden: User "gina" cannot list resource "pods" in API group "" in the namespace "dev": '
        'RBAC: role.rbac.authorization.k8s.io "ghost" not found')


def test_non_resource_urls_and_bootstrap_bindings(cluster):
    authz = cluster.authz
    assert can_i(authz, "anybody", "get", "/healthz")
    assert can_i(authz, "anybody", "get", "/apis/apps")  # system:discovery's /apis/*
    assert not can_i(authz, "anybody", "get", "/metrics")
    assert authz(UserInfo("anybody", ("system:authenticated",)), {"verb": "get", "path": "/metrics"}) == (
        'forbidden: User "anybody" cannot get path "/metrics"')
    # kubeadm's admin and the system:masters group hold everything
    assert can_i(authz, UserInfo("kubernetes-admin", ("kubeadm:cluster-admins", "system:authenticated")),
                 "delete", "nodes", name="worker-1")
    assert can_i(authz, UserInfo("root", ("system:masters",)), "escalate", "clusterroles")


def test_subject_access_review_and_rules_review_say_why(cluster):
    cluster.apply([
        role("cm-reader", "dev", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
        binding("RoleBinding", "hank-cm", "Role", "cm-reader", [user("hank")], "dev"),
    ])
    review = subject_access_review(cluster.authz, {"spec": {"user": "hank", "groups": ["system:authenticated"],
        "resourceAttributes": {"namespace": "dev", "verb": "get", "resource": "configmaps"}}})
    assert review["kind"] == "SubjectAccessReview"
    assert review["status"] == {"allowed": True,
                                "reason": 'RBAC: allowed by RoleBinding "hank-cm/dev" of Role "cm-reader" to User "hank"'}
    mine = self_subject_access_review(cluster.authz, UserInfo("hank", ("system:authenticated",)), {
        "spec": {"resourceAttributes": {"namespace": "dev", "verb": "list", "resource": "configmaps"}}})
    assert (mine["kind"], mine["status"]) == ("SelfSubjectAccessReview", {"allowed": False})
    denied = subject_access_review(cluster.authz, {"spec": {"user": "hank", "resourceAttributes": {
        "namespace": "prod", "verb": "get", "resource": "configmaps"}}})
    assert denied["status"] == {"allowed": False}
    rules = self_subject_rules_review(cluster.authz, UserInfo("hank", ("system:authenticated",)), "dev")["status"]
    assert {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]} in rules["resourceRules"]
    assert {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]} in (
        rules["nonResourceRules"])


def test_can_i_works_with_any_authorizer_callable():
    def only_get(user, attrs):
        return None if attrs["verb"] == "get" else "no"

    assert can_i(only_get, "x", "get", "deploy", "default")
    assert not can_i(only_get, "x", "list", "pods", "default")
    assert can_i(only_get, "x", "get", "pods/exec", "default", name="p") is False  # exec is a create


# -- the default roles -------------------------------------------------------------------------------------


def test_the_bootstrap_roles_are_stored_with_their_real_rules(cluster):
    names = {r["metadata"]["name"] for r in cluster.get("clusterroles")}
    assert {"cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery",
            "system:public-info-viewer", "system:kube-scheduler", "system:kube-controller-manager", "system:node",
            "system:node-proxier", "system:controller:replicaset-controller"} <= names
    view = cluster.get("clusterrole", "view")
    assert view["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
    assert view["aggregationRule"] == {"clusterRoleSelectors": [
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]}
    authz = cluster.authz
    viewer, editor, admin = (UserInfo(n, ("system:authenticated",)) for n in ("v", "e", "a"))
    for name, who in (("view", "v"), ("edit", "e"), ("admin", "a")):
        cluster.apply(binding("RoleBinding", f"{who}-{name}", "ClusterRole", name, [user(who)], "prod"))
    answers = {who.name: [can_i(authz, who, verb, res, "prod") for verb, res in (
        ("list", "pods"), ("create", "deployments"), ("get", "secrets"), ("create", "rolebindings"))]
        for who in (viewer, editor, admin)}
    assert answers == {"v": [True, False, False, False], "e": [True, True, True, False], "a": [True, True, True, True]}
    binding_names = {b["metadata"]["name"]: b for b in cluster.get("clusterrolebindings")}
    assert binding_names["cluster-admin"]["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]
    assert "subjects" not in binding_names["system:node"]  # the Node authorizer took over


# -- escalation ------------------------------------------------------------------------------------------------


def test_nobody_grants_what_they_do_not_hold(cluster):
    cluster.apply(binding("RoleBinding", "ivy-admin", "ClusterRole", "admin", [user("ivy")], "dev"))
    ivy = user_client(cluster, "ivy")
    ivy.create(role("cm-editor", "dev", [{"apiGroups": [""], "resources": ["configmaps"],
                                          "verbs": ["get", "update"]}]))
    msg = forbidden(ivy.create, role("node-lister", "dev", [
        {"apiGroups": [""], "resources": ["nodes", "configmaps"], "verbs": ["list", "watch", "get"]}]))
    assert msg == (
        'roles.rbac.authorization.k8s.io "node-lister" is forbidden: user "ivy" (groups=["system:authenticated"]) '
        "is attempting to grant RBAC permissions not currently held:\n"
        '{APIGroups:[""], Resources:["nodes"], Verbs:["list" "watch" "get"]}')
    # binding: admin may hand out roles it holds, not cluster-admin
    ivy.create(binding("RoleBinding", "jack-cm", "Role", "cm-editor", [user("jack")], "dev"))
    msg = forbidden(ivy.create, binding("RoleBinding", "jack-root", "ClusterRole", "cluster-admin", [user("jack")],
                                        "dev"))
    assert msg.startswith('rolebindings.rbac.authorization.k8s.io "jack-root" is forbidden: user "ivy" '
                          '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:')
    assert '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}' in msg and '{NonResourceURLs:["*"], Verbs:["*"]}' in msg
    with pytest.raises(errors.NotFound) as e:
        ivy.create(binding("RoleBinding", "to-nothing", "Role", "nothing", [user("jack")], "dev"))
    assert e.value.message == 'role.rbac.authorization.k8s.io "nothing" not found'
    # the bind verb on a role lets one hand it out anyway
    cluster.apply(role("binder", "dev", [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
                                          "resourceNames": ["cluster-admin"], "verbs": ["bind"]}]))
    cluster.apply(binding("RoleBinding", "ivy-binder", "Role", "binder", [user("ivy")], "dev"))
    ivy.create(binding("RoleBinding", "jack-root", "ClusterRole", "cluster-admin", [user("jack")], "dev"))
    assert can_i(cluster.authz, "jack", "delete", "secrets", "dev")
    assert not can_i(cluster.authz, "jack", "delete", "secrets", "prod")


# -- the Node authorizer ------------------------------------------------------------------------------------------


def test_a_kubelet_reads_only_what_its_pods_use(cluster):
    cluster.apply([
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-password", "namespace": "dev"},
         "stringData": {"pw": "x"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other", "namespace": "dev"},
         "stringData": {"pw": "y"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db", "namespace": "dev"},
         "spec": {"nodeName": "worker-1", "containers": [{"name": "db", "image": "postgres", "env": [
             {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db-password", "key": "pw"}}}]}]}},
    ])
    kubelet1 = UserInfo("system:node:worker-1", ("system:nodes", "system:authenticated"))
    kubelet2 = UserInfo("system:node:worker-2", ("system:nodes", "system:authenticated"))
    authz = cluster.authz

    def get_secret(who, name):
        return authz(who, {"verb": "get", "resource": "secrets", "group": "", "namespace": "dev", "name": name})

    assert get_secret(kubelet1, "db-password") is None
    assert get_secret(kubelet1, "other") == (
        'secrets "other" is forbidden: User "system:node:worker-1" cannot get resource "secrets" in API group "" '
        "in the namespace \"dev\": no relationship found between node 'worker-1' and this object")
    assert get_secret(kubelet2, "db-password").endswith("no relationship found between node 'worker-2' and this object")
    assert can_i(authz, kubelet1, "update", "leases", "kube-node-lease", name="worker-1")
    assert not can_i(authz, kubelet1, "update", "leases", "kube-node-lease", name="worker-2")
    assert can_i(authz, kubelet2, "create", "pods/eviction", "dev", name="db")
    cluster.admin.delete("pods", "db", "dev", grace_period_seconds=0, force=True)
    assert get_secret(kubelet1, "db-password").endswith("no relationship found between node 'worker-1' and this object")


# -- a whole cluster ----------------------------------------------------------------------------------------------------


def test_a_whole_cluster_works_with_rbac_on_from_the_start():
    c = k8slab.Cluster(workers=2, seed=0)
    assert isinstance(c.api.authorizer, RBACAuthorizer) and c.api.authorizer is c.authorizer
    c.apply(nginx_deployment(replicas=3))
    c.run()
    pods = c.get("pods", selector="app=web")
    assert sorted(p["status"]["phase"] for p in pods) == ["Running"] * 3
    requests = c.trace.filter(type="request")
    assert len({e.actor for e in requests}) > 10  # every component was at work, and traced
    assert [str(e) for e in requests if e.code == 403] == []
    assert not [e for e in c.errors if "Forbidden" in e]
    assert not [f for f in c.controller_manager.failures if "Forbidden" in f.error]
    # a node going away still has its pods evicted and replaced, under RBAC
    c.fail_node("worker-1")
    c.run()
    running = [p for p in c.get("pods", selector="app=web") if not p["metadata"].get("deletionTimestamp")]
    assert {p["spec"]["nodeName"] for p in running} == {"worker-2"} and len(running) == 3
    assert [str(e) for e in c.trace.filter(type="request") if e.code == 403] == []


EVERYTHING = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: nginx:1.27}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: busybox, command: [sleep, "3600"]}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      ttlSecondsAfterFinished: 30
      template:
        spec: {restartPolicy: Never, containers: [{name: t, image: busybox, command: ["true"]}]}
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec: {type: LoadBalancer, selector: {app: db}, ports: [{port: 80}]}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: q}
spec: {hard: {pods: "50", configmaps: "20"}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: lb, port: {number: 80}}}}
"""


def test_every_component_has_the_rights_it_needs_by_default():
    """Every component at work in a default cluster, none refused: a 403 anywhere fails this test."""
    from test_custom_scheduler import MostFreeCPU
    from test_custom_scheduler import pod as scheduled_pod
    from test_operator import WEBSITE_CRD, reconcile_website, website

    c = k8slab.Cluster(workers=2, seed=0, ha_control_plane=True)
    c.install("ingress-nginx")
    c.apply(WEBSITE_CRD)
    c.run()
    c.controller("websites.example.com", owns=["deployments", "services"])(reconcile_website)
    c.apply(website())
    c.add_scheduler(MostFreeCPU())
    c.apply(scheduled_pod("custom"))
    c.apply(EVERYTHING)
    c.run(seconds=150)
    c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tmp"}})
    c.run()
    c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "tmp"}})
    c.kubectl("delete namespace tmp")
    c.kubectl("delete statefulset db")
    c.kubectl("delete pvc --all")
    c.fail_node("worker-1")
    c.run()
    c.fail_component("kube-controller-manager")
    c.fail_component("kube-scheduler")
    c.run()
    c.apply(scheduled_pod("late", scheduler=None))
    c.run()
    assert c.get("pod", "late")["status"]["phase"] == "Running"  # the new leaders work
    requests = c.trace.filter(type="request")
    actors = {e.actor for e in requests}
    # they all did something (and were traced): kubelets, proxies, DNS, ingress, storage, cloud,
    # both control planes' replicas, the learner's operator and scheduler
    for actor in ("kubelet/worker-2", "kube-proxy/worker-2", "coredns", "local-path-provisioner",
                  "cloud-controller-manager", "service-lb-controller", "kube-scheduler/control-plane2",
                  "kube-controller-manager/control-plane2", "websites-controller", "my-scheduler",
                  "persistent-volume-binder", "resourcequota-controller", "namespace-controller",
                  "root-ca-cert-publisher", "service-account-controller", "cronjob-controller"):
        assert actor in actors
    assert any(a.startswith("nginx-ingress-controller/") for a in actors)
    assert [str(e) for e in requests if e.code == 403] == []
    assert c.errors == []
    assert [f for f in c.controller_manager.failures if "Forbidden" in f.error] == []
    assert [f for op in c.operators.values() for f in op.failures] == []


def test_kubectl_as_a_user_without_bindings_meets_the_real_403_and_can_i_answers():
    c = k8slab.Cluster(workers=1, seed=0)
    out = c.kubectl("get pods", as_user="alice")
    assert (out.stdout, out.stderr, out.returncode) == (
        "", 'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API '
        'group "" in the namespace "default"\n', 1)
    no = c.kubectl("auth can-i list pods", as_user="alice")
    assert (no.stdout, no.returncode) == ("no\n", 1)
    # the default user (kubernetes-admin, bound to cluster-admin through kubeadm:cluster-admins) may
    assert c.kubectl("auth can-i delete nodes").stdout == "yes\n"
    assert c.kubectl("auth can-i list pods --as alice").stdout == "no\n"
    c.apply([role("pod-reader", "default", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
             binding("RoleBinding", "alice-reads", "Role", "pod-reader", [user("alice")], "default")])
    assert c.kubectl("auth can-i list pods", as_user="alice").stdout == "yes\n"
    assert c.kubectl("auth can-i list pods -n kube-system", as_user="alice").stdout == "no\n"
    allowed = c.kubectl("get pods", as_user="alice")
    assert (allowed.stderr, allowed.returncode) == ("No resources found in default namespace.\n", 0)
