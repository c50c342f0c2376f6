"""The default RBAC policy: the roles and bindings kube-apiserver creates at start-up.

kube-apiserver's ``rbac/bootstrap-roles`` post-start hook reconciles these
objects every time it starts (they carry the ``kubernetes.io/bootstrapping:
rbac-defaults`` label and the ``rbac.authorization.kubernetes.io/autoupdate``
annotation), so a fresh cluster already has ``cluster-admin``, ``admin``,
``edit``, ``view``, the ``system:*`` roles of the control-plane components and
one ``system:controller:<name>`` role per controller of kube-controller-manager,
each bound to the ServiceAccount ``kube-system/<name>`` the controller runs as.
kubeadm adds a few of its own (``kubeadm:cluster-admins``, the CoreDNS role).

Follows ``plugin/pkg/auth/authorizer/rbac/bootstrappolicy`` (policy.go,
controller_policy.go) of Kubernetes v1.30 and kubeadm's ``phases/bootstraptoken``,
``phases/addons``.
k8slab simplifies: the aggregated ``admin``/``edit``/``view`` roles are
aggregated once, here, instead of by the clusterrole-aggregation controller;
feature-gated alpha roles and the namespaced leader-election roles are left out.

Example
-------
>>> roles = {r["metadata"]["name"]: r for r in cluster_roles()}
>>> roles["cluster-admin"]["rules"]
[{'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']}, {'nonResourceURLs': ['*'], 'verbs': ['*']}]
>>> [b["subjects"] for b in cluster_role_bindings() if b["metadata"]["name"] == "cluster-admin"]
[[{'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Group', 'name': 'system:masters'}]]
"""

from __future__ import annotations

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"

#: The label and annotation every bootstrap object carries.
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE_ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}

#: ClusterRoles of kube-controller-manager's controllers are named with this prefix.
CONTROLLER_ROLE_PREFIX = "system:controller:"

#: Controller loops that do not run as a ServiceAccount of their own name: the one they use
#: (``ClientOrDie(...)`` in kube-controller-manager; a cloud-controller-manager usually runs
#: all its loops as ``cloud-controller-manager``).
CONTROLLER_SERVICE_ACCOUNTS = {
    "node-ipam-controller": "node-controller",
    "node-lifecycle-controller": "node-controller",
    "taint-eviction-controller": "node-controller",
    "garbage-collector-controller": "generic-garbage-collector",
    "serviceaccount-controller": "service-account-controller",
    "root-ca-certificate-publisher-controller": "root-ca-cert-publisher",
    "daemonset-controller": "daemon-set-controller",
    "replicationcontroller-controller": "replication-controller",
    "persistentvolume-binder-controller": "persistent-volume-binder",
    "service-lb-controller": "cloud-controller-manager",
    "cloud-node-controller": "cloud-controller-manager",
}

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
READ_WRITE = READ + WRITE
READ_UPDATE = ("get", "list", "watch", "update", "patch")

_CORE = ""
_APPS = "apps"
_AUTHN = "authentication.k8s.io"
_AUTHZ = "authorization.k8s.io"
_AUTOSCALING = "autoscaling"
_BATCH = "batch"
_CERTS = "certificates.k8s.io"
_COORDINATION = "coordination.k8s.io"
_DISCOVERY = "discovery.k8s.io"
_EVENTS = "events.k8s.io"
_EXTENSIONS = "extensions"
_NETWORKING = "networking.k8s.io"
_POLICY = "policy"
_STORAGE = "storage.k8s.io"
_ADMISSION_REGISTRATION = "admissionregistration.k8s.io"


def rule(verbs, groups=(), resources=(), names=(), urls=()) -> dict:
    """A PolicyRule as ``rbacv1helpers.NewRule(...).RuleOrDie()`` builds it (every list sorted).

    >>> rule(("get", "list"), [""], ["pods", "pods/log"])
    {'apiGroups': [''], 'resources': ['pods', 'pods/log'], 'verbs': ['get', 'list']}
    >>> rule(["get"], urls=["/healthz"])
    {'nonResourceURLs': ['/healthz'], 'verbs': ['get']}
    """
    out: dict = {}
    if groups:
        out["apiGroups"] = sorted(groups)
    if urls:
        out["nonResourceURLs"] = sorted(urls)
    if names:
        out["resourceNames"] = sorted(names)
    if resources:
        out["resources"] = sorted(resources)
    out["verbs"] = sorted(verbs)
    return out


def _events_rule() -> dict:
    return rule(("create", "update", "patch"), (_CORE, _EVENTS), ["events"])


def _meta(name: str, labels: dict | None = None, namespace: str | None = None) -> dict:
    m = {"annotations": dict(AUTOUPDATE_ANNOTATIONS), "labels": {**BOOTSTRAP_LABELS, **(labels or {})}, "name": name}
    if namespace:
        m["namespace"] = namespace
    return m


def cluster_role(name: str, rules: list[dict], labels: dict | None = None, aggregate_from: str | None = None) -> dict:
    """A bootstrap ClusterRole; ``aggregate_from`` gives it an aggregationRule on that label."""
    role = {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRole", "metadata": _meta(name, labels)}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {aggregate_from: "true"}}]}
    role["rules"] = rules
    return role


def subject(kind: str, name: str, namespace: str | None = None) -> dict:
    """A binding subject: ``User``, ``Group`` (with the RBAC apiGroup) or ``ServiceAccount``."""
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"apiGroup": RBAC_GROUP, "kind": kind, "name": name}


def cluster_role_binding(name: str, role: str, subjects: list[dict], *, bootstrap: bool = True) -> dict:
    b = {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRoleBinding",
        "metadata": _meta(name) if bootstrap else {"name": name},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
    }
    if subjects:
        b["subjects"] = subjects
    return b


# -- the cluster roles ------------------------------------------------------------------------------


def node_rules() -> list[dict]:
    """``bootstrappolicy.NodeRules()``: what a kubelet may do (the Node authorizer narrows it further)."""
    return [
        rule(["create"], [_AUTHN], ["tokenreviews"]),
        rule(["create"], [_AUTHZ], ["subjectaccessreviews", "localsubjectaccessreviews"]),
        rule(READ, [_CORE], ["services"]),
        rule(("create", "get", "list", "watch"), [_CORE], ["nodes"]),
        rule(("update", "patch"), [_CORE], ["nodes/status"]),
        rule(("update", "patch"), [_CORE], ["nodes"]),
        rule(("create", "update", "patch"), [_CORE], ["events"]),
        rule(READ, [_CORE], ["pods"]),
        rule(("create", "delete"), [_CORE], ["pods"]),
        rule(("update", "patch"), [_CORE], ["pods/status"]),
        rule(["create"], [_CORE], ["pods/eviction"]),
        rule(READ, [_CORE], ["secrets", "configmaps"]),
        rule(["get"], [_CORE], ["persistentvolumeclaims", "persistentvolumes"]),
        rule(["get"], [_CORE], ["endpoints"]),
        rule(("create", "get", "list", "watch"), [_CERTS], ["certificatesigningrequests"]),
        rule(("get", "create", "update", "patch", "delete"), [_COORDINATION], ["leases"]),
        rule(["get"], [_STORAGE], ["volumeattachments"]),
        rule(["create"], [_CORE], ["serviceaccounts/token"]),
        rule(("get", "update", "patch"), [_CORE], ["persistentvolumeclaims/status"]),
        rule(READ, [_STORAGE], ["csidrivers"]),
        rule(("get", "create", "update", "patch", "delete"), [_STORAGE], ["csinodes"]),
        rule(READ, ["node.k8s.io"], ["runtimeclasses"]),
    ]


def _aggregate_to_view() -> list[dict]:
    return [
        rule(READ, [_CORE], ["pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                             "services", "services/status", "endpoints", "persistentvolumeclaims",
                             "persistentvolumeclaims/status", "configmaps"]),
        rule(READ, [_CORE], ["limitranges", "resourcequotas", "bindings", "events", "pods/status",
                             "resourcequotas/status", "namespaces/status", "replicationcontrollers/status",
                             "pods/log"]),
        # read access to namespaces at the namespace scope means you can read *this* namespace
        rule(READ, [_CORE], ["namespaces"]),
        rule(READ, [_DISCOVERY], ["endpointslices"]),
        rule(READ, [_APPS], ["controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
                             "daemonsets", "daemonsets/status", "deployments", "deployments/status",
                             "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale"]),
        rule(READ, [_AUTOSCALING], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        rule(READ, [_BATCH], ["jobs", "cronjobs", "cronjobs/status", "jobs/status"]),
        rule(READ, [_EXTENSIONS], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                                   "deployments/status", "ingresses", "ingresses/status", "replicasets",
                                   "replicasets/scale", "replicasets/status", "replicationcontrollers/scale",
                                   "networkpolicies"]),
        rule(READ, [_POLICY], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
        rule(READ, [_NETWORKING], ["networkpolicies", "ingresses", "ingresses/status"]),
    ]


def _aggregate_to_edit() -> list[dict]:
    return [
        # read on the resources that can escalate
        rule(READ, [_CORE], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets",
                             "services/proxy"]),
        rule(["impersonate"], [_CORE], ["serviceaccounts"]),
        rule(WRITE, [_CORE], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
        rule(["create"], [_CORE], ["pods/eviction"]),
        rule(WRITE, [_CORE], ["replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                              "services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets",
                              "events"]),
        rule(["create"], [_CORE], ["serviceaccounts/token"]),
        rule(WRITE, [_APPS], ["statefulsets", "statefulsets/scale", "daemonsets", "deployments",
                              "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale"]),
        rule(WRITE, [_AUTOSCALING], ["horizontalpodautoscalers"]),
        rule(WRITE, [_BATCH], ["jobs", "cronjobs"]),
        rule(WRITE, [_EXTENSIONS], ["daemonsets", "deployments", "deployments/scale", "deployments/rollback",
                                    "ingresses", "replicasets", "replicasets/scale", "replicationcontrollers/scale",
                                    "networkpolicies"]),
        rule(WRITE, [_POLICY], ["poddisruptionbudgets"]),
        rule(WRITE, [_NETWORKING], ["networkpolicies", "ingresses"]),
    ]


def _aggregate_to_admin() -> list[dict]:
    return [
        rule(["create"], [_AUTHZ], ["localsubjectaccessreviews"]),
        rule(READ_WRITE, [RBAC_GROUP], ["roles", "rolebindings"]),
    ]


def _scheduler_rules() -> list[dict]:
    return [
        _events_rule(),
        # leader election
        rule(["create"], [_COORDINATION], ["leases"]),
        rule(("get", "update"), [_COORDINATION], ["leases"], ["kube-scheduler"]),
        rule(READ, [_CORE], ["nodes"]),
        rule(("get", "list", "watch", "delete"), [_CORE], ["pods"]),
        rule(["create"], [_CORE], ["pods/binding", "bindings"]),
        rule(("patch", "update"), [_CORE], ["pods/status"]),
        # what selects pods (for spreading)
        rule(READ, [_CORE], ["services", "replicationcontrollers"]),
        rule(READ, [_APPS, _EXTENSIONS], ["replicasets"]),
        rule(READ, [_APPS], ["statefulsets"]),
        rule(READ, [_POLICY], ["poddisruptionbudgets"]),
        rule(READ, [_CORE], ["persistentvolumeclaims", "persistentvolumes"]),
        rule(["create"], [_AUTHN], ["tokenreviews"]),
        rule(["create"], [_AUTHZ], ["subjectaccessreviews"]),
        rule(READ, [_STORAGE], ["csinodes"]),
        rule(READ, [_CORE], ["namespaces"]),
        rule(READ, [_STORAGE], ["csidrivers"]),
        rule(READ, [_STORAGE], ["csistoragecapacities"]),
    ]


def _controller_manager_rules() -> list[dict]:
    return [
        _events_rule(),
        # leader election
        rule(["create"], [_COORDINATION], ["leases"]),
        rule(("get", "update"), [_COORDINATION], ["leases"], ["kube-controller-manager"]),
        # the service accounts and tokens it hands its controllers
        rule(["create"], [_CORE], ["secrets", "serviceaccounts"]),
        rule(["delete"], [_CORE], ["secrets"]),
        rule(["get"], [_CORE], ["namespaces", "secrets", "serviceaccounts", "configmaps"]),
        rule(["update"], [_CORE], ["secrets", "serviceaccounts"]),
        rule(["create"], [_AUTHN], ["tokenreviews"]),
        rule(["create"], [_AUTHZ], ["subjectaccessreviews"]),
        # every shared informer of the process lists and watches with these credentials
        rule(("list", "watch"), ["*"], ["*"]),
        rule(["create"], [_CORE], ["serviceaccounts/token"]),
    ]


def cluster_roles() -> list[dict]:
    """``bootstrappolicy.ClusterRoles()`` of v1.30, with admin/edit/view already aggregated."""
    agg_admin = "rbac.authorization.k8s.io/aggregate-to-admin"
    agg_edit = "rbac.authorization.k8s.io/aggregate-to-edit"
    agg_view = "rbac.authorization.k8s.io/aggregate-to-view"
    roles = [
        cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"]), rule(["*"], urls=["*"])]),
        cluster_role("system:discovery", [rule(["get"], urls=[
            "/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*",
            "/api", "/api/*", "/apis", "/apis/*"])]),
        cluster_role("system:monitoring", [rule(["get"], urls=[
            "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*", "/metrics", "/metrics/slis"])]),
        cluster_role("system:basic-user", [
            rule(["create"], [_AUTHZ], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            rule(["create"], [_AUTHN], ["selfsubjectreviews"]),
        ]),
        cluster_role("system:public-info-viewer", [rule(["get"], urls=[
            "/livez", "/readyz", "/healthz", "/version", "/version/"])]),
        cluster_role("admin", [], aggregate_from=agg_admin),
        cluster_role("edit", [], labels={agg_admin: "true"}, aggregate_from=agg_edit),
        cluster_role("view", [], labels={agg_edit: "true"}, aggregate_from=agg_view),
        cluster_role("system:aggregate-to-admin", _aggregate_to_admin(), labels={agg_admin: "true"}),
        cluster_role("system:aggregate-to-edit", _aggregate_to_edit(), labels={agg_edit: "true"}),
        cluster_role("system:aggregate-to-view", _aggregate_to_view(), labels={agg_view: "true"}),
        cluster_role("system:heapster", [
            rule(READ, [_CORE], ["events", "pods", "nodes", "namespaces"]),
            rule(READ, [_EXTENSIONS], ["deployments"]),
        ]),
        cluster_role("system:node", node_rules()),
        cluster_role("system:node-problem-detector", [
            rule(["get"], [_CORE], ["nodes"]),
            rule(["patch"], [_CORE], ["nodes/status"]),
            _events_rule(),
        ]),
        cluster_role("system:kubelet-api-admin", [
            rule(READ, [_CORE], ["nodes"]),
            rule(["proxy"], [_CORE], ["nodes"]),
            rule(["*"], [_CORE], ["nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"]),
        ]),
        cluster_role("system:node-bootstrapper", [
            rule(("create", "get", "list", "watch"), [_CERTS], ["certificatesigningrequests"]),
        ]),
        cluster_role("system:auth-delegator", [
            rule(["create"], [_AUTHN], ["tokenreviews"]),
            rule(["create"], [_AUTHZ], ["subjectaccessreviews"]),
        ]),
        cluster_role("system:kube-aggregator", [rule(READ, [_CORE], ["services", "endpoints"])]),
        cluster_role("system:kube-controller-manager", _controller_manager_rules()),
        cluster_role("system:kube-dns", [rule(("list", "watch"), [_CORE], ["endpoints", "services"])]),
        cluster_role("system:persistent-volume-provisioner", [
            rule(("get", "list", "watch", "create", "delete"), [_CORE], ["persistentvolumes"]),
            rule(("get", "list", "watch", "update"), [_CORE], ["persistentvolumeclaims"]),
            rule(READ, [_STORAGE], ["storageclasses"]),
            rule(["watch"], [_CORE], ["events"]),
            _events_rule(),
        ]),
        cluster_role("system:volume-scheduler", [
            rule(READ_UPDATE, [_CORE], ["persistentvolumes"]),
            rule(READ, [_STORAGE], ["storageclasses"]),
            rule(READ_UPDATE, [_CORE], ["persistentvolumeclaims"]),
        ]),
        cluster_role("system:service-account-issuer-discovery", [
            rule(["get"], urls=["/.well-known/openid-configuration", "/openid/v1/jwks"]),
        ]),
        cluster_role("system:node-proxier", [
            rule(("list", "watch"), [_CORE], ["services", "endpoints"]),
            rule(READ, [_CORE], ["nodes"]),
            _events_rule(),
            rule(("list", "watch"), [_DISCOVERY], ["endpointslices"]),
        ]),
        cluster_role("system:kube-scheduler", _scheduler_rules()),
    ]
    for signer in ("legacy-unknown", "kubelet-serving", "kube-apiserver-client", "kube-apiserver-client-kubelet"):
        roles.append(cluster_role(f"system:certificates.k8s.io:{signer}-approver", [
            rule(["approve"], [_CERTS], ["signers"], [f"kubernetes.io/{signer}"])]))
    for kind in ("nodeclient", "selfnodeclient"):
        roles.append(cluster_role(f"system:certificates.k8s.io:certificatesigningrequests:{kind}", [
            rule(["create"], [_CERTS], [f"certificatesigningrequests/{kind}"])]))
    return aggregate(roles)


def cluster_role_bindings() -> list[dict]:
    """``bootstrappolicy.ClusterRoleBindings()`` of v1.30."""
    group, user, sa = "Group", "User", "ServiceAccount"
    return [
        cluster_role_binding("cluster-admin", "cluster-admin", [subject(group, "system:masters")]),
        cluster_role_binding("system:monitoring", "system:monitoring", [subject(group, "system:monitoring")]),
        cluster_role_binding("system:discovery", "system:discovery", [subject(group, "system:authenticated")]),
        cluster_role_binding("system:basic-user", "system:basic-user", [subject(group, "system:authenticated")]),
        cluster_role_binding("system:public-info-viewer", "system:public-info-viewer",
                             [subject(group, "system:authenticated"), subject(group, "system:unauthenticated")]),
        cluster_role_binding("system:node-proxier", "system:node-proxier", [subject(user, "system:kube-proxy")]),
        cluster_role_binding("system:kube-controller-manager", "system:kube-controller-manager",
                             [subject(user, "system:kube-controller-manager")]),
        cluster_role_binding("system:kube-dns", "system:kube-dns", [subject(sa, "kube-dns", "kube-system")]),
        cluster_role_binding("system:kube-scheduler", "system:kube-scheduler", [subject(user, "system:kube-scheduler")]),
        cluster_role_binding("system:volume-scheduler", "system:volume-scheduler",
                             [subject(user, "system:kube-scheduler")]),
        # kept without subjects since the Node authorizer took over (v1.8)
        cluster_role_binding("system:node", "system:node", []),
        cluster_role_binding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
                             [subject(group, "system:serviceaccounts")]),
    ]


# -- the controllers' roles ---------------------------------------------------------------------------


def _controller_rules() -> dict[str, list[dict]]:
    """``controller_policy.go``: the rules of each ``system:controller:<name>`` role."""
    ev = _events_rule()
    return {
        "attachdetach-controller": [
            rule(("list", "watch"), [_CORE], ["persistentvolumes", "persistentvolumeclaims"]),
            rule(READ, [_CORE], ["nodes"]),
            rule(("patch", "update"), [_CORE], ["nodes/status"]),
            rule(("list", "watch"), [_CORE], ["pods"]),
            ev,
            rule(("get", "create", "delete", "list", "watch"), [_STORAGE], ["volumeattachments"]),
            rule(READ, [_STORAGE], ["csidrivers"]),
            rule(READ, [_STORAGE], ["csinodes"]),
        ],
        "clusterrole-aggregation-controller": [
            rule(("escalate", "get", "list", "watch", "update", "patch"), [RBAC_GROUP], ["clusterroles"]),
        ],
        "cronjob-controller": [
            rule(("get", "list", "watch", "update"), [_BATCH], ["cronjobs"]),
            rule(("get", "list", "watch", "create", "update", "delete", "patch"), [_BATCH], ["jobs"]),
            rule(["update"], [_BATCH], ["cronjobs/status"]),
            rule(["update"], [_BATCH], ["cronjobs/finalizers"]),
            rule(("list", "delete"), [_CORE], ["pods"]),
            ev,
        ],
        "daemon-set-controller": [
            rule(READ, [_EXTENSIONS, _APPS], ["daemonsets"]),
            rule(["update"], [_EXTENSIONS, _APPS], ["daemonsets/status"]),
            rule(["update"], [_EXTENSIONS, _APPS], ["daemonsets/finalizers"]),
            rule(("list", "watch"), [_CORE], ["nodes"]),
            rule(("list", "watch", "create", "delete", "patch"), [_CORE], ["pods"]),
            rule(["create"], [_CORE], ["pods/binding"]),
            rule(("get", "list", "watch", "create", "delete", "update", "patch"), [_APPS], ["controllerrevisions"]),
            ev,
        ],
        "deployment-controller": [
            rule(("get", "list", "watch", "update"), [_EXTENSIONS, _APPS], ["deployments"]),
            rule(["update"], [_EXTENSIONS, _APPS], ["deployments/status"]),
            rule(["update"], [_EXTENSIONS, _APPS], ["deployments/finalizers"]),
            rule(("get", "list", "watch", "create", "update", "patch", "delete"), [_APPS, _EXTENSIONS],
                 ["replicasets"]),
            rule(("get", "list", "watch", "update"), [_CORE], ["pods"]),
            ev,
        ],
        "disruption-controller": [
            rule(READ, [_EXTENSIONS, _APPS], ["deployments"]),
            rule(READ, [_APPS, _EXTENSIONS], ["replicasets"]),
            rule(READ, [_CORE], ["replicationcontrollers"]),
            rule(READ, [_POLICY], ["poddisruptionbudgets"]),
            rule(READ, [_APPS], ["statefulsets"]),
            rule(["update"], [_POLICY], ["poddisruptionbudgets/status"]),
            rule(("patch", "update"), [_CORE], ["pods/status"]),
            rule(["get"], ["*"], ["*/scale"]),
            ev,
        ],
        "endpoint-controller": [
            rule(READ, [_CORE], ["services", "pods"]),
            rule(("get", "list", "create", "update", "delete"), [_CORE], ["endpoints"]),
            rule(["create"], [_CORE], ["endpoints/restricted"]),
            ev,
        ],
        "endpointslice-controller": [
            rule(READ, [_CORE], ["services", "pods", "nodes"]),
            rule(["update"], [_CORE], ["services/finalizers"]),
            rule(("get", "list", "create", "update", "delete"), [_DISCOVERY], ["endpointslices"]),
            ev,
        ],
        "endpointslicemirroring-controller": [
            rule(READ, [_CORE], ["services", "endpoints"]),
            rule(["update"], [_CORE], ["services/finalizers"]),
            rule(["update"], [_CORE], ["endpoints/finalizers"]),
            rule(("get", "list", "create", "update", "delete"), [_DISCOVERY], ["endpointslices"]),
            ev,
        ],
        "ephemeral-volume-controller": [
            rule(READ, [_CORE], ["pods"]),
            rule(["update"], [_CORE], ["pods/finalizers"]),
            rule(("get", "list", "watch", "create"), [_CORE], ["persistentvolumeclaims"]),
            ev,
        ],
        "expand-controller": [
            rule(READ_UPDATE, [_CORE], ["persistentvolumes"]),
            rule(("update", "patch"), [_CORE], ["persistentvolumeclaims/status"]),
            rule(READ, [_CORE], ["persistentvolumeclaims"]),
            rule(READ, [_STORAGE], ["storageclasses"]),
            rule(["get"], [_CORE], ["services", "endpoints"]),
            rule(["get"], [_CORE], ["secrets"]),
            ev,
        ],
        "generic-garbage-collector": [
            # list/watch everything for the graph, and read, patch or delete any object
            rule(("get", "list", "watch", "patch", "update", "delete"), ["*"], ["*"]),
            ev,
        ],
        "horizontal-pod-autoscaler": [
            rule(READ, [_AUTOSCALING], ["horizontalpodautoscalers"]),
            rule(["update"], [_AUTOSCALING], ["horizontalpodautoscalers/status"]),
            rule(("get", "update"), ["*"], ["*/scale"]),
            rule(["list"], [_CORE], ["pods"]),
            rule(["list"], ["metrics.k8s.io"], ["pods"]),
            rule(("get", "list"), ["custom.metrics.k8s.io"], ["*"]),
            rule(("get", "list"), ["external.metrics.k8s.io"], ["*"]),
            ev,
        ],
        "job-controller": [
            rule(READ_UPDATE, [_BATCH], ["jobs"]),
            rule(["update"], [_BATCH], ["jobs/status"]),
            rule(["update"], [_BATCH], ["jobs/finalizers"]),
            rule(("list", "watch", "create", "delete", "patch"), [_CORE], ["pods"]),
            ev,
        ],
        "namespace-controller": [
            rule(("get", "list", "watch", "delete"), [_CORE], ["namespaces"]),
            rule(["update"], [_CORE], ["namespaces/finalize", "namespaces/status"]),
            rule(("get", "list", "delete", "deletecollection"), ["*"], ["*"]),
        ],
        "node-controller": [
            rule(("get", "list", "update", "delete", "patch"), [_CORE], ["nodes"]),
            rule(("patch", "update"), [_CORE], ["nodes/status"]),
            # used for pod deletion
            rule(("patch", "update"), [_CORE], ["pods/status"]),
            rule(("list", "get", "delete"), [_CORE], ["pods"]),
            ev,
        ],
        "persistent-volume-binder": [
            rule(("get", "list", "watch", "update", "create", "delete"), [_CORE], ["persistentvolumes"]),
            rule(["update"], [_CORE], ["persistentvolumes/status"]),
            rule(("get", "list", "watch", "update"), [_CORE], ["persistentvolumeclaims"]),
            rule(["update"], [_CORE], ["persistentvolumeclaims/status"]),
            rule(("list", "watch", "get", "create", "delete"), [_CORE], ["pods"]),
            rule(READ, [_STORAGE], ["storageclasses"]),
            rule(("get", "create", "update", "delete"), [_CORE], ["endpoints"]),
            rule(("get", "create", "delete"), [_CORE], ["services"]),
            rule(["get"], [_CORE], ["secrets"]),
            rule(("get", "list"), [_CORE], ["nodes"]),
            rule(["watch"], [_CORE], ["events"]),
            ev,
        ],
        "pod-garbage-collector": [
            rule(("list", "watch", "delete"), [_CORE], ["pods"]),
            rule(("get", "list"), [_CORE], ["nodes"]),
            rule(["patch"], [_CORE], ["pods/status"]),
        ],
        "replicaset-controller": [
            rule(("get", "list", "watch", "update"), [_APPS, _EXTENSIONS], ["replicasets"]),
            rule(["update"], [_APPS, _EXTENSIONS], ["replicasets/status"]),
            rule(["update"], [_APPS, _EXTENSIONS], ["replicasets/finalizers"]),
            rule(("list", "watch", "patch", "create", "delete"), [_CORE], ["pods"]),
            ev,
        ],
        "replication-controller": [
            rule(("get", "list", "watch", "update"), [_CORE], ["replicationcontrollers"]),
            rule(["update"], [_CORE], ["replicationcontrollers/status"]),
            rule(["update"], [_CORE], ["replicationcontrollers/finalizers"]),
            rule(("list", "watch", "patch", "create", "delete"), [_CORE], ["pods"]),
            ev,
        ],
        "resourcequota-controller": [
            # quota can count anything, so it needs to see everything
            rule(("list", "watch"), ["*"], ["*"]),
            rule(["update"], [_CORE], ["resourcequotas/status"]),
            ev,
        ],
        "route-controller": [
            rule(("list", "watch"), [_CORE], ["nodes"]),
            rule(["patch"], [_CORE], ["nodes/status"]),
            ev,
        ],
        "service-account-controller": [
            rule(["create"], [_CORE], ["serviceaccounts"]),
            ev,
        ],
        "service-controller": [
            rule(READ, [_CORE], ["services"]),
            rule(("patch", "update"), [_CORE], ["services/status"]),
            rule(("list", "watch"), [_CORE], ["nodes"]),
            ev,
        ],
        "statefulset-controller": [
            rule(("list", "watch"), [_CORE], ["pods"]),
            rule(READ, [_APPS], ["statefulsets"]),
            rule(["update"], [_APPS], ["statefulsets/status"]),
            rule(["update"], [_APPS], ["statefulsets/finalizers"]),
            rule(("get", "create", "delete", "update", "patch"), [_CORE], ["pods"]),
            rule(("get", "create", "delete", "update", "patch", "list", "watch"), [_APPS], ["controllerrevisions"]),
            rule(("get", "create"), [_CORE], ["persistentvolumeclaims"]),
            ev,
            # StatefulSetAutoDeletePVC (beta, on by default in v1.30)
            rule(("update", "delete"), [_CORE], ["persistentvolumeclaims"]),
        ],
        "ttl-controller": [
            rule(("update", "patch", "list", "watch"), [_CORE], ["nodes"]),
            ev,
        ],
        "certificate-controller": [
            rule(("get", "list", "watch", "delete"), [_CERTS], ["certificatesigningrequests"]),
            rule(["update"], [_CERTS], ["certificatesigningrequests/status", "certificatesigningrequests/approval"]),
            rule(["approve"], [_CERTS], ["signers"], ["kubernetes.io/kube-apiserver-client-kubelet"]),
            rule(["sign"], [_CERTS], ["signers"], [
                "kubernetes.io/legacy-unknown", "kubernetes.io/kube-apiserver-client",
                "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving"]),
            rule(["create"], [_AUTHZ], ["subjectaccessreviews"]),
            ev,
        ],
        "pvc-protection-controller": [
            rule(("get", "list", "watch", "update"), [_CORE], ["persistentvolumeclaims"]),
            rule(("list", "watch", "get"), [_CORE], ["pods"]),
            ev,
        ],
        "pv-protection-controller": [
            rule(("get", "list", "watch", "update"), [_CORE], ["persistentvolumes"]),
            ev,
        ],
        "ttl-after-finished-controller": [
            rule(("get", "list", "watch", "delete"), [_BATCH], ["jobs"]),
            ev,
        ],
        "root-ca-cert-publisher": [
            rule(("create", "update"), [_CORE], ["configmaps"]),
            ev,
        ],
        "validatingadmissionpolicy-status-controller": [
            rule(READ, [_ADMISSION_REGISTRATION], ["validatingadmissionpolicies"]),
            rule(("get", "patch", "update"), [_ADMISSION_REGISTRATION], ["validatingadmissionpolicies/status"]),
            ev,
        ],
        "legacy-service-account-token-cleaner": [
            rule(["get"], [_CORE], ["configmaps"], ["kube-apiserver-legacy-service-account-token-tracking"]),
            rule(("patch", "delete"), [_CORE], ["secrets"]),
        ],
    }


def controller_roles() -> list[dict]:
    """One ``system:controller:<name>`` ClusterRole per controller service account."""
    return [cluster_role(CONTROLLER_ROLE_PREFIX + name, rules) for name, rules in _controller_rules().items()]


def controller_role_bindings() -> list[dict]:
    """Each controller role bound to the ServiceAccount ``kube-system/<name>``."""
    return [
        cluster_role_binding(CONTROLLER_ROLE_PREFIX + name, CONTROLLER_ROLE_PREFIX + name,
                             [subject("ServiceAccount", name, "kube-system")])
        for name in _controller_rules()
    ]


# -- kubeadm's additions ----------------------------------------------------------------------------------


def kubeadm_objects() -> list[dict]:
    """What ``kubeadm init`` adds: the admin group binding, kube-proxy's and CoreDNS's access."""
    coredns = {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRole",
        "metadata": {"name": "system:coredns"},
        "rules": [
            rule(("list", "watch"), [_CORE], ["endpoints", "services", "pods", "namespaces"]),
            rule(("list", "watch"), [_DISCOVERY], ["endpointslices"]),
        ],
    }
    return [
        # admin.conf's user is in this group (since kubeadm v1.29, instead of system:masters)
        cluster_role_binding("kubeadm:cluster-admins", "cluster-admin",
                             [subject("Group", "kubeadm:cluster-admins")], bootstrap=False),
        cluster_role_binding("kubeadm:node-proxier", "system:node-proxier",
                             [subject("ServiceAccount", "kube-proxy", "kube-system")], bootstrap=False),
        coredns,
        cluster_role_binding("system:coredns", "system:coredns",
                             [subject("ServiceAccount", "coredns", "kube-system")], bootstrap=False),
    ]


def cloud_controller_manager_objects() -> list[dict]:
    """The role a cloud provider installs for its cloud-controller-manager (``kube-system/cloud-controller-manager``)."""
    role = {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRole",
        "metadata": {"name": "system:cloud-controller-manager"},
        "rules": [
            _events_rule(),
            rule(("create", "get", "update"), [_COORDINATION], ["leases"]),
            rule(["*"], [_CORE], ["nodes"]),
            rule(("patch", "update"), [_CORE], ["nodes/status"]),
            rule(("get", "list", "watch", "patch", "update"), [_CORE], ["services"]),
            rule(("patch", "update"), [_CORE], ["services/status"]),
            rule(["create"], [_CORE], ["serviceaccounts"]),
            rule(("list", "watch"), ["*"], ["*"]),
        ],
    }
    return [role, cluster_role_binding("system:cloud-controller-manager", "system:cloud-controller-manager",
                                       [subject("ServiceAccount", "cloud-controller-manager", "kube-system")],
                                       bootstrap=False)]


def bootstrap_policy() -> list[dict]:
    """Every object a new kubeadm cluster starts with, ClusterRoles before the bindings that use them."""
    return [*cluster_roles(), *controller_roles(), *cluster_role_bindings(), *controller_role_bindings(),
            *kubeadm_objects()]


# -- aggregation ------------------------------------------------------------------------------------------------


def aggregate(roles: list[dict]) -> list[dict]:
    """Fill the rules of every ClusterRole with an aggregationRule, as the clusterrole-aggregation controller does.

    The rules are those of the matching roles taken in name order, without duplicates;
    a role aggregating another aggregated role sees its aggregated rules.

    >>> a = cluster_role("a", [rule(["get"], [""], ["pods"])], labels={"agg": "true"})
    >>> b = cluster_role("b", [], aggregate_from="agg")
    >>> aggregate([a, b])[1]["rules"]
    [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['get']}]
    """
    by_name = {r["metadata"]["name"]: r for r in roles}
    done: set[str] = set()

    def fill(role: dict, stack: tuple[str, ...]) -> None:
        name = role["metadata"]["name"]
        if name in done or name in stack or not role.get("aggregationRule"):
            return
        selectors = [s.get("matchLabels") or {} for s in role["aggregationRule"].get("clusterRoleSelectors") or ()]
        rules: list[dict] = []
        for other_name in sorted(by_name):
            other = by_name[other_name]
            labels = other["metadata"].get("labels") or {}
            if other_name == name or not any(sel and all(labels.get(k) == v for k, v in sel.items())
                                             for sel in selectors):
                continue
            fill(other, (*stack, name))
            for r in other.get("rules") or ():
                if r not in rules:
                    rules.append(r)
        role["rules"] = rules
        done.add(name)

    for role in roles:
        fill(role, ())
    return roles


__all__ = [
    "BOOTSTRAP_LABELS",
    "CONTROLLER_ROLE_PREFIX",
    "CONTROLLER_SERVICE_ACCOUNTS",
    "aggregate",
    "bootstrap_policy",
    "cloud_controller_manager_objects",
    "cluster_role",
    "cluster_role_binding",
    "cluster_role_bindings",
    "cluster_roles",
    "controller_role_bindings",
    "controller_roles",
    "kubeadm_objects",
    "node_rules",
    "rule",
    "subject",
]
