"""Rows of the workload tables: Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs."""

from __future__ import annotations

from datetime import datetime

from k8slab.kubectl.cells import age_of, as_count, containers, meta, name, replicas
from k8slab.kubectl.duration import age, human_duration, parse_time
from k8slab.kubectl.selectors import format_labels, format_selector, selector_string


def deployment_row(obj: dict, now: datetime) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = containers(spec.get("template"))
    return [
        name(obj),
        f"{int(status.get('readyReplicas') or 0)}/{replicas(spec)}",
        as_count(status.get("updatedReplicas")),
        as_count(status.get("availableReplicas")),
        age_of(obj, now),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


def replicaset_row(obj: dict, now: datetime) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = containers(spec.get("template"))
    return [
        name(obj),
        str(replicas(spec)),
        as_count(status.get("replicas")),
        as_count(status.get("readyReplicas")),
        age_of(obj, now),
        names,
        images,
        format_selector(spec.get("selector")),
    ]


def statefulset_row(obj: dict, now: datetime) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = containers(spec.get("template"))
    ready = f"{int(status.get('readyReplicas') or 0)}/{replicas(spec)}"
    return [name(obj), ready, age_of(obj, now), names, images]


def daemonset_row(obj: dict, now: datetime) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = containers(spec.get("template"))
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")
    return [
        name(obj),
        as_count(status.get("desiredNumberScheduled")),
        as_count(status.get("currentNumberScheduled")),
        as_count(status.get("numberReady")),
        as_count(status.get("updatedNumberScheduled")),
        as_count(status.get("numberAvailable")),
        format_labels(node_selector),
        age_of(obj, now),
        names,
        images,
        format_selector(spec.get("selector")),
    ]


def _condition_true(conditions, ctype: str) -> bool:
    for c in conditions or []:
        if c.get("type") == ctype:
            return c.get("status") == "True"
    return False


def job_row(obj: dict, now: datetime) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{int(spec['completions'])}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {int(spec['parallelism'])}"
    else:
        completions = f"{succeeded}/1"
    start, done = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration(((done or now) - start).total_seconds())
    conds = status.get("conditions")
    if _condition_true(conds, "Complete"):
        state = "Complete"
    elif _condition_true(conds, "Failed"):
        state = "Failed"
    elif meta(obj).get("deletionTimestamp"):
        state = "Terminating"
    elif _condition_true(conds, "Suspended"):
        state = "Suspended"
    elif _condition_true(conds, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = containers(spec.get("template"))
    return [name(obj), state, completions, duration, age_of(obj, now), names, images, format_selector(spec.get("selector"))]


def cronjob_row(obj: dict, now: datetime) -> list[str]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = status.get("lastScheduleTime")
    suspend = spec.get("suspend")
    job_spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    names, images = containers(job_spec.get("template"))
    return [
        name(obj),
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        "<unset>" if suspend is None else ("True" if suspend else "False"),
        str(len(status.get("active") or [])),
        age(last, now) if last else "<none>",
        age_of(obj, now),
        names,
        images,
        format_selector(job_spec.get("selector")),
    ]


def controller_revision_row(obj: dict, now: datetime) -> list[str]:
    owner = next((r for r in meta(obj).get("ownerReferences") or [] if r.get("controller")), None)
    controller = "<none>"
    if owner:
        group = owner.get("apiVersion", "").rpartition("/")[0]
        kind = owner.get("kind", "") + (f".{group}" if group else "")
        controller = f"{kind.lower()}/{owner.get('name', '')}"
    return [name(obj), controller, str(obj.get("revision", 0)), age_of(obj, now)]
