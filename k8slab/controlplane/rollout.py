"""How a Deployment moves its pods from old ReplicaSets to the new one.

The arithmetic of ``pkg/controller/deployment/util`` and the two strategies of
``rolling.go`` and ``recreate.go``, plus the rollout status of ``progress.go``:

* **RollingUpdate** alternates two moves. *Scale the new ReplicaSet up* while
  the total stays within ``replicas + maxSurge``; *scale old ones down* while
  at least ``replicas - maxUnavailable`` pods stay available (unhealthy old
  pods go first, they cost no availability). ``maxSurge`` is rounded up and
  ``maxUnavailable`` down from percentages (defaults 25 % / 25 %).
* **Recreate** scales every old ReplicaSet to 0, waits until their pods are
  gone, then creates / scales up the new one.

Example
-------
>>> resolve_fenceposts("25%", "25%", 10)
(3, 2)
>>> resolve_fenceposts(0, "10%", 4)   # both would be 0: one pod may be unavailable
(0, 1)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import lru_cache

from k8slab.api import errors
from k8slab.api.defaults import int_or_percent
from k8slab.api.objects import clone
from k8slab.sim.loop import parse_timestamp as _parse_timestamp
from k8slab.sim.loop import timestamp

#: Timestamps repeat a lot (every ReplicaSet of a second shares one): parse each once.
parse_timestamp = lru_cache(maxsize=8192)(_parse_timestamp)

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
POD_TEMPLATE_HASH = "pod-template-hash"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
#: Annotations a Deployment does not copy to its ReplicaSets.
ANNOTATIONS_TO_SKIP = {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO}
MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000
MAX_INT32 = 2147483647

# Condition reasons (deployment_util.go)
REPLICASET_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"


# -- small accessors ------------------------------------------------------------------------
def replicas_of(obj: dict | None) -> int:
    """``spec.replicas`` (1 when unset, as the API defaults it)."""
    if obj is None:
        return 0
    r = (obj.get("spec") or {}).get("replicas")
    return 1 if r is None else r


def status_of(obj: dict | None, field: str) -> int:
    return ((obj or {}).get("status") or {}).get(field) or 0


def annotations_of(obj: dict) -> dict:
    return obj["metadata"].get("annotations") or {}


def revision_of(rs: dict) -> int:
    """The ``deployment.kubernetes.io/revision`` of a ReplicaSet (0 when missing; ValueError when bad)."""
    v = annotations_of(rs).get(REVISION)
    return 0 if v is None else int(v)


def max_revision(rss: list[dict]) -> int:
    best = 0
    for rs in rss:
        try:
            best = max(best, revision_of(rs))
        except ValueError:
            continue  # unparsable revisions are skipped
    return best


def _created(rs: dict) -> tuple[float, str]:
    ts = rs["metadata"].get("creationTimestamp")
    return (parse_timestamp(ts) if ts else 0.0), rs["metadata"]["name"]


def by_creation(rss: list[dict]) -> list[dict]:
    """Oldest first, name breaking ties (``ReplicaSetsByCreationTimestamp``)."""
    return sorted(rss, key=_created)


def by_size_newer(rss: list[dict]) -> list[dict]:
    """Largest first; among equals the newest first (for scaling up)."""
    return sorted(sorted(rss, key=_created, reverse=True), key=lambda r: -replicas_of(r))


def by_size_older(rss: list[dict]) -> list[dict]:
    """Largest first; among equals the oldest first (for scaling down)."""
    return sorted(by_creation(rss), key=lambda r: -replicas_of(r))


def by_revision(rss: list[dict]) -> list[dict]:
    def key(rs):
        try:
            return (0, revision_of(rs), *_created(rs))
        except ValueError:
            return (0, 0, *_created(rs))

    return sorted(rss, key=key)


def filter_active(rss: list[dict | None]) -> list[dict]:
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def total_replicas(rss) -> int:
    return sum(replicas_of(rs) for rs in rss if rs is not None)


def total_status(rss, field: str) -> int:
    return sum(status_of(rs, field) for rs in rss if rs is not None)


# -- maxSurge / maxUnavailable ----------------------------------------------------------------
def scaled_value(value, total: int, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: an int, or a percentage of ``total``.

    >>> scaled_value("25%", 10, True), scaled_value("25%", 10, False), scaled_value(2, 10, True)
    (3, 2, 2)
    """
    return 0 if value is None else int_or_percent(value, total, round_up)


def resolve_fenceposts(max_surge, max_unavailable, desired: int) -> tuple[int, int]:
    """Surge rounded up, unavailability rounded down; never both 0 (``ResolveFenceposts``)."""
    surge = scaled_value(0 if max_surge is None else max_surge, desired, True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        # validation forbids both 0; rounding down can still get there: let one pod go
        unavailable = 1
    return surge, unavailable


def strategy_of(d: dict) -> dict:
    return (d.get("spec") or {}).get("strategy") or {"type": "RollingUpdate"}


def is_rolling_update(d: dict) -> bool:
    return strategy_of(d).get("type", "RollingUpdate") == "RollingUpdate"


def _rolling_params(d: dict) -> tuple:
    ru = strategy_of(d).get("rollingUpdate") or {}
    return ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%")


def max_surge(d: dict) -> int:
    if not is_rolling_update(d):
        return 0
    return resolve_fenceposts(*_rolling_params(d), replicas_of(d))[0]


def max_unavailable(d: dict) -> int:
    if not is_rolling_update(d) or replicas_of(d) == 0:
        return 0
    unavailable = resolve_fenceposts(*_rolling_params(d), replicas_of(d))[1]
    return min(unavailable, replicas_of(d))


def has_progress_deadline(d: dict) -> bool:
    p = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return p is not None and p != MAX_INT32


def has_revision_history_limit(d: dict) -> bool:
    r = (d.get("spec") or {}).get("revisionHistoryLimit")
    return r is not None and r != MAX_INT32


# -- templates and annotations -----------------------------------------------------------------
def _semantic(x):
    # apimachinery's Semantic.DeepEqual: an empty map or list equals a missing one
    if isinstance(x, dict):
        return {k: _semantic(v) for k, v in x.items() if v is not None and v != {} and v != []}
    if isinstance(x, list):
        return [_semantic(v) for v in x]
    return x


_EQUAL_CACHE: OrderedDict[tuple[int, int], tuple[dict, dict, bool]] = OrderedDict()


def equal_ignore_hash(t1: dict, t2: dict) -> bool:
    """Pod templates equal apart from the ``pod-template-hash`` label (``EqualIgnoreHash``).

    Templates from informer caches never change in place, so a verdict is kept per
    pair of template objects (the cache holds them, so their ids stay theirs).
    """
    key = (id(t1), id(t2))
    hit = _EQUAL_CACHE.get(key)
    if hit is not None and hit[0] is t1 and hit[1] is t2:
        return hit[2]
    result = _equal_ignore_hash(t1, t2)
    _EQUAL_CACHE[key] = (t1, t2, result)
    if len(_EQUAL_CACHE) > 4096:
        _EQUAL_CACHE.popitem(last=False)
    return result


def _equal_ignore_hash(t1: dict, t2: dict) -> bool:
    a, b = dict(t1 or {}), dict(t2 or {})
    for t in (a, b):
        meta = dict(t.get("metadata") or {})
        labels = dict(meta.get("labels") or {})
        labels.pop(POD_TEMPLATE_HASH, None)
        meta["labels"] = labels
        t["metadata"] = meta
    return _semantic(a) == _semantic(b)


def find_new_replica_set(d: dict, rss: list[dict]) -> dict | None:
    """The oldest ReplicaSet whose template is the Deployment's (``FindNewReplicaSet``)."""
    template = d["spec"].get("template") or {}
    for rs in by_creation(rss):
        if equal_ignore_hash((rs.get("spec") or {}).get("template") or {}, template):
            return rs
    return None


def find_old_replica_sets(d: dict, rss: list[dict], new_rs: dict | None) -> list[dict]:
    new_uid = new_rs["metadata"]["uid"] if new_rs is not None else None
    return [rs for rs in by_creation(rss) if rs["metadata"].get("uid") != new_uid]


def find_active_or_latest(new_rs: dict | None, old_rss: list[dict]) -> dict | None:
    """The only active ReplicaSet, or the newest when none is active; None when several are."""
    if new_rs is None and not old_rss:
        return None
    old_rss.sort(key=_created, reverse=True)
    active = filter_active([*old_rss, new_rs])
    if not active:
        return new_rs if new_rs is not None else old_rss[0]
    if len(active) == 1:
        return active[0]
    return None


def set_replicas_annotations(rs: dict, desired: int, maximum: int) -> bool:
    ann = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if ann.get(key) != value:
            ann[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: dict, desired: int, maximum: int) -> bool:
    ann = annotations_of(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(maximum)


def _int_annotation(rs: dict, key: str) -> int | None:
    try:
        return int(annotations_of(rs)[key])
    except (KeyError, ValueError):
        return None


def set_new_replica_set_annotations(d: dict, rs: dict, new_revision: int, exists: bool) -> bool:
    """Copy the Deployment's annotations and set the revision (``SetNewReplicaSetAnnotations``)."""
    ann = rs["metadata"].setdefault("annotations", {})
    changed = False
    for k, v in annotations_of(d).items():
        if k in ANNOTATIONS_TO_SKIP or ann.get(k) == v:
            continue
        ann[k] = v
        changed = True
    old_text = ann.get(REVISION)
    try:
        old = int(old_text) if old_text is not None else 0
    except ValueError:
        return changed
    if old < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old_text is not None:
            # this ReplicaSet served before (a rollback): remember its older revisions
            history = ann.get(REVISION_HISTORY, "")
            parts = history.split(",") if history else []
            parts.append(old_text)
            while len(",".join(parts)) > MAX_REV_HISTORY_LENGTH_IN_CHARS and len(parts) > 1:
                parts.pop(0)
            ann[REVISION_HISTORY] = ",".join(parts)
    if not exists and set_replicas_annotations(rs, replicas_of(d), replicas_of(d) + max_surge(d)):
        changed = True
    rs["metadata"]["annotations"] = dict(sorted(ann.items()))
    return changed


def set_deployment_revision(d: dict, revision: str) -> bool:
    ann = d["metadata"].setdefault("annotations", {})
    if ann.get(REVISION) != revision:
        ann[REVISION] = revision
        return True
    return False


# -- how many replicas where -------------------------------------------------------------------
def new_rs_new_replicas(d: dict, all_rss: list[dict], new_rs: dict) -> int:
    """The size the new ReplicaSet may have now (``NewRSNewReplicas``)."""
    strategy = strategy_of(d).get("type", "RollingUpdate")
    if strategy == "RollingUpdate":
        surge = scaled_value(_rolling_params(d)[0], replicas_of(d), True)
        current = total_replicas(all_rss)
        max_total = replicas_of(d) + surge
        if current >= max_total:
            return replicas_of(new_rs)
        scale_up = min(max_total - current, replicas_of(d) - replicas_of(new_rs))
        return replicas_of(new_rs) + scale_up
    if strategy == "Recreate":
        return replicas_of(d)
    raise ValueError(f"deployment type {strategy} isn't supported")


def is_saturated(d: dict, rs: dict | None) -> bool:
    if rs is None:
        return False
    desired = _int_annotation(rs, DESIRED_REPLICAS)
    if desired is None:
        return False
    want = replicas_of(d)
    return replicas_of(rs) == want and desired == want and status_of(rs, "availableReplicas") == want


def _round(x: float) -> int:
    # Go's math.Round: halves away from zero (Python's round() would go to even)
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def replica_set_fraction(rs: dict, d: dict) -> int:
    if replicas_of(d) == 0:
        return -replicas_of(rs)
    deployment_replicas = replicas_of(d) + max_surge(d)
    annotated = _int_annotation(rs, MAX_REPLICAS)
    if annotated is None:
        annotated = status_of(d, "replicas")
    if not annotated:
        return 0
    return _round(replicas_of(rs) * deployment_replicas / annotated) - replicas_of(rs)


def get_proportion(rs: dict | None, d: dict, to_add: int, added: int) -> int:
    """This ReplicaSet's share of a scaling event (``GetProportion``)."""
    if rs is None or replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


# -- conditions ----------------------------------------------------------------------------------
def new_condition(ctype: str, status: str, reason: str, message: str, now: float) -> dict:
    t = timestamp(now)
    return {"type": ctype, "status": status, "lastUpdateTime": t, "lastTransitionTime": t,
            "reason": reason, "message": message}


def get_condition(status: dict | None, ctype: str) -> dict | None:
    for c in (status or {}).get("conditions") or ():
        if c.get("type") == ctype:
            return c
    return None


def set_condition(status: dict, cond: dict) -> None:
    """Add or replace a condition; same status and reason: leave it (``SetDeploymentCondition``)."""
    current = get_condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = dict(cond, lastTransitionTime=current.get("lastTransitionTime"))
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]] + [cond]


def remove_condition(status: dict, ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def deployment_complete(d: dict, status: dict) -> bool:
    want = replicas_of(d)
    return (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("observedGeneration", 0) >= (d["metadata"].get("generation") or 0))


def deployment_progressing(d: dict, new: dict) -> bool:
    old = d.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_old < old_old
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def deployment_timed_out(d: dict, new: dict, now: float) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(new, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_timestamp(cond["lastUpdateTime"])
    return since + d["spec"]["progressDeadlineSeconds"] < now


def status_dict(observed: int, replicas: int, updated: int, ready: int, available: int, unavailable: int,
                conditions: list[dict] | None, collision_count: int | None) -> dict:
    """A DeploymentStatus as the API shows it: zero counts are omitted (``omitempty``)."""
    st: dict = {}
    for key, value in (("observedGeneration", observed), ("replicas", replicas), ("updatedReplicas", updated),
                       ("readyReplicas", ready), ("availableReplicas", available),
                       ("unavailableReplicas", unavailable)):
        if value:
            st[key] = value
    if conditions:
        st["conditions"] = conditions
    if collision_count is not None:
        st["collisionCount"] = collision_count
    return st


# -- the strategies (methods of DeploymentController) -------------------------------------------
class RolloutStrategies:
    """``rolloutRolling`` / ``rolloutRecreate`` and the rollout status, mixed into the controller."""

    # RollingUpdate (rolling.go)
    def rollout_rolling(self, d: dict, rs_list: list[dict]) -> None:
        new_rs, old_rss = self.get_all_replica_sets_and_sync_revision(d, rs_list, True)
        all_rss = [*old_rss, new_rs]
        if self.reconcile_new_replica_set(all_rss, new_rs, d):
            return self.sync_rollout_status(all_rss, new_rs, d)
        if self.reconcile_old_replica_sets(all_rss, filter_active(old_rss), new_rs, d):
            return self.sync_rollout_status(all_rss, new_rs, d)
        if deployment_complete(d, d.get("status") or {}):
            self.cleanup_deployment(old_rss, d)
        return self.sync_rollout_status(all_rss, new_rs, d)

    def reconcile_new_replica_set(self, all_rss: list[dict], new_rs: dict, d: dict) -> bool:
        want = replicas_of(d)
        if replicas_of(new_rs) == want:
            return False
        if replicas_of(new_rs) > want:
            return self.scale_replica_set_and_record_event(new_rs, want, d)[0]
        count = new_rs_new_replicas(d, all_rss, new_rs)
        return self.scale_replica_set_and_record_event(new_rs, count, d)[0]

    def reconcile_old_replica_sets(self, all_rss: list[dict], old_rss: list[dict], new_rs: dict, d: dict) -> bool:
        old_pods = total_replicas(old_rss)
        if old_pods == 0:
            return False  # nothing left to scale down
        all_pods = total_replicas(all_rss)
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = replicas_of(new_rs) - status_of(new_rs, "availableReplicas")
        # Unavailable pods of the new ReplicaSet count against the budget too: scaling old
        # ones down while the new ones crash-loop would only make things worse.
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        try:
            old_rss, cleaned = self.cleanup_unhealthy_replicas(old_rss, d, max_scaled_down)
        except (errors.ApiError, InvalidScaleDown):
            return False
        try:
            scaled = self.scale_down_old_replica_sets_for_rolling_update([*old_rss, new_rs], old_rss, d)
        except (errors.ApiError, InvalidScaleDown):
            return False
        return cleaned + scaled > 0

    def cleanup_unhealthy_replicas(self, old_rss: list[dict], d: dict, max_cleanup: int) -> tuple[list[dict], int]:
        """Scale old ReplicaSets down by their unavailable pods first: that costs no availability."""
        old_rss = by_creation(old_rss)
        total = 0
        for i, rs in enumerate(old_rss):
            if total >= max_cleanup:
                break
            if replicas_of(rs) == 0 or replicas_of(rs) == status_of(rs, "availableReplicas"):
                continue
            count = min(max_cleanup - total, replicas_of(rs) - status_of(rs, "availableReplicas"))
            new_count = replicas_of(rs) - count
            if new_count > replicas_of(rs):
                # The status lags a scale-down just made (more pods still available than
                # the spec now wants): "cleaning up" would scale the old ReplicaSet back up,
                # past maxSurge. Give up this pass; the ReplicaSet's next status wakes us.
                raise InvalidScaleDown("when cleaning up unhealthy replicas, got invalid request to scale down "
                                       f"{_ns_name(rs)} {replicas_of(rs)} -> {new_count}")
            _scaled, updated = self.scale_replica_set_and_record_event(rs, new_count, d)
            total += count
            old_rss[i] = updated
        return old_rss, total

    def scale_down_old_replica_sets_for_rolling_update(self, all_rss: list[dict], old_rss: list[dict],
                                                       d: dict) -> int:
        min_available = replicas_of(d) - max_unavailable(d)
        available = total_status(all_rss, "availableReplicas")
        if available <= min_available:
            return 0
        total, budget = 0, available - min_available
        for rs in by_creation(old_rss):
            if total >= budget:
                break
            if replicas_of(rs) == 0:
                continue
            count = min(replicas_of(rs), budget - total)
            if count < 0:  # as the real controller: never "scale down" upwards
                raise InvalidScaleDown("when scaling down old RS, got invalid request to scale down "
                                       f"{_ns_name(rs)} {replicas_of(rs)} -> {replicas_of(rs) - count}")
            self.scale_replica_set_and_record_event(rs, replicas_of(rs) - count, d)
            total += count
        return total

    # Recreate (recreate.go)
    def rollout_recreate(self, d: dict, rs_list: list[dict], pod_map) -> None:
        # the new ReplicaSet is not created yet: nothing may start before the old pods are gone
        new_rs, old_rss = self.get_all_replica_sets_and_sync_revision(d, rs_list, False)
        all_rss = [*old_rss, new_rs]
        active_old = filter_active(old_rss)
        if self.scale_down_old_replica_sets_for_recreate(active_old, d):
            return self.sync_rollout_status(all_rss, new_rs, d)
        if self.old_pods_running(new_rs, old_rss, pod_map()):
            return self.sync_rollout_status(all_rss, new_rs, d)
        if new_rs is None:
            new_rs, old_rss = self.get_all_replica_sets_and_sync_revision(d, rs_list, True)
            all_rss = [*old_rss, new_rs]
        self.scale_replica_set_and_record_event(new_rs, replicas_of(d), d)
        if deployment_complete(d, d.get("status") or {}):
            self.cleanup_deployment(old_rss, d)
        return self.sync_rollout_status(all_rss, new_rs, d)

    def scale_down_old_replica_sets_for_recreate(self, old_rss: list[dict], d: dict) -> bool:
        scaled = False
        for i, rs in enumerate(old_rss):
            if replicas_of(rs) == 0:
                continue
            did, updated = self.scale_replica_set_and_record_event(rs, 0, d)
            if did:
                old_rss[i] = updated
                scaled = True
        return scaled

    @staticmethod
    def old_pods_running(new_rs: dict | None, old_rss: list[dict], pod_map: dict[str, list[dict]]) -> bool:
        if total_status(old_rss, "replicas") > 0:
            return True
        new_uid = new_rs["metadata"]["uid"] if new_rs is not None else None
        for rs_uid, pods in pod_map.items():
            if rs_uid == new_uid:
                continue
            for pod in pods:
                if (pod.get("status") or {}).get("phase") not in ("Failed", "Succeeded"):
                    return True  # Pending, Running, Unknown or terminating: still there
        return False

    # Rollout status (progress.go)
    def sync_rollout_status(self, all_rss: list, new_rs: dict | None, d: dict) -> None:
        new_status = self.calculate_status(all_rss, new_rs, d)
        if not has_progress_deadline(d):
            remove_condition(new_status, "Progressing")
        current = get_condition(d.get("status"), "Progressing")
        complete_before = (new_status.get("replicas", 0) == new_status.get("updatedReplicas", 0)
                           and current is not None and current.get("reason") == NEW_RS_AVAILABLE)
        if has_progress_deadline(d) and not complete_before:
            name = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs is not None else f'Deployment "{d["metadata"]["name"]}"'
            if deployment_complete(d, new_status):
                set_condition(new_status, new_condition("Progressing", "True", NEW_RS_AVAILABLE,
                                                        f"{name} has successfully progressed.", self.now))
            elif deployment_progressing(d, new_status):
                cond = new_condition("Progressing", "True", REPLICASET_UPDATED, f"{name} is progressing.", self.now)
                if current is not None:
                    # progress moves lastUpdateTime on, not lastTransitionTime
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    remove_condition(new_status, "Progressing")
                set_condition(new_status, cond)
            elif deployment_timed_out(d, new_status, self.now):
                set_condition(new_status, new_condition("Progressing", "False", TIMED_OUT,
                                                        f"{name} has timed out progressing.", self.now))
        failures = self._replica_failures(all_rss, new_rs)
        if failures:
            set_condition(new_status, failures[0])
        else:
            remove_condition(new_status, "ReplicaFailure")
        if (d.get("status") or {}) == new_status:
            self.requeue_stuck_deployment(d, new_status)
            return
        d["status"] = new_status
        self.update_deployment_status(d)

    @staticmethod
    def _replica_failures(all_rss: list, new_rs: dict | None) -> list[dict]:
        def convert(c):
            return {"type": c["type"], "status": c["status"], "lastUpdateTime": c.get("lastTransitionTime"),
                    "lastTransitionTime": c.get("lastTransitionTime"), "reason": c.get("reason"),
                    "message": c.get("message")}

        out = []
        if new_rs is not None:
            out = [convert(c) for c in status_of_conditions(new_rs) if c.get("type") == "ReplicaFailure"]
        if out:
            return out
        for rs in all_rss:
            if rs is not None:
                out += [convert(c) for c in status_of_conditions(rs) if c.get("type") == "ReplicaFailure"]
        return out

    def requeue_stuck_deployment(self, d: dict, new_status: dict) -> None:
        """Look again when the progress deadline passes, if nothing else wakes the Deployment first."""
        current = get_condition(d.get("status"), "Progressing")
        if not has_progress_deadline(d) or current is None:
            return
        if deployment_complete(d, new_status) or current.get("reason") == TIMED_OUT:
            return
        after = parse_timestamp(current["lastUpdateTime"]) + d["spec"]["progressDeadlineSeconds"] - self.now
        key = f"{d['metadata'].get('namespace')}/{d['metadata']['name']}"
        # a second late, as the real controller, so the deadline has surely passed
        self.progress_check_after(key, max(after, 0) + 1)


class InvalidScaleDown(Exception):
    """A scale-down that would raise ``spec.replicas`` (from a status that lags the spec)."""


def _ns_name(obj: dict) -> str:
    return f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}"


def status_of_conditions(obj: dict) -> list[dict]:
    return (obj.get("status") or {}).get("conditions") or []


def template_copy(d: dict) -> dict:
    return clone((d.get("spec") or {}).get("template") or {})
