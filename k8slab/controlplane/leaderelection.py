"""Leader election: of several replicas of a control-plane component, only one works.

kube-scheduler and kube-controller-manager run on every control-plane node of a
highly available cluster, but two schedulers binding the same pods (or two
ReplicaSet controllers creating pods) would fight. So each replica competes for
a **Lease** in ``kube-system`` named after the component, the way client-go's
``tools/leaderelection`` package does it (kubeadm turns it on by default, even
with one replica):

* A candidate *tries to acquire* the lease every ``retry_period`` (2 s, jittered
  by up to 1.2 × that: ``wait.JitterUntil``). It wins if the lease does not
  exist (it creates it), is free, or has not changed for ``lease_duration``
  (15 s) *as measured on the candidate's own clock* since it last saw it change.
* The winner records a ``LeaderElection`` event ``<identity> became leader``,
  starts its work (``OnStartedLeading``) and *renews* the lease every
  ``retry_period``: one update of ``spec.renewTime``.
* If it cannot renew for ``renew_deadline`` (10 s) it gives up
  (``stopped leading``) and the real process exits: it is restarted by the
  kubelet and becomes a candidate again, with a new identity.
* A leader that simply dies stops renewing; another replica takes over once the
  lease has not changed for 15 s — somewhere between 15 and about 24 s after the
  last renewal, depending on when its polls fall.

The identity written to ``spec.holderIdentity`` is ``<hostname>_<uuid>`` (a new
uuid for every process start). ``spec.leaseTransitions`` counts the changes of
holder, ``acquireTime`` / ``renewTime`` are micro-second timestamps.

Follows ``k8s.io/client-go/tools/leaderelection`` (``leaderelection.go``:
``acquire``, ``renew``, ``tryAcquireOrRenew`` with its optimistic fast path;
``resourcelock/leaselock.go``) and how ``cmd/kube-scheduler`` and
``cmd/kube-controller-manager`` use it.

Simplifications:

* a process that loses the lease is restarted at once (the kubelet's restart
  back-off is not modelled);
* coordinated leader election (LeaseCandidate objects, alpha in 1.31) is not modelled;
* no ``ReleaseOnCancel``: a stopped replica never hands the lease back, as with
  kube-scheduler and kube-controller-manager;
* renewals take no virtual time, so a live leader never misses one unless the
  API server fails its request (for example when etcd has lost its quorum).

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> loop, rng = EventLoop(), Randomness(0)
>>> api = APIServer(Etcd(), loop, Trace(), rng)
>>> _ = api.client("kubectl").create({"apiVersion": "v1", "kind": "Namespace",
...                                   "metadata": {"name": "kube-system"}})
>>> work = []
>>> le = LeaderElector(api.client("demo"), loop, rng, "demo", "kube-system",
...                    holder_identity("node-1", rng.stream("demo")),
...                    on_started_leading=lambda: work.append("leading"),
...                    on_stopped_leading=lambda: work.append("stopped"))
>>> le.run()
>>> work, le.is_leader()
(['leading'], True)
>>> _ = loop.run_until(60)
>>> lease = api.client("kubectl").get("leases", "demo", "kube-system")
>>> lease["spec"]["renewTime"], lease["spec"]["leaseTransitions"]
('2025-01-01T00:01:00.000000Z', 0)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from k8slab.api import errors
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.request import UserInfo
from k8slab.sim.loop import timestamp_micro

#: Core clients' defaults (``--leader-elect-lease-duration`` and friends), in seconds.
LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0
#: ``leaderelection.JitterFactor``: an acquire attempt waits retry_period × (1 + up to 1.2).
JITTER_FACTOR = 1.2

#: The Lease namespace and names of the built-in components (``--leader-elect-resource-name``).
LEASE_NAMESPACE = "kube-system"
KUBE_SCHEDULER = "kube-scheduler"
KUBE_CONTROLLER_MANAGER = "kube-controller-manager"

#: Version 4 UUID bits, as ``uuid.UUID(int=..., version=4)`` sets them.
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_V4 = (0x8000 << 48) | (4 << 76)


def holder_identity(hostname: str, rng: random.Random) -> str:
    """``<hostname>_<uuid>``: what kube-scheduler and kube-controller-manager put in ``holderIdentity``.

    The uuid keeps two processes on one host apart (``uuid.NewUUID()``); here it is drawn
    from ``rng``, so the same seed gives the same identities.

    >>> holder_identity("control-plane", random.Random(0))
    'control-plane_e3e70682-c209-4cac-a29f-6fbed82c07cd'
    """
    n = (rng.getrandbits(128) & _UUID_CLEAR) | _UUID_V4
    h = f"{n:032x}"
    return f"{hostname}_{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class LeaderElectionRecord:
    """What a Lease's spec says about the election (``resourcelock.LeaderElectionRecord``)."""

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: str | None = None
    renew_time: str | None = None
    leader_transitions: int = 0

    @classmethod
    def of_lease(cls, lease: dict) -> LeaderElectionRecord:
        spec = lease.get("spec") or {}
        return cls(spec.get("holderIdentity") or "", int(spec.get("leaseDurationSeconds") or 0),
                   spec.get("acquireTime"), spec.get("renewTime"), int(spec.get("leaseTransitions") or 0))

    def lease_spec(self) -> dict:
        """``LeaderElectionRecordToLeaseSpec``: the fields in the order the API prints them."""
        return {"holderIdentity": self.holder_identity, "leaseDurationSeconds": self.lease_duration_seconds,
                "acquireTime": self.acquire_time, "renewTime": self.renew_time,
                "leaseTransitions": self.leader_transitions}


class LeaderElector:
    """One candidate's side of the election (client-go's ``LeaderElector``).

    Parameters
    ----------
    client
        The candidate's API client (its requests show in the trace under its actor).
    loop, rng
        The event loop, and the cluster's :class:`~k8slab.sim.rng.Randomness` (or a
        ``random.Random``) for the jitter between acquire attempts.
    lock_name, namespace
        The Lease that is the lock (``kube-system/kube-scheduler``).
    identity
        This candidate's ``holderIdentity`` (see :func:`holder_identity`).
    on_started_leading, on_stopped_leading
        Called when this candidate wins the lease, and when it gives it up.
    lease_duration, renew_deadline, retry_period
        Seconds; checked as ``NewLeaderElector`` checks them.
    recorder
        An :class:`~k8slab.apiserver.events.EventRecorder` for the ``LeaderElection`` events
        (none recorded without it).
    on_new_leader
        Optional: called with the identity of every newly observed leader.
    log
        Optional list the elector appends its log lines to (``<time> <klog message>``).
    """

    def __init__(self, client, loop, rng, lock_name: str, namespace: str, identity: str,
                 on_started_leading: Callable[[], None], on_stopped_leading: Callable[[], None],
                 lease_duration: float = LEASE_DURATION, renew_deadline: float = RENEW_DEADLINE,
                 retry_period: float = RETRY_PERIOD, *, recorder: EventRecorder | None = None,
                 on_new_leader: Callable[[str], None] | None = None, who: str | None = None,
                 log: list[str] | None = None):
        # the checks (and messages) of NewLeaderElector
        if lease_duration <= renew_deadline:
            raise ValueError("leaseDuration must be greater than renewDeadline")
        if renew_deadline <= JITTER_FACTOR * retry_period:
            raise ValueError("renewDeadline must be greater than retryPeriod*JitterFactor")
        if retry_period <= 0:
            raise ValueError("retryPeriod must be greater than zero")
        if not identity:
            raise ValueError("Lock identity is empty")
        self.client = client
        self.loop = loop
        self.rng = rng.stream(f"leaderelection/{namespace}/{lock_name}") if hasattr(rng, "stream") else rng
        self.lock_name = lock_name
        self.namespace = namespace
        self.identity = identity
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.recorder = recorder
        self.who = who or client.actor
        self.lease: dict | None = None  # the Lease as last read or written (LeaseLock.lease)
        self.observed_record = LeaderElectionRecord()
        self.observed_raw: LeaderElectionRecord | None = None
        self.observed_time = 0.0  # local time the record last changed (or was written by us)
        self.reported_leader = ""
        self.running = False
        self.leading = False  # between OnStartedLeading and OnStoppedLeading
        self.log: list[str] = [] if log is None else log  # the component's klog lines about the election
        self._timer = None
        self._round_start: float | None = None

    @property
    def description(self) -> str:
        """``LeaseLock.Describe()``: ``namespace/name``."""
        return f"{self.namespace}/{self.lock_name}"

    def __repr__(self) -> str:
        state = "leading" if self.leading else ("candidate" if self.running else "stopped")
        return f"LeaderElector({self.description} as {self.identity}: {state})"

    # -- what the process asks ----------------------------------------------------------------
    def is_leader(self) -> bool:
        """Whether the last observed record names this candidate (``IsLeader``)."""
        return self.observed_record.holder_identity == self.identity

    def get_leader(self) -> str:
        """The identity of the last observed leader (``GetLeader``)."""
        return self.observed_record.holder_identity

    # -- lifecycle --------------------------------------------------------------------------------
    def run(self) -> None:
        """Start campaigning (``Run``): the first attempt happens now, as ``JitterUntil`` makes it."""
        if self.running:
            return
        self.running = True
        self._log(f"attempting to acquire leader lease {self.description}...")
        self._acquire_attempt()

    def stop(self) -> None:
        """The process is gone: no more attempts or renewals, and no hand-back of the lease."""
        self.running = False
        self.leading = False
        self.loop.cancel(self._timer)
        self._timer = None

    def _log(self, line: str) -> None:
        self.log.append(f"{self.loop.now:.3f}s {line}")
        del self.log[:-50]

    # -- acquire --------------------------------------------------------------------------------
    def _acquire_attempt(self) -> None:
        self._timer = None
        if not self.running:
            return
        succeeded = self._try_acquire_or_renew()
        self._maybe_report_transition()
        if not succeeded:
            # wait.Jitter(retryPeriod, JitterFactor): the period plus up to 1.2 times more
            delay = self.retry_period * (1 + self.rng.random() * JITTER_FACTOR)
            self._timer = self.loop.call_later(delay, self._acquire_attempt, who=self.who,
                                               what=f"try to acquire lease {self.description}",
                                               background=True)
            return
        self._record_event("became leader")
        self._log(f"successfully acquired lease {self.description}")
        self.leading = True
        # the renew loop (wait.Until) starts with a renewal at once, after OnStartedLeading began
        self._round_start = None
        self._timer = self.loop.call_soon(self._renew_attempt, who=self.who,
                                          what=f"renew lease {self.description}", background=True)
        self.on_started_leading()

    # -- renew ----------------------------------------------------------------------------------
    def _renew_attempt(self) -> None:
        self._timer = None
        if not self.running:
            return
        now = self.loop.now
        if self._round_start is None:
            self._round_start = now  # PollImmediateUntil with a RenewDeadline timeout starts
        succeeded = self._try_acquire_or_renew()
        self._maybe_report_transition()
        if succeeded:
            self._round_start = None
            due = now + self.retry_period
        elif now + self.retry_period < self._round_start + self.renew_deadline:
            due = now + self.retry_period  # poll again within the deadline
        else:
            self._timer = self.loop.call_at(self._round_start + self.renew_deadline, self._renew_failed,
                                            who=self.who, what=f"give up lease {self.description}")
            return
        self._timer = self.loop.call_at(due, self._renew_attempt, who=self.who,
                                        what=f"renew lease {self.description}", background=True)

    def _renew_failed(self) -> None:
        self._timer = None
        if not self.running:
            return
        self._log(f"failed to renew lease {self.description}: timed out waiting for the condition")
        self.running = False
        self.leading = False
        self._record_event("stopped leading")
        self.on_stopped_leading()

    # -- one attempt (tryAcquireOrRenew) ----------------------------------------------------------
    def _lease_valid(self, now: float) -> bool:
        return self.observed_time + self.observed_record.lease_duration_seconds > now

    def _set_observed(self, record: LeaderElectionRecord) -> None:
        self.observed_record = record
        self.observed_time = self.loop.now

    def _try_acquire_or_renew(self) -> bool:
        now = self.loop.now
        stamp = timestamp_micro(now)
        record = LeaderElectionRecord(self.identity, int(self.lease_duration), stamp, stamp, 0)

        # 1. fast path: the leader updates optimistically, assuming its copy is current
        if self.is_leader() and self._lease_valid(now) and self.lease is not None:
            old = self.observed_record
            record = LeaderElectionRecord(self.identity, record.lease_duration_seconds, old.acquire_time,
                                          stamp, old.leader_transitions)
            if self._update(record, background=True):
                self._set_observed(record)
                return True

        # 2. read the lock, or create it
        try:
            lease = self.client.get("leases", self.lock_name, self.namespace)
        except errors.NotFound:
            try:
                self.lease = self.client.create(
                    {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": self.lock_name, "namespace": self.namespace},
                     "spec": record.lease_spec()}, hand_over=True)
            except errors.ApiError:
                return False
            self._set_observed(record)
            return True
        except errors.ApiError:
            return False
        self.lease = lease

        # 3. a record that changed since we last looked restarts our count of its age
        old = LeaderElectionRecord.of_lease(lease)
        if old != self.observed_raw:
            self._set_observed(old)
            self.observed_raw = old
        if old.holder_identity and self._lease_valid(now) and not self.is_leader():
            return False  # held by someone else, and not expired

        # 4. take it (a transition) or renew it
        renewing = self.is_leader()
        if renewing:
            record = LeaderElectionRecord(self.identity, record.lease_duration_seconds, old.acquire_time,
                                          stamp, old.leader_transitions)
        else:
            record = LeaderElectionRecord(self.identity, record.lease_duration_seconds, stamp, stamp,
                                          old.leader_transitions + 1)
        # renewals are heartbeats (background); taking the lease over is a real change
        if not self._update(record, background=renewing):
            return False
        self._set_observed(record)
        return True

    def _update(self, record: LeaderElectionRecord, *, background: bool) -> bool:
        """``LeaseLock.Update``: PUT our copy of the Lease with a new spec (optimistic concurrency)."""
        body = dict(self.lease)
        body["metadata"] = dict(self.lease["metadata"])
        body["spec"] = record.lease_spec()
        try:
            self.lease = self.client.update(body, background=background)
        except errors.ApiError:
            return False
        return True

    def _maybe_report_transition(self) -> None:
        leader = self.observed_record.holder_identity
        if leader == self.reported_leader:
            return
        self.reported_leader = leader
        if self.on_new_leader is not None:
            self.on_new_leader(leader)

    def _record_event(self, what: str) -> None:
        """``LeaseLock.RecordEvent``: a ``LeaderElection`` event on the Lease."""
        if self.recorder is None or self.lease is None:
            return
        subject = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": self.lease["metadata"]}
        self.recorder.event(subject, "Normal", "LeaderElection", f"{self.identity} {what}")


# -- replicas of a component -------------------------------------------------------------------------


class Replica:
    """One process of a replicated component, on one control-plane host."""

    def __init__(self, owner: ReplicatedComponent, index: int, host: str):
        self.owner = owner
        self.index = index
        self.host = host
        self.actor = owner.actor_of(index, host)
        self.identity = ""
        self.elector: LeaderElector | None = None
        self.component = None
        self.running = False
        self.restarts = 0
        #: the election's log lines of every process this replica ran (like ``kubectl logs``)
        self.log: list[str] = []

    @property
    def leading(self) -> bool:
        return self.running and self.elector is not None and self.elector.leading

    def __repr__(self) -> str:
        state = "leader" if self.leading else ("standby" if self.running else "stopped")
        return f"Replica({self.owner.name} on {self.host}: {state})"


class ReplicatedComponent:
    """Replicas of kube-scheduler or kube-controller-manager; only the Lease holder works.

    Each replica is a process on a control-plane host with its own
    :class:`LeaderElector`. ``make(replica)`` builds the process's component when
    it starts (and again after every restart: a new process starts empty).

    * a **warm** component (kube-scheduler) starts its informers at once and
      only runs its scheduling loop while leading: ``start(run=False)``, then
      ``run()`` on winning;
    * a **cold** one (kube-controller-manager) does nothing until it leads: its
      controllers and informers are created and started in ``start()`` on winning.

    Losing the lease (``on_stopped_leading``) stops the component and the
    process exits; it is started again at once as a new candidate. :meth:`fail`
    kills a replica for good (until :meth:`recover`).

    Parameters
    ----------
    api, loop, rng
        The API server, the event loop and the cluster's Randomness.
    name
        The component, also the Lease's name (``kube-scheduler``).
    make
        ``make(replica) -> component``; the component has ``start()`` and ``stop()``
        (and ``start(run=False)`` / ``run()`` when ``warm``).
    hosts
        The control-plane hosts, one replica each.
    user
        The identity the leader-election client authenticates as.
    event_source
        The ``source.component`` of the ``LeaderElection`` events.
    warm
        See above.
    events
        Record ``LeaderElection`` events.
    lost_message
        What the process logs when it loses the lease, before it exits.
    """

    def __init__(self, api, loop, rng, name: str, make: Callable[[Replica], object], *,
                 hosts: tuple[str, ...] = ("control-plane",), user: UserInfo | None = None,
                 event_source: str | None = None, warm: bool = False, events: bool = True,
                 namespace: str = LEASE_NAMESPACE, lease_duration: float = LEASE_DURATION,
                 renew_deadline: float = RENEW_DEADLINE, retry_period: float = RETRY_PERIOD,
                 lost_message: str = "leaderelection lost"):
        if not hosts:
            raise ValueError("a replicated component needs at least one host")
        self.api = api
        self.loop = loop
        self.rng = rng
        self.name = name
        self.make = make
        self.hosts = tuple(hosts)
        self.user = user or UserInfo(f"system:{name}", ("system:authenticated",))
        self.event_source = event_source or name
        self.warm = warm
        self.events_enabled = events
        self.namespace = namespace
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.lost_message = lost_message
        self._identities = rng.stream(f"leaderelection/identity/{name}")
        self.replicas = [Replica(self, i, h) for i, h in enumerate(self.hosts)]
        self._last_leader: Replica | None = None

    def actor_of(self, index: int, host: str) -> str:
        """The replica's name in the trace: the component's, plus the host when there are several."""
        return self.name if len(self.hosts) == 1 else f"{self.name}/{host}"

    def __repr__(self) -> str:
        return f"ReplicatedComponent({self.name}: {', '.join(repr(r) for r in self.replicas)})"

    # -- who leads ------------------------------------------------------------------------------------
    @property
    def leader(self) -> Replica | None:
        """The replica that holds the lease and works, or ``None`` (between leaders)."""
        for r in self.replicas:
            if r.leading:
                return r
        return None

    @property
    def component(self):
        """The working component: the leader's; between leaders, the last leader's (stale) one."""
        r = self.leader or self._last_leader
        if r is not None:
            return r.component
        for r in self.replicas:
            if r.component is not None:
                return r.component
        return None

    def replica(self, which: int | str | None = None) -> Replica:
        """A replica by index or host name; ``None`` is the current leader."""
        if which is None:
            r = self.leader
            if r is None:
                raise LookupError(f"no replica of {self.name} is leading now")
            return r
        if isinstance(which, str):
            for r in self.replicas:
                if r.host == which:
                    return r
            raise LookupError(f"{self.name} has no replica on {which!r}; hosts are: {', '.join(self.hosts)}")
        if not 0 <= which < len(self.replicas):
            raise LookupError(f"{self.name} has replicas 0..{len(self.replicas) - 1}, not {which}")
        return self.replicas[which]

    # -- processes --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start every replica's process (each campaigns for the lease at once)."""
        for r in self.replicas:
            if not r.running:
                self._start_process(r)

    def fail(self, which: int | str | None = None) -> Replica:
        """Kill a replica's process (default: the leader). It stops renewing; another replica
        takes the lease once it has not changed for ``lease_duration``."""
        r = self.replica(which)
        if r.running:
            self._stop_process(r)
            if any(o.running for o in self.replicas):
                self._expect_handover()
        return r

    def recover(self, which: int | str) -> Replica:
        """Start a killed replica again: a new process with a new identity, as a candidate."""
        r = self.replica(which)
        if not r.running:
            self._start_process(r)
            if self.leader is None:
                self._expect_handover()
        return r

    def _expect_handover(self) -> None:
        # A candidate takes the lease only after it has seen no change for lease_duration, and it
        # polls every retry_period × (1..2.2): keep run() going until a takeover is certain.
        poll = self.retry_period * (1 + JITTER_FACTOR)
        self.loop.extend_horizon(self.loop.now + self.lease_duration + 2 * poll + 1)

    def _start_process(self, r: Replica) -> None:
        r.running = True
        r.identity = holder_identity(r.host, self._identities)
        client = self.api.client(r.actor, user=self.user, shared_results=True)
        r.component = self.make(r)
        if self.warm:
            r.component.start(run=False)
        recorder = EventRecorder(client, self.event_source, enabled=self.events_enabled)
        r.elector = LeaderElector(
            client, self.loop, self.rng, self.name, self.namespace, r.identity,
            lambda: self._started_leading(r), lambda: self._stopped_leading(r),
            self.lease_duration, self.renew_deadline, self.retry_period, recorder=recorder, log=r.log)
        r.elector.run()

    def _stop_process(self, r: Replica) -> None:
        r.running = False
        if r.elector is not None:
            r.elector.stop()
        if r.component is not None:
            r.component.stop()

    def _started_leading(self, r: Replica) -> None:
        self._last_leader = r
        if self.warm:
            r.component.run()
        else:
            r.component.start()

    def _stopped_leading(self, r: Replica) -> None:
        # the process logs it and exits; the kubelet starts the container again
        r.log.append(f"{self.loop.now:.3f}s {self.lost_message}")
        self._stop_process(r)
        r.restarts += 1
        self.loop.call_soon(self._restart, r, who=r.actor, what=f"restart {self.name} on {r.host}")

    def _restart(self, r: Replica) -> None:
        if not r.running:
            self._start_process(r)


def scheduler_replicas(api, loop, rng, *, hosts: tuple[str, ...] = ("control-plane",), events: bool = True,
                       configure: Callable | None = None, **timing) -> ReplicatedComponent:
    """kube-scheduler with leader election: a warm standby on every other host.

    ``configure(scheduler, replica)`` may adjust each new Scheduler (add the same
    plugins to every replica, as they share one configuration file).
    """
    from k8slab.controlplane.scheduler import Scheduler

    def make(replica: Replica):
        s = Scheduler(api, loop, rng, events=events, actor=replica.actor)
        if configure is not None:
            configure(s, replica)
        return s

    return ReplicatedComponent(
        api, loop, rng, KUBE_SCHEDULER, make, hosts=hosts,
        user=UserInfo("system:kube-scheduler", ("system:authenticated",)),
        # kube-scheduler records leader election with the first profile's scheduler name
        event_source="default-scheduler", warm=True, events=events, lost_message="Leaderelection lost",
        **timing)


def controller_manager_replicas(api, loop, rng, controllers: list, *, hosts: tuple[str, ...] = ("control-plane",),
                                events: bool = True, configure: Callable | None = None,
                                **timing) -> ReplicatedComponent:
    """kube-controller-manager with leader election: standbys start nothing until they lead.

    ``configure(manager, replica)`` may adjust each new ControllerManager (``cluster_cidr``).
    """
    from k8slab.controlplane.manager import ControllerManager

    def make(replica: Replica):
        cm = ControllerManager(api, loop, rng, controllers, events=events)
        if configure is not None:
            configure(cm, replica)
        return cm

    return ReplicatedComponent(
        api, loop, rng, KUBE_CONTROLLER_MANAGER, make, hosts=hosts,
        user=UserInfo("system:kube-controller-manager", ("system:authenticated",)),
        event_source="kube-controller-manager", warm=False, events=events, **timing)
