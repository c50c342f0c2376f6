"""An etcd cluster of several members, kept consistent by Raft, behind the store interface.

:class:`EtcdCluster` offers what the API server uses of a single :class:`~k8slab.etcd.store.Etcd`
(``put`` / ``delete`` with ``expect_mod_revision``, ``get``, ``range``, ``count``, ``watch``,
``revision``, ``history``, ``compact``), so ``APIServer(EtcdCluster(loop, rng), ...)`` works
unchanged. Behind it, each member is a :class:`~k8slab.etcd.raft.RaftMember` with its own MVCC
state machine (an ``Etcd`` that applies the committed entries in log order), as in etcd's
``etcdserver`` (``server.go``: propose, apply; ``v3_server.go``: ``parseProposeCtxErr``).

A write is acknowledged only once a quorum holds it: the leader appends it, replicates it,
commits it and applies it, then the followers apply it. Heartbeats, election timeouts and the
vote messages are events on the virtual clock (heartbeats and timers in the background, so
``run()`` still settles). Without a quorum a write fails with etcd's own error
(:class:`RequestTimedOut`, ``etcdserver: request timed out``; with every member down,
:class:`NoMemberReachable`); reads keep serving the last committed state, as a real API server
keeps serving its watch cache. :meth:`EtcdCluster.status` prints ``etcdctl endpoint status``.

Simplifications:
- A write is replicated and committed at once when a quorum is up (the messages of a write are
  delivered within the call, after any election messages already on the wire); election
  messages take ``latency`` seconds each.
- A write that cannot commit fails at once and leaves no entry behind (real etcd waits up to its
  7 s request timeout, and an entry already in the leader's log may still commit later).
- Watches are served by the cluster as a whole (a real client re-attaches to another member from
  its last revision and sees the same events).
- Plain reads show the last committed state even without a quorum (the API server's cache); a
  real serializable read from a member that missed writes would be stale.
- ``DB SIZE`` is an estimate: 20 kB plus the JSON size of every kept version, in 4 KiB pages.
- A restarted member does not publish its attributes again.

Example
-------
>>> from k8slab.sim import EventLoop, Randomness
>>> loop = EventLoop()
>>> db = EtcdCluster(loop, Randomness(0))
>>> db.put("/registry/configmaps/default/a", {"v": 1}).mod_revision
2
>>> db.fail(db.leader).leader is None
True
>>> _ = loop.run_until(3.0)
>>> db.leader is not None and db.get("/registry/configmaps/default/a").value
{'v': 1}
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager

from k8slab.api.errors import K8sLabError
from k8slab.etcd.raft import (
    LEADER,
    MSG_APP,
    MSG_SNAP,
    REPLICATE,
    Entry,
    RaftMember,
    Snapshot,
    describe_op,
)
from k8slab.etcd.store import CompareFailed, Etcd, KeyValue, Unavailable, WatchEvent, _bucket
from k8slab.sim.rng import Randomness

#: The etcd release kubeadm runs with Kubernetes v1.30 (registry.k8s.io/etcd:3.5.12-0).
ETCD_VERSION = "3.5.12"

# etcdserver/errors.go
ERR_TIMEOUT = "etcdserver: request timed out"
ERR_TIMEOUT_DUE_TO_LEADER_FAIL = "etcdserver: request timed out, possibly due to previous leader failure"
ERR_TIMEOUT_DUE_TO_CONNECTION_LOST = "etcdserver: request timed out, possibly due to connection lost"
ERR_NO_LEADER = "etcdserver: no leader"

#: bbolt's size of an empty etcd database file.
_EMPTY_DB_BYTES = 20480
_PAGE = 4096


class RequestTimedOut(Unavailable):
    """etcd could not commit (or confirm) the request: no leader, or no quorum.

    ``str(e)`` is etcd's message. kube-apiserver passes it on unchanged as a 500 whose
    reason is empty, which kubectl prints as ``Error from server: etcdserver: request timed out``.
    """


class NoMemberReachable(Unavailable):
    """No member answers at all: etcd's client waits for a connection until the request's deadline.

    ``str(e)`` is ``context deadline exceeded``. kube-apiserver's request times out first and
    answers 504 ``Timeout: request did not complete within requested timeout - context deadline exceeded``.
    """


class MemberNotFound(K8sLabError):
    """A member name that is not in the cluster."""


def member_id(peer_urls: list[str], token: str = "etcd-cluster") -> int:
    """etcd's member ID: the first 8 bytes of SHA-1 over the sorted peer URLs and the cluster token.

    >>> f"{member_id(['https://etcd-0:2380']):x}"
    'f0f92d99677353f'
    """
    data = "".join(sorted(peer_urls)).encode() + token.encode()
    return int.from_bytes(hashlib.sha1(data).digest()[:8], "big")


def humanize_bytes(n: int) -> str:
    """Bytes in SI units, as etcdctl prints DB SIZE (go-humanize ``Bytes``).

    >>> humanize_bytes(20480), humanize_bytes(2_700_000), humanize_bytes(7)
    ('20 kB', '2.7 MB', '7 B')
    """
    if n < 10:
        return f"{n} B"
    e = math.floor(math.log(n, 1000))
    val = math.floor(n / 1000**e * 10 + 0.5) / 10
    suffix = ("B", "kB", "MB", "GB", "TB", "PB", "EB")[e]
    return f"{val:.0f} {suffix}" if val >= 10 else f"{val:.1f} {suffix}"


def render_table(header: list[str], rows: list[list[str]]) -> str:
    """A table as etcdctl's ``-w table`` draws it (tablewriter: centred header, cells to the right)."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def centre(text: str, width: int) -> str:
        gap = width - len(text)
        return " " * (gap // 2) + text + " " * (gap - gap // 2)

    lines = [sep, "|" + "|".join(f" {centre(h, w)} " for h, w in zip(header, widths, strict=True)) + "|", sep]
    lines += ["|" + "|".join(f" {c.rjust(w)} " for c, w in zip(r, widths, strict=True)) + "|" for r in rows]
    lines.append(sep)
    return "\n".join(lines) + "\n"


class EtcdctlOutput(str):
    """What etcdctl printed: the text as a terminal shows it, plus its streams and exit code."""

    def __new__(cls, stdout: str, stderr: str = "", returncode: int = 0):
        self = super().__new__(cls, stderr + stdout)
        self.stdout = stdout
        self.stderr = stderr
        self.returncode = returncode
        return self

    def __repr__(self) -> str:
        return str(self).rstrip("\n")

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self).rstrip("\n"))


class EtcdCluster:
    """A Raft-replicated etcd with the interface of :class:`~k8slab.etcd.store.Etcd` (see module docstring).

    Parameters
    ----------
    loop : EventLoop
        The virtual clock timers and messages run on.
    rng : Randomness
        Each member draws its randomized election timeouts from its own stream.
    members : tuple of str
        Member names; the quorum is a majority of them.
    hosts : dict, optional
        Member name → host name or IP used in its URLs (``https://<host>:2379``); the name itself by default.
    heartbeat_interval, election_timeout : float
        etcd's ``--heartbeat-interval`` and ``--election-timeout`` in seconds (100 ms, 1000 ms).
    latency : float
        One-way delay of an election message between members.
    snapshot_count, catch_up_entries : int
        etcd's ``--snapshot-count`` and the entries kept after a snapshot for slow followers;
        a follower further behind gets the whole state machine (``MsgSnap``).
    """

    def __init__(self, loop, rng: Randomness | None = None, members: tuple[str, ...] = ("etcd-0", "etcd-1", "etcd-2"),
                 *, hosts: dict[str, str] | None = None, keep_history: bool = True,
                 check_immutable: bool | None = None, heartbeat_interval: float = 0.1,
                 election_timeout: float = 1.0, latency: float = 0.0005, snapshot_count: int = 100_000,
                 catch_up_entries: int = 5000):
        names = tuple(members)
        if not names or len(set(names)) != len(names):
            raise ValueError(f"member names must be distinct and at least one: {names!r}")
        rng = rng or Randomness(0)
        self.loop = loop
        self.heartbeat_interval = heartbeat_interval
        self.election_timeout = election_timeout
        self.latency = latency
        self.snapshot_count = snapshot_count
        self.catch_up_entries = catch_up_entries
        self.quorum = len(names) // 2 + 1
        host_of = {n: (hosts or {}).get(n, n) for n in names}
        ids = {n: member_id([f"https://{host_of[n]}:2380"]) for n in names}
        ticks = max(1, round(election_timeout / heartbeat_interval))
        self._members: dict[str, RaftMember] = {}
        for n in names:
            m = RaftMember(n, ids, self, self._clock, rng.stream(f"etcd {n} election"),
                           heartbeat_interval=heartbeat_interval, election_ticks=ticks)
            m.peer_url = f"https://{host_of[n]}:2380"
            m.endpoint = f"https://{host_of[n]}:2379"
            m.store = Etcd(keep_history=keep_history, check_immutable=check_immutable)
            m.store.watch("", self._member_event)
            self._members[n] = m
        self._order = tuple(self._members.values())
        self._watchers: dict[str, list[tuple[str, Callable[[WatchEvent], None]]]] = {}
        self._timers: dict[str, object] = {}
        self._queue: deque = deque()  # messages delivered within the current call
        self._instant_depth = 0
        self._in_flight: dict = {}  # message -> its delivery event
        self._published = 0  # highest raft index whose changes were shown to watchers
        self._publishing = False
        self._pending = None  # the raft index of the write being made, and its result
        self._result = None
        self._serving_member: RaftMember | None = None
        self._version_sizes: dict[tuple[str, int], int] = {}
        #: every leadership won: (time, term, member name)
        self.elections: list[tuple[float, int, str]] = []
        self._bootstrap()

    # -- set-up ---------------------------------------------------------------------------------
    def _clock(self) -> float:
        return self.loop.now

    def _bootstrap(self) -> None:
        # etcd starts a new cluster with one conf-change entry per initial member, in term 1,
        # committed everywhere; then the members elect a leader, publish their attributes and
        # the leader sets the cluster version (a fresh 3-member cluster shows raft index 8).
        boot = [Entry(1, i + 1, ("conf", n)) for i, n in enumerate(self._members)]
        for m in self._order:
            m.append_bootstrap(boot)
            m.become_follower(1, None)
        # The cluster was started before the API server: the member whose randomized
        # timeout is the shortest wins the first election, now.
        first = min(self._order, key=lambda m: m.randomized_timeout)
        with self._instant():
            first.hup()
            self._drain()
        for m in self._order:
            self._propose(("publish", m.name))
        self._propose(("version", ETCD_VERSION.rsplit(".", 1)[0] + ".0"))
        for m in self._order:
            self._arm(m)

    # -- members -------------------------------------------------------------------------------
    def members(self) -> list[RaftMember]:
        """The members, in the order they were named (their raft state can be inspected)."""
        return list(self._order)

    def member(self, name: str) -> RaftMember:
        m = self._members.get(name)
        if m is None:
            raise MemberNotFound(f'etcd member "{name}" not found; members are: {", ".join(self._members)}')
        return m

    @property
    def leader(self) -> str | None:
        """The name of the member leading now (``None`` while there is none)."""
        m = self._live_leader()
        return m.name if m is not None else None

    @property
    def term(self) -> int:
        """The highest term a running member is in."""
        return max((m.term for m in self._order if m.up), default=0)

    def fail(self, name: str) -> EtcdCluster:
        """Stop member ``name`` (its process dies; what it persisted stays on its disk)."""
        m = self.member(name)
        if m.up:
            m.up = False
            self.loop.cancel(self._timers.pop(name, None))
            self._serving_member = None
            # Let run() go on long enough for the followers to time out and elect a leader
            # (or for a leader left alone to step down).
            self.loop.extend_horizon(self.loop.now + 2 * self.election_timeout + self.heartbeat_interval)
        return self

    def recover(self, name: str) -> EtcdCluster:
        """Restart member ``name``: it rejoins as a follower and the leader brings it up to date."""
        m = self.member(name)
        if not m.up:
            m.up = True
            m.restart()
            self._serving_member = None
            self.loop.extend_horizon(self.loop.now + 2 * self.election_timeout + self.heartbeat_interval)
        return self

    def _live_leader(self) -> RaftMember | None:
        best = None
        for m in self._order:
            if m.up and m.state == LEADER and (best is None or m.term > best.term):
                best = m
        return best

    def _serving(self) -> RaftMember:
        # Reads show the last state committed, as kube-apiserver's watch cache does: the state of
        # the member that applied the most (the leader, normally). Without a leader that may be a
        # member that is down (its state is what the cache last saw), never a stale one that
        # came back.
        m = self._serving_member
        if m is None:
            # max keeps the first of equals: the leader, then running members, in member order
            m = max(self._order, key=lambda x: (x.applied, x.up and x.state == LEADER, x.up))
            self._serving_member = m
        return m

    # -- host interface for RaftMember ---------------------------------------------------------------
    def role_changed(self, m: RaftMember) -> None:
        self._serving_member = None
        if m.state == LEADER:
            self.elections.append((self.loop.now, m.term, m.name))
        if m.up:
            self._arm(m)

    def send(self, msg) -> None:
        frm, to = self._members[msg.frm], self._members[msg.to]
        if not (frm.up and to.up):
            self._lost(msg)
            return
        if self._instant_depth:
            self._queue.append(msg)
            return
        self._in_flight[msg] = self.loop.call_at(_tidy(self.loop.now + self.latency), self._deliver, msg,
                                                 who=f"etcd/{msg.to}", what=lambda: f"receive {msg!r}")

    def apply(self, m: RaftMember, entry: Entry) -> None:
        op = entry.op
        publish = entry.index > self._published
        if publish:
            self._published = entry.index
            self._serving_member = None
        if op and op[0] in ("put", "delete", "compact"):
            store = m.store
            self._publishing = publish  # only the first member to apply an entry notifies watchers
            try:
                if op[0] == "put":
                    result = store.put(op[1], op[2], op[3])
                elif op[0] == "delete":
                    result = store.delete(op[1], op[2])
                else:
                    result = store.compact(op[1])
            except CompareFailed as e:  # the compare fails alike on every member
                result = e
            finally:
                self._publishing = False
            if publish and entry.index == self._pending:
                self._result = result
        if m.applied - m.snapshot_index >= self.snapshot_count:
            # etcd snapshots its state every --snapshot-count entries and keeps some entries
            # after it, so a follower slightly behind still catches up from the log.
            m.snapshot_index = m.applied
            m.compact_log(m.applied - self.catch_up_entries)

    def snapshot(self, m: RaftMember) -> Snapshot:
        return Snapshot(m.applied, m.term_at(m.applied), _copy_state(m.store))

    def restore(self, m: RaftMember, snap: Snapshot) -> None:
        _load_state(m.store, snap.data)
        m.snapshot_index = snap.index
        self._serving_member = None

    # -- the network and the timers ---------------------------------------------------------------
    @contextmanager
    def _instant(self):
        self._instant_depth += 1
        try:
            yield
        finally:
            self._instant_depth -= 1

    def _drain(self) -> None:
        queue, members = self._queue, self._members
        while queue:
            msg = queue.popleft()
            to = members[msg.to]
            if to.up:
                to.step(msg)

    def _deliver(self, msg) -> None:
        self._in_flight.pop(msg, None)
        to = self._members[msg.to]
        if to.up:
            to.step(msg)
        else:
            self._lost(msg)

    def _lost(self, msg) -> None:
        # rafthttp tells the sender when a peer cannot be reached
        frm = self._members[msg.frm]
        if frm.up and msg.type in (MSG_APP, MSG_SNAP):
            frm.report_unreachable(msg.to, snapshot=msg.type == MSG_SNAP)

    def _flush(self) -> None:
        # A request waits for the messages already on the wire (an election under way ends first).
        if not self._in_flight:
            return
        with self._instant():
            while self._in_flight:
                pending = list(self._in_flight.items())
                self._in_flight.clear()
                for msg, ev in pending:
                    self.loop.cancel(ev)
                    self._queue.append(msg)
                self._drain()

    def _arm(self, m: RaftMember) -> None:
        self.loop.cancel(self._timers.pop(m.name, None))
        if not m.up:
            return
        if m.state == LEADER:
            ev = self.loop.call_at(_tidy(self.loop.now + self.heartbeat_interval), self._heartbeat, m,
                                   who=f"etcd/{m.name}", what=lambda: f"heartbeat (term {m.term}, commit {m.commit})",
                                   background=True)
        else:
            ev = self.loop.call_at(_tidy(m.election_deadline()), self._election_timer, m, who=f"etcd/{m.name}",
                                   what="election timeout", background=True)
        self._timers[m.name] = ev

    def _heartbeat(self, m: RaftMember) -> None:
        self._timers.pop(m.name, None)
        if not m.up or m.state != LEADER:
            return
        with self._instant():
            m.tick_heartbeat()
            self._drain()
        if m.state == LEADER and m.name not in self._timers:
            self._arm(m)

    def _election_timer(self, m: RaftMember) -> None:
        self._timers.pop(m.name, None)
        if not m.up or m.state == LEADER:
            return
        if m.past_election_timeout():
            m.hup()
            if self._live_leader() is None and sum(1 for x in self._order if x.up) >= self.quorum:
                # an election that can succeed is under way: run() waits for its outcome
                self.loop.extend_horizon(self.loop.now + 2 * self.election_timeout)
        if m.name not in self._timers:
            self._arm(m)

    # -- writes ----------------------------------------------------------------------------------
    def _writable_leader(self) -> RaftMember:
        live = [m for m in self._order if m.up]
        if not live:
            raise NoMemberReachable("context deadline exceeded")
        leader = self._live_leader()
        if len(live) < self.quorum:
            # etcdserver.parseProposeCtxErr: a leader that lost its followers has not stepped down yet
            raise RequestTimedOut(ERR_TIMEOUT_DUE_TO_CONNECTION_LOST if leader is not None else ERR_TIMEOUT)
        if leader is None:
            raise RequestTimedOut(ERR_TIMEOUT_DUE_TO_LEADER_FAIL)
        last = leader.last_index()
        if any(m.term != leader.term or leader.progress[m.name] != REPLICATE
               or leader.match[m.name] != last for m in live if m is not leader):
            # A follower just back (or not yet caught up): the request waits for the next
            # heartbeat, which brings it up to date (or shows the leader a newer term).
            with self._instant():
                leader.bcast_heartbeat()
                self._drain()
            if leader.state != LEADER:
                raise RequestTimedOut(ERR_TIMEOUT_DUE_TO_LEADER_FAIL)
        return leader

    def _propose(self, op: tuple):
        self._flush()
        leader = self._writable_leader()
        self._result = None
        with self._instant():
            self._pending = leader.last_index() + 1
            try:
                index = leader.propose(op)
                self._drain()
            finally:
                self._pending = None
        result, self._result = self._result, None
        if leader.commit < index:  # not reachable while a quorum is up; kept as etcd's answer
            raise RequestTimedOut(ERR_TIMEOUT_DUE_TO_LEADER_FAIL)
        if isinstance(result, CompareFailed):
            raise result
        return result

    def put(self, key: str, value: dict, expect_mod_revision: int | None = None) -> KeyValue:
        """Store ``value`` at ``key`` once a quorum has committed it (see :meth:`Etcd.put`).

        Raises :class:`RequestTimedOut` without a leader or a quorum, ``CompareFailed`` when
        the key is not at ``expect_mod_revision``.
        """
        return self._propose(("put", key, value, expect_mod_revision))

    def delete(self, key: str, expect_mod_revision: int | None = None) -> KeyValue | None:
        """Delete ``key`` once a quorum has committed it (see :meth:`Etcd.delete`)."""
        return self._propose(("delete", key, expect_mod_revision))

    def compact(self, revision: int) -> int:
        """Forget history older than ``revision`` on every member (a raft entry, like any write)."""
        return self._propose(("compact", revision))

    def read_index(self) -> int:
        """Confirm the leader with a quorum (etcd's ReadIndex, the first step of a linearizable read).

        Returns the commit index a linearizable read would wait for; raises
        :class:`RequestTimedOut` when there is no leader or no quorum. The plain reads of this
        class are serializable: they serve the last applied state even then.
        """
        self._flush()
        return self._writable_leader().commit

    # -- reads (the last applied state) ---------------------------------------------------------------
    @property
    def revision(self) -> int:
        return self._serving().store.revision

    @property
    def compact_revision(self) -> int:
        return self._serving().store.compact_revision

    @property
    def writes(self) -> int:
        return self._serving().store.writes

    @property
    def keep_history(self) -> bool:
        return self._serving().store.keep_history

    def get(self, key: str) -> KeyValue | None:
        return self._serving().store.get(key)

    def range(self, prefix: str) -> list[KeyValue]:
        return self._serving().store.range(prefix)

    def count(self, prefix: str) -> int:
        return self._serving().store.count(prefix)

    def keys(self, prefix: str = "/") -> list[str]:
        return self._serving().store.keys(prefix)

    def history(self, key: str) -> list[tuple[int, str, KeyValue]]:
        return self._serving().store.history(key)

    def changes_since(self, prefix: str, revision: int) -> list[WatchEvent]:
        return self._serving().store.changes_since(prefix, revision)

    def dump(self, key: str) -> str:
        return self._serving().store.dump(key)

    def changed_in_place(self) -> list[str]:
        return self._serving().store.changed_in_place()

    def __len__(self) -> int:
        return len(self._serving().store)

    # -- watch ------------------------------------------------------------------------------------
    def watch(self, prefix: str, callback: Callable[[WatchEvent], None],
              from_revision: int | None = None) -> Callable[[], None]:
        """Call ``callback`` with each committed change under ``prefix`` (see :meth:`Etcd.watch`)."""
        if from_revision is not None:
            for ev in self.changes_since(prefix, from_revision):
                callback(ev)
        entry = (prefix, callback)
        group = _bucket(prefix) if prefix.count("/") >= 3 else ""
        self._watchers.setdefault(group, []).append(entry)

        def cancel() -> None:
            entries = self._watchers.get(group, [])
            if entry in entries:
                entries.remove(entry)

        return cancel

    def _member_event(self, ev: WatchEvent) -> None:
        if not self._publishing:
            return
        key = ev.kv.key
        for group in (_bucket(key), ""):
            entries = self._watchers.get(group)
            if entries:
                for prefix, cb in entries:
                    if key.startswith(prefix):
                        cb(ev)

    # -- etcdctl views ---------------------------------------------------------------------------
    def status(self) -> EtcdctlOutput:
        """``etcdctl endpoint status --cluster -w table``: one row per running member.

        A member that is down does not answer: etcdctl reports it on stderr and exits 1.
        """
        rows, errs = [], []
        for m in self._order:
            if not m.up:
                errs.append(f"Failed to get the status of endpoint {m.endpoint} (context deadline exceeded)\n")
                continue
            rows.append([m.endpoint, f"{m.id:x}", ETCD_VERSION, humanize_bytes(self._db_size(m)),
                         "true" if m.lead == m.name else "false", "false", str(m.term), str(m.commit),
                         str(m.applied), ERR_NO_LEADER if m.lead is None else ""])
        header = ["ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER", "RAFT TERM", "RAFT INDEX",
                  "RAFT APPLIED INDEX", "ERRORS"]
        return EtcdctlOutput(render_table(header, rows), "".join(errs), 1 if errs else 0)

    def member_list(self) -> EtcdctlOutput:
        """``etcdctl member list -w table``: the membership, as any running member knows it."""
        if not any(m.up for m in self._order):
            return EtcdctlOutput("", "Error: context deadline exceeded\n", 1)
        rows = [[f"{m.id:x}", "started", m.name, m.peer_url, m.endpoint, "false"] for m in self._order]
        return EtcdctlOutput(render_table(["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"], rows))

    def log_table(self, name: str, start: int | None = None) -> str:
        """A member's raft log as a small table: index, term, operation; ``*`` marks the committed part."""
        m = self.member(name)
        lines = [f"{'INDEX':>6}  {'TERM':>4}  OPERATION"]
        for e in m.log(start):
            mark = "*" if e.index <= m.commit else " "
            lines.append(f"{e.index:>6}{mark} {e.term:>4}  {describe_op(e.op)}")
        return "\n".join(lines)

    def _db_size(self, m: RaftMember) -> int:
        # bbolt's file only grows (until a defrag): the high-water mark of what it held
        sizes = self._version_sizes
        total = 0
        store = m.store
        for key, hist in store._history.items() if store.keep_history else ():
            for rev, _etype, kv in hist:
                size = sizes.get((key, rev))
                if size is None:
                    size = sizes[(key, rev)] = len(key) + 32 + len(
                        json.dumps(kv.value, separators=(",", ":"), default=str))
                total += size
        if not store.keep_history:
            total = sum(len(kv.key) + 32 + len(json.dumps(kv.value, separators=(",", ":"), default=str))
                        for kv in store.range("/"))
        size = _EMPTY_DB_BYTES + -(-total // _PAGE) * _PAGE
        m.db_size = max(m.db_size, size)
        return m.db_size

    def __repr__(self) -> str:
        leader = self.leader
        return (f"EtcdCluster({len(self._order)} members, leader={leader or 'none'}, term={self.term}, "
                f"revision={self.revision})")


def _tidy(t: float) -> float:
    # Repeated 0.1 s steps would drift (18.099999999999962): keep timer instants on the microsecond.
    return round(t, 6)


def _copy_state(store: Etcd) -> tuple:
    # What etcd ships in a MsgSnap: the whole key space with its kept history (bbolt's file).
    fingerprints = store._fingerprints
    return ({b: dict(items) for b, items in store._buckets.items()},
            {k: list(h) for k, h in store._history.items()},
            store.revision, store.compact_revision, store.writes,
            dict(fingerprints) if fingerprints is not None else None)


def _load_state(store: Etcd, data: tuple) -> None:
    buckets, history, revision, compact_revision, writes, fingerprints = data
    store._buckets = {b: dict(items) for b, items in buckets.items()}
    store._history = {k: list(h) for k, h in history.items()}
    store.revision = revision
    store.compact_revision = compact_revision
    store.writes = writes
    if store._fingerprints is not None:
        store._fingerprints = dict(fingerprints) if fingerprints is not None else {}


__all__ = [
    "ERR_NO_LEADER", "ERR_TIMEOUT", "ERR_TIMEOUT_DUE_TO_CONNECTION_LOST", "ERR_TIMEOUT_DUE_TO_LEADER_FAIL",
    "ETCD_VERSION", "EtcdCluster", "EtcdctlOutput", "MemberNotFound", "NoMemberReachable", "RequestTimedOut",
    "humanize_bytes",
    "member_id", "render_table",
]
