"""The DaemonSet controller: one pod on every node that should run one.

The loop of kube-controller-manager's ``pkg/controller/daemon`` (v1.30):

* **Which nodes.** A node should run the daemon pod when the pod template's
  ``nodeName`` (if any), ``nodeSelector`` and required node affinity match it
  and it has no ``NoSchedule``/``NoExecute`` taint the pod does not tolerate. A
  pod already there may *continue running* on a node whose untolerated taints
  are all ``NoSchedule``. The controller adds tolerations of its own to every
  daemon pod (``node.kubernetes.io/not-ready`` and ``unreachable`` with no
  ``tolerationSeconds`` — never evicted —, ``disk-pressure``, ``memory-pressure``,
  ``pid-pressure``, ``unschedulable``, and ``network-unavailable`` for
  ``hostNetwork`` pods), so a cordoned node still gets its daemons. The
  control-plane node's ``NoSchedule`` taint keeps daemons off unless tolerated.
* **Manage.** Create the missing pods, delete those on nodes that should not run
  one, delete failed pods (with back-off) and surplus pods. Since v1.12 the
  controller does not place pods itself: each pod gets a required node affinity
  ``matchFields: metadata.name In [<node>]`` and the default scheduler binds it.
  Requests are batched (1, 2, 4 ...) and *expectations* hold the next sync
  back until the informer has seen them, as for ReplicaSets.
* **Update.** ``RollingUpdate`` deletes old pods (those whose
  ``controller-revision-hash`` is not the current revision's) while at most
  ``maxUnavailable`` (default 1) daemons are unavailable, and the manage step
  makes new ones; with ``maxSurge`` it makes the new pod first and deletes the
  old one once the new is available. ``OnDelete`` waits for someone to delete.
* **History.** Each template is a ControllerRevision ``<ds>-<hash>`` labelled
  ``controller-revision-hash`` (:mod:`k8slab.controlplane.history`).
* **Status**: desiredNumberScheduled, currentNumberScheduled, numberMisscheduled,
  numberReady, numberAvailable, numberUnavailable, updatedNumberScheduled,
  observedGeneration.

A deleted Node has no handler in the real controller either: the pod garbage
collector deletes the pods bound to it, and their deletion brings the next sync.

The real controller walks every node on every sync. Here each DaemonSet keeps
what it concluded per node (:class:`DaemonState`) and re-examines only the nodes
whose pods or labels/taints changed (or whose pods are maturing towards
``minReadySeconds``), so a sync costs what changed, not the cluster's size;
the decisions are the same. Simplified: where Go iterates a map (a random
order), nodes are taken by name; parallel requests run one after the other.

Which nodes should run a daemon pod, and what each node needs, is in
:mod:`k8slab.controlplane.daemonset_nodes` (its names are importable from here too).

Example
-------
>>> backoff = Backoff(*FAILED_POD_BACKOFF)
>>> backoff.next("default/agent/1/worker-1", now=0.0); backoff.next("default/agent/1/worker-1", now=5.0)
>>> backoff.get("default/agent/1/worker-1"), backoff.in_backoff_since_update("default/agent/1/worker-1", 6.0)
(2.0, True)
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.defaults import int_or_percent
from k8slab.api.names import pod_template_hash
from k8slab.api.objects import clone, controller_of, owner_reference, split_key
from k8slab.apiserver.events import EventRecorder
from k8slab.controlplane.daemonset_nodes import (
    DaemonScheduling,
    DaemonState,
    daemon_tolerations,
    evaluate_node,
    node_should_run_daemon_pod,
    pin_to_node,
    pod_hash,
    pod_template_for,
    target_node_name,
)
from k8slab.controlplane.history import (
    POD_REVISION_LABEL,
    canonical_json,
    template_patch,
)
from k8slab.controlplane.workload import (
    INDEX_CONTROLLER_UID,
    INDEX_ORPHANS,
    SLOW_START_INITIAL_BATCH_SIZE,
    ControllerExpectations,
    ControllerRefManager,
    PodControl,
    SelectorCache,
    WorkloadController,
    add_ownership_indexes,
    pod_from_template,
    recheck_deletion,
    slow_start_batch,
)

#: At most this many pods are created or deleted by one sync (``BurstReplicas``).
BURST_REPLICAS = 250
#: Failed daemon pods on a node are deleted with a back-off from 1 s up to 15 min.
FAILED_POD_BACKOFF = (1.0, 900.0)

__all__ = ["BURST_REPLICAS", "DaemonScheduling", "DaemonSetController", "daemon_tolerations", "evaluate_node",
           "node_should_run_daemon_pod", "target_node_name"]


# ---------------------------------------------------------------------------------------
# Back-off (client-go flowcontrol.Backoff)
# ---------------------------------------------------------------------------------------
class Backoff:
    """Per-key exponential back-off (client-go ``flowcontrol.Backoff``)."""

    def __init__(self, initial: float, maximum: float):
        self.initial, self.maximum = initial, maximum
        self._entries: dict[str, list[float]] = {}  # key -> [backoff, last update]

    def in_backoff_since_update(self, key: str, now: float) -> bool:
        e = self._entries.get(key)
        return e is not None and now - e[1] < e[0]

    def next(self, key: str, now: float) -> None:
        e = self._entries.get(key)
        if e is None or now - e[1] > 2 * self.maximum:
            self._entries[key] = [self.initial, now]
        else:
            e[0] = min(e[0] * 2, self.maximum)
            e[1] = now

    def get(self, key: str) -> float:
        e = self._entries.get(key)
        return e[0] if e is not None else 0.0


# ---------------------------------------------------------------------------------------
# The controller
# ---------------------------------------------------------------------------------------
class DaemonSetController(WorkloadController):
    """Runs DaemonSets (see the module docstring)."""

    #: The component its events come from (``kubectl describe`` shows ``daemonset-controller``).
    name = "daemonset-controller"
    #: kube-controller-manager runs it with this service account's credentials.
    service_account = "daemon-set-controller"
    kind = "DaemonSet"
    burst_replicas = BURST_REPLICAS

    def setup(self) -> None:
        self.client = self.manager.client_for(self.service_account)
        self.recorder = EventRecorder(self.client, self.name, enabled=self.manager.events_enabled)
        self.expectations = ControllerExpectations(self.loop)
        self.pod_control = PodControl(self.client, self.recorder)
        self.backoff = Backoff(*FAILED_POD_BACKOFF)
        self.selectors = SelectorCache()
        self.ds_informer = self.informers.informer("daemonsets")
        self.history_informer = self.informers.informer("controllerrevisions")
        self.pod_informer = self.informers.informer("pods")
        self.node_informer = self.informers.informer("nodes")
        add_ownership_indexes(self.pod_informer)
        add_ownership_indexes(self.history_informer)
        self.ds_lister = self.owner_lister = self.ds_informer.lister
        self.pod_lister = self.pod_informer.lister
        self.node_lister = self.node_informer.lister
        self._states: dict[str, DaemonState] = {}  # by DaemonSet uid
        self._scheduling: dict[str, tuple[tuple, DaemonScheduling]] = {}
        self.ds_informer.add_event_handler(self._add_ds, self._update_ds, self._delete_ds)
        self.history_informer.add_event_handler(self._add_history, self.update_owned, self.delete_owned)
        self.pod_informer.add_event_handler(self._add_pod, self._update_pod, self._delete_pod)
        self.node_informer.add_event_handler(self._add_node, self._update_node, self._delete_node)

    # -- helpers ------------------------------------------------------------------------------
    def owner_candidates(self, namespace: str | None) -> list[dict]:
        # (no namespace index on DaemonSets: the cache's own order)
        return self.ds_lister.list(namespace)

    def scheduling(self, ds: dict) -> DaemonScheduling:
        m = ds["metadata"]
        basis = (m.get("uid"), m.get("generation"))
        hit = self._scheduling.get(m.get("uid", ""))
        if hit is None or hit[0] != basis:
            hit = self._scheduling[m.get("uid", "")] = (basis, DaemonScheduling.of(ds))
        return hit[1]

    # -- DaemonSet and ControllerRevision handlers -------------------------------------------
    def _add_ds(self, ds: dict) -> None:
        self._enqueue(ds)

    def _update_ds(self, old: dict, cur: dict) -> None:
        if old["metadata"].get("uid") != cur["metadata"].get("uid"):
            self._delete_ds(old)
        self._enqueue(cur)

    def _delete_ds(self, ds: dict) -> None:
        key = self._key(ds)
        self.expectations.delete(key)
        uid = ds["metadata"].get("uid", "")
        self._states.pop(uid, None)
        self._scheduling.pop(uid, None)
        self.selectors.forget(ds)
        self.queue.add(key)

    def _add_history(self, rev: dict) -> None:
        if rev["metadata"].get("deletionTimestamp"):
            self.delete_owned(rev)
            return
        if controller_of(rev) is not None:
            return  # creating one's own revision needs no second look
        for ds in self.owners_selecting(rev):
            self._enqueue(ds)

    # -- pod handlers ---------------------------------------------------------------------------
    def _mark_pod(self, pod: dict) -> None:
        ref = controller_of(pod)
        if ref is not None:
            st = self._states.get(ref.get("uid"))
            if st is not None:
                st.dirty_pods.add(self._key(pod))

    def _add_pod(self, pod: dict) -> None:
        self._mark_pod(pod)
        if pod["metadata"].get("deletionTimestamp"):
            self._delete_pod(pod)
            return
        ref = controller_of(pod)
        if ref is not None:
            ds = self.resolve_controller_ref(pod["metadata"].get("namespace"), ref)
            if ds is not None:
                self.expectations.creation_observed(self._key(ds))
                self._enqueue(ds)
            return
        for ds in self.owners_selecting(pod):
            self._enqueue(ds)

    def _update_pod(self, old: dict, cur: dict) -> None:
        if old["metadata"].get("resourceVersion") == cur["metadata"].get("resourceVersion"):
            return
        self._mark_pod(old)
        self._mark_pod(cur)
        if cur["metadata"].get("deletionTimestamp"):
            # a graceful deletion began: count it now, and replace the pod without waiting
            self._delete_pod(cur)
            return
        self.update_owned(old, cur, requeue_when_available=True)

    def _delete_pod(self, pod: dict) -> None:
        self._mark_pod(pod)
        ref = controller_of(pod)
        if ref is None:
            return
        ds = self.resolve_controller_ref(pod["metadata"].get("namespace"), ref)
        if ds is None:
            return
        self.expectations.deletion_observed(self._key(ds))
        self._enqueue(ds)

    # -- node handlers ---------------------------------------------------------------------------
    def _mark_node(self, name: str) -> None:
        for st in self._states.values():
            st.dirty_nodes.add(name)

    def _add_node(self, node: dict) -> None:
        self._mark_node(node["metadata"]["name"])
        for ds in self.ds_lister.list():
            if node_should_run_daemon_pod(node, self.scheduling(ds))[0]:
                self._enqueue(ds)

    def _update_node(self, old: dict, cur: dict) -> None:
        # only labels and taints decide where daemons run (shouldIgnoreNodeUpdate)
        if (old["metadata"].get("labels") == cur["metadata"].get("labels")
                and (old.get("spec") or {}).get("taints") == (cur.get("spec") or {}).get("taints")):
            return
        self._mark_node(cur["metadata"]["name"])
        for ds in self.ds_lister.list():
            sched = self.scheduling(ds)
            if node_should_run_daemon_pod(old, sched) != node_should_run_daemon_pod(cur, sched):
                self._enqueue(ds)

    def _delete_node(self, node: dict) -> None:
        # no reaction (as in the real controller): the pods' deletion by the pod GC brings the sync
        self._mark_node(node["metadata"]["name"])

    # -- sync ------------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        ds = self.ds_lister.get(name, namespace)
        if ds is None:
            self.expectations.delete(key)
            return
        try:
            selector = self.selectors.get(ds)
        except ValueError:
            return
        if selector.empty:
            self.recorder.event(ds, "Warning", "SelectingAll",
                                "This daemon set is selecting all pods. A non-empty selector is required.")
            return
        if ds["metadata"].get("deletionTimestamp"):
            return  # its revisions may be going already: no status can be trusted
        current, old = self.construct_history(ds, selector)
        hash_ = (current["metadata"].get("labels") or {}).get(POD_REVISION_LABEL, "")
        st = self.daemon_state(ds, selector, hash_)
        if not self.expectations.satisfied(key):
            self._update_status(ds, st, update_observed_generation=False)
            return
        err = None
        try:
            self.manage(ds, st, hash_)
            if self.expectations.satisfied(key):
                strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
                if strategy.get("type") == "RollingUpdate":
                    self.rolling_update(ds, st, hash_)
            self._cleanup_history(ds, st, old)
        except (errors.ApiError, ValueError) as e:  # ValueError: a maxSurge/maxUnavailable that does not parse
            err = e
        try:
            self._update_status(ds, st, update_observed_generation=True)
        except errors.ApiError:
            if err is None:
                raise
        if err is not None:
            raise err

    # -- pods by node ----------------------------------------------------------------------------
    def daemon_state(self, ds: dict, selector, hash_: str) -> DaemonState:
        """The DaemonSet's pods and per-node conclusions, brought up to date with what changed."""
        m = ds["metadata"]
        uid = m["uid"]
        spec = ds.get("spec") or {}
        basis = (m.get("generation"), hash_, self._surge(ds) > 0, spec.get("minReadySeconds") or 0)
        st = self._states.get(uid)
        indexer = self.pod_informer.indexer
        if st is None or st.basis != basis:
            st = self._states[uid] = DaemonState(basis)
            keys = sorted(self._key(p) for p in self.pod_lister.by_index(INDEX_CONTROLLER_UID, uid))
            st.dirty_nodes.update(n["metadata"]["name"] for n in self.node_lister.list())
        else:
            keys = sorted(st.dirty_pods)
        st.dirty_pods = set()
        for key in keys:
            pod = indexer.get(key)
            ref = controller_of(pod) if pod is not None else None
            if ref is None or ref.get("uid") != uid:
                st.drop_pod(key)
            elif selector.matches(pod["metadata"].get("labels")):
                st.put_pod(key, pod)
            else:
                st.drop_pod(key)
                st.nonmatching[key] = pod
        self._claim(ds, selector, st)
        # the nodes to look at again: changed ones, and those whose pods mature with time
        names = st.dirty_nodes | st.maturing
        st.dirty_nodes = set()
        sched = self.scheduling(ds)
        surge, min_ready, now = basis[2], basis[3], self.now
        for name in sorted(names):
            node = self.node_lister.get(name)
            bucket = st.node_pods.get(name)
            if node is None and not bucket:
                st.put_record(name, None)
                continue
            pods = list(bucket.values()) if bucket else []
            st.put_record(name, evaluate_node(name, node, pods, sched, hash_, surge, min_ready, now))
        return st

    def _claim(self, ds: dict, selector, st: DaemonState) -> None:
        """Release owned pods the selector no longer matches; adopt matching orphans."""
        orphans = self.pod_lister.by_index(INDEX_ORPHANS, ds["metadata"].get("namespace") or "")
        candidates = list(st.nonmatching.values())
        if orphans:
            candidates += sorted((p for p in orphans if selector.matches(p["metadata"].get("labels"))),
                                 key=lambda p: p["metadata"]["name"])
        if not candidates:
            return
        manager = ControllerRefManager(self.client, ds, selector, "pods",
                                       recheck_deletion(self.client, "daemonsets", ds))
        adopted, errs = manager.claim(candidates)
        for pod in manager.released:
            st.nonmatching.pop(self._key(pod), None)
        for pod in adopted:
            st.put_pod(self._key(pod), pod)
        if errs:
            raise errs[0]

    # -- manage (daemon_controller.go) ---------------------------------------------------------------
    def manage(self, ds: dict, st: DaemonState, hash_: str) -> None:
        """Create the missing daemon pods and delete those that must go."""
        create, delete = [], []
        generation = (ds.get("status") or {}).get("observedGeneration") or 0
        for name in sorted(st.attention):
            rec = st.records[name]
            if rec.create:
                create.append(name)
            for pod in rec.failed:
                # a kubelet may keep rejecting the pod: delete it at most once per back-off period
                backoff_key = f"{ds['metadata']['uid']}/{generation}/{name}"
                if self.backoff.in_backoff_since_update(backoff_key, self.now):
                    self.queue.add_after(self._key(ds), self.backoff.get(backoff_key))
                    continue
                self.backoff.next(backoff_key, self.now)
                pm = pod["metadata"]
                self.recorder.event(ds, "Warning", "FailedDaemonPod",
                                    f"Found failed daemon pod {pm.get('namespace')}/{pm['name']} on node {name}, "
                                    "will try to kill it")
                delete.append(pm["name"])
            for pod in rec.succeeded:
                pm = pod["metadata"]
                self.recorder.event(ds, "Normal", "SucceededDaemonPod",
                                    f"Found succeeded daemon pod {pm.get('namespace')}/{pm['name']} on node {name}, "
                                    "will try to delete it")
                delete.append(pm["name"])
            delete.extend(rec.delete)
        self.sync_nodes(ds, delete, create, hash_)

    def sync_nodes(self, ds: dict, delete: list[str], create: list[str], hash_: str) -> None:
        """``syncNodes``: expectations first, then creations in slow-start batches, then deletions."""
        key = self._key(ds)
        create_diff = min(len(create), self.burst_replicas)
        delete_diff = min(len(delete), self.burst_replicas)
        self.expectations.set(key, create_diff, delete_diff)
        template = pod_template_for(ds, hash_) if create_diff else None
        nodes = iter(create[:create_diff])
        created, first_error = slow_start_batch(create_diff, SLOW_START_INITIAL_BATCH_SIZE,
                                                lambda: self._create_pod(ds, template, next(nodes)))
        # creations that failed or were never attempted will never be observed
        self.expectations.lower(key, create_diff - created, 0)
        namespace = ds["metadata"].get("namespace")
        for pod_name in delete[:delete_diff]:
            try:
                self.pod_control.delete_pod(ds, pod_name, namespace)
            except errors.ApiError as e:
                self.expectations.deletion_observed(key)
                if not isinstance(e, errors.NotFound):
                    first_error = first_error or e
        if first_error is not None:
            raise first_error

    def _create_pod(self, ds: dict, template: dict, node_name: str) -> dict:
        spec = template.get("spec") or {}
        pinned = dict(template)
        pinned["spec"] = dict(spec)
        # the default scheduler places the pod: the affinity lets it choose only this node
        pinned["spec"]["affinity"] = pin_to_node(spec.get("affinity"), node_name)
        return self.pod_control.create_pod(ds, pod_from_template(ds, pinned))

    # -- rolling update (update.go) --------------------------------------------------------------------
    def _surge(self, ds: dict, number: int = 1) -> int:
        strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
        rolling = strategy.get("rollingUpdate")
        if strategy.get("type") != "RollingUpdate" or not rolling or rolling.get("maxSurge") is None:
            return 0
        try:
            return int_or_percent(rolling["maxSurge"], number, round_up=True)
        except ValueError:
            return 0

    def _max_unavailable(self, ds: dict, number: int) -> int:
        strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
        rolling = strategy.get("rollingUpdate")
        if strategy.get("type") != "RollingUpdate" or not rolling:
            return 0
        value = rolling.get("maxUnavailable")
        return int_or_percent(value if value is not None else 1, number, round_up=True)

    def rolling_update(self, ds: dict, st: DaemonState, hash_: str) -> None:
        """Replace old pods within ``maxUnavailable`` (delete first) or ``maxSurge`` (create first)."""
        desired = st.totals["desired"]
        max_surge = self._surge(ds, desired)
        max_unavailable = self._max_unavailable(ds, desired)  # a bad percentage fails the sync
        if desired > 0 and max_unavailable == 0 and max_surge == 0:
            max_unavailable = 1  # an impossible configuration: accept unavailability
        if max_surge == 0:
            remaining = max(0, max_unavailable - st.totals["unavailable"])
            candidates = [st.candidates[n] for n in sorted(st.candidates)][:remaining]
            self.sync_nodes(ds, [st.replace[n] for n in sorted(st.replace)] + candidates, [], hash_)
            return
        delete = [st.delete_old[n] for n in sorted(st.delete_old)]
        deletable = st.totals["surge_available"] - desired
        if deletable > 0:
            # a pod on a node it may no longer run on goes once enough others are available
            delete += [st.should_not_run[n] for n in sorted(st.should_not_run)][:deletable]
        remaining = max(0, max_surge - st.totals["surge"])
        create = sorted(st.allowed_new) + sorted(st.surge_candidates)[:remaining]
        self.sync_nodes(ds, delete, create, hash_)

    # -- history (update.go) ----------------------------------------------------------------------------
    def construct_history(self, ds: dict, selector) -> tuple[dict, list[dict]]:
        """The current revision (made if missing, renumbered if older than the rest) and the old ones."""
        histories = self._controlled_histories(ds, selector)
        patch = canonical_json(template_patch(ds))
        current, old = [], []
        for rev in histories:
            if POD_REVISION_LABEL not in (rev["metadata"].get("labels") or {}):
                body = clone(rev)
                body["metadata"].setdefault("labels", {})[POD_REVISION_LABEL] = body["metadata"]["name"]
                rev = self.client.update(body)
            (current if canonical_json(rev.get("data")) == patch else old).append(rev)
        next_number = max((r.get("revision") or 0 for r in old), default=0) + 1
        if not current:
            return self._snapshot(ds, next_number), old
        cur = self._dedup(ds, current)
        if (cur.get("revision") or 0) < next_number:
            body = clone(cur)
            body["revision"] = next_number
            cur = self.client.update(body)
        return cur, old

    def _controlled_histories(self, ds: dict, selector) -> list[dict]:
        """The revisions the DaemonSet controls, after releasing mismatches and adopting matching orphans."""
        m = ds["metadata"]
        owned = self.history_informer.lister.by_index(INDEX_CONTROLLER_UID, m["uid"])
        claimed = [r for r in owned if selector.matches(r["metadata"].get("labels"))]
        candidates = [r for r in owned if not selector.matches(r["metadata"].get("labels"))]
        candidates += [r for r in self.history_informer.lister.by_index(INDEX_ORPHANS, m.get("namespace") or "")
                       if selector.matches(r["metadata"].get("labels"))]
        if candidates:
            manager = ControllerRefManager(self.client, ds, selector, "controllerrevisions",
                                           recheck_deletion(self.client, "daemonsets", ds))
            adopted, errs = manager.claim(sorted(candidates, key=lambda r: r["metadata"]["name"]))
            if errs:
                raise errs[0]
            claimed += adopted
        return sorted(claimed, key=lambda r: r["metadata"]["name"])

    def _snapshot(self, ds: dict, number: int) -> dict:
        """Save the template as a new revision ``<ds>-<hash>`` (the hash of the template and collision count)."""
        m = ds["metadata"]
        spec = ds.get("spec") or {}
        collision_count = (ds.get("status") or {}).get("collisionCount")
        hash_ = pod_template_hash(spec.get("template") or {}, collision_count)
        labels = dict(((spec.get("template") or {}).get("metadata") or {}).get("labels") or {})
        labels[POD_REVISION_LABEL] = hash_
        meta = {"name": f"{m['name']}-{hash_}", "namespace": m.get("namespace"), "labels": labels,
                "ownerReferences": [owner_reference(ds)]}
        if m.get("annotations"):
            meta["annotations"] = dict(m["annotations"])
        rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
               "data": template_patch(ds), "revision": number}
        try:
            return self.client.create(rev, m.get("namespace"), hand_over=True)
        except errors.AlreadyExists:
            existing = self.client.get("controllerrevisions", meta["name"], m.get("namespace"))
            if canonical_json(existing.get("data")) == canonical_json(template_patch(ds)):
                return existing
            fresh = self.client.get("daemonsets", m["name"], m.get("namespace"))
            if (fresh.get("status") or {}).get("collisionCount") != collision_count:
                raise errors.Conflict("daemonsets.apps", m["name"]) from None
            fresh.setdefault("status", {})["collisionCount"] = (collision_count or 0) + 1
            self.client.update_status(fresh)
            raise

    def _dedup(self, ds: dict, current: list[dict]) -> dict:
        """Keep the highest-numbered of several revisions with the current template; relabel pods to it."""
        if len(current) == 1:
            return current[0]
        keep = max(current, key=lambda r: r.get("revision") or 0)
        keep_hash = (keep["metadata"].get("labels") or {}).get(POD_REVISION_LABEL)
        st = self._states.get(ds["metadata"]["uid"])
        pods = sorted(st.pods.values() if st is not None else
                      self.pod_lister.by_index(INDEX_CONTROLLER_UID, ds["metadata"]["uid"]),
                      key=lambda p: p["metadata"]["name"])
        for pod in pods:
            if pod_hash(pod) != keep_hash:
                pm = pod["metadata"]
                self.client.patch("pods", pm["name"], {"metadata": {"labels": {POD_REVISION_LABEL: keep_hash}}},
                                  pm.get("namespace"))
        for rev in current:
            if rev is not keep:
                self.client.delete("controllerrevisions", rev["metadata"]["name"], rev["metadata"].get("namespace"))
        return keep

    def _cleanup_history(self, ds: dict, st: DaemonState, old: list[dict]) -> None:
        limit = (ds.get("spec") or {}).get("revisionHistoryLimit")
        to_kill = len(old) - (limit if limit is not None else 10)
        if to_kill <= 0:
            return
        live = st.live_hashes()
        for rev in sorted(old, key=lambda r: r.get("revision") or 0):
            if to_kill <= 0:
                break
            if (rev["metadata"].get("labels") or {}).get(POD_REVISION_LABEL) in live:
                continue
            self.client.delete("controllerrevisions", rev["metadata"]["name"], rev["metadata"].get("namespace"))
            to_kill -= 1

    # -- status ---------------------------------------------------------------------------------------
    def _update_status(self, ds: dict, st: DaemonState, *, update_observed_generation: bool) -> None:
        """``updateDaemonSetStatus``: write the counts when they changed (one retry)."""
        t = st.totals
        counts = {
            "currentNumberScheduled": t["current"],
            "numberMisscheduled": t["misscheduled"],
            "desiredNumberScheduled": t["desired"],
            "numberReady": t["ready"],
            "updatedNumberScheduled": t["updated"],
            "numberAvailable": t["available"],
            "numberUnavailable": t["desired"] - t["available"],
        }
        old = ds.get("status") or {}
        generation = ds["metadata"].get("generation") or 0
        if (all((old.get(f) or 0) == v for f, v in counts.items())
                and (old.get("observedGeneration") or 0) >= generation):
            self._requeue_for_availability(ds, t)
            return
        obj = ds
        for attempt in range(2):
            status = dict(obj.get("status") or {})
            if update_observed_generation:
                status["observedGeneration"] = generation
            status.update(counts)
            body = dict(obj)
            body["status"] = _status_dict(status)
            try:
                self.client.update_status(body)
                break
            except errors.ApiError:
                if attempt:
                    raise
                obj = self.client.get("daemonsets", ds["metadata"]["name"], ds["metadata"].get("namespace"))
        self._requeue_for_availability(ds, t)

    def _requeue_for_availability(self, ds: dict, totals: dict) -> None:
        min_ready = (ds.get("spec") or {}).get("minReadySeconds") or 0
        if min_ready > 0 and totals["ready"] != totals["available"]:
            self.queue.add_after(self._key(ds), min_ready)


def _status_dict(st: dict) -> dict:
    # Go's field order; the first four are always written, the rest only when not zero
    out = {f: st.get(f) or 0 for f in ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled",
                                       "numberReady")}
    for f in ("observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
        if st.get(f):
            out[f] = st[f]
    if st.get("collisionCount") is not None:
        out["collisionCount"] = st["collisionCount"]
    if st.get("conditions"):
        out["conditions"] = st["conditions"]
    return out
