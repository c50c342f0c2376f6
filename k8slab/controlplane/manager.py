"""kube-controller-manager: one process running many controllers over shared informers."""

from __future__ import annotations

from k8slab.apiserver.informer import SharedInformerFactory
from k8slab.apiserver.rbac_bootstrap import CONTROLLER_SERVICE_ACCOUNTS
from k8slab.apiserver.request import UserInfo
from k8slab.apiserver.workqueue import WorkQueue
from k8slab.controlplane.controller import Controller, controller_identity


class ControllerManager:
    """Runs controllers; they share one informer per resource (one watch per resource for the process)."""

    name = "kube-controller-manager"

    def __init__(self, api, loop, rng, controllers: list[type[Controller]], *, events: bool = True):
        self.api = api
        self.loop = loop
        self.rng = rng
        self.events_enabled = events
        self.informers = SharedInformerFactory(
            api.client(self.name, user=UserInfo("system:kube-controller-manager", ("system:authenticated",)),
                       shared_results=True)
        )
        self._controller_classes = list(controllers)
        self.controllers: dict[str, Controller] = {}
        self.is_leader = True
        self.started = False

    def client_for(self, name: str):
        # some loops run under another ServiceAccount than their name (node-controller for node
        # IPAM and lifecycle, persistent-volume-binder, ...), as kube-controller-manager's do
        account = CONTROLLER_SERVICE_ACCOUNTS.get(name, name)
        return self.api.client(name, user=controller_identity(account), shared_results=True)

    def start(self) -> None:
        for cls in self._controller_classes:
            self.add_controller(cls)
        self.informers.start()
        self.started = True

    def stop(self) -> None:
        """The process exits: its watches close and its controllers' queued work and timers are dropped.

        What a replica that lost (or never got) the leader lease leaves behind: nothing runs.
        """
        self.is_leader = False
        self.informers.stop()
        owned = {id(self)}
        for ctrl in self.controllers.values():
            ctrl.queue.paused = True
            owned.add(id(ctrl))
            # the controller's own helpers (work queues, timers' owners), never shared parts
            # such as the API server or the loop
            for value in vars(ctrl).values():
                if isinstance(value, WorkQueue) or type(value).__module__.startswith("k8slab.controlplane."):
                    owned.add(id(value))
                    if isinstance(value, WorkQueue):
                        value.paused = True
        for ev in self.loop.pending(include_background=True):
            if id(getattr(ev.fn, "__self__", None)) in owned:
                self.loop.cancel(ev)

    def add_controller(self, cls_or_instance) -> Controller:
        ctrl = cls_or_instance(self) if isinstance(cls_or_instance, type) else cls_or_instance
        self.controllers[ctrl.name] = ctrl
        ctrl.setup()
        if self.started:
            self.informers.start()
        return ctrl

    def __getitem__(self, name: str) -> Controller:
        return self.controllers[name]

    @property
    def failures(self):
        out = [f for c in self.controllers.values() for f in c.failures]
        return sorted(out, key=lambda f: f.time)

    def __repr__(self) -> str:
        return f"ControllerManager({', '.join(self.controllers)})"
