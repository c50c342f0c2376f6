"""The Deployment controller: roll a pod template out through ReplicaSets.

A Deployment never touches pods itself. It owns ReplicaSets (found through
their ``ownerReferences``); the *new* one is the ReplicaSet whose pod template is
the Deployment's (ignoring the ``pod-template-hash`` label), named
``<deployment>-<pod-template-hash>``. Each sync of ``pkg/controller/deployment``
does, in order:

1. claim ReplicaSets (adopt matching orphans, release mismatches);
2. a Deployment being deleted only gets its status refreshed;
3. a paused Deployment is only scaled (no rollout), and gets a
   ``Progressing=Unknown DeploymentPaused`` condition;
4. a *scaling event* (``spec.replicas`` changed, template did not) resizes the
   active ReplicaSets proportionally;
5. otherwise the strategy rolls out (:mod:`k8slab.controlplane.rollout`):
   RollingUpdate within maxSurge / maxUnavailable, or Recreate;
6. status: replicas, updatedReplicas, readyReplicas, availableReplicas,
   unavailableReplicas, and the ``Available`` / ``Progressing`` conditions.

Old ReplicaSets beyond ``revisionHistoryLimit`` (default 10) are deleted once a
rollout is complete; each ReplicaSet keeps its ``deployment.kubernetes.io/revision``.

Example
-------
>>> from k8slab.controlplane.rollout import new_rs_new_replicas
>>> d = {"spec": {"replicas": 4, "strategy": {"type": "RollingUpdate",
...      "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}}
>>> old, new = {"spec": {"replicas": 4}}, {"spec": {"replicas": 0}}
>>> new_rs_new_replicas(d, [old, new], new)   # 4 + 1 surge allowed, 4 exist: one new pod
1
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.names import pod_template_hash
from k8slab.api.objects import clone, controller_of, owner_reference, split_key
from k8slab.controlplane.rollout import (
    FAILED_RS_CREATE,
    FOUND_NEW_RS,
    MIN_AVAILABLE,
    MIN_UNAVAILABLE,
    NEW_RS_CREATED,
    PAUSED,
    POD_TEMPLATE_HASH,
    RESUMED,
    REVISION,
    TIMED_OUT,
    RolloutStrategies,
    annotations_of,
    by_revision,
    by_size_newer,
    by_size_older,
    equal_ignore_hash,
    filter_active,
    find_active_or_latest,
    find_new_replica_set,
    find_old_replica_sets,
    get_condition,
    get_proportion,
    has_progress_deadline,
    has_revision_history_limit,
    is_rolling_update,
    is_saturated,
    max_revision,
    max_surge,
    max_unavailable,
    new_condition,
    new_rs_new_replicas,
    replicas_annotations_need_update,
    replicas_of,
    set_condition,
    set_deployment_revision,
    set_new_replica_set_annotations,
    set_replicas_annotations,
    status_dict,
    status_of,
    template_copy,
    total_replicas,
    total_status,
)
from k8slab.controlplane.workload import (
    INDEX_CONTROLLER_UID,
    INDEX_NAMESPACE,
    INDEX_ORPHANS,
    ControllerRefManager,
    DelayedRequeue,
    SelectorCache,
    WorkloadController,
    add_ownership_indexes,
    namespace_index,
    recheck_deletion,
)


class DeploymentController(RolloutStrategies, WorkloadController):
    """Reconciles Deployments into ReplicaSets (see the module docstring)."""

    name = "deployment-controller"
    kind = "Deployment"

    def setup(self) -> None:
        self.selectors = SelectorCache()
        self.d_informer = self.informers.informer("deployments")
        self.rs_informer = self.informers.informer("replicasets")
        self.pod_informer = self.informers.informer("pods")
        self.d_informer.add_index(INDEX_NAMESPACE, namespace_index)
        add_ownership_indexes(self.rs_informer)
        add_ownership_indexes(self.pod_informer)
        self.d_lister = self.owner_lister = self.d_informer.lister
        self.rs_lister = self.rs_informer.lister
        self.pod_lister = self.pod_informer.lister
        self._progress_checks = DelayedRequeue(self, lambda key, delay: f"progress check {key}", background=True)
        self.d_informer.add_event_handler(self._enqueue, lambda old, cur: self._enqueue(cur), self._enqueue)
        self.rs_informer.add_event_handler(self.add_owned, self.update_owned, self.delete_owned)
        self.pod_informer.add_event_handler(on_delete=self._delete_pod)

    # -- event handlers -------------------------------------------------------------------------
    def _delete_pod(self, pod: dict) -> None:
        # Only Recreate waits for pods to be gone; wake it when the last one goes.
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.rs_lister.get(ref.get("name", ""), pod["metadata"].get("namespace"))
        if rs is None or rs["metadata"].get("uid") != ref.get("uid"):
            return
        rs_ref = controller_of(rs)
        d = self.resolve_controller_ref(rs["metadata"].get("namespace"), rs_ref) if rs_ref else None
        if d is None or (d["spec"].get("strategy") or {}).get("type") != "Recreate":
            return
        try:
            sel = self.selectors.get(d)
            listed = self.client.list("replicasets", d["metadata"].get("namespace"), label_selector=str(sel))
        except (errors.ApiError, ValueError):
            return
        owned = [r for r in listed["items"] if (controller_of(r) or {}).get("uid") == d["metadata"]["uid"]]
        if all(not self.pod_lister.by_index(INDEX_CONTROLLER_UID, r["metadata"]["uid"]) for r in owned):
            self._enqueue(d)

    def progress_check_after(self, key: str, delay: float) -> None:
        """Requeue ``key`` after ``delay`` for a progress-deadline check.

        A background timer: it fires if time passes anyway, but does not by itself
        keep ``Cluster.run()`` going for the 600 s of a default deadline.
        """
        self._progress_checks.add_after(key, delay)

    # -- sync -------------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        """``syncDeployment``."""
        namespace, name = split_key(key)
        cached = self.d_lister.get(name, namespace)
        if cached is None:
            return
        d = clone(cached)
        # the template is only read (and copied before use): share the cached one, so the
        # template comparisons of this sync are recognised as ones already made
        d["spec"]["template"] = cached["spec"].get("template")
        d.setdefault("status", {})
        if (d["spec"].get("selector") or None) == {}:
            self.recorder.event(d, "Warning", "SelectingAll",
                                "This deployment is selecting all pods. A non-empty selector is required.")
            if (d["status"].get("observedGeneration") or 0) < (d["metadata"].get("generation") or 0):
                d["status"]["observedGeneration"] = d["metadata"].get("generation")
                self.client.update_status(d)
            return
        rs_list = self.get_replica_sets_for_deployment(d)

        def pod_map() -> dict[str, list[dict]]:
            return {rs["metadata"]["uid"]: self.pod_lister.by_index(INDEX_CONTROLLER_UID, rs["metadata"]["uid"])
                    for rs in rs_list}

        if d["metadata"].get("deletionTimestamp"):
            return self.sync_status_only(d, rs_list)
        self.check_paused_conditions(d)
        if d["spec"].get("paused"):
            return self.sync_scale(d, rs_list)
        if self.is_scaling_event(d, rs_list):
            return self.sync_scale(d, rs_list)
        strategy = (d["spec"].get("strategy") or {}).get("type", "RollingUpdate")
        if strategy == "Recreate":
            return self.rollout_recreate(d, rs_list, pod_map)
        if strategy == "RollingUpdate":
            return self.rollout_rolling(d, rs_list)
        raise ValueError(f"unexpected deployment strategy type: {strategy}")

    def get_replica_sets_for_deployment(self, d: dict) -> list[dict]:
        """The ReplicaSets this Deployment owns, after adopting and releasing (``ClaimReplicaSets``)."""
        m = d["metadata"]
        selector = self.selectors.get(d)
        owned = self.rs_lister.by_index(INDEX_CONTROLLER_UID, m["uid"])
        orphans = sorted(self.rs_lister.by_index(INDEX_ORPHANS, m.get("namespace") or ""),
                         key=lambda r: r["metadata"]["name"])
        manager = ControllerRefManager(self.client, d, selector, "replicasets",
                                       recheck_deletion(self.client, "deployments", d))
        claimed, errs = manager.claim([*owned, *orphans])
        if errs:
            raise errs[0]
        return claimed

    def check_paused_conditions(self, d: dict) -> None:
        """Progressing=Unknown while paused, so a resumed rollout is not judged as stuck."""
        if not has_progress_deadline(d):
            return
        cond = get_condition(d["status"], "Progressing")
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return
        paused_cond = cond is not None and cond.get("reason") == PAUSED
        if d["spec"].get("paused") and not paused_cond:
            set_condition(d["status"], new_condition("Progressing", "Unknown", PAUSED, "Deployment is paused", self.now))
        elif not d["spec"].get("paused") and paused_cond:
            set_condition(d["status"], new_condition("Progressing", "Unknown", RESUMED, "Deployment is resumed",
                                                     self.now))
        else:
            return
        self.update_deployment_status(d)

    def is_scaling_event(self, d: dict, rs_list: list[dict]) -> bool:
        """True when active ReplicaSets were sized for another ``spec.replicas``."""
        new_rs, old_rss = self.get_all_replica_sets_and_sync_revision(d, rs_list, False)
        for rs in filter_active([*old_rss, new_rs]):
            desired = annotations_of(rs).get("deployment.kubernetes.io/desired-replicas")
            try:
                if desired is not None and int(desired) != replicas_of(d):
                    return True
            except ValueError:
                continue
        return False

    def sync_status_only(self, d: dict, rs_list: list[dict]) -> None:
        new_rs, old_rss = self.get_all_replica_sets_and_sync_revision(d, rs_list, False)
        self.sync_deployment_status([*old_rss, new_rs], new_rs, d)

    def sync_scale(self, d: dict, rs_list: list[dict]) -> None:
        """``sync``: scaling events and paused Deployments (no rollout progress)."""
        new_rs, old_rss = self.get_all_replica_sets_and_sync_revision(d, rs_list, False)
        self.scale(d, new_rs, old_rss)
        if d["spec"].get("paused"):
            self.cleanup_deployment(old_rss, d)
        self.sync_deployment_status([*old_rss, new_rs], new_rs, d)

    # -- the new ReplicaSet ------------------------------------------------------------------------
    def get_all_replica_sets_and_sync_revision(self, d: dict, rs_list: list[dict], create: bool):
        new_rs = find_new_replica_set(d, rs_list)
        old_rss = find_old_replica_sets(d, rs_list, new_rs)
        new_rs = self.get_new_replica_set(d, rs_list, old_rss, create)
        return new_rs, old_rss

    def get_new_replica_set(self, d: dict, rs_list: list[dict], old_rss: list[dict], create: bool) -> dict | None:
        """Find (and bring up to date) or create the ReplicaSet of the current template (``getNewReplicaSet``)."""
        existing = find_new_replica_set(d, rs_list)
        new_revision = max_revision(old_rss) + 1
        if existing is not None:
            # a copy deep enough for what may change (annotations, minReadySeconds)
            em = existing["metadata"]
            rs_copy = {**existing, "metadata": {**em, "annotations": dict(em.get("annotations") or {})},
                       "spec": dict(existing["spec"])}
            changed = set_new_replica_set_annotations(d, rs_copy, new_revision, True)
            min_ready = d["spec"].get("minReadySeconds") or 0
            if changed or (rs_copy["spec"].get("minReadySeconds") or 0) != min_ready:
                if min_ready:
                    rs_copy["spec"]["minReadySeconds"] = min_ready
                else:
                    rs_copy["spec"].pop("minReadySeconds", None)
                return self.client.update(rs_copy)
            needs_update = set_deployment_revision(d, annotations_of(rs_copy).get(REVISION, ""))
            if has_progress_deadline(d) and get_condition(d["status"], "Progressing") is None:
                set_condition(d["status"], new_condition("Progressing", "True", FOUND_NEW_RS,
                                                         f'Found new replica set "{rs_copy["metadata"]["name"]}"',
                                                         self.now))
                needs_update = True
            if needs_update:
                self.update_deployment_status(d)
            return rs_copy
        if not create:
            return None
        return self._create_new_replica_set(d, old_rss, new_revision)

    def _create_new_replica_set(self, d: dict, old_rss: list[dict], new_revision: int) -> dict:
        m = d["metadata"]
        collision_count = d["status"].get("collisionCount")
        template = template_copy(d)
        h = pod_template_hash(d["spec"].get("template") or {}, collision_count)
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = dict(sorted({**(tmeta.get("labels") or {}), POD_TEMPLATE_HASH: h}.items()))
        selector = clone(d["spec"].get("selector") or {})
        selector["matchLabels"] = dict(sorted({**(selector.get("matchLabels") or {}), POD_TEMPLATE_HASH: h}.items()))
        spec = {"replicas": 0, "selector": selector, "template": template}
        if d["spec"].get("minReadySeconds"):
            spec["minReadySeconds"] = d["spec"]["minReadySeconds"]
        new_rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": f"{m['name']}-{h}", "namespace": m.get("namespace"),
                         "labels": dict(tmeta["labels"]), "ownerReferences": [owner_reference(d)]},
            "spec": spec,
        }
        count = new_rs_new_replicas(d, [*old_rss, new_rs], new_rs)
        spec["replicas"] = count
        set_new_replica_set_annotations(d, new_rs, new_revision, False)
        name = new_rs["metadata"]["name"]
        already_exists = False
        try:
            created = self.client.create(new_rs, m.get("namespace"))
        except errors.AlreadyExists as e:
            # a slow cache, or a hash collision with a ReplicaSet of another template
            already_exists = True
            found = self.rs_lister.get(name, m.get("namespace"))
            if found is None:
                raise errors.NotFound("replicasets.apps", name) from None
            ref = controller_of(found)
            if ref is not None and ref.get("uid") == m["uid"] and equal_ignore_hash(
                    d["spec"].get("template") or {}, found["spec"].get("template") or {}):
                created = found
            else:
                d["status"]["collisionCount"] = (collision_count or 0) + 1
                try:
                    self.update_deployment_status(d)
                except errors.ApiError:
                    pass
                raise e from None
        except errors.ApiError as e:
            if "because it is being terminated" in e.message:
                raise _NamespaceTerminating(e.message) from None
            msg = f'Failed to create new replica set "{name}": {e.message}'
            if has_progress_deadline(d):
                set_condition(d["status"], new_condition("Progressing", "False", FAILED_RS_CREATE, msg, self.now))
                try:
                    self.update_deployment_status(d)
                except errors.ApiError:
                    pass
            self.recorder.event(d, "Warning", FAILED_RS_CREATE, msg)
            raise
        if not already_exists and count > 0:
            self.recorder.event(d, "Normal", "ScalingReplicaSet", f"Scaled up replica set {name} to {count}")
        needs_update = set_deployment_revision(d, str(new_revision))
        if not already_exists and has_progress_deadline(d):
            set_condition(d["status"], new_condition("Progressing", "True", NEW_RS_CREATED,
                                                     f'Created new replica set "{created["metadata"]["name"]}"',
                                                     self.now))
            needs_update = True
        if needs_update:
            self.update_deployment_status(d)
        return created

    def update_deployment_status(self, d: dict) -> dict:
        """PUT deployments/status with ``d`` (as the real controller, with the resourceVersion it read).

        The revision annotation travels with it: the API server's Deployment status
        strategy keeps annotation changes.
        """
        return self.client.update_status(d)

    # -- scaling ------------------------------------------------------------------------------------
    def scale(self, d: dict, new_rs: dict | None, old_rss: list[dict]) -> None:
        """Resize for a scaling event, proportionally over the active ReplicaSets during a rollout."""
        only = find_active_or_latest(new_rs, old_rss)
        if only is not None:
            if replicas_of(only) != replicas_of(d):
                self.scale_replica_set_and_record_event(only, replicas_of(d), d)
            return
        if is_saturated(d, new_rs):
            for old in filter_active(old_rss):
                self.scale_replica_set_and_record_event(old, 0, d)
            return
        if not is_rolling_update(d):
            return
        all_rss = filter_active([*old_rss, new_rs])
        allowed = replicas_of(d) + max_surge(d) if replicas_of(d) > 0 else 0
        to_add = allowed - total_replicas(all_rss)
        operation = ""
        if to_add > 0:
            all_rss, operation = by_size_newer(all_rss), "up"
        elif to_add < 0:
            all_rss, operation = by_size_older(all_rss), "down"
        added = 0
        sizes: dict[str, int] = {}
        for rs in all_rss:
            if to_add != 0:
                proportion = get_proportion(rs, d, to_add, added)
                sizes[rs["metadata"]["name"]] = replicas_of(rs) + proportion
                added += proportion
            else:
                sizes[rs["metadata"]["name"]] = replicas_of(rs)
        for i, rs in enumerate(all_rss):
            name = rs["metadata"]["name"]
            if i == 0 and to_add != 0:
                # leftovers of the rounding go to the largest ReplicaSet
                sizes[name] = max(sizes[name] + to_add - added, 0)
            self.scale_replica_set(rs, sizes[name], d, operation)

    def scale_replica_set_and_record_event(self, rs: dict, new_scale: int, d: dict) -> tuple[bool, dict]:
        if replicas_of(rs) == new_scale:
            return False, rs
        return self.scale_replica_set(rs, new_scale, d, "up" if replicas_of(rs) < new_scale else "down")

    def scale_replica_set(self, rs: dict, new_scale: int, d: dict, operation: str) -> tuple[bool, dict]:
        """PUT the ReplicaSet with its new size and the desired/max annotations; record ScalingReplicaSet."""
        size_changed = replicas_of(rs) != new_scale
        want, most = replicas_of(d), replicas_of(d) + max_surge(d)
        if not size_changed and not replicas_annotations_need_update(rs, want, most):
            return False, rs
        old_scale = replicas_of(rs)
        rs_copy = clone(rs)
        rs_copy["spec"]["replicas"] = new_scale
        set_replicas_annotations(rs_copy, want, most)
        rs_copy["metadata"]["annotations"] = dict(sorted(rs_copy["metadata"]["annotations"].items()))
        updated = self.client.update(rs_copy)
        if size_changed:
            self.recorder.event(d, "Normal", "ScalingReplicaSet",
                                f"Scaled {operation} replica set {updated['metadata']['name']} to {new_scale} "
                                f"from {old_scale}")
        return size_changed, updated

    def cleanup_deployment(self, old_rss: list[dict], d: dict) -> None:
        """Delete the oldest spent ReplicaSets beyond ``revisionHistoryLimit``."""
        if not has_revision_history_limit(d):
            return
        cleanable = [rs for rs in old_rss if rs is not None and not rs["metadata"].get("deletionTimestamp")]
        diff = len(cleanable) - d["spec"]["revisionHistoryLimit"]
        if diff <= 0:
            return
        for rs in by_revision(cleanable)[:diff]:
            m = rs["metadata"]
            if (status_of(rs, "replicas") != 0 or replicas_of(rs) != 0
                    or (m.get("generation") or 0) > status_of(rs, "observedGeneration") or m.get("deletionTimestamp")):
                continue  # still has pods, or its controller has not caught up
            try:
                self.client.delete("replicasets", m["name"], m.get("namespace"))
            except errors.NotFound:
                pass

    # -- status ---------------------------------------------------------------------------------------
    def calculate_status(self, all_rss: list, new_rs: dict | None, d: dict) -> dict:
        available = total_status(all_rss, "availableReplicas")
        unavailable = max(total_replicas(all_rss) - available, 0)
        old = d.get("status") or {}
        conditions = [dict(c) for c in old.get("conditions") or ()]
        status = status_dict(d["metadata"].get("generation") or 0, total_status(all_rss, "replicas"),
                             status_of(new_rs, "replicas"), total_status(all_rss, "readyReplicas"),
                             available, unavailable, conditions, old.get("collisionCount"))
        if available >= replicas_of(d) - max_unavailable(d):
            cond = new_condition("Available", "True", MIN_AVAILABLE, "Deployment has minimum availability.", self.now)
        else:
            cond = new_condition("Available", "False", MIN_UNAVAILABLE,
                                 "Deployment does not have minimum availability.", self.now)
        set_condition(status, cond)
        return status

    def sync_deployment_status(self, all_rss: list, new_rs: dict | None, d: dict) -> None:
        new_status = self.calculate_status(all_rss, new_rs, d)
        if (d.get("status") or {}) == new_status:
            return
        d["status"] = new_status
        self.update_deployment_status(d)

    def _sync(self, key: str) -> None:
        try:
            super()._sync(key)
        except _NamespaceTerminating:
            # every create in a terminating namespace fails: nothing to retry
            self.queue.forget(key)


class _NamespaceTerminating(Exception):
    pass


__all__ = ["DeploymentController"]
