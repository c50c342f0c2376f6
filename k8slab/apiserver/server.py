"""The API server: the only door to the cluster's state.

Every request goes through the same pipeline, in the real order:

    authentication → authorization → admission (mutating) → validation
    → admission (validating) → storage in etcd

and every change stored in etcd is fanned out to the watchers of that resource
(informers of controllers, the scheduler, kubelets), each delivery a separate
event on the virtual clock, so a learner can step through them.

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
>>> admin = api.client("kubectl", token=api.admin_token)
>>> admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})["status"]
{'phase': 'Active'}
"""

from __future__ import annotations

from collections.abc import Callable

from k8slab.api import defaults as api_defaults
from k8slab.api import errors
from k8slab.api import validation as api_validation
from k8slab.api.kinds import Kind, KindRegistry, default_registry
from k8slab.api.names import random_suffix
from k8slab.api.objects import clone
from k8slab.api.selectors import NOT_EQUALS, LabelSelector, parse_field_selector, parse_selector
from k8slab.apiserver import admission as admission_mod
from k8slab.apiserver import crd as crd_mod
from k8slab.apiserver import patch as patch_mod
from k8slab.apiserver.request import Request, UserInfo
from k8slab.etcd.store import CompareFailed, Etcd, Unavailable, WatchEvent
from k8slab.sim.loop import EventLoop, timestamp
from k8slab.sim.rng import Randomness
from k8slab.sim.trace import Trace

#: The Kubernetes version the simulated cluster reports.
KUBERNETES_VERSION = "v1.30.0"

#: Version 4 UUID bits (RFC 4122 variant, version 4), as uuid.UUID(int=..., version=4) sets them.
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_V4 = (0x8000 << 48) | (4 << 76)

#: Kinds whose ``metadata.generation`` tracks spec changes.
_GENERATION_KINDS = {
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Ingress",
    "CustomResourceDefinition",
    "PriorityClass",
    "Service",
}


def _allow_all(user: UserInfo, attrs: dict) -> str | None:
    """The default authorizer: every request is allowed."""
    return None


class Watcher:
    """One open watch: who receives, on what, with which selectors."""

    __slots__ = ("actor", "kind", "namespace", "labels", "fields", "handler", "active", "node_name", "who")

    def __init__(self, actor, kind, namespace, labels, fields, handler, node_name):
        self.actor = actor
        self.kind = kind
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.handler = handler
        self.active = True
        self.node_name = node_name
        self.who = f"apiserver ⇒ {actor}"  # who delivers to it, as the trace shows

    def matches(self, obj: dict | None) -> bool:
        if obj is None:
            return False
        m = obj["metadata"]
        if self.namespace and m.get("namespace") != self.namespace:
            return False
        if self.labels is not None and not self.labels.matches(m.get("labels") or {}):
            return False
        if self.fields is not None and not self.fields.matches(obj):
            return False
        return True

    def stop(self) -> None:
        self.active = False

    def __repr__(self) -> str:
        return f"Watcher({self.actor} on {self.kind.plural})"


class APIServer:
    """The simulated kube-apiserver (see module docstring)."""

    def __init__(
        self,
        etcd: Etcd,
        loop: EventLoop,
        trace: Trace,
        rng: Randomness,
        kinds: KindRegistry | None = None,
        *,
        watch_latency: float = 0.001,
    ):
        self.etcd = etcd
        self.loop = loop
        self.trace = trace
        self.rng = rng
        self.kinds = kinds or default_registry()
        self.watch_latency = watch_latency
        self.version = KUBERNETES_VERSION
        self.admin_token = "admin-token"
        self.tokens: dict[str, UserInfo] = {
            self.admin_token: UserInfo("kubernetes-admin", ("kubeadm:cluster-admins", "system:authenticated"))
        }
        # authorizer(user, attributes) -> None when allowed, or the reason it is not
        self.authorizer: Callable[[UserInfo, dict], str | None] = _allow_all
        self.mutating: list[admission_mod.AdmissionPlugin] = admission_mod.default_mutating()
        self.validating: list[admission_mod.AdmissionPlugin] = admission_mod.default_validating()
        # node name -> the kubelet's handler for the pods/log and pods/exec subresources
        self.kubelet_endpoints: dict[str, object] = {}
        self._watchers: dict[str, list[Watcher]] = {}
        self._node_watchers: dict[str, dict[str, list[Watcher]]] = {}
        self._name_watchers: dict[str, dict[str, list[Watcher]]] = {}
        self._uid_rng = rng.stream("uids")
        self._name_rng = rng.stream("names")
        self.requests = 0
        for k in self.kinds.all():
            self._watch_store(k)

    # -- identities ------------------------------------------------------------
    def add_token(self, token: str, user: UserInfo) -> None:
        self.tokens[token] = user

    def client(self, actor: str, token: str | None = None, user: UserInfo | None = None, *,
               shared_results: bool = False):
        """A client for component ``actor``. With ``user`` a token is minted for that identity.

        ``shared_results=True`` is for built-in components: they get the stored objects
        themselves (read-only, like an informer's cache) instead of private copies.
        """
        from k8slab.apiserver.client import Client

        if user is not None:
            token = f"token-{actor}"
            self.tokens[token] = user
        return Client(self, actor, token or self.admin_token, shared_results=shared_results)

    def register_kind(self, kind: Kind) -> None:
        self.kinds.register(kind)
        self._watch_store(kind)

    def _watch_store(self, kind: Kind) -> None:
        # the kind's names are fixed (Kind is frozen): work them out once, not per write
        self.etcd.watch(kind.etcd_prefix,
                        lambda ev, k=kind, gr=kind.group_resource, pl=kind.plural: self._fanout(k, ev, gr, pl))

    # -- the pipeline ------------------------------------------------------------
    def handle(self, req: Request):
        """Serve one request; returns the response object or raises :class:`errors.ApiError`."""
        self.requests += 1
        kind = None
        try:
            user = self.authenticate(req)
            kind = self.kinds.resolve(req.resource)
            if kind is None:
                raise errors.ApiError(
                    errors.status(404, "NotFound", "the server could not find the requested resource")
                )
            self.authorize(user, req, kind)
            result = self._dispatch(req, kind, user)
            code = 201 if req.verb == "create" else 200
            self._record(req, kind, code, result)
            return result
        except errors.ApiError as e:
            self._record(req, kind, e.code, None)
            raise

    def _record(self, req: Request, kind: Kind | None, code: int, result) -> None:
        if not self.trace.enabled or req.verb == "watch":
            return
        resource = kind.plural if kind else req.resource
        if req.subresource:
            resource += "/" + req.subresource
        name = req.name
        if name is None and isinstance(result, dict) and req.verb == "create":
            name = (result.get("metadata") or {}).get("name")
        rev = None
        if isinstance(result, dict):
            rv = (result.get("metadata") or {}).get("resourceVersion")
            rev = int(rv) if rv and str(rv).isdigit() else None
        self.trace.record_request(self.loop.now, req.actor, req.verb, resource, req.namespace, name, code, rev,
                                  bool(req.options.get("dryRun")))

    def authenticate(self, req: Request) -> UserInfo:
        user = self.tokens.get(req.token or "")
        if user is None:
            raise errors.ApiError(errors.status(401, "Unauthorized", "Unauthorized"))
        return user

    def authorize(self, user: UserInfo, req: Request, kind: Kind) -> None:
        if self.authorizer is _allow_all:  # the default: nothing to decide (and no attributes to build)
            return
        name = req.name
        if name is None and req.verb in ("list", "watch"):
            # RequestInfo: a list or watch pinned by fieldSelector metadata.name=X is about object X
            # (how a kubelet may watch just the ConfigMaps its pods use)
            fields = _field_selector(req.options.get("fieldSelector"))
            for r in fields.requirements if fields is not None else ():
                if r.field == "metadata.name" and r.operator != NOT_EQUALS:
                    name = r.value
        attrs = {
            "verb": req.verb,
            "resource": kind.plural,
            "group": kind.group,
            "namespace": req.namespace if kind.namespaced else None,
            "name": name,
            "subresource": req.subresource,
        }
        reason = self.authorizer(user, attrs)
        if reason is not None:
            raise errors.Forbidden(reason, kind.group_resource, req.name)

    def _dispatch(self, req: Request, kind: Kind, user: UserInfo):
        if kind.namespaced and req.verb not in ("list", "watch") and not req.namespace:
            raise errors.BadRequest("the server could not find the requested resource (namespace required)")
        verb = req.verb
        if req.subresource and req.subresource not in kind.subresources:
            raise errors.ApiError(errors.status(404, "NotFound", "the server could not find the requested resource"))
        if verb == "get":
            return self._get(kind, req)
        if verb == "list":
            return self._list(kind, req)
        if verb == "create":
            return self._create(kind, req, user)
        if verb == "update":
            return self._update(kind, req, user)
        if verb == "patch":
            return self._patch(kind, req, user)
        if verb == "delete":
            return self._delete(kind, req, user)
        raise errors.MethodNotAllowed(f"the server does not allow this method on the requested resource ({verb})")

    # -- reads ---------------------------------------------------------------------
    def _read(self, kind: Kind, namespace: str | None, name: str):
        try:
            kv = self.etcd.get(kind.etcd_key(name, namespace))
        except Unavailable as e:
            raise errors.InternalError(str(e)) from None
        if kv is None:
            raise errors.NotFound(kind.group_resource, name)
        return kv.value

    def _get(self, kind: Kind, req: Request):
        obj = self._read(kind, req.namespace, req.name)
        if req.subresource == "scale":
            return self._scale_of(kind, obj)
        if req.subresource in ("log", "exec"):
            return self._kubelet_call(req, obj)
        return obj

    def _kubelet_call(self, req: Request, pod: dict):
        node = (pod.get("spec") or {}).get("nodeName")
        endpoint = self.kubelet_endpoints.get(node or "")
        if endpoint is None:
            raise errors.BadRequest(
                f'pod {pod["metadata"]["name"]} does not have a host assigned'
                if not node
                else f"Get \"https://{node}:10250/containerLogs\": dial tcp: connect: connection refused"
            )
        return endpoint(req, pod)

    def list_objects(self, kind: Kind, namespace: str | None = None) -> list[dict]:
        """Stored objects of ``kind`` (shared, read-only), in key order."""
        prefix = kind.etcd_prefix + (f"{namespace}/" if namespace and kind.namespaced else "")
        return [kv.value for kv in self.etcd.range(prefix)]

    def _list(self, kind: Kind, req: Request):
        opts = req.options
        objs = self.list_objects(kind, req.namespace)
        labels = _label_selector(opts.get("labelSelector"))
        fields = _field_selector(opts.get("fieldSelector"))
        items = []
        for o in objs:
            if labels is not None and not labels.matches(o["metadata"].get("labels") or {}):
                continue
            if fields is not None and not fields.matches(o):
                continue
            items.append(o)
        return {
            "apiVersion": kind.api_version,
            "kind": f"{kind.kind}List",
            "metadata": {"resourceVersion": str(self.etcd.revision)},
            "items": items,
        }

    # -- writes ---------------------------------------------------------------------
    def _new_uid(self) -> str:
        # str(uuid.UUID(int=n, version=4)), without building the UUID object
        n = self._uid_rng.getrandbits(128)
        n = (n & _UUID_CLEAR) | _UUID_V4
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _prepare_body(self, kind: Kind, req: Request, *, status_only: bool = False) -> dict:
        body = req.body
        if not isinstance(body, dict):
            raise errors.BadRequest("the body of the request was in an unknown format")
        if status_only:
            # A status write keeps only the new status (and reads the name, namespace and
            # resourceVersion): copy the top level and metadata, and the status in depth.
            obj = dict(body)
            if type(obj.get("metadata")) is dict:
                obj["metadata"] = dict(obj["metadata"])
            if "status" in obj:
                obj["status"] = clone(obj["status"])
        elif req.options.get("handOver"):
            obj = body  # built for this request alone by a built-in component: nobody else holds it
        else:
            obj = clone(body)
        obj.setdefault("apiVersion", kind.api_version)
        obj.setdefault("kind", kind.kind)
        if obj.get("kind") != kind.kind or obj.get("apiVersion") != kind.api_version:
            raise errors.BadRequest(
                f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API version "
                f"({kind.api_version})"
                if obj.get("kind") == kind.kind
                else f"the kind in the data ({obj.get('kind')}) does not match the expected kind ({kind.kind})"
            )
        m = obj.setdefault("metadata", {})
        if kind.namespaced:
            if m.get("namespace") and req.namespace and m["namespace"] != req.namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            m["namespace"] = req.namespace or m.get("namespace")
        else:
            m.pop("namespace", None)
        return obj

    def _admit_and_validate(self, kind: Kind, req: Request, user: UserInfo, obj: dict, old: dict | None) -> None:
        for plugin in self.mutating:
            plugin.admit(self, req, kind, user, obj, old)
        causes = api_validation.semantic_causes(obj, old) if old is not None else api_validation.semantic_causes(obj)
        if causes:
            raise errors.Invalid(kind.kind, kind.group, obj["metadata"].get("name", ""), causes)
        for plugin in self.validating:
            plugin.admit(self, req, kind, user, obj, old)

    def _create(self, kind: Kind, req: Request, user: UserInfo):
        if req.subresource == "binding":
            return self._bind(kind, req)
        if req.subresource == "eviction":
            return self._evict(kind, req, user)
        obj = self._prepare_body(kind, req)
        m = obj["metadata"]
        if not m.get("name") and m.get("generateName"):
            m["name"] = m["generateName"] + random_suffix(self._name_rng)
        api_defaults.apply_defaults(obj)
        # what the server owns in metadata (set before validation, as the registry's BeforeCreate does:
        # a Job's generated selector needs the uid)
        for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            m.pop(k, None)
        m["uid"] = self._new_uid()
        m["creationTimestamp"] = timestamp(self.loop.now)
        if kind.kind == "Job":
            _generate_job_selector(obj)
        self._admit_and_validate(kind, req, user, obj, None)
        if kind.kind in _GENERATION_KINDS or kind.group not in _BUILTIN_GROUPS:
            m["generation"] = 1
        _prepare_status_on_create(kind, obj)
        api_defaults.prepare_for_create(obj, m["creationTimestamp"])
        m = _order_metadata(obj)
        if req.options.get("dryRun"):
            m["resourceVersion"] = ""
            return obj
        key = kind.etcd_key(m["name"], m.get("namespace"))
        return self._store(kind, key, obj, expect=0, on_exists=lambda: errors.AlreadyExists(kind.group_resource, m["name"]), background=req.options.get("background", False))

    def _store(self, kind: Kind, key: str, obj: dict, expect: int, on_exists, background=False):
        obj["metadata"]["resourceVersion"] = str(self.etcd.revision + 1)
        self._writing_background = background
        try:
            self.etcd.put(key, obj, expect_mod_revision=expect)
        except CompareFailed:
            raise on_exists() from None
        except Unavailable as e:
            raise _etcd_error(e) from None
        finally:
            self._writing_background = False
        # the stored dict is shared with watchers and history; the client copies it for callers
        # that may change what they get back
        return obj

    def _update(self, kind: Kind, req: Request, user: UserInfo):
        if req.subresource == "scale":
            return self._update_scale(kind, req, user)
        new = self._prepare_body(kind, req, status_only=req.subresource == "status")
        if req.name and new["metadata"].get("name") and new["metadata"]["name"] != req.name:
            raise errors.BadRequest("the name of the object does not match the name on the URL")
        new["metadata"].setdefault("name", req.name)
        return self._update_object(kind, req, user, new)

    def _update_object(self, kind: Kind, req: Request, user: UserInfo, new: dict):
        name = new["metadata"]["name"]
        ns = new["metadata"].get("namespace")
        key = kind.etcd_key(name, ns)
        kv = self.etcd.get(key)
        if kv is None:
            raise errors.NotFound(kind.group_resource, name)
        old = kv.value
        rv = new["metadata"].get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.Conflict(kind.group_resource, name)
        sub = req.subresource
        m = new["metadata"]
        om = old["metadata"]
        if sub == "status":
            status = new.get("status")
            body_meta = new["metadata"]
            # stored objects are never changed in place, so the new version may share the old
            # one's unchanged parts (only metadata, which gets a new resourceVersion, is copied)
            new = dict(old)
            new["metadata"] = dict(old["metadata"])
            if kind.kind == "Deployment":
                # the Deployment status strategy resets only spec and labels: the controller
                # records the rollout revision annotation in the same PUT as the status
                if body_meta.get("annotations"):
                    new["metadata"]["annotations"] = body_meta["annotations"]
                else:
                    new["metadata"].pop("annotations", None)
            if status is not None:
                new["status"] = status
            else:
                new.pop("status", None)
            m = new["metadata"]
            crd = crd_mod.stored_crd(self, kind)
            if crd is not None:
                causes = crd_mod.status_update_causes(crd, kind, new)
                if causes:
                    raise errors.Invalid(kind.kind, kind.group, name, causes)
        else:
            api_defaults.apply_defaults(new)
            if "status" in kind.subresources:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
                if k in om:
                    m[k] = om[k]
                else:
                    m.pop(k, None)
            if "generation" in om and new.get("spec") != old.get("spec"):
                m["generation"] = om["generation"] + 1
            api_defaults.prepare_for_update(new, old)
            self._admit_and_validate(kind, req, user, new, old)
        m["resourceVersion"] = om["resourceVersion"]
        _order_metadata(new)
        # An update that changes nothing is not written (etcd3 store's no-op update).
        if new == old:
            return old
        if m.get("deletionTimestamp") and not m.get("finalizers") and _deletion_complete(kind, new):
            self._remove(kind, key, kv.mod_revision, background=req.options.get("background", False))
            return new
        if req.options.get("dryRun"):
            return new
        return self._store(
            kind, key, new, expect=kv.mod_revision,
            on_exists=lambda: errors.Conflict(kind.group_resource, name),
            background=req.options.get("background", False),
        )

    def _patch(self, kind: Kind, req: Request, user: UserInfo):
        current = self._read(kind, req.namespace, req.name)
        if req.subresource == "scale":
            scale = self._scale_of(kind, current)
            patched = patch_mod.json_merge(scale, req.body or {})
            return self._update_scale(kind, Request("update", req.resource, req.namespace, req.name, "scale", patched, req.token, req.actor, req.options), user)
        ptype = req.options.get("patchType", "merge")
        if ptype == "strategic":
            merged = patch_mod.strategic_merge(current, req.body or {})
        elif ptype == "json":
            merged = _json_patch(current, req.body or [])
        else:
            merged = patch_mod.json_merge(current, req.body or {})
        # a patch works on the current version unless it names one itself
        body_rv = ((req.body or {}).get("metadata") or {}).get("resourceVersion") if isinstance(req.body, dict) else None
        merged["metadata"]["resourceVersion"] = body_rv or current["metadata"]["resourceVersion"]
        sub_req = Request("update", req.resource, req.namespace, req.name, req.subresource, merged, req.token, req.actor, req.options)
        if req.subresource == "status":
            return self._update_object(kind, sub_req, user, merged)
        return self._update_object(kind, sub_req, user, self._prepare_body(kind, sub_req))

    def _remove(self, kind: Kind, key: str, expect: int, background: bool = False) -> None:
        self._writing_background = background
        try:
            self.etcd.delete(key, expect_mod_revision=expect)
        except CompareFailed:
            raise errors.Conflict(kind.group_resource, key.rsplit("/", 1)[-1]) from None
        except Unavailable as e:
            raise _etcd_error(e) from None
        finally:
            self._writing_background = False

    def _delete(self, kind: Kind, req: Request, user: UserInfo):
        name = req.name
        key = kind.etcd_key(name, req.namespace)
        kv = self.etcd.get(key)
        if kv is None:
            raise errors.NotFound(kind.group_resource, name)
        obj = kv.value
        for plugin in self.validating:
            plugin.admit_delete(self, req, kind, user, obj)
        opts = req.options
        policy = opts.get("propagationPolicy")
        grace = opts.get("gracePeriodSeconds")
        m = obj["metadata"]
        new = clone(obj)
        nm = new["metadata"]
        finalizers = list(nm.get("finalizers") or [])
        if policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        graceful = False
        if kind.kind == "Pod":
            if grace is None:
                grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            # an unscheduled or already finished pod has nothing to stop: it goes at once
            phase = (obj.get("status") or {}).get("phase")
            if not (obj.get("spec") or {}).get("nodeName") or phase in ("Succeeded", "Failed"):
                grace = 0
            graceful = grace > 0
        if kind.kind == "CustomResourceDefinition" and kind.group == crd_mod.GROUP and not opts.get("dryRun"):
            # the CRD registry's Delete: the CRD finalizer removes the objects first, then the CRD goes
            marked = crd_mod.begin_deletion(obj, timestamp(self.loop.now))
            if marked is None:
                return obj
            return self._store(kind, key, marked, expect=kv.mod_revision,
                               on_exists=lambda: errors.Conflict(kind.group_resource, name))
        if kind.kind == "Namespace":
            return self._delete_namespace(kind, req, obj)
        if not graceful and not finalizers:
            if m.get("deletionTimestamp") and kind.kind == "Pod" and grace != 0 and not opts.get("force"):
                return obj
            self._remove(kind, key, kv.mod_revision)
            return obj
        # graceful or finalized: mark the object as being deleted and let its owners finish
        if finalizers:
            nm["finalizers"] = finalizers
        if not nm.get("deletionTimestamp"):
            nm["deletionTimestamp"] = timestamp(self.loop.now + (grace or 0))
            nm["deletionGracePeriodSeconds"] = int(grace or 0)
        elif grace is not None and grace < nm.get("deletionGracePeriodSeconds", grace + 1):
            nm["deletionTimestamp"] = timestamp(self.loop.now + grace)
            nm["deletionGracePeriodSeconds"] = int(grace)
            if grace == 0 and not finalizers:
                self._remove(kind, key, kv.mod_revision)
                return new
        if new == obj:
            return obj
        return self._store(kind, key, new, expect=kv.mod_revision, on_exists=lambda: errors.Conflict(kind.group_resource, name))

    def _delete_namespace(self, kind: Kind, req: Request, ns: dict):
        name = ns["metadata"]["name"]
        if name in ("default", "kube-system", "kube-public"):
            raise errors.Forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted', "namespaces", name
            )
        if ns["metadata"].get("deletionTimestamp"):
            return ns
        new = clone(ns)
        new["metadata"]["deletionTimestamp"] = timestamp(self.loop.now)
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        new.setdefault("status", {})["phase"] = "Terminating"
        kv = self.etcd.get(kind.etcd_key(name))
        return self._store(kind, kind.etcd_key(name), new, expect=kv.mod_revision, on_exists=lambda: errors.Conflict("namespaces", name))

    # -- subresources -------------------------------------------------------------------
    def _bind(self, kind: Kind, req: Request):
        body = req.body or {}
        target = (body.get("target") or {}).get("name")
        pod_name = req.name or (body.get("metadata") or {}).get("name")
        key = kind.etcd_key(pod_name, req.namespace)
        kv = self.etcd.get(key)
        if kv is None:
            raise errors.NotFound("pods", pod_name)
        pod = kv.value
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.Conflict("pods", pod_name, "the pod is being deleted")
        if pod["spec"].get("nodeName"):
            raise errors.Conflict(
                "pods", pod_name, f'pod {pod_name} is already assigned to node "{pod["spec"]["nodeName"]}"'
            )
        # share the unchanged parts with the stored version (stored objects are immutable)
        new = dict(pod)
        new["metadata"] = dict(pod["metadata"])
        new["spec"] = dict(pod["spec"], nodeName=target)
        status = new["status"] = dict(pod.get("status") or {})
        status["conditions"] = [*(status.get("conditions") or []), {
            "type": "PodScheduled", "status": "True", "lastProbeTime": None,
            "lastTransitionTime": timestamp(self.loop.now)}]
        self._store(kind, key, new, expect=kv.mod_revision, on_exists=lambda: errors.Conflict("pods", pod_name))
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def _evict(self, kind: Kind, req: Request, user: UserInfo):
        opts = dict(req.options)
        del_req = Request("delete", "pods", req.namespace, req.name, None, None, req.token, req.actor, opts)
        self._delete(kind, del_req, user)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def _scale_of(self, kind: Kind, obj: dict) -> dict:
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        sel = spec.get("selector") or {}
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": obj["metadata"]["name"],
                "namespace": obj["metadata"].get("namespace"),
                "uid": obj["metadata"].get("uid"),
                "resourceVersion": obj["metadata"].get("resourceVersion"),
                "creationTimestamp": obj["metadata"].get("creationTimestamp"),
            },
            "spec": {"replicas": spec.get("replicas", 0)},
            "status": {"replicas": status.get("replicas", 0), "selector": str(LabelSelector.from_dict(sel))},
        }

    def _update_scale(self, kind: Kind, req: Request, user: UserInfo):
        body = req.body or {}
        replicas = (body.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.Invalid("Scale", "autoscaling", req.name or "", [
                errors.field_cause("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")
            ])
        current = self._read(kind, req.namespace, req.name)
        new = clone(current)
        new["spec"]["replicas"] = replicas
        rv = (body.get("metadata") or {}).get("resourceVersion")
        new["metadata"]["resourceVersion"] = rv or current["metadata"]["resourceVersion"]
        sub_req = Request("update", req.resource, req.namespace, req.name, None, new, req.token, req.actor, req.options)
        stored = self._update_object(kind, sub_req, user, new)
        return self._scale_of(kind, stored)

    # -- watch ------------------------------------------------------------------------------
    def watch(
        self,
        actor: str,
        resource: str,
        handler: Callable[[str, dict], None],
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        token: str | None = None,
    ) -> Watcher:
        """Open a watch: ``handler(event_type, obj)`` is called for each change, later on the clock."""
        req = Request("watch", resource, namespace, None, None, None, token or self.admin_token, actor,
                      {"fieldSelector": field_selector} if field_selector else {})
        user = self.authenticate(req)
        kind = self.kinds.resolve(resource)
        if kind is None:
            raise errors.ApiError(errors.status(404, "NotFound", "the server could not find the requested resource"))
        self.authorize(user, req, kind)
        node_name = None
        fields = _field_selector(field_selector)
        if field_selector and field_selector.startswith("spec.nodeName=") and "," not in field_selector:
            node_name = field_selector.split("=", 1)[1].lstrip("=")
        w = Watcher(actor, kind, namespace, _label_selector(label_selector), fields, handler, node_name)
        if node_name is not None:
            self._node_watchers.setdefault(kind.plural, {}).setdefault(node_name, []).append(w)
        elif field_selector and field_selector.startswith("metadata.name=") and "," not in field_selector:
            # one object by name (a kubelet watching its own Node): indexed, not checked on every change
            name = field_selector.split("=", 1)[1].lstrip("=")
            self._name_watchers.setdefault(kind.plural, {}).setdefault(name, []).append(w)
        else:
            self._watchers.setdefault(kind.group_resource, []).append(w)
        return w

    _writing_background = False

    def _fanout(self, kind: Kind, ev: WatchEvent, group_resource: str | None = None,
                plural: str | None = None) -> None:
        etype, kv, prev = ev
        new = kv.value if etype == "PUT" else None
        old = prev.value if prev is not None else None
        if etype == "DELETE":
            # the DELETED event carries the last state with the deletion's revision
            last = dict(kv.value)
            last["metadata"] = dict(last["metadata"], resourceVersion=str(kv.mod_revision))
            old_for_match, final = prev.value, last
        else:
            old_for_match, final = old, new
        targets = self._watchers.get(group_resource or kind.group_resource)
        targets = list(targets) if targets else []
        by_node = self._node_watchers.get(plural or kind.plural)
        if by_node:
            for obj in (old_for_match, final):
                if obj is not None:
                    n = (obj.get("spec") or {}).get("nodeName")
                    if n and n in by_node:
                        for w in by_node[n]:
                            if w not in targets:
                                targets.append(w)
        by_name = self._name_watchers.get(plural or kind.plural)
        if by_name:
            watching = by_name.get((old_for_match or final)["metadata"].get("name"))
            if watching:
                targets.extend(w for w in watching if w not in targets)
        if not targets:
            return
        bg = self._writing_background
        deliver = self._schedule_delivery
        for w in targets:
            if not w.active:
                continue
            if etype == "DELETE":
                if w.matches(old_for_match):
                    deliver(w, "DELETED", final, bg)
                continue
            was, now = w.matches(old), w.matches(new)
            if now:
                deliver(w, "MODIFIED" if was else "ADDED", new, bg)
            elif was:
                deliver(w, "DELETED", new, bg)

    def _schedule_delivery(self, w: Watcher, etype: str, obj: dict, background: bool) -> None:
        m = obj["metadata"]
        loop = self.loop
        # loop.call_later(watch_latency, ...), spelled as the call_at it makes
        loop.call_at(
            loop.now + self.watch_latency,
            self._deliver,
            w,
            etype,
            obj,
            who=w.who,
            what=lambda: f"watch {etype} {w.kind.plural} {_ref(m)}",
            background=background,
        )

    def _deliver(self, w: Watcher, etype: str, obj: dict) -> None:
        if not w.active:
            return
        m = obj["metadata"]
        if self.trace.enabled:
            rv = m.get("resourceVersion")
            self.trace.record_watch(self.loop.now, w.actor, etype, w.kind.plural, m.get("namespace"), m.get("name"),
                                    int(rv) if rv and rv.isdigit() else None)
        w.handler(etype, obj)


_BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "networking.k8s.io",
    "storage.k8s.io",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
    "apiextensions.k8s.io",
    "policy",
    "autoscaling",
    "events.k8s.io",
}

_METADATA_ORDER = (
    "annotations",
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",
    "generateName",
    "generation",
    "labels",
    "name",
    "namespace",
    "ownerReferences",
    "resourceVersion",
    "uid",
)


def _order_metadata(obj: dict) -> dict:
    # Real objects print metadata keys in alphabetical order; keep ours the same so output is stable.
    m = obj["metadata"]
    keys = list(m)
    if keys != sorted(keys):
        obj["metadata"] = m = dict(sorted(m.items()))  # keys are unique: items sort by key alone
    return m


def _etcd_error(e: Exception) -> errors.ApiError:
    """What kube-apiserver answers when etcd fails a write: 504 when no member answers, else a
    500 carrying etcd's own message (``etcdserver: request timed out``)."""
    from k8slab.etcd.cluster import NoMemberReachable

    if isinstance(e, NoMemberReachable):
        return errors.Timeout("Timeout: request did not complete within requested timeout - context deadline exceeded")
    return errors.ApiError(errors.status(500, "", str(e)))


def _generate_job_selector(job: dict) -> None:
    """The Job registry's generateSelector: unless ``spec.manualSelector``, select by the Job's uid."""
    spec = job.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector"):
        return
    m = job["metadata"]
    uid, name = m["uid"], m.get("name", "")
    template = spec.get("template")
    if isinstance(template, dict):
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        if isinstance(labels, dict):
            for key, value in (("batch.kubernetes.io/controller-uid", uid), ("batch.kubernetes.io/job-name", name),
                               ("controller-uid", uid), ("job-name", name)):
                labels.setdefault(key, value)
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


def _prepare_status_on_create(kind: Kind, obj: dict) -> None:
    if kind.kind == "Pod":
        spec = obj.get("spec") or {}
        obj["status"] = {"phase": "Pending", "qosClass": admission_mod.qos_class(spec)}
    elif kind.kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    elif kind.kind == "Service":
        obj["status"] = {"loadBalancer": {}}
    elif kind.kind in ("PersistentVolume", "PersistentVolumeClaim"):
        obj["status"] = {"phase": "Pending"}  # the registry's PrepareForCreate drops what the user sent
    elif ("status" in kind.subresources and kind.group in _BUILTIN_GROUPS
          and kind.kind not in ("Node", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition")):
        obj["status"] = {}


def _deletion_complete(kind: Kind, obj: dict) -> bool:
    # A pod being deleted gracefully stays until its kubelet confirms (grace period 0).
    if kind.kind == "Pod":
        return obj["metadata"].get("deletionGracePeriodSeconds", 0) == 0
    if kind.kind == "Namespace":
        # ShouldDeleteNamespaceDuringUpdate: kept until the namespace controller finalizes it
        return not (obj.get("spec") or {}).get("finalizers")
    return True


def _ref(m: dict) -> str:
    ns = m.get("namespace")
    return f"{ns}/{m.get('name')}" if ns else m.get("name", "")


def _label_selector(text: str | None):
    if not text:
        return None
    try:
        return parse_selector(text)
    except ValueError as e:
        raise errors.BadRequest(str(e)) from None


def _field_selector(text: str | None):
    if not text:
        return None
    try:
        return parse_field_selector(text)
    except ValueError as e:
        raise errors.BadRequest(str(e)) from None


def _json_patch(obj: dict, ops: list) -> dict:
    """RFC 6902 JSON patch (add, remove, replace, test)."""
    doc = clone(obj)
    for op in ops:
        path = [p.replace("~1", "/").replace("~0", "~") for p in op.get("path", "").split("/")[1:]]
        parent = doc
        for p in path[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = path[-1] if path else None
        kind = op.get("op")
        try:
            if kind in ("add", "replace"):
                if isinstance(parent, list):
                    if last == "-":
                        parent.append(op["value"])
                    elif kind == "add":
                        parent.insert(int(last), op["value"])
                    else:
                        parent[int(last)] = op["value"]
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = op["value"]
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif kind == "test":
                cur = parent[int(last)] if isinstance(parent, list) else parent.get(last)
                if cur != op.get("value"):
                    raise errors.ApiError(errors.status(422, "Invalid", "the server rejected our request due to an error in our request"))
            else:
                raise errors.BadRequest(f"Unexpected kind of patch operation: {kind}")
        except (KeyError, IndexError, ValueError):
            raise errors.ApiError(errors.status(422, "Invalid", f"the server rejected our request due to an error in our request: {op}")) from None
    return doc


__all__ = ["APIServer", "KUBERNETES_VERSION", "Watcher"]
