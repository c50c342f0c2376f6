"""Checks about Services, requests, objects, kubectl commands and permissions.

>>> import k8slab
>>> from k8slab import course
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> course.exists(c, "service", "kubernetes")
✅ service "kubernetes" exists in namespace "default".
"""

from __future__ import annotations

import difflib
import shlex

from k8slab.api import errors
from k8slab.api.selectors import LabelSelector
from k8slab.course.check import Check, _failed, _passed, join, safe
from k8slab.course.pods import _get, _ready, pod_problem

__all__ = ["absent", "can_i", "curl_ok", "exists", "kubectl_ok", "service_has_endpoints"]


def _labels(labels: dict | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


@safe
def service_has_endpoints(c, name: str, *, namespace: str = "default", count: int | None = None) -> Check:
    """Check that a Service has ready endpoints (``count``: exactly that many).

    A failing check compares the Service's selector with the labels of the pods in the
    namespace, and says when matching pods are not Ready (only ready pods get traffic).

    Example
    -------
    >>> import k8slab
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> _ = c.kubectl("create deployment web --image=nginx --replicas=2")
    >>> _ = c.kubectl("expose deployment web --port=80"); _ = c.run()
    >>> service_has_endpoints(c, "web", count=2)
    ✅ Service "web" has 2 ready endpoints.
    """
    svc = _get(c, "services", name, namespace)
    if svc is None:
        return _failed(f'there is no Service "{name}" in namespace "{namespace}".',
                       f'c.kubectl("get services -n {namespace}") lists the Services there.')
    selector = (svc.get("spec") or {}).get("selector") or {}
    slices = c.get("endpointslices", namespace=namespace, selector=f"kubernetes.io/service-name={name}")
    addresses = sorted({a for s in slices for e in s.get("endpoints") or []
                        if (e.get("conditions") or {}).get("ready") is not False for a in e.get("addresses", [])})
    n = len(addresses)
    if n and (count is None or n == count):
        return _passed(f'Service "{name}" has {n} ready endpoint{"" if n == 1 else "s"}.')
    problem = f'Service "{name}" has {n} ready endpoints' + (f", expected {count}." if count is not None else ".")
    if (svc.get("spec") or {}).get("type") == "ExternalName":
        return _failed(problem, "an ExternalName Service is only a DNS alias: it never has endpoints.")
    if not selector:
        return _failed(problem, "it has no selector, so no controller fills its endpoints: add a "
                                "spec.selector matching your pods' labels (or write the EndpointSlice yourself).")
    pods = [p for p in c.get("pods", namespace=namespace) if not p["metadata"].get("deletionTimestamp")]
    want = LabelSelector.from_dict({"matchLabels": selector})
    matching = [p for p in pods if want.matches(p["metadata"].get("labels") or {})]
    if not matching:
        # pods sharing a label key with the selector are the likely intended ones: show those first
        keys = set(selector)
        ranked = sorted(pods, key=lambda p: (not keys & set(p["metadata"].get("labels") or {}),
                                             p["metadata"]["name"]))
        seen = "; ".join(f'{p["metadata"]["name"]}: {_labels(p["metadata"].get("labels"))}' for p in ranked[:5])
        return _failed(problem, join(f'its selector {_labels(selector)} matches no pod in namespace "{namespace}"',
                                     f"pod labels there: {seen}" if pods else "there are no pods there",
                                     "make the selector and the pod labels agree"))
    not_ready = sorted((p for p in matching if not _ready(p)), key=lambda p: p["metadata"]["name"])
    ready = len(matching) - len(not_ready)
    if not_ready and (count is None or ready < count):
        some = ("none of them is" if not ready else
                "1 of them is not" if len(not_ready) == 1 else f"{len(not_ready)} of them are not")
        detail, hint = pod_problem(not_ready[0])
        return _failed(problem, join(f"{len(matching)} pod(s) match its selector {_labels(selector)} but "
                                     f"{some} Ready, and only ready pods get traffic", detail, hint))
    if count is not None and ready < count:
        return _failed(problem, f"only {len(matching)} pod(s) match its selector {_labels(selector)}: "
                                "scale the workload up, or fix the labels of the other pods.")
    if count is not None and n > count:
        return _failed(problem, f"{len(matching)} ready pods match its selector {_labels(selector)}: "
                                "make the selector more specific or scale down.")
    return _failed(problem, "the matching pods are ready but the EndpointSlice controller has not caught up: "
                            "run c.run().")


@safe
def curl_ok(c, url: str, *, from_pod: str | None = None, from_node: str | None = None,
            from_outside: bool = False, status: int = 200, body_contains: str | None = None) -> Check:
    """Check that ``c.curl(url, ...)`` gets the expected HTTP ``status`` (and body text).

    Example
    -------
    >>> import k8slab
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> print(curl_ok(c, "http://web", from_pod="client").problem)
    curl from pod "client" failed: pod "client" not found in namespace "default"
    """
    where = ("from outside the cluster" if from_outside else
             f'from pod "{from_pod}"' if from_pod is not None else f'from node "{from_node}"')
    try:
        resp = c.curl(url, from_pod=from_pod, from_node=from_node, from_outside=from_outside)
    except errors.K8sLabError as e:
        return _failed(f"curl {where} failed: {e}", "the request could not start: fix where it comes from.")
    if resp.status is None:
        last = f" The last hop: {resp.hops[-1]}." if resp.hops else ""
        return _failed(f"curl {url} {where} got no answer: {resp.error}",
                       f"follow the request hop by hop with c.curl(...).path().{last}")
    if resp.status != status:
        return _failed(f"curl {url} {where} got HTTP {resp.status} {resp.reason}, expected {status}.",
                       "the request reached a server that refused it: check the path, the Ingress rules "
                       "or the backend (c.curl(...).path() shows every hop).")
    if body_contains is not None and body_contains not in resp.body:
        return _failed(f"the answer to {url} {where} does not contain {body_contains!r}.",
                       f"it answered {resp.body[:120]!r}: is it the backend you expected (pod {resp.pod})?")
    return _passed(f"curl {url} {where}: HTTP {resp.status} {resp.reason}.")


def _kind(c, kind: str):
    found = c.kinds.resolve(kind)
    if found is not None:
        return found, None
    names = sorted({k.kind.lower() for k in c.kinds.all()} | {k.plural for k in c.kinds.all()})
    close = difflib.get_close_matches(kind.lower(), names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return None, _failed(f'unknown kind "{kind}": the server doesn\'t have a resource type "{kind}".',
                         f'{hint}c.kubectl("api-resources") lists the kinds this cluster knows.')


def _where(kind, namespace: str) -> str:
    return f' in namespace "{namespace}"' if kind.namespaced else ""


@safe
def exists(c, kind: str, name: str, *, namespace: str = "default") -> Check:
    """Check that an object exists (``kind`` as kubectl takes it: ``deploy``, ``Service``, ...).

    Example
    -------
    >>> import k8slab
    >>> print(exists(k8slab.Cluster(workers=1, seed=0), "deploymnt", "web").problem)
    unknown kind "deploymnt": the server doesn't have a resource type "deploymnt".
    """
    k, bad = _kind(c, kind)
    if bad is not None:
        return bad
    obj = _get(c, k.group_resource, name, namespace)
    if obj is None:
        return _failed(f'{k.singular} "{name}" does not exist{_where(k, namespace)}.',
                       f'create it; c.kubectl("get {k.plural}' + (f' -n {namespace}' if k.namespaced else "")
                       + '") lists what is there.')
    return _passed(f'{k.singular} "{name}" exists{_where(k, namespace)}.')


@safe
def absent(c, kind: str, name: str, *, namespace: str = "default") -> Check:
    """Check that an object is gone (a Terminating object is not gone yet).

    Example
    -------
    >>> import k8slab
    >>> absent(k8slab.Cluster(workers=1, seed=0), "pod", "web")
    ✅ pod "web" is gone from namespace "default".
    """
    k, bad = _kind(c, kind)
    if bad is not None:
        return bad
    obj = _get(c, k.group_resource, name, namespace)
    gone = f"from namespace \"{namespace}\"" if k.namespaced else "from the cluster"
    if obj is None:
        return _passed(f'{k.singular} "{name}" is gone {gone}.')
    if obj["metadata"].get("deletionTimestamp"):
        fins = ", ".join(obj["metadata"].get("finalizers") or []) or "none"
        return _failed(f'{k.singular} "{name}" is Terminating (finalizers: {fins}).',
                       "its deletion has started; let the controllers finish it with c.run().")
    return _failed(f'{k.singular} "{name}" still exists{_where(k, namespace)}.',
                   f'delete it: c.kubectl("delete {k.singular} {name}' + (f' -n {namespace}' if k.namespaced
                                                                          else "") + '").')


@safe
def kubectl_ok(c, command: str, *, contains: str | None = None, as_user: str | None = None) -> Check:
    """Check that a kubectl command succeeds (exit code 0) and, optionally, prints ``contains``.

    Example
    -------
    >>> import k8slab
    >>> kubectl_ok(k8slab.Cluster(workers=1, seed=0), "get nodes", contains="worker-1")
    ✅ kubectl get nodes succeeded.
    """
    out = c.kubectl(command, as_user=as_user)
    first = str(out).strip().splitlines()[0] if str(out).strip() else ""
    if out.returncode != 0:
        return _failed(f"kubectl {command} failed (exit code {out.returncode}): {first}",
                       "read kubectl's message above; it names what is wrong.")
    if contains is not None and contains not in str(out):
        return _failed(f"kubectl {command} succeeded but its output does not contain {contains!r}.",
                       f'look at the whole output: c.kubectl("{command}").')
    return _passed(f"kubectl {command} succeeded.")


@safe
def can_i(c, verb: str, resource: str, *, as_user: str, namespace: str = "default",
          expected: bool = True) -> Check:
    """Check ``kubectl auth can-i VERB RESOURCE --as USER`` gives the expected answer.

    Example
    -------
    >>> import k8slab
    >>> c = k8slab.Cluster(workers=1, seed=0)
    >>> can_i(c, "delete", "pods", as_user="jane", expected=False)
    ✅ "jane" may not delete pods in namespace "default".
    """
    cmd = f"auth can-i {verb} {resource} -n {shlex.quote(namespace)}"
    out = c.kubectl(cmd, as_user=as_user)
    answer = str(out.stdout).strip().splitlines()[0] if str(out.stdout).strip() else ""
    if answer not in ("yes", "no"):
        return _failed(f"kubectl {cmd} --as {as_user} did not answer yes or no: {str(out).strip()}",
                       "check the verb and the resource name.")
    may = "may" if answer == "yes" else "may not"
    text = f'"{as_user}" {may} {verb} {resource} in namespace "{namespace}".'
    if (answer == "yes") == expected:
        return _passed(text)
    if expected:
        return _failed(text, "bind a Role (or ClusterRole) that allows this verb on this resource to the user "
                             "with a RoleBinding in that namespace.")
    return _failed(text, "a Role or ClusterRole bound to this user (or to one of its groups) still allows it: "
                         f'c.kubectl("get rolebindings,clusterrolebindings -o wide -n {namespace}").')
