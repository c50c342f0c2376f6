"""``kubectl describe job`` and ``kubectl describe cronjob``.

A Job's description says how many pods it wants and how far it got
(``Pods Statuses:  0 Active (0 Ready) / 3 Succeeded / 0 Failed``), when it started
and finished; a CronJob's its schedule, policies and the template of the Jobs it
makes. Both end with the pod template and the events, as
``staging/.../kubectl/pkg/describe/describe.go`` prints them.
"""

from __future__ import annotations

from k8slab.kubectl.describe import (
    Context,
    Writer,
    annotations_multiline,
    go_bool,
    labels_multiline,
    with_events,
    write_controlled_by,
    write_object_meta,
)
from k8slab.kubectl.describe_pod import describe_pod_template
from k8slab.kubectl.duration import human_duration, parse_time, rfc1123z
from k8slab.kubectl.selectors import selector_string


def _bool_ptr(value) -> str:
    """``printBoolPtr``: ``True``, ``False`` or ``<unset>``."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def cap_indexes(indexes: str, soft_limit: int = 50) -> str:
    """``capIndexesListOrNone``: a long list of completed indexes cut after a comma past 50 characters.

    >>> cap_indexes(""), cap_indexes("0-3,5")
    ('<none>', '0-3,5')
    """
    if not indexes:
        return "<none>"
    ix = soft_limit
    while ix < len(indexes) and indexes[ix] != ",":
        ix += 1
    if ix >= len(indexes):
        return indexes
    return indexes[: ix + 1] + "..."


def describe_job(job: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec, status = job.get("metadata") or {}, job.get("spec") or {}, job.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"Selector:\t{selector_string(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    write_controlled_by(w, job)
    if spec.get("parallelism") is not None:
        w.write(0, f"Parallelism:\t{int(spec['parallelism'])}\n")
    if spec.get("completions") is not None:
        w.write(0, f"Completions:\t{int(spec['completions'])}\n")
    else:
        w.write(0, "Completions:\t<unset>\n")
    if spec.get("completionMode"):
        w.write(0, f"Completion Mode:\t{spec['completionMode']}\n")
    if spec.get("suspend") is not None:
        w.write(0, f"Suspend:\t{go_bool(spec['suspend'])}\n")
    if spec.get("backoffLimit") is not None:
        w.write(0, f"Backoff Limit:\t{int(spec['backoffLimit'])}\n")
    if spec.get("ttlSecondsAfterFinished") is not None:
        w.write(0, f"TTL Seconds After Finished:\t{int(spec['ttlSecondsAfterFinished'])}\n")
    start, done = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    if start is not None:
        w.write(0, f"Start Time:\t{rfc1123z(start)}\n")
    if done is not None:
        w.write(0, f"Completed At:\t{rfc1123z(done)}\n")
    if start is not None and done is not None:
        w.write(0, f"Duration:\t{human_duration((done - start).total_seconds())}\n")
    if spec.get("activeDeadlineSeconds") is not None:
        w.write(0, f"Active Deadline Seconds:\t{int(spec['activeDeadlineSeconds'])}s\n")
    active, succeeded, failed = (int(status.get(k) or 0) for k in ("active", "succeeded", "failed"))
    if status.get("ready") is None:
        w.write(0, f"Pods Statuses:\t{active} Active / {succeeded} Succeeded / {failed} Failed\n")
    else:
        w.write(0, f"Pods Statuses:\t{active} Active ({int(status['ready'])} Ready) / {succeeded} Succeeded / "
                   f"{failed} Failed\n")
    if spec.get("completionMode") == "Indexed":
        w.write(0, f"Completed Indexes:\t{cap_indexes(status.get('completedIndexes') or '')}\n")
    describe_pod_template(w, spec.get("template"))
    return with_events(w, ctx, job)


def _job_template(w: Writer, template: dict) -> None:
    spec = (template or {}).get("spec") or {}
    if spec.get("selector") is not None:
        w.write(0, f"Selector:\t{selector_string(spec['selector'])}\n")
    else:
        w.write(0, "Selector:\t<unset>\n")
    for title, key in (("Parallelism", "parallelism"), ("Completions", "completions")):
        value = spec.get(key)
        w.write(0, f"{title}:\t{'<unset>' if value is None else int(value)}\n")
    if spec.get("activeDeadlineSeconds") is not None:
        w.write(0, f"Active Deadline Seconds:\t{int(spec['activeDeadlineSeconds'])}s\n")
    describe_pod_template(w, spec.get("template"))


def describe_cronjob(cj: dict, ctx: Context) -> str:
    w = Writer()
    meta, spec, status = cj.get("metadata") or {}, cj.get("spec") or {}, cj.get("status") or {}
    write_object_meta(w, meta)
    w.write(0, f"Schedule:\t{spec.get('schedule', '')}\n")
    w.write(0, f"Concurrency Policy:\t{spec.get('concurrencyPolicy', '')}\n")
    w.write(0, f"Suspend:\t{_bool_ptr(spec.get('suspend'))}\n")
    for title, key in (("Successful Job History Limit", "successfulJobsHistoryLimit"),
                       ("Failed Job History Limit", "failedJobsHistoryLimit")):
        value = spec.get(key)
        w.write(0, f"{title}:\t{'<unset>' if value is None else int(value)}\n")
    if spec.get("startingDeadlineSeconds") is not None:
        w.write(0, f"Starting Deadline Seconds:\t{int(spec['startingDeadlineSeconds'])}s\n")
    else:
        w.write(0, "Starting Deadline Seconds:\t<unset>\n")
    _job_template(w, spec.get("jobTemplate") or {})
    last = parse_time(status.get("lastScheduleTime"))
    w.write(0, f"Last Schedule Time:\t{rfc1123z(last) if last is not None else '<unset>'}\n")
    active = [ref.get("name", "") for ref in status.get("active") or []]
    w.write(0, f"Active Jobs:\t{', '.join(active) if active else '<none>'}\n")
    return with_events(w, ctx, cj)
