"""Checks about pods and Deployments, with hints that quote what the cluster says.

>>> import k8slab
>>> from k8slab import course
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> print(course.pod_running(c, "web"))
❌ Not yet: there is no pod "web" in namespace "default".
💡 Hint: Create it with c.apply(...); c.kubectl("get pods") lists the pods there.
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.course.check import Check, _failed, _passed, join, safe

__all__ = ["deployment_ready", "pod_running", "pod_scheduled", "pod_status", "pod_problem"]


def _condition(pod: dict, kind: str) -> dict | None:
    return next((x for x in (pod.get("status") or {}).get("conditions") or [] if x.get("type") == kind), None)


def pod_status(pod: dict) -> str:
    """The STATUS column of ``kubectl get pods`` for one pod (the common cases).

    Example
    -------
    >>> pod_status({"status": {"phase": "Pending"}})
    'Pending'
    """
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason") and reason == "Running":
            reason = state["terminated"]["reason"]
    return reason


def _running(pod: dict) -> bool:
    return pod_status(pod) == "Running"


def _ready(pod: dict) -> bool:
    cond = _condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True") and not (pod.get("metadata") or {}).get("deletionTimestamp")


def pod_problem(pod: dict) -> tuple[str, str]:
    """What keeps a pod from running or being ready, and what to try: ``(problem, hint)``."""
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    if pod["metadata"].get("deletionTimestamp"):
        return (f'pod "{name}" is Terminating.',
                "it is being deleted; its controller (if any) creates a replacement. Run c.run().")
    scheduled = _condition(pod, "PodScheduled")
    if not spec.get("nodeName"):
        if scheduled and scheduled.get("status") == "False":
            return (f'pod "{name}" is still Pending: {scheduled.get("message", "").strip()}',
                    "the scheduler found no node that fits. Compare the pod's requests, nodeSelector, "
                    "affinity and tolerations with the nodes "
                    f'(c.scheduler.explain("{name}") shows each node\'s reason).')
        return (f'pod "{name}" is Pending and not scheduled yet.',
                "let the cluster work: c.run() (the scheduler has not placed it yet).")
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        waiting = state.get("waiting") or {}
        why = waiting.get("reason", "")
        if why in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
            return (f'container "{cs["name"]}" of pod "{name}" is in {why}: {waiting.get("message", "")}',
                    f'the image "{cs.get("image", "")}" cannot be pulled: check its name and tag.')
        if why == "CrashLoopBackOff":
            last = (cs.get("lastState") or {}).get("terminated") or {}
            code = last.get("exitCode")
            return (f'container "{cs["name"]}" of pod "{name}" is in CrashLoopBackOff '
                    f"(restarted {cs.get('restartCount', 0)} times, last exit code {code}).",
                    f'it keeps exiting: read its logs, c.kubectl("logs {name} -c {cs["name"]} --previous"), '
                    "and check its command and configuration.")
        if why:
            detail = f": {waiting['message']}" if waiting.get("message") else ""
            return (f'container "{cs["name"]}" of pod "{name}" is waiting ({why}{detail}).',
                    f'c.kubectl("describe pod {name}") shows the events that explain it.')
    phase = status.get("phase", "Pending")
    if phase in ("Succeeded", "Failed"):
        return (f'pod "{name}" has finished (phase {phase}).',
                "its containers exited and restartPolicy does not restart them; "
                "a long-running server must not exit.")
    if phase != "Running":
        return (f'pod "{name}" is {phase} on node "{spec["nodeName"]}".',
                "its containers are starting: let the cluster run (c.run()).")
    ready = _condition(pod, "Ready") or {}
    return (f'pod "{name}" is Running but not Ready ({ready.get("message", "containers not ready")}).',
            "a readiness probe is failing or a container is not started yet; "
            f'c.kubectl("describe pod {name}") shows the probe results.')


def _get(c, resource: str, name: str, namespace: str):
    try:
        return c.get(resource, name, namespace=namespace)
    except errors.NotFound:
        return None


def _pod_list_hint(c, namespace: str) -> str:
    names = sorted(p["metadata"]["name"] for p in c.get("pods", namespace=namespace))
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    return f"pods there: {shown}." if names else "there are no pods there yet."


@safe
def pod_running(c, name: str | None = None, *, selector: str | None = None, namespace: str = "default",
                count: int | None = None) -> Check:
    """Check that a pod (by ``name``) or the pods matching ``selector`` are Running.

    With ``selector``, every matching pod must be Running; ``count`` also requires exactly
    that many Running pods.

    Example
    -------
    >>> import k8slab
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
    ...              "spec": {"containers": [{"name": "web", "image": "nginx"}]}})
    >>> _ = c.run()
    >>> pod_running(c, "web")
    ✅ Pod "web" is Running on node "worker-1".
    """
    if (name is None) == (selector is None):
        return _failed("pod_running needs a pod name or selector=..., exactly one.",
                       'e.g. course.pod_running(c, "web") or course.pod_running(c, selector="app=web", count=3)')
    if name is not None:
        pod = _get(c, "pods", name, namespace)
        if pod is None:
            return _failed(f'there is no pod "{name}" in namespace "{namespace}".',
                           'create it with c.apply(...); c.kubectl("get pods") lists '
                           "the pods there." if namespace == "default" else
                           f"create it; {_pod_list_hint(c, namespace)}")
        if _running(pod) and count in (None, 1):
            return _passed(f'Pod "{name}" is Running on node "{pod["spec"]["nodeName"]}".')
        if count not in (None, 1):
            return _failed(f"count={count} does not fit a single pod name.", "use selector=... with count")
        return _failed(*pod_problem(pod))
    pods = [p for p in c.get("pods", namespace=namespace, selector=selector)
            if not p["metadata"].get("deletionTimestamp")]
    running = [p for p in pods if _running(p)]
    where = f'pods matching "{selector}" in namespace "{namespace}"'
    if not pods:
        return _failed(f"there are no {where}.",
                       f"check the labels: {_pod_list_hint(c, namespace)} "
                       f'c.kubectl("get pods --show-labels -n {namespace}") shows their labels.')
    if count is not None and len(running) != count:
        first = next((p for p in pods if not _running(p)), None)
        problem = f"{len(running)} of the {where} are Running, expected {count}."
        if first is not None:
            detail, hint = pod_problem(first)
            return _failed(problem, join(detail, hint))
        return _failed(problem, "scale the workload that owns these pods to the expected count.")
    if len(running) != len(pods):
        first = next(p for p in pods if not _running(p))
        detail, hint = pod_problem(first)
        return _failed(f"{len(running)} of {len(pods)} {where} are Running; {detail}", hint)
    return _passed(f"All {len(pods)} {where} are Running.")


@safe
def pod_scheduled(c, name: str, *, namespace: str = "default") -> Check:
    """Check that the scheduler bound a pod to a node; the hint quotes the scheduler's message.

    Example
    -------
    >>> import k8slab
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"},
    ...              "spec": {"containers": [{"name": "app", "image": "nginx",
    ...                                       "resources": {"requests": {"cpu": "64"}}}]}})
    >>> _ = c.run()
    >>> print(pod_scheduled(c, "huge").problem)  # doctest: +ELLIPSIS
    pod "huge" is still Pending: 0/2 nodes are available: ...
    """
    pod = _get(c, "pods", name, namespace)
    if pod is None:
        return _failed(f'there is no pod "{name}" in namespace "{namespace}".', _pod_list_hint(c, namespace))
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        return _passed(f'Pod "{name}" is scheduled on node "{node}".')
    return _failed(*pod_problem(pod))


@safe
def deployment_ready(c, name: str, *, replicas: int | None = None, namespace: str = "default") -> Check:
    """Check that a Deployment finished rolling out: every replica updated and available.

    Example
    -------
    >>> import k8slab
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> _ = c.kubectl("create deployment web --image=nginx --replicas=2"); _ = c.run()
    >>> deployment_ready(c, "web", replicas=2)
    ✅ Deployment "web" has 2/2 replicas ready and up to date.
    """
    d = _get(c, "deployments", name, namespace)
    if d is None:
        names = sorted(x["metadata"]["name"] for x in c.get("deployments", namespace=namespace))
        return _failed(f'there is no Deployment "{name}" in namespace "{namespace}".',
                       f"Deployments there: {', '.join(names)}." if names else
                       "create it with c.apply(...) or c.kubectl(\"create deployment ...\").")
    spec, st = d.get("spec") or {}, d.get("status") or {}
    want = spec.get("replicas", 1)
    if replicas is not None and want != replicas:
        return _failed(f'Deployment "{name}" asks for {want} replicas, expected {replicas}.',
                       f'scale it: c.kubectl("scale deployment {name} --replicas={replicas}") '
                       "or change spec.replicas and apply again.")
    ready, updated = st.get("readyReplicas", 0), st.get("updatedReplicas", 0)
    available, total = st.get("availableReplicas", 0), st.get("replicas", 0)
    observed = st.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)
    if observed and ready == updated == available == total == want:
        return _passed(f'Deployment "{name}" has {ready}/{want} replicas ready and up to date.')
    problem = (f'Deployment "{name}" has {ready}/{want} replicas ready '
               f"({updated} up to date, {available} available).")
    if spec.get("paused"):
        return _failed(problem, f'its rollout is paused: c.kubectl("rollout resume deployment/{name}").')
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    text = ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    pods = c.get("pods", namespace=namespace, selector=text) if text else []
    stuck = next((p for p in sorted(pods, key=lambda p: p["metadata"]["name"])
                  if not _ready(p) and not p["metadata"].get("deletionTimestamp")), None)
    if stuck is not None:
        detail, hint = pod_problem(stuck)
        return _failed(problem, join(detail, hint))
    return _failed(problem, f'let the rollout finish: c.run(), then c.kubectl("rollout status deployment/{name}").')
