"""``Cluster``: the learner's front door. It wires etcd, the API server, the control
plane and one kubelet per node onto one virtual clock, and offers the verbs a
notebook uses (``apply``, ``kubectl``, ``run``, ``step``, ``get``, node actions).

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=2, seed=0)
>>> c
Cluster(3 nodes, 9 pods, t=10.5s)
>>> c.apply('''
... apiVersion: apps/v1
... kind: Deployment
... metadata: {name: web}
... spec:
...   replicas: 2
...   selector: {matchLabels: {app: web}}
...   template:
...     metadata: {labels: {app: web}}
...     spec: {containers: [{name: nginx, image: nginx:1.27}]}
... ''')
['deployment.apps/web created']
>>> _ = c.run()
>>> sorted(p["status"]["phase"] for p in c.get("pods"))
['Running', 'Running']
"""

from __future__ import annotations

import json
from datetime import timedelta

from k8slab.api import errors
from k8slab.api.kinds import default_registry
from k8slab.api.manifest import load_manifests
from k8slab.api.objects import clone
from k8slab.api.validation import validate_manifest
from k8slab.apiserver import admission as admission_mod
from k8slab.apiserver import crd as crd_mod
from k8slab.apiserver import patch as patch_mod
from k8slab.apiserver import services as service_registry
from k8slab.apiserver.priority import ensure_system_priority_classes
from k8slab.apiserver.quota import enable_quota_admission
from k8slab.apiserver.rbac import enable_rbac
from k8slab.apiserver.rbac_bootstrap import cloud_controller_manager_objects
from k8slab.apiserver.request import UserInfo
from k8slab.apiserver.server import APIServer
from k8slab.apiserver.serviceaccount_admission import enable_service_account_admission
from k8slab.apiserver.tokens import ServiceAccountTokens
from k8slab.cluster.bootstrap import (
    SYSTEM_NAMESPACES,
    control_plane_static_pods,
    coredns_objects,
    ingress_nginx_rbac,
    kube_proxy_static_pod,
    kubernetes_service_objects,
    local_path_storage_rbac,
    node_internal_ip,
    operators_rbac,
)
from k8slab.cluster.dataplane import DataPlane
from k8slab.controlplane.apiextensions import APIExtensionsServer
from k8slab.controlplane.cloud import CloudControllerManager
from k8slab.controlplane.leaderelection import controller_manager_replicas, scheduler_replicas
from k8slab.controlplane.registry import DEFAULT_CONTROLLERS
from k8slab.controlplane.scheduler.plugins.volumebinding import VolumeBinding
from k8slab.controlplane.volume import (
    DefaultStorageClass,
    StorageObjectInUseProtection,
    default_storage_class,
)
from k8slab.etcd.cluster import EtcdCluster
from k8slab.etcd.store import Etcd
from k8slab.node.kubelet import Kubelet
from k8slab.node.kubeproxy import KubeProxy
from k8slab.sim.loop import EPOCH, EventLoop
from k8slab.sim.rng import Randomness
from k8slab.sim.trace import Trace

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

#: Node size when none is given: a modest cloud VM.
DEFAULT_NODE_CPU = "4"
DEFAULT_NODE_MEMORY = "8Gi"

_current = None


def current_cluster():
    """The most recently created :class:`Cluster` (what ``%kubectl`` acts on)."""
    return _current


class Cluster:
    """A simulated Kubernetes cluster: a ``control-plane`` node and ``workers`` worker nodes.

    As on a kubeadm cluster, the API server authorizes every request (``Node,RBAC``,
    with the bootstrap roles: ``c.authorizer``), runs the ``LimitRanger``,
    ``ServiceAccount`` and ``ResourceQuota`` admission plugins, and issues
    ServiceAccount tokens (``c.tokens``); each component authenticates as the identity
    it has on a real cluster. ``c.kubectl`` runs as ``kubernetes-admin`` (group
    ``kubeadm:cluster-admins``, bound to ``cluster-admin``), or as ``as_user``.

    Parameters
    ----------
    workers : int
        Number of worker nodes, named ``worker-1`` .. ``worker-N``.
    seed : int
        Seeds every random choice (pod name suffixes, UIDs, tie-breaks): same seed, same story.
    trace : bool or int
        Record every API request and watch delivery (``True``), only the last N (an int), or none (``False``).
    events : bool
        Whether components record ``Event`` objects (switch off for very large runs).
    pod_cidr : str
        The cluster's pod network; each node gets a ``/24`` of it, so the default ``/16``
        holds 256 nodes (larger clusters need a larger range, as real ones do).
    """

    def __init__(self, workers: int = 3, seed: int = 0, *, trace: bool | int = True, events: bool = True,
                 node_cpu: str = DEFAULT_NODE_CPU, node_memory: str = DEFAULT_NODE_MEMORY,
                 pod_cidr: str = "10.244.0.0/16", boot: bool = True, etcd_members: int = 1,
                 ha_control_plane: bool = False):
        global _current
        self.seed = seed
        self.loop = EventLoop()
        self.loop.on_error = self._component_error
        self.rng = Randomness(seed)
        limit = trace if isinstance(trace, int) and not isinstance(trace, bool) else None
        self.trace = Trace(limit=limit, enabled=bool(trace))
        # one etcd member, as kubeadm's stacked control plane starts; 3 gives a Raft cluster with a quorum
        self.etcd = (EtcdCluster(self.loop, self.rng, members=tuple(f"etcd-{i}" for i in range(etcd_members)))
                     if etcd_members > 1 else Etcd())
        self.kinds = default_registry()
        self.api = APIServer(self.etcd, self.loop, self.trace, self.rng, self.kinds)
        # kube-apiserver's Service registry hands out ClusterIPs and NodePorts
        self.service_allocator = service_registry.register(self.api)
        # kubeadm's kube-apiserver: --authorization-mode=Node,RBAC with the bootstrap roles and
        # bindings (plus those of the add-ons kind installs), and the admission plugins
        # LimitRanger, ServiceAccount and ResourceQuota switched on
        self.authorizer = enable_rbac(self.api, extra=[*cloud_controller_manager_objects(),
                                                       *local_path_storage_rbac(), *operators_rbac()])
        enable_quota_admission(self.api)
        enable_service_account_admission(self.api)
        # the TokenRequest API: the kubelets get their pods' ServiceAccount tokens from it
        self.tokens = ServiceAccountTokens(self.api)
        # the API server's post-start hook: system-node-critical and system-cluster-critical
        ensure_system_priority_classes(self.api)
        self.api.service_account_tokens = self.tokens
        self.api.mutating.extend([DefaultStorageClass(), StorageObjectInUseProtection()])
        # kube-apiserver's apiextensions part: CRDs become served kinds
        self.apiextensions = APIExtensionsServer(self.api, self.loop, self.rng)
        self.apiextensions.start()
        self.operators: dict = {}  # name -> a learner's running Operator
        self.schedulers: dict = {}  # name -> a learner's scheduler (c.add_scheduler)
        self.events_enabled = events
        self.pod_cidr = pod_cidr
        self.admin = self.api.client("kubectl")
        self.errors: list[str] = []  # failures of components, as "time component: message"
        self.kubelets: dict[str, Kubelet] = {}
        self._node_defaults = {"cpu": node_cpu, "memory": node_memory}
        self._bootstrap()
        # kube-scheduler and kube-controller-manager hold a Lease in kube-system (kubeadm runs them
        # with --leader-elect); ha_control_plane adds a standby replica of each on control-plane2,
        # as a kind cluster with two control-plane nodes has
        self.control_plane_hosts = ("control-plane", "control-plane2") if ha_control_plane else ("control-plane",)

        def configure_kcm(cm, replica):
            # kube-controller-manager --cluster-cidr: each node gets a /24 of it (256 nodes for a /16)
            cm.cluster_cidr = pod_cidr

        def configure_scheduler(s, replica):
            s.add_plugin(VolumeBinding(), before="PodTopologySpread")

        self.kube_controller_manager = controller_manager_replicas(
            self.api, self.loop, self.rng, DEFAULT_CONTROLLERS, hosts=self.control_plane_hosts, events=events,
            configure=configure_kcm)
        # cloud-controller-manager with a fake cloud: LoadBalancer Services get an external IP
        self.cloud_controller_manager = CloudControllerManager(self.api, self.loop, self.rng, events=events)
        self.kube_scheduler = scheduler_replicas(self.api, self.loop, self.rng, hosts=self.control_plane_hosts,
                                                 events=events, configure=configure_scheduler)
        self.dataplane = DataPlane(self)
        for host in self.control_plane_hosts:
            self._add_kubelet(host, control_plane=True)
        self.kube_controller_manager.start()
        self.cloud_controller_manager.start()
        self.kube_scheduler.start()
        self.dataplane.coredns.start()
        for i in range(1, workers + 1):
            self._add_kubelet(f"worker-{i}")
        _current = self
        if boot:
            self.loop.run_until_settled()

    # -- boot ------------------------------------------------------------------------------
    def _bootstrap(self) -> None:
        # kube-apiserver's system-namespaces controller creates these at start-up.
        apiserver = self.api.client("kube-apiserver")
        for ns in SYSTEM_NAMESPACES:
            apiserver.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        # the API server's own Service (10.96.0.1), then kubeadm's CoreDNS add-on (kube-dns at 10.96.0.10)
        for obj in kubernetes_service_objects(node_internal_ip(0)):
            apiserver.create(obj)
        kubeadm = self.api.client("kubeadm")
        for obj in coredns_objects():
            kubeadm.create(obj)
        # kind's default StorageClass (its local-path provisioner gives each claim a directory on a node)
        kubeadm.create(default_storage_class())

    def _add_kubelet(self, name: str, *, control_plane: bool = False, cpu: str | None = None,
                     memory: str | None = None, labels: dict | None = None, taints: list | None = None,
                     pods: int = 110, runtime: str = "containerd") -> Kubelet:
        if name in self.kubelets:
            raise errors.NodeError(f'node "{name}" already exists')
        index = len(self.kubelets)
        node_labels = dict(labels or {})
        node_taints = list(taints or [])
        static = [kube_proxy_static_pod(name)]
        if control_plane:
            node_labels.setdefault("node-role.kubernetes.io/control-plane", "")
            node_labels.setdefault("node.kubernetes.io/exclude-from-external-load-balancers", "")
            node_taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
            static = control_plane_static_pods(node_internal_ip(index)) + static
        kubelet = Kubelet(
            self.api,
            self.loop,
            self.rng,
            name,
            cpu=cpu or self._node_defaults["cpu"],
            memory=memory or self._node_defaults["memory"],
            pods=pods,
            labels=node_labels,
            taints=node_taints,
            internal_ip=node_internal_ip(index),
            static_pods=static,
            events=self.events_enabled,
            runtime=runtime,
        )
        self.kubelets[name] = kubelet
        kubelet.dataplane = self.dataplane
        self.dataplane.ingress.watch(kubelet)
        kubelet.start()
        # the node's kube-proxy (its static pod shows it; this is what it does)
        kubelet.proxy = KubeProxy(self.api, self.loop, self.rng, name, kubelet.internal_ip,
                                  cluster_cidr=self.pod_cidr)
        kubelet.proxy.start()
        return kubelet

    def _component_error(self, event, exc: Exception) -> None:
        # A component (or a learner's controller) raised outside a work queue: report, keep running.
        msg = exc.kubectl_message() if isinstance(exc, errors.ApiError) else f"{type(exc).__name__}: {exc}"
        self.errors.append(f"{event.time:.3f}s {event.who}: {msg}")

    # -- nodes -------------------------------------------------------------------------------
    def add_node(self, name: str, cpu: str | None = None, memory: str | None = None, labels: dict | None = None,
                 taints: list | None = None, pods: int = 110, runtime: str = "containerd") -> Cluster:
        """Join a new worker node (its kubelet registers the Node and starts heart-beating).

        ``runtime`` names its container runtime: ``containerd`` (the default), ``cri-o`` or ``docker``.
        """
        self._add_kubelet(name, cpu=cpu, memory=memory, labels=labels, taints=taints, pods=pods,
                          runtime=runtime)
        return self

    def _kubelet(self, name: str) -> Kubelet:
        k = self.kubelets.get(name)
        if k is None:
            raise errors.NodeError(f'node "{name}" not found; nodes are: {", ".join(self.kubelets)}')
        return k

    def fail_node(self, name: str) -> Cluster:
        """Pull the plug: the node's kubelet stops (no heartbeats, no status). The control plane
        notices only when the node's lease expires (40 s), then evicts after 300 s."""
        k = self._kubelet(name)
        k.stop()
        k.proxy.stop()  # its rules stay in the node's tables, but nobody updates them
        # The node controller will act only after the grace period; keep run() going until then.
        grace = self.controller_manager.controllers["node-lifecycle-controller"].grace_period
        self.loop.extend_horizon(self.loop.now + grace + 10)
        return self

    def recover_node(self, name: str) -> Cluster:
        """Power the node back on: its kubelet restarts, renews its lease and reports Ready."""
        k = self._kubelet(name)
        k.restart()
        k.proxy.start()  # lists everything afresh and rewrites all its rules
        return self

    def remove_node(self, name: str) -> Cluster:
        """Take a node away for good: its kubelet stops and its Node object is deleted."""
        k = self._kubelet(name)
        k.stop()
        k.proxy.stop()
        del self.kubelets[name]
        try:
            self.admin.delete("nodes", name)
        except errors.NotFound:
            pass
        return self

    # -- etcd members ---------------------------------------------------------------------------
    def _etcd_cluster(self) -> EtcdCluster:
        if not isinstance(self.etcd, EtcdCluster):
            raise errors.K8sLabError("this cluster has a single etcd member: create it with "
                                     "Cluster(..., etcd_members=3) to fail and recover members")
        return self.etcd

    def fail_etcd(self, name: str) -> Cluster:
        """Stop one etcd member (``etcd-0`` .. ``etcd-2``): with a quorum left, writes go on."""
        self._etcd_cluster().fail(name)
        return self

    def recover_etcd(self, name: str) -> Cluster:
        """Restart a stopped etcd member: it rejoins as a follower and catches up."""
        self._etcd_cluster().recover(name)
        return self

    # -- objects -------------------------------------------------------------------------------
    def apply(self, source, namespace: str | None = None) -> list[str]:
        """``kubectl apply -f``: create what is missing, change what differs, leave the rest.

        ``source`` is YAML text, a file or directory path, a dict or a list of dicts. Every
        object is checked (schema, then a server dry run) before any is changed, so a bad
        manifest changes nothing. Returns kubectl's lines (``deployment.apps/web created``).
        """
        return self._apply(source, namespace, self.admin)

    def _valid_manifests(self, source) -> list:
        manifests = load_manifests(source)
        for m in manifests:
            validate_manifest(m, self.kinds, custom_problem=lambda m: crd_mod.custom_resource_problem(self.api, m))
        return manifests

    def _apply(self, source, namespace: str | None, client) -> list[str]:
        """``apply`` with the requests sent by ``client`` (kubectl's, when it runs as another user)."""
        manifests = self._valid_manifests(source)
        # a namespace created earlier in the same batch does not exist yet during the dry run
        # (kubectl applies one object after the other): those objects are checked when created
        batch_namespaces = {m.obj.get("metadata", {}).get("name") for m in manifests
                            if m.obj.get("kind") == "Namespace" and m.obj.get("apiVersion") == "v1"}
        # likewise a ServiceAccount of the batch, which a pod of the batch runs as (the
        # ServiceAccount admission plugin looks it up)
        batch_accounts = {((m.obj.get("metadata") or {}).get("namespace") or namespace or "default",
                           (m.obj.get("metadata") or {}).get("name"))
                          for m in manifests if m.obj.get("kind") == "ServiceAccount"}
        # and a PriorityClass of the batch (the Priority admission plugin looks it up)
        batch_classes = {(m.obj.get("metadata") or {}).get("name") for m in manifests
                         if m.obj.get("kind") == "PriorityClass"}
        for m in manifests:
            ns = (m.obj.get("metadata") or {}).get("namespace") or namespace
            if ns in batch_namespaces and not self._namespace_exists(ns):
                continue
            if m.obj.get("kind") == "Pod" and (
                    (ns or "default", (m.obj.get("spec") or {}).get("serviceAccountName") or "default")
                    in batch_accounts or (m.obj.get("spec") or {}).get("priorityClassName") in batch_classes):
                continue
            self._apply_object(m, namespace, True, client)
        return [self._apply_object(m, namespace, False, client)[0] for m in manifests]

    def _namespace_exists(self, name: str) -> bool:
        try:
            self.admin.get("namespaces", name)
        except errors.NotFound:
            return False
        return True

    def preview(self, source, namespace: str | None = None, *, client=None) -> list[tuple[str, dict | None, dict]]:
        """What ``apply`` would do, without doing it (``kubectl diff``): ``(ref, live, merged)`` per object.

        ``merged`` is the API server's answer to a dry run of the same create or patch, so
        defaults, admission and validation are all in it; ``live`` is None for a new object.
        """
        return [self._apply_object(m, namespace, True, client or self.admin)[1:]
                for m in self._valid_manifests(source)]

    def _apply_object(self, manifest, namespace: str | None, dry_run: bool,
                      client) -> tuple[str, str, dict | None, dict]:
        obj = clone(manifest.obj)
        kind = self.kinds.for_object(obj["apiVersion"], obj["kind"])
        meta = obj.setdefault("metadata", {})
        if kind.namespaced:
            meta["namespace"] = meta.get("namespace") or namespace or "default"
        # kubectl remembers what was applied, to know later which fields the user dropped
        meta.setdefault("annotations", {})[LAST_APPLIED] = (
            json.dumps(_without_last_applied(manifest.obj), sort_keys=True, separators=(",", ":")) + "\n"
        )
        ref = f"{kind.resource_ref}/{meta.get('name')}"
        ns = meta.get("namespace")
        try:
            try:
                live = client.get(kind.group_resource, meta["name"], ns)
            except errors.NotFound:
                return f"{ref} created", ref, None, client.create(obj, ns, dry_run=dry_run)
            prev = (live["metadata"].get("annotations") or {}).get(LAST_APPLIED)
            try:
                original = json.loads(prev) if prev else None
            except ValueError:
                original = None
            patch = patch_mod.three_way_patch(original, obj, live)
            if not patch:
                return f"{ref} unchanged", ref, live, live
            merged = client.patch(kind.group_resource, meta["name"], patch, ns, patch_type="strategic",
                                      dry_run=dry_run)
            return f"{ref} configured", ref, live, merged
        except errors.ApiError as e:
            raise _with_source(e, manifest) from None

    def get(self, resource: str, name: str | None = None, namespace: str | None = "default", *,
            selector: str | None = None) -> list[dict] | dict:
        """Objects as plain dicts: ``c.get("pods")`` lists, ``c.get("pod", "web-x")`` reads one.

        ``namespace=None`` lists across all namespaces.
        """
        kind = self.kinds.resolve(resource)
        if kind is None:
            raise errors.ApiError(errors.status(404, "NotFound",
                                                f'the server doesn\'t have a resource type "{resource}"'))
        ns = namespace if kind.namespaced else None
        if name is not None:
            return self.admin.get(kind.group_resource, name, (ns or "default") if kind.namespaced else None)
        return self.admin.list(kind.group_resource, ns, label_selector=selector)["items"]

    def kubectl(self, command: str, *, as_user: str | None = None, input: str | None = None):
        """Run a kubectl command line against the cluster; returns its output text (``.returncode`` set).

        ``input`` is what kubectl reads on stdin (``apply -f -``); ``as_user`` runs the command
        with that user's credentials (a member of ``system:authenticated`` only).
        """
        from k8slab.kubectl.command import Kubectl

        client = self.admin
        if as_user is not None:
            client = self.api.client(f"kubectl ({as_user})", user=UserInfo(as_user, ("system:authenticated",)))
        # kubectl apply --as alice (or as_user=) sends its requests as that user: the hook is given
        # kubectl's client (impersonated, logged) with every call
        def apply(src, ns=None, client=None):
            return self._apply(src, ns, client or self.admin)

        apply.with_client = True
        # create -f / delete -f read manifests the same way apply does
        apply.load = lambda src: [m.obj for m in load_manifests(src)]
        apply.preview = lambda src, ns=None, client=None: self.preview(src, ns, client=client)
        k = Kubectl(client, self.kinds, now=lambda: EPOCH + timedelta(seconds=self.loop.now), apply=apply)
        return k.run(command, input=input)

    # -- operators ---------------------------------------------------------------------------------
    def controller(self, target, *, owns=(), name: str | None = None):
        """Run a learner's operator in the cluster.

        ``@c.controller("websites.example.com", owns=["deployments"])`` on a function
        ``reconcile(obj, client)`` returns the running :class:`~k8slab.operator.Operator`;
        ``c.controller(WebsiteController)`` starts an ``Operator`` subclass.
        """
        from k8slab import operator

        started = operator.controller(self, target, owns=owns, name=name)
        if isinstance(target, type):
            self.operators[started.name] = started
            return started

        def decorate(fn):
            op = started(fn)
            self.operators[op.name] = op
            return op

        return decorate

    # -- time ----------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """Virtual seconds since the cluster started."""
        return self.loop.now

    def run(self, seconds: float | None = None, *, limit: float = 3600.0) -> Cluster:
        """Advance virtual time: until the cluster settles, or by exactly ``seconds``."""
        if seconds is not None:
            self.loop.run_until(self.loop.now + seconds)
        else:
            self.loop.run_until_settled(limit=limit)
        return self

    def step(self):
        """Run one event (a watch delivery, a reconcile, a heartbeat) and return it."""
        return self.loop.step()

    def install(self, addon: str) -> list[str]:
        """Install an add-on the way its docs say (``kubectl apply -f deploy.yaml``).

        ``"ingress-nginx"``: the NGINX Ingress controller (namespace ``ingress-nginx``, a
        LoadBalancer Service, the default IngressClass ``nginx``). Returns apply's lines.
        """
        if addon != "ingress-nginx":
            raise errors.K8sLabError(f'unknown add-on "{addon}"; k8slab knows: ingress-nginx')
        from k8slab.node.ingress_nginx import ingress_nginx_manifests

        objs = ingress_nginx_manifests()
        labels = {k: v for k, v in (objs[1]["metadata"].get("labels") or {}).items()
                  if k != "app.kubernetes.io/component"}
        # deploy.yaml's order: Namespace, ServiceAccount, the controller's RBAC, then the rest
        return self.apply([*objs[:2], *ingress_nginx_rbac(labels=labels or None), *objs[2:]])

    # -- the network -----------------------------------------------------------------------------
    def curl(self, url: str, *, from_pod: str | None = None, from_node: str | None = None,
             from_outside: bool = False, namespace: str = "default", headers: dict | None = None):
        """Send one HTTP GET and follow it hop by hop: DNS, the node's iptables rules, routing, the pod.

        Say where it starts: ``from_pod="client"`` (a running pod, in ``namespace``),
        ``from_node="worker-1"`` (a process on the node) or ``from_outside=True`` (a client
        outside the cluster, which can reach node IPs and load-balancer IPs only).
        Returns a :class:`~k8slab.network.request.Response` (``.status``, ``.body``, ``.pod``,
        ``.hops``; ``.error`` holds curl's message when no answer came). Takes no virtual time.
        """
        src = self.dataplane.source(from_pod=from_pod, from_node=from_node, from_outside=from_outside,
                                    namespace=namespace)
        return self.dataplane.request(url, src, headers=headers)

    def traffic(self, service: str, requests: int = 1000, *, from_pod: str | None = None,
                from_node: str | None = None, namespace: str = "default", port: int | str | None = None,
                path: str = "/"):
        """Send ``requests`` requests to a Service's ClusterIP and count them per backend pod.

        Each request walks the source node's rules like :meth:`curl` (kube-proxy's random
        choice, seeded), so the spread is what iptables mode gives. Without ``from_pod`` /
        ``from_node`` the requests start on the first worker node.
        """
        if from_pod is None and from_node is None:
            from_node = next((n for n in self.kubelets if n != "control-plane" and self.kubelets[n].running),
                             "control-plane")
        src = self.dataplane.source(from_pod=from_pod, from_node=from_node, namespace=namespace)
        return self.dataplane.traffic(service, requests, src, namespace=namespace, port=port, path=path)

    @property
    def dns(self):
        """Cluster DNS: ``c.dns.resolve("web", from_pod="client")`` answers as that pod's resolver would."""
        from k8slab.cluster.dataplane import DNSView

        return DNSView(self)

    # -- views ---------------------------------------------------------------------------------
    def node(self, name: str):
        """A node's view: its kubelet, pods and containers."""
        return self._kubelet(name).view()

    @property
    def nodes(self) -> list[str]:
        return list(self.kubelets)

    @property
    def controllers(self):
        return self.controller_manager.controllers

    @property
    def controller_manager(self):
        """The leading kube-controller-manager (between leaders: the last one that led)."""
        return self.kube_controller_manager.component

    @property
    def scheduler(self):
        """The leading kube-scheduler (between leaders: the last one that led)."""
        return self.kube_scheduler.component

    # -- control-plane components -------------------------------------------------------------------
    def _replicated(self, component: str):
        found = {"kube-scheduler": self.kube_scheduler,
                 "kube-controller-manager": self.kube_controller_manager}.get(component)
        if found is None:
            raise errors.K8sLabError(f'unknown component "{component}"; '
                                     "leader-elected components are: kube-controller-manager, kube-scheduler")
        return found

    def fail_component(self, component: str, replica: int | str | None = None) -> Cluster:
        """Kill one replica of ``kube-scheduler`` or ``kube-controller-manager`` (default: the leader).

        It stops renewing its Lease; another replica takes over once the lease has not
        changed for 15 s (``run()`` waits for that)."""
        try:
            self._replicated(component).fail(replica)
        except LookupError as e:
            raise errors.K8sLabError(str(e)) from None
        return self

    def recover_component(self, component: str, replica: int | str = 0) -> Cluster:
        """Start a killed replica again: a new process, with a new identity, campaigning for the lease."""
        try:
            self._replicated(component).recover(replica)
        except LookupError as e:
            raise errors.K8sLabError(str(e)) from None
        return self

    def admission(self, name: str, *, mutating: bool = False, kinds=None):
        """Add a learner's admission hook to the API server's chain (a decorator).

        ``@c.admission("no-latest", kinds=["Pod"])`` on ``fn(request, obj, old)``: a validating
        hook returns a message to deny the request (``None`` to allow); with ``mutating=True``
        it changes ``obj`` in place. Hooks run where admission webhooks run: mutating ones
        after the built-in mutating plugins, validating ones after validation. A denial reads
        ``admission webhook "no-latest" denied the request: …``; a hook that raises denies
        with its exception. ``c.remove_admission(name)`` takes it out again; registering a
        name again (re-running the notebook cell) replaces the earlier hook, as re-applying a
        webhook configuration would.
        """
        builtin = {type(p).__name__ for p in [*self.api.mutating, *self.api.validating]
                   if not isinstance(p, admission_mod.FunctionAdmission)}
        if name in builtin:
            raise errors.K8sLabError(f'"{name}" is a built-in admission plugin: choose another name')

        def register(fn):
            self.remove_admission(name)
            chain = self.api.mutating if mutating else self.api.validating
            chain.append(admission_mod.FunctionAdmission(name, fn, mutating, set(kinds) if kinds else None))
            return fn

        return register

    def remove_admission(self, name: str) -> None:
        """Take a learner's admission hook out of the chain."""
        for chain in (self.api.mutating, self.api.validating):
            chain[:] = [p for p in chain if not (isinstance(p, admission_mod.FunctionAdmission) and p.name == name)]

    def add_scheduler(self, scheduler):
        """Run a learner's :class:`~k8slab.controlplane.scheduler.custom.SimpleScheduler` beside kube-scheduler."""
        if scheduler.name in self.schedulers:
            raise errors.K8sLabError(f'a scheduler named "{scheduler.name}" is already running')
        scheduler.start(self.api, self.loop, self.rng, events=self.events_enabled)
        self.schedulers[scheduler.name] = scheduler
        return scheduler

    def __repr__(self) -> str:
        pods = self.etcd.count("/registry/pods/")
        nodes = self.etcd.count("/registry/minions/")
        return f"Cluster({nodes} nodes, {pods} pods, t={self.loop.now:.1f}s)"


def _without_last_applied(obj: dict) -> dict:
    o = clone(obj)
    ann = (o.get("metadata") or {}).get("annotations")
    if ann and LAST_APPLIED in ann:
        del ann[LAST_APPLIED]
        if not ann:
            del o["metadata"]["annotations"]
    return o


def _with_source(e: errors.ApiError, manifest) -> errors.ApiError:
    # kubectl prefixes server errors met while applying a file with the file it was reading.
    verb = "creating" if e.code != 409 else "applying"
    st = dict(e.status)
    if manifest.source not in ("<string>", "<dict>"):
        st["message"] = f'error when {verb} "{manifest.source}": {st.get("message", "")}'
    new = type(e).__new__(type(e))
    errors.ApiError.__init__(new, st)
    return new
