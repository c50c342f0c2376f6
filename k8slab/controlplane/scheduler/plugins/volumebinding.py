"""VolumeBinding: a pod goes only where the volumes of its claims can be.

As kube-scheduler's ``VolumeBinding`` plugin (``pkg/scheduler/framework/plugins/volumebinding``):

* **PreFilter** — a pod without claims is skipped. A claim that does not exist
  (``persistentvolumeclaim "data" not found``), is being deleted, or was lost
  rejects the pod, and so does a claim of an *Immediate* class that the PV
  controller has not bound yet: ``pod has unbound immediate
  PersistentVolumeClaims`` (the pod is retried when claims or volumes change).
* **Filter** — per node: a bound claim's volume must admit the node (its node
  affinity): ``node(s) had volume node affinity conflict``; an unbound
  ``WaitForFirstConsumer`` claim needs an available volume that fits and admits
  the node (smallest first), or a class that can provision there:
  ``node(s) didn't find available persistent volumes to bind``. A claim the
  scheduler already gave a node fits only that node.
* **Reserve / PreBind** — on the chosen node, write the decision: a matched
  volume gets the claim in its ``claimRef``; a claim to provision gets the
  annotation ``volume.kubernetes.io/selected-node``. Then wait (checking every
  second, up to ``bindTimeoutSeconds`` = 600 s) until the PV controller (and
  the provisioner) have bound every claim; only then is the pod bound. A timeout
  fails the attempt: ``running PreBind plugin "VolumeBinding": binding volumes:
  context deadline exceeded``.

k8slab simplifies: no storage capacity tracking, no CSI volume limits, no
generic ephemeral volumes; the assume cache holds only what this plugin
decided and has not yet seen come back from the API server.

Wiring: ``c.scheduler.add_plugin(VolumeBinding(), before="PodTopologySpread")``.
Until the scheduler runs PreBind plugins itself (``Scheduler.runs_pre_bind``),
the plugin hooks the scheduler's binding step (:func:`install_pre_bind`).

Example
-------
>>> VolumeBinding.name, ERR_REASON_NODE_CONFLICT
('VolumeBinding', 'node(s) had volume node affinity conflict')
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.objects import clone
from k8slab.controlplane import volume as pv
from k8slab.controlplane.scheduler.framework import (
    ADD,
    ASSIGNED_POD_DELETE,
    ERROR,
    NODE_ADD,
    NODE_LABEL_CHANGE,
    SKIP,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    UPDATE,
    ClusterEvent,
    CycleState,
    FilterPlugin,
    Status,
)

NAME = "VolumeBinding"
ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
ERR_REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict"
ERR_REASON_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
#: ``VolumeBindingArgs.bindTimeoutSeconds`` default.
BIND_TIMEOUT_SECONDS = 600.0
#: PreBind checks the bindings this often (``BindPodVolumes`` polls every second).
BIND_POLL_SECONDS = 1.0

PVC_ADD = ClusterEvent("PersistentVolumeClaim", ADD, "PvcAdd")
PVC_UPDATE = ClusterEvent("PersistentVolumeClaim", UPDATE, "PvcUpdate")
PV_ADD = ClusterEvent("PersistentVolume", ADD, "PvAdd")
PV_UPDATE = ClusterEvent("PersistentVolume", UPDATE, "PvUpdate")
STORAGE_CLASS_ADD = ClusterEvent("StorageClass", ADD, "StorageClassAdd")
STORAGE_CLASS_UPDATE = ClusterEvent("StorageClass", UPDATE, "StorageClassUpdate")

_STATE_KEY = "VolumeBinding"


class _PodClaims:
    """``PodVolumeClaims``: the pod's claims sorted into bound and (delay-binding) unbound."""

    __slots__ = ("bound", "unbound_delay", "has_node_checks", "volumes_by_class")

    def __init__(self, bound: list[dict], unbound_delay: list[dict], has_node_checks: bool,
                 volumes_by_class: dict[str, list[dict]]):
        self.bound = bound
        self.unbound_delay = unbound_delay
        self.has_node_checks = has_node_checks
        # the volumes the unbound claims may take, by class (listed once per attempt, not per node)
        self.volumes_by_class = volumes_by_class


class _PodVolumes:
    """What binding the pod's volumes on one node takes: volumes to bind, claims to provision."""

    __slots__ = ("static_bindings", "provisions")

    def __init__(self, static_bindings: list[tuple[dict, dict]], provisions: list[dict]):
        self.static_bindings = static_bindings  # (volume, claim)
        self.provisions = provisions


class VolumeBinding(FilterPlugin):
    """Filter nodes by the pod's volumes; bind the volumes before the pod (module docstring)."""

    name = NAME
    events = (STORAGE_CLASS_ADD, STORAGE_CLASS_UPDATE, PVC_ADD, PVC_UPDATE, PV_ADD, PV_UPDATE, NODE_ADD,
              NODE_LABEL_CHANGE)
    bind_timeout = BIND_TIMEOUT_SECONDS

    def setup(self, handle) -> None:
        super().setup(handle)
        inf = handle.informers
        self.claims = inf.informer("persistentvolumeclaims")
        self.volumes = inf.informer("persistentvolumes")
        self.classes = inf.informer("storageclasses")
        self.volumes.add_index(pv.VOLUME_CLASS_INDEX, pv.volume_class_index)
        # The assume cache: decisions written (or about to be) that the informers have not shown yet.
        self.assumed_claims: dict[str, str] = {}  # claim key -> selected node
        self.assumed_volumes: dict[str, str] = {}  # volume name -> claim key
        self.claims.add_event_handler(lambda c: self._changed(PVC_ADD),
                                      lambda old, new: self._claim_updated(new))
        self.volumes.add_event_handler(lambda v: self._changed(PV_ADD),
                                       lambda old, new: self._volume_updated(new))
        self.classes.add_event_handler(lambda sc: self._changed(STORAGE_CLASS_ADD),
                                       lambda old, new: self._changed(STORAGE_CLASS_UPDATE))
        if getattr(handle, "started", False):
            inf.start()
        if not getattr(handle, "runs_pre_bind", False):
            install_pre_bind(handle, self)

    # -- informer events ------------------------------------------------------------------------------
    def _changed(self, event: ClusterEvent) -> None:
        queue = getattr(self.handle, "queue", None)
        if queue is not None:
            queue.move_all_to_active_or_backoff(event)

    def _claim_updated(self, claim: dict) -> None:
        key = pv.claim_key(claim)
        if key in self.assumed_claims and (claim["metadata"].get("annotations") or {}).get(pv.ANN_SELECTED_NODE):
            del self.assumed_claims[key]
        self._changed(PVC_UPDATE)

    def _volume_updated(self, volume: dict) -> None:
        name = volume["metadata"]["name"]
        if name in self.assumed_volumes and (volume.get("spec") or {}).get("claimRef"):
            del self.assumed_volumes[name]
        self._changed(PV_UPDATE)

    # -- what the plugin sees -------------------------------------------------------------------------
    def _class(self, name: str) -> dict | None:
        return self.classes.lister.get(name) if name else None

    def _volume(self, name: str) -> dict | None:
        return self.volumes.lister.get(name)

    def _selected_node(self, claim: dict) -> str | None:
        return (claim["metadata"].get("annotations") or {}).get(pv.ANN_SELECTED_NODE) or \
            self.assumed_claims.get(pv.claim_key(claim))

    def _available_volumes(self, cls: str) -> list[dict]:
        """Volumes of a class, seen as bound where this scheduler already chose a claim for them."""
        out = []
        for v in self.volumes.lister.by_index(pv.VOLUME_CLASS_INDEX, cls):
            chosen = self.assumed_volumes.get(v["metadata"]["name"])
            if chosen is not None and not (v.get("spec") or {}).get("claimRef"):
                ns, _, name = chosen.partition("/")
                v = clone(v)
                v["spec"]["claimRef"] = {"namespace": ns, "name": name}
            out.append(v)
        return sorted(out, key=lambda v: v["metadata"]["name"])

    def pod_claims(self, pod) -> _PodClaims | Status | None:
        """``podHasPVCs`` + ``GetPodVolumeClaims``: ``None`` when the pod uses no claim."""
        names = pv.pod_claim_names(pod.obj)
        if not names:
            return None
        bound, unbound_delay, immediate = [], [], False
        node_checks = False
        for name in names:
            claim = self.claims.lister.get(name, pod.namespace)
            if claim is None:
                return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, f'persistentvolumeclaim "{name}" not found')
            if (claim.get("status") or {}).get("phase") == "Lost":
                return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, f'persistentvolumeclaim "{name}" bound to non-existent '
                                                              f'persistentvolume "{claim["spec"].get("volumeName", "")}"')
            if claim["metadata"].get("deletionTimestamp"):
                return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, f'persistentvolumeclaim "{name}" is being deleted')
            if pv.is_claim_fully_bound(claim):
                bound.append(claim)
                volume = self._volume(claim["spec"]["volumeName"])
                node_checks = node_checks or volume is None or bool((volume.get("spec") or {}).get("nodeAffinity"))
            elif (pv.binding_mode(self._class(pv.claim_class(claim))) == "WaitForFirstConsumer"
                  and not (claim.get("spec") or {}).get("volumeName")):
                unbound_delay.append(claim)
                node_checks = True
            else:
                immediate = True
        if immediate:
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_UNBOUND_IMMEDIATE)
        by_class = {cls: self._available_volumes(cls) for cls in sorted({pv.claim_class(c) for c in unbound_delay})}
        return _PodClaims(bound, unbound_delay, node_checks, by_class)

    # -- PreFilter / Filter -----------------------------------------------------------------------------
    def pre_filter(self, state, pod):
        claims = self.pod_claims(pod)
        if claims is None:
            return Status(SKIP)
        if isinstance(claims, Status):
            return claims
        if not claims.has_node_checks:
            return Status(SKIP)  # bound volumes that fit every node: nothing to filter
        if state is not None:
            state.write(_STATE_KEY, claims)
        return None

    def filter(self, state, pod, node):
        claims = state.read(_STATE_KEY) if state is not None else None
        if claims is None:
            claims = self.pod_claims(pod)
            if not isinstance(claims, _PodClaims):
                return claims
        _volumes, reasons = self.find_pod_volumes(claims, node.obj)
        if isinstance(reasons, Status):
            return reasons
        if reasons:
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, *reasons)
        return None

    def find_pod_volumes(self, claims: _PodClaims, node: dict):
        """``FindPodVolumes``: the bindings on ``node``, and the reasons it does not fit (if any)."""
        reasons = []
        for claim in claims.bound:
            volume = self._volume(claim["spec"]["volumeName"])
            if volume is None:
                reasons.append(ERR_REASON_PV_NOT_EXIST)
                break
            if not pv.volume_node_affinity_matches(volume, node):
                reasons.append(ERR_REASON_NODE_CONFLICT)
                break
        node_name = node["metadata"]["name"]
        to_match, to_provision = [], []
        for claim in claims.unbound_delay:
            selected = self._selected_node(claim)
            if selected is None:
                to_match.append(claim)
            elif selected != node_name:
                return None, [*reasons, ERR_REASON_BIND_CONFLICT]
            else:
                to_provision.append(claim)
        static: list[tuple[dict, dict]] = []
        satisfied = True
        chosen: set[str] = set()
        for claim in sorted(to_match, key=pv.claim_request):  # smallest claims pick first
            volume = pv.find_matching_volume(claim, claims.volumes_by_class[pv.claim_class(claim)], node, chosen,
                                             delay_binding=True)
            if volume is None:
                to_provision.append(claim)
                continue
            chosen.add(volume["metadata"]["name"])
            static.append((volume, claim))
        for claim in to_provision:
            cls_name = pv.claim_class(claim)
            sc = self._class(cls_name)
            if sc is None:
                return None, Status(ERROR, f'failed to find storage class "{cls_name}"')
            provisioner = sc.get("provisioner") or ""
            if not provisioner or provisioner == pv.NOT_SUPPORTED_PROVISIONER or \
                    not _topology_allows(sc.get("allowedTopologies"), node):
                satisfied = False
                break
        if not satisfied:
            reasons.append(ERR_REASON_BIND_CONFLICT)
        return _PodVolumes(static, to_provision), reasons

    # -- Reserve / PreBind / Unreserve --------------------------------------------------------------------
    def reserve(self, state, pod, node_name: str):
        """``AssumePodVolumes``: remember the choice, so pods tried meanwhile do not take the same volume."""
        decided = self._decide(pod, node_name)
        if not isinstance(decided, _PodVolumes):
            return decided
        for volume, claim in decided.static_bindings:
            self.assumed_volumes[volume["metadata"]["name"]] = pv.claim_key(claim)
        for claim in decided.provisions:
            self.assumed_claims[pv.claim_key(claim)] = node_name
        if state is not None:
            state.write(_STATE_KEY + "/bindings", decided)
        return None

    def unreserve(self, state, pod, node_name: str) -> None:
        """``RevertAssumedPodVolumes``."""
        decided = state.read(_STATE_KEY + "/bindings") if state is not None else None
        if decided is None:
            return
        for volume, _claim in decided.static_bindings:
            self.assumed_volumes.pop(volume["metadata"]["name"], None)
        for claim in decided.provisions:
            self.assumed_claims.pop(pv.claim_key(claim), None)

    def _decide(self, pod, node_name: str):
        claims = self.pod_claims(pod)
        if not isinstance(claims, _PodClaims):
            return claims
        node = self.handle.cache.node(node_name)
        if node is None:
            return Status(ERROR, f'node "{node_name}" not found')
        volumes, reasons = self.find_pod_volumes(claims, node)
        if isinstance(reasons, Status):
            return reasons
        if reasons:
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, *reasons)
        return volumes

    def pre_bind(self, state, pod, node_name: str, done) -> None:
        """``BindPodVolumes``: write the bindings, then call ``done(None)`` once every claim of the pod is
        bound, or ``done(status)`` on failure. Waits on the virtual clock (checks every second)."""
        decided = state.read(_STATE_KEY + "/bindings") if state is not None else None
        if decided is None:
            decided = self._decide(pod, node_name)
            if not isinstance(decided, _PodVolumes):
                done(decided)
                return
        if not decided.static_bindings and not decided.provisions and self._all_bound(pod) is True:
            done(None)
            return
        client = self.handle.client
        try:
            for volume, claim in decided.static_bindings:
                current = self._volume(volume["metadata"]["name"]) or volume
                if not pv.is_volume_bound_to_claim(current, claim):
                    new = clone(current)
                    new["spec"]["claimRef"] = pv.claim_reference(claim)
                    new["metadata"].setdefault("annotations", {})[pv.ANN_BOUND_BY_CONTROLLER] = "yes"
                    client.update(new)
            for claim in decided.provisions:
                m = claim["metadata"]
                current = self.claims.lister.get(m["name"], m.get("namespace")) or claim
                if (current["metadata"].get("annotations") or {}).get(pv.ANN_SELECTED_NODE) != node_name:
                    # A merge patch of the one annotation: the PV controller writes the claim's status
                    # at the same moments, and an update from a cache a step behind would conflict.
                    client.patch("persistentvolumeclaims", m["name"],
                                 {"metadata": {"annotations": {pv.ANN_SELECTED_NODE: node_name}}}, m.get("namespace"))
        except errors.ApiError as e:
            done(Status(ERROR, f"binding volumes: {e.message}"))
            return
        deadline = self.handle.loop.now + self.bind_timeout
        self._wait(pod, deadline, done)

    def _wait(self, pod, deadline: float, done) -> None:
        loop = self.handle.loop

        def check():
            verdict = self._all_bound(pod)
            if verdict is True:
                done(None)
            elif isinstance(verdict, Status):
                done(verdict)
            elif loop.now + BIND_POLL_SECONDS > deadline:
                done(Status(ERROR, "binding volumes: context deadline exceeded"))
            else:
                loop.call_later(BIND_POLL_SECONDS, check, who=self.handle.name,
                                what=f"check volume bindings of {pod.key}")

        loop.call_later(BIND_POLL_SECONDS, check, who=self.handle.name, what=f"check volume bindings of {pod.key}")

    def _all_bound(self, pod):
        """``checkBindings``: ``True`` when every claim of the pod is bound, a Status when it never will be."""
        for name in pv.pod_claim_names(pod.obj):
            claim = self.claims.lister.get(name, pod.namespace)
            if claim is None:
                return Status(ERROR, f'binding volumes: persistentvolumeclaim "{name}" not found')
            if not pv.is_claim_fully_bound(claim):
                ann = claim["metadata"].get("annotations") or {}
                if pv.ANN_STORAGE_PROVISIONER in ann and pv.ANN_SELECTED_NODE not in ann and \
                        pv.claim_key(claim) not in self.assumed_claims:
                    # the provisioner gave the claim back to the scheduler (rescheduleProvisioning)
                    return Status(ERROR, f'binding volumes: provisioning failed for PVC "{name}"')
                return False
            if self._volume(claim["spec"]["volumeName"]) is None:
                return False
        return True


def _topology_allows(terms: list | None, node: dict) -> bool:
    """``MatchTopologySelectorTerms``: no terms allow every node; else one term must hold."""
    if not terms:
        return True
    labels = (node.get("metadata") or {}).get("labels") or {}
    for term in terms:
        exprs = term.get("matchLabelExpressions") or []
        if all(labels.get(e.get("key")) in (e.get("values") or ()) for e in exprs):
            return True
    return False


def install_pre_bind(scheduler, plugin: VolumeBinding) -> None:
    """Run ``plugin``'s Reserve and PreBind in ``scheduler``'s binding step.

    k8slab's scheduler binds a pod right after choosing its node; kube-scheduler's
    binding cycle first runs Reserve and PreBind, which may wait. Until the scheduler
    does that itself (it then sets ``runs_pre_bind = True``), this wraps its binding
    step: a pod with claims is assumed on the node (holding its resources), the
    volumes are bound, and only then is the pod bound — or the attempt fails.
    """
    original = scheduler._bind

    def bind_after_volumes(q, info, node):
        if not pv.pod_claim_names(info.obj):
            original(q, info, node)
            return
        state = CycleState()
        scheduler.cache.assume_pod(info, node)

        def fail(point: str, status: Status) -> None:
            plugin.unreserve(state, info, node)
            scheduler.cache.forget_pod(info.key)
            scheduler.queue.move_all_to_active_or_backoff(ASSIGNED_POD_DELETE)
            scheduler._failed(q, scheduler.queue.scheduling_cycle, "SchedulerError",
                              f'running {point} plugin "{NAME}": {status.message}', set(), nominate=None)

        def volumes_bound(status: Status | None) -> None:
            if status is not None:
                fail("PreBind", status)
                return
            plugin.unreserve(state, info, node)  # the informers show the bindings now
            original(q, info, node)  # assumes the pod again (a no-op) and binds it

        status = plugin.reserve(state, info, node)
        if status is not None:
            fail("Reserve", status)
            return
        plugin.pre_bind(state, info, node, volumes_bound)

    scheduler._bind = bind_after_volumes


__all__ = ["VolumeBinding", "install_pre_bind"]
