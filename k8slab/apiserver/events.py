"""Events: the short notes components leave on objects (``Scheduled``, ``Pulling``, ``Started`` ...).

An :class:`EventRecorder` writes core/v1 ``Event`` objects through the API server,
as client-go's recorder does: an event repeated for the same object, reason and
message is not created again but has its ``count`` and ``lastTimestamp`` bumped.
``kubectl describe`` and ``kubectl get events`` read them back.

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> api = APIServer(Etcd(), EventLoop(), Trace(), Randomness(0))
>>> admin = api.client("kubectl")
>>> ns = admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
>>> rec = EventRecorder(api.client("default-scheduler"), "default-scheduler")
>>> pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default", "uid": "u1"}}
>>> rec.event(pod, "Normal", "Scheduled", "Successfully assigned default/web to worker-1")["count"]
1
"""

from __future__ import annotations

from k8slab.api.errors import ApiError
from k8slab.sim.loop import EPOCH, timestamp, timestamp_micro

_EPOCH_NANOS = int(EPOCH.timestamp()) * 1_000_000_000


class EventRecorder:
    def __init__(self, client, component: str, host: str | None = None, enabled: bool = True):
        self.client = client
        self.component = component
        self.host = host
        self.enabled = enabled
        self._seen: dict[tuple, dict] = {}

    def event(self, obj: dict, type_: str, reason: str, message: str, field_path: str | None = None) -> dict | None:
        """Record an event about ``obj``; returns the stored Event (or ``None`` when disabled/failed)."""
        if not self.enabled:
            return None
        m = obj.get("metadata") or {}
        now = self.client.server.loop.now
        key = (m.get("uid"), reason, message, field_path)
        prev = self._seen.get(key)
        try:
            if prev is not None:
                # client-go's event sink patches a repeated event (RBAC roles grant events
                # create and patch, not always update)
                pm = prev["metadata"]
                stored = self.client.patch("events", pm["name"], {"count": prev.get("count", 1) + 1,
                                                                  "lastTimestamp": timestamp(now)},
                                           pm.get("namespace"), patch_type="strategic")
                self._seen[key] = stored
                return stored
            # Real names use the wall clock's nanoseconds, which never repeat; ours count per API
            # server, so two components naming an event at the same virtual instant never collide.
            server = self.client.server
            server.event_name_seq = getattr(server, "event_name_seq", 0) + 1
            nanos = _EPOCH_NANOS + int(now * 1e9) + server.event_name_seq
            involved = {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": m.get("name"),
                "namespace": m.get("namespace"),
                "resourceVersion": m.get("resourceVersion"),
                "uid": m.get("uid"),
            }
            if not m.get("namespace"):
                involved.pop("namespace")
            if field_path:
                involved["fieldPath"] = field_path
            ev = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{m.get('name')}.{nanos:x}", "namespace": m.get("namespace") or "default"},
                "involvedObject": involved,
                "reason": reason,
                "message": message,
                "source": {"component": self.component, **({"host": self.host} if self.host else {})},
                "firstTimestamp": timestamp(now),
                "lastTimestamp": timestamp(now),
                "count": 1,
                "type": type_,
                "eventTime": None,
                "reportingComponent": self.component,
                "reportingInstance": self.host or "",
            }
            stored = self.client.create(ev, hand_over=True)  # ev is built here and never used again
            self._seen[key] = stored
            return stored
        except ApiError:
            # Events are best effort: a lost event never fails the component's real work.
            return None

    def __repr__(self) -> str:
        return f"EventRecorder({self.component})"


def micro_time(t: float) -> str:
    return timestamp_micro(t)
