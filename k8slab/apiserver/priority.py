"""The ``Priority`` admission plugin: a pod's ``priorityClassName`` becomes its ``spec.priority``.

A PriorityClass (``scheduling.k8s.io/v1``, cluster-scoped) names an integer
``value`` and a ``preemptionPolicy``. On every new pod the plugin
(``plugin/pkg/admission/priority``):

* resolves ``spec.priorityClassName`` and copies the class's value into
  ``spec.priority`` and its ``preemptionPolicy`` into ``spec.preemptionPolicy``;
* without a name, uses the ``globalDefault: true`` class (the lowest value if
  several) and writes its name into the pod, or else priority 0 and
  ``PreemptLowerPriority``;
* rejects an unknown class: ``pods "x" is forbidden: no PriorityClass with name
  foo was found``, and a ``spec.priority`` (or ``preemptionPolicy``) given in
  the pod that differs from the class: ``the integer value of priority (5) must
  not be provided in pod spec; priority admission controller computed 1000 from
  the given PriorityClass name``;
* on a PriorityClass create/update, refuses a second ``globalDefault`` class.

The two built-in classes, ``system-node-critical`` (2000001000) and
``system-cluster-critical`` (2000000000), are created by the API server at
start-up (:func:`ensure_system_priority_classes`); the plugin also knows them
when their objects are missing.

The scheduler orders its queue by ``spec.priority`` and preempts lower ones:
this plugin is what connects a class name to that number.

Example
-------
>>> SYSTEM_PRIORITY_CLASSES["system-node-critical"]["value"]
2000001000
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.defaults import apply_defaults
from k8slab.apiserver.admission import AdmissionPlugin

#: ``scheduling.DefaultPriorityWhenNoDefaultClassExists``
DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS = 0
PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"


def _system_class(name: str, value: int, description: str) -> dict:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, "globalDefault": False, "description": description,
            "preemptionPolicy": PREEMPT_LOWER_PRIORITY}


#: ``scheduling.SystemPriorityClasses()``: what the API server's bootstrap hook creates.
SYSTEM_PRIORITY_CLASSES = {
    "system-node-critical": _system_class(
        "system-node-critical", 2000001000,
        "Used for system critical pods that must not be moved from their current node."),
    "system-cluster-critical": _system_class(
        "system-cluster-critical", 2000000000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node "
        "if necessary."),
}


def ensure_system_priority_classes(api) -> list[str]:
    """Create the built-in PriorityClasses that are missing (the API server's
    ``scheduling/bootstrap-system-priority-classes`` post-start hook); returns the names created.

    >>> from k8slab.sim import EventLoop, Randomness, Trace
    >>> from k8slab.etcd import Etcd
    >>> from k8slab.apiserver import APIServer
    >>> api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
    >>> ensure_system_priority_classes(api)
    ['system-cluster-critical', 'system-node-critical']
    """
    client = api.client("kube-apiserver")
    created = []
    for name in sorted(SYSTEM_PRIORITY_CLASSES):
        try:
            client.create(dict(SYSTEM_PRIORITY_CLASSES[name]))
            created.append(name)
        except errors.AlreadyExists:
            pass
    return created


def _defaults_set_priority() -> bool:
    # Until the Priority plugin is in the default admission chain, k8slab's API defaults write
    # spec.priority 0 and preemptionPolicy PreemptLowerPriority into every pod (and pod template)
    # before admission runs, so those two values cannot be told from what a user wrote.
    spec = apply_defaults({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
                           "spec": {"containers": [{"name": "c", "image": "busybox"}]}})["spec"]
    return "priority" in spec


def _forbidden(kind, obj: dict, message: str) -> errors.Forbidden:
    # admission.NewForbidden: the object's name, else its generateName, else "Unknown"
    m = obj.get("metadata") or {}
    name = m.get("name") or m.get("generateName") or "Unknown"
    return errors.Forbidden(f'{kind.group_resource} "{name}" is forbidden: {message}', kind.group_resource, name)


class Priority(AdmissionPlugin):
    """kube-apiserver's ``Priority`` admission plugin (see the module docstring)."""

    name = "Priority"

    def __init__(self):
        self._lenient = None  # computed on first use (see _defaults_set_priority)

    @staticmethod
    def _classes(server) -> list[dict]:
        kind = server.kinds.resolve("priorityclasses")
        return [kv.value for kv in server.etcd.range(kind.etcd_prefix)] if kind is not None else []

    @staticmethod
    def _get(server, name: str) -> dict | None:
        kind = server.kinds.resolve("priorityclasses")
        kv = server.etcd.get(kind.etcd_key(name)) if kind is not None else None
        if kv is not None:
            return kv.value
        return SYSTEM_PRIORITY_CLASSES.get(name)

    def default_class(self, server) -> dict | None:
        """``getDefaultPriorityClass``: the globalDefault class with the lowest value, or None."""
        best = None
        for pc in self._classes(server):
            if pc.get("globalDefault") and (best is None or int(pc.get("value") or 0) < int(best.get("value") or 0)):
                best = pc
        return best

    def admit(self, server, req, kind, user, obj, old):
        if req.subresource:
            return
        if kind.kind == "Pod":
            self._admit_pod(server, kind, obj, old)
        elif kind.kind == "PriorityClass" and kind.group == "scheduling.k8s.io":
            self._validate_priority_class(server, kind, obj, old)

    def _admit_pod(self, server, kind, obj: dict, old: dict | None) -> None:
        spec = obj.setdefault("spec", {})
        if old is not None:
            # set on create; an update that leaves them out keeps them (validation forbids changes)
            old_spec = old.get("spec") or {}
            for field in ("priority", "preemptionPolicy"):
                if spec.get(field) is None and old_spec.get(field) is not None:
                    spec[field] = old_spec[field]
            return
        name = spec.get("priorityClassName") or ""
        if not name:
            pc = self.default_class(server)
            if pc is not None:
                spec["priorityClassName"] = pc["metadata"]["name"]
        else:
            pc = self._get(server, name)
            if pc is None:
                raise _forbidden(kind, obj, f"no PriorityClass with name {name} was found")
        if pc is not None:
            priority = int(pc.get("value") or 0)
            policy = pc.get("preemptionPolicy") or PREEMPT_LOWER_PRIORITY
        else:
            priority, policy = DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS, PREEMPT_LOWER_PRIORITY
        if self._lenient is None:
            self._lenient = _defaults_set_priority()
        given, given_policy = spec.get("priority"), spec.get("preemptionPolicy")
        if self._lenient and given == 0 and given_policy in (None, PREEMPT_LOWER_PRIORITY):
            given, given_policy = None, None  # what the defaults wrote, not the user
        if given is not None and given != priority:
            raise _forbidden(kind, obj, f"the integer value of priority ({given}) must not be provided in pod spec; "
                                        f"priority admission controller computed {priority} from the given "
                                        f"PriorityClass name")
        if given_policy is not None and given_policy != policy:
            raise _forbidden(kind, obj, f"the string value of PreemptionPolicy ({given_policy}) must not be provided "
                                        f"in pod spec; priority admission controller computed {policy} from the "
                                        f"given PriorityClass name")
        spec["priority"] = priority
        spec["preemptionPolicy"] = policy

    def _validate_priority_class(self, server, kind, obj: dict, old: dict | None) -> None:
        if not obj.get("globalDefault"):
            return
        current = self.default_class(server)
        if current is None:
            return
        if old is None or current["metadata"]["name"] != obj["metadata"].get("name"):
            raise _forbidden(kind, obj, f"PriorityClass {current['metadata']['name']} is already marked as default. "
                                        "Only one default can exist")
