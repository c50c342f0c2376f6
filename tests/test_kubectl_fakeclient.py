"""A small in-memory API-server client for the kubectl tests, and builders of realistic objects.

The other ``test_kubectl_*`` modules import from here. The fake answers like the
real client: plural or ``plural.group`` resource names, ``ApiError`` subclasses
on failure, lists in etcd key order.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone

from k8slab.api import errors
from k8slab.api.kinds import default_registry
from k8slab.kubectl import Kubectl

NOW = datetime(2025, 1, 1, 1, 0, 0, tzinfo=timezone.utc)  # one hour after the cluster started
T0 = "2025-01-01T00:00:00Z"


def ts(seconds_before_now: float) -> str:
    """A timestamp ``seconds_before_now`` seconds before NOW."""
    t = NOW.timestamp() - seconds_before_now
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _matches_labels(labels: dict, selector: str | None) -> bool:
    if not selector:
        return True
    for term in selector.split(","):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            if labels.get(k.strip().rstrip("=")) != v.strip().lstrip("="):
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term.strip() not in labels:
            return False
    return True


def _field(obj: dict, path: str):
    value = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


class FakeClient:
    def __init__(self, *objects: dict):
        self.registry = default_registry()
        self.store: dict[tuple[str, str, str], dict] = {}
        self.calls: list[tuple] = []
        self.log_text: dict[tuple[str, str, str | None], str] = {}
        for obj in objects:
            self.add(obj)

    # -- test helpers ---------------------------------------------------------------------
    def add(self, obj: dict) -> dict:
        kind = self.registry.for_object(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        self.store[(kind.group_resource, meta.get("namespace", "") if kind.namespaced else "", meta["name"])] = obj
        return obj

    def _kind(self, resource: str):
        kind = self.registry.resolve(resource)
        assert kind is not None, resource
        return kind

    def _key(self, resource, name, namespace):
        kind = self._kind(resource)
        return kind, (kind.group_resource, (namespace or "default") if kind.namespaced else "", name)

    # -- the client interface ------------------------------------------------------------------
    def get(self, resource, name, namespace=None):
        self.calls.append(("get", resource, name, namespace))
        kind, key = self._key(resource, name, namespace)
        if key not in self.store:
            raise errors.NotFound(kind.group_resource, name)
        return copy.deepcopy(self.store[key])

    def list(self, resource, namespace=None, label_selector=None, field_selector=None):
        self.calls.append(("list", resource, namespace, label_selector, field_selector))
        kind = self._kind(resource)
        items = []
        for (gr, ns, _name), obj in sorted(self.store.items(), key=lambda kv: f"{kv[0][1]}/{kv[0][2]}"):
            if gr != kind.group_resource or (namespace and kind.namespaced and ns != namespace):
                continue
            if not _matches_labels(obj["metadata"].get("labels") or {}, label_selector):
                continue
            if field_selector:
                ok = True
                for term in field_selector.split(","):
                    if "!=" in term:
                        k, v = term.split("!=", 1)
                        ok &= _field(obj, k) != v
                    else:
                        k, v = term.split("=", 1)
                        ok &= _field(obj, k.rstrip("=")) == v.lstrip("=")
                if not ok:
                    continue
            items.append(copy.deepcopy(obj))
        return {"apiVersion": kind.api_version, "kind": f"{kind.kind}List", "metadata": {"resourceVersion": "42"},
                "items": items}

    def create(self, obj, namespace=None):
        self.calls.append(("create", obj, namespace))
        kind = self.registry.for_object(obj["apiVersion"], obj["kind"])
        obj = copy.deepcopy(obj)
        if kind.namespaced:
            obj["metadata"]["namespace"] = namespace or obj["metadata"].get("namespace") or "default"
        key = (kind.group_resource, obj["metadata"].get("namespace", "") if kind.namespaced else "", obj["metadata"]["name"])
        if key in self.store:
            raise errors.AlreadyExists(kind.group_resource, obj["metadata"]["name"])
        obj["metadata"]["creationTimestamp"] = obj["metadata"].get("creationTimestamp") or ts(0)
        self.store[key] = obj
        return copy.deepcopy(obj)

    def patch(self, resource, name, patch, namespace=None, patch_type="merge", subresource=None):
        self.calls.append(("patch", resource, name, patch, namespace, patch_type, subresource))
        kind, key = self._key(resource, name, namespace)
        if key not in self.store:
            raise errors.NotFound(kind.group_resource, name)

        def merge(target, p):
            for k, v in p.items():
                if v is None:
                    target.pop(k, None)
                elif isinstance(v, dict) and isinstance(target.get(k), dict):
                    merge(target[k], v)
                else:
                    target[k] = copy.deepcopy(v)

        merge(self.store[key], patch)
        return copy.deepcopy(self.store[key])

    def delete(self, resource, name, namespace=None, propagation_policy=None, grace_period_seconds=None):
        self.calls.append(("delete", resource, name, namespace, propagation_policy, grace_period_seconds))
        kind, key = self._key(resource, name, namespace)
        if key not in self.store:
            raise errors.NotFound(kind.group_resource, name)
        return self.store.pop(key)

    def evict(self, name, namespace):
        self.calls.append(("evict", name, namespace))
        self.delete("pods", name, namespace)
        return {"kind": "Status", "status": "Success"}

    def logs(self, name, namespace, container=None, previous=False, tail=None):
        self.calls.append(("logs", name, namespace, container, previous, tail))
        self.get("pods", name, namespace)
        text = self.log_text.get((namespace, name, container), "")
        if tail is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-tail:]) if tail else ""
        return text


def kubectl_for(client: FakeClient, apply=None) -> Kubectl:
    k = Kubectl(client, client.registry, now=lambda: NOW, apply=apply)
    k.reraise_internal_errors = True  # a bug in k8slab.kubectl must fail the test, not print "error:"
    return k


# -- builders of realistic objects ------------------------------------------------------------


def node(name: str, ip: str, *, control_plane: bool = False, ready: str = "True", unschedulable: bool = False,
         created: str = T0) -> dict:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    spec: dict = {"podCIDR": f"10.244.{ip.split('.')[-1]}.0/24", "podCIDRs": [f"10.244.{ip.split('.')[-1]}.0/24"]}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        spec["taints"] = [{"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}]
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": created, "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": spec,
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "allocatable": {"cpu": "2", "ephemeral-storage": "100Gi", "memory": "4Gi", "pods": "110"},
            "capacity": {"cpu": "2", "ephemeral-storage": "100Gi", "memory": "4Gi", "pods": "110"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                 "message": "kubelet has sufficient memory available", "lastHeartbeatTime": ts(10), "lastTransitionTime": created},
                {"type": "Ready", "status": ready, "reason": "KubeletReady" if ready == "True" else "NodeStatusUnknown",
                 "message": "kubelet is posting ready status" if ready == "True" else "Kubelet stopped posting node status.",
                 "lastHeartbeatTime": ts(10), "lastTransitionTime": created},
            ],
            "nodeInfo": {
                "architecture": "amd64", "bootID": f"boot-{name}", "containerRuntimeVersion": "containerd://1.7.15",
                "kernelVersion": "6.8.0-k8slab", "kubeProxyVersion": "v1.30.0", "kubeletVersion": "v1.30.0",
                "machineID": f"machine-{name}", "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": f"uuid-{name}",
            },
        },
    }


def pod(name: str, *, namespace: str = "default", phase: str = "Running", node_name: str | None = "worker-1",
        ready: bool = True, state: dict | None = None, restarts: int = 0, last_state: dict | None = None,
        labels: dict | None = None, owner: tuple[str, str] | None = None, created: str = T0,
        containers: list[dict] | None = None, statuses: list[dict] | None = None, extra_status: dict | None = None,
        deletion: str | None = None, ip: str = "10.244.1.5") -> dict:
    if containers is None:
        containers = [{"name": "nginx", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                       "ports": [{"containerPort": 80, "protocol": "TCP"}], "resources": {}}]
    if statuses is None:
        statuses = [{
            "name": c["name"], "image": c["image"], "imageID": f"docker.io/library/{c['image']}@sha256:abc",
            "containerID": f"containerd://{name}-{c['name']}", "ready": ready, "restartCount": restarts,
            "started": ready, "state": state or {"running": {"startedAt": created}},
            **({"lastState": last_state} if last_state else {"lastState": {}}),
        } for c in containers]
    meta: dict = {"name": name, "namespace": namespace, "uid": f"uid-{name}", "creationTimestamp": created,
                  "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": f"uid-{owner[1]}",
                                    "controller": True, "blockOwnerDeletion": True}]
    if deletion:
        meta["deletionTimestamp"] = deletion
        meta["deletionGracePeriodSeconds"] = 30
    cond = "True" if ready else "False"
    status = {
        "phase": phase,
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": cond},
            {"type": "ContainersReady", "status": cond},
            {"type": "PodScheduled", "status": "True"},
        ],
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
        "startTime": created,
    }
    if node_name:
        status.update({"hostIP": "172.18.0.3", "hostIPs": [{"ip": "172.18.0.3"}], "podIP": ip, "podIPs": [{"ip": ip}]})
    status.update(extra_status or {})
    spec = {
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
        ],
    }
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def deployment(name: str, *, replicas: int = 3, ready: int = 3, updated: int = 3, available: int = 3,
               image: str = "nginx:1.27", created: str = T0, namespace: str = "default", total: int | None = None) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "creationTimestamp": created,
                     "generation": 1, "labels": {"app": name},
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "nginx", "image": image, "imagePullPolicy": "IfNotPresent",
                                         "ports": [{"containerPort": 80, "protocol": "TCP"}], "resources": {}}],
                         "restartPolicy": "Always"},
            },
        },
        "status": {
            "availableReplicas": available, "observedGeneration": 1, "readyReplicas": ready,
            "replicas": replicas if total is None else total, "updatedReplicas": updated,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    }


def replicaset(name: str, deploy: dict, *, replicas: int = 3, ready: int = 3, created: str = T0,
               template_hash: str = "7d8b9c6f5") -> dict:
    template = copy.deepcopy(deploy["spec"]["template"])
    template["metadata"]["labels"]["pod-template-hash"] = template_hash
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": deploy["metadata"]["namespace"], "uid": f"uid-{name}",
                     "creationTimestamp": created, "generation": 1,
                     "labels": {**deploy["spec"]["selector"]["matchLabels"], "pod-template-hash": template_hash},
                     "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                     "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                                     "deployment.kubernetes.io/revision": "1"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy["metadata"]["name"],
                                          "uid": deploy["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"replicas": replicas,
                 "selector": {"matchLabels": {**deploy["spec"]["selector"]["matchLabels"], "pod-template-hash": template_hash}},
                 "template": template},
        "status": {"availableReplicas": ready, "fullyLabeledReplicas": replicas, "observedGeneration": 1,
                   "readyReplicas": ready, "replicas": replicas},
    }


def event(name: str, involved: dict, reason: str, message: str, *, type_: str = "Normal", component: str = "kubelet",
          first: str = T0, last: str | None = None, count: int = 1, namespace: str | None = None) -> dict:
    meta = involved["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace or meta.get("namespace") or "default", "creationTimestamp": first},
        "involvedObject": {"apiVersion": involved["apiVersion"], "kind": involved["kind"], "name": meta["name"],
                           "namespace": meta.get("namespace", ""), "uid": meta.get("uid", "")},
        "reason": reason,
        "message": message,
        "type": type_,
        "count": count,
        "firstTimestamp": first,
        "lastTimestamp": last or first,
        "source": {"component": component},
    }


def namespace(name: str, created: str = T0) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": created,
                         "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def service(name: str, *, cluster_ip: str = "10.96.0.1", port: int = 443, created: str = T0, selector=None,
            namespace: str = "default", node_port: int | None = None, type_: str = "ClusterIP") -> dict:
    p = {"name": "https" if port == 443 else "", "port": port, "protocol": "TCP", "targetPort": 6443 if port == 443 else port}
    if node_port:
        p["nodePort"] = node_port
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-svc-{name}", "creationTimestamp": created,
                         "labels": {"component": "apiserver", "provider": "kubernetes"} if name == "kubernetes" else {}},
            "spec": {"clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "internalTrafficPolicy": "Cluster",
                     "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "ports": [p],
                     "selector": selector, "sessionAffinity": "None", "type": type_},
            "status": {"loadBalancer": {}}}


def test_fake_client_answers_like_the_api_server():
    c = FakeClient(pod("web-1"), pod("web-2", namespace="other"))
    assert [p["metadata"]["name"] for p in c.list("pods")["items"]] == ["web-1", "web-2"]
    assert [p["metadata"]["name"] for p in c.list("pods", "other")["items"]] == ["web-2"]
    try:
        c.get("pods", "nope", "default")
    except errors.NotFound as e:
        assert e.kubectl_message() == 'Error from server (NotFound): pods "nope" not found'
    else:
        raise AssertionError("expected NotFound")
