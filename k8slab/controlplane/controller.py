"""The shape every controller shares: informers feed a work queue, ``sync(key)`` reconciles.

A controller never calls another component: it reads its informers' caches
(listers), decides what the world should look like, and writes through the API
server. If ``sync`` raises, the key is retried with back-off and the failure is
kept in :attr:`Controller.failures` (and reported as the controller's, never
crashing the cluster) — the same whether the controller is built in or a
learner's operator.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8slab.api.errors import ApiError
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.request import UserInfo
from k8slab.apiserver.workqueue import WorkQueue


@dataclass(frozen=True)
class ControllerFailure:
    time: float
    controller: str
    key: str
    error: str

    def __str__(self) -> str:
        return f"{self.time:.3f}s {self.controller}: sync {self.key} failed: {self.error}"


class Controller:
    """Base class of control loops run by a :class:`~k8slab.controlplane.manager.ControllerManager`.

    Subclasses set :attr:`name`, register informer handlers in :meth:`setup` (usually
    ``self.queue.add(key)``), and implement :meth:`sync`.
    """

    name = "controller"

    def __init__(self, manager):
        self.manager = manager
        self.loop = manager.loop
        self.client = manager.client_for(self.name)
        self.informers = manager.informers
        self.recorder = EventRecorder(self.client, self.name, enabled=manager.events_enabled)
        self.queue = WorkQueue(self.loop, self.name, self._sync, who=self.name, on_error=self._failed)
        self.failures: list[ControllerFailure] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.queue)} queued)"

    @property
    def now(self) -> float:
        return self.loop.now

    def setup(self) -> None:
        """Create informers and register handlers. Called once, before the informers start."""

    def sync(self, key: str) -> None:
        """Reconcile the object ``key`` (``namespace/name``). Raise to be retried with back-off."""
        raise NotImplementedError

    def _sync(self, key: str) -> None:
        if not self.manager.is_leader:
            return
        self.sync(key)
        self.queue.forget(key)

    def _failed(self, key: str, exc: Exception) -> None:
        self.record_failure(key, exc)
        self.queue.add_rate_limited(key)

    def record_failure(self, key: str, exc: Exception) -> None:
        """Keep ``exc`` among :attr:`failures` (the last 100) as this controller's failure to sync ``key``."""
        if isinstance(exc, ApiError):
            err = exc.kubectl_message()
        else:
            err = f"{type(exc).__name__}: {exc}"
        self.failures.append(ControllerFailure(self.loop.now, self.name, key, err))
        del self.failures[:-100]


def controller_identity(name: str) -> UserInfo:
    """The service account a controller acts as (kube-controller-manager --use-service-account-credentials)."""
    return UserInfo(
        f"system:serviceaccount:kube-system:{name}",
        ("system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"),
    )
