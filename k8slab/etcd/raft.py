"""Raft as etcd runs it: terms, leader election, log replication, commit by quorum.

A :class:`RaftMember` is the consensus state of one etcd member. It follows the library etcd
itself uses, ``go.etcd.io/raft/v3`` (``raft.go``: ``Step``, ``stepLeader``, ``stepCandidate``,
``stepFollower``, ``handleAppendEntries``; ``log.go``: ``maybeAppend``, ``findConflict``;
``tracker/progress.go``: probe / replicate / snapshot), with etcd's settings: PreVote and
CheckQuorum on, heartbeat every 100 ms, election timeout 1000 ms randomized per term to
[1.0 s, 2.0 s) in 100 ms ticks.

Every member keeps a *term*, a *role*, a *log* of :class:`Entry` (term, index, operation) and
a *commit index*. The leader appends a proposal to its log, sends it to the followers
(``MsgApp``, checked against the entry before it), and commits it once a quorum holds it;
committed entries are applied, in order, to the member's own state machine by its host (the
:class:`~k8slab.etcd.cluster.EtcdCluster`). When followers stop hearing heartbeats they run a
pre-vote, then a vote in term + 1; a member only votes for a candidate whose log is at least
as up to date as its own, so a new leader always holds every committed entry.

Messages travel through the host (``host.send``); what this module decides is only what a
member does with a message, exactly as a Raft state machine does.

Simplifications:
- Time is the virtual clock in seconds, not ticks: a follower times out when
  ``now - last reset >= randomized timeout``.
- An ``MsgApp`` carries every entry from the follower's next index (no size limit or
  in-flight window); a follower that cannot be reached is probed once until it answers.
- Membership is fixed at bootstrap (no member add / remove, learners, leader transfer).

Example
-------
>>> m = RaftMember("etcd-0", {"etcd-0": 1}, host=None, clock=lambda: 0.0)
>>> m.append_bootstrap([Entry(1, 1, ("conf", "etcd-0"))])
>>> (m.term, m.last_index(), m.commit)
(1, 1, 1)
"""

from __future__ import annotations

import json
import random
from collections import deque
from typing import NamedTuple

from k8slab.sim.loop import timestamp_micro

FOLLOWER = "follower"
PRE_CANDIDATE = "pre-candidate"
CANDIDATE = "candidate"
LEADER = "leader"

MSG_APP = "MsgApp"
MSG_APP_RESP = "MsgAppResp"
MSG_HEARTBEAT = "MsgHeartbeat"
MSG_HEARTBEAT_RESP = "MsgHeartbeatResp"
MSG_SNAP = "MsgSnap"
MSG_VOTE = "MsgVote"
MSG_VOTE_RESP = "MsgVoteResp"
MSG_PRE_VOTE = "MsgPreVote"
MSG_PRE_VOTE_RESP = "MsgPreVoteResp"

_RESPONSE = {MSG_VOTE: MSG_VOTE_RESP, MSG_PRE_VOTE: MSG_PRE_VOTE_RESP}

# progress of a follower, as the leader tracks it (tracker/state.go)
PROBE = "StateProbe"
REPLICATE = "StateReplicate"
SNAPSHOT = "StateSnapshot"

#: Float slack when comparing virtual times built from repeated 0.1 s steps.
_EPS = 1e-9


def describe_op(op: tuple) -> str:
    """One line for a log entry's operation.

    >>> describe_op(("put", "/registry/pods/default/web", {}, 0))
    'put /registry/pods/default/web'
    >>> describe_op(())
    'empty'
    """
    if not op:
        return "empty"  # the entry a new leader appends to commit its term
    kind = op[0]
    if kind == "put":
        return f"put {op[1]}"
    if kind == "delete":
        return f"delete {op[1]}"
    if kind == "compact":
        return f"compact revision {op[1]}"
    if kind == "conf":
        return f"conf change: add member {op[1]}"
    if kind == "publish":
        return f"publish attributes of {op[1]}"
    if kind == "version":
        return f"set cluster version {op[1]}"
    return kind


class Entry(NamedTuple):
    """One log entry. Entries are immutable and shared between the members' logs."""

    term: int
    index: int
    op: tuple = ()

    def __repr__(self) -> str:
        return f"Entry(term={self.term}, index={self.index}, {describe_op(self.op)})"


class Snapshot(NamedTuple):
    """A state-machine snapshot: everything applied up to ``index`` (whose term is ``term``)."""

    index: int
    term: int
    data: object


class Message:
    """A Raft message between two members (the fields of raftpb.Message that matter here).

    ``index`` / ``log_term`` are the candidate's last entry for votes, the entry before
    ``entries`` for ``MsgApp``, and the acknowledged (or rejected) index for ``MsgAppResp``.
    """

    __slots__ = ("type", "frm", "to", "term", "log_term", "index", "entries", "commit", "reject",
                 "hint", "snapshot")

    def __init__(self, type, frm, to, term, *, log_term=0, index=0, entries=(), commit=0,
                 reject=False, hint=0, snapshot=None):
        self.type = type
        self.frm = frm
        self.to = to
        self.term = term
        self.log_term = log_term
        self.index = index
        self.entries = entries
        self.commit = commit
        self.reject = reject
        self.hint = hint
        self.snapshot = snapshot

    def __repr__(self) -> str:
        t = self.type
        if t in (MSG_VOTE, MSG_PRE_VOTE):
            detail = f"last log term {self.log_term}, index {self.index}"
        elif t in (MSG_VOTE_RESP, MSG_PRE_VOTE_RESP):
            detail = "rejected" if self.reject else "granted"
        elif t == MSG_APP:
            n = len(self.entries)
            span = f"entries {self.entries[0].index}..{self.entries[-1].index}" if n else "no entries"
            detail = f"prev {self.index} (term {self.log_term}), {span}, commit {self.commit}"
        elif t == MSG_APP_RESP:
            detail = f"reject {self.index}, hint {self.hint}" if self.reject else f"index {self.index}"
        elif t == MSG_HEARTBEAT:
            detail = f"commit {self.commit}"
        elif t == MSG_SNAP:
            detail = f"snapshot index {self.snapshot.index}, term {self.snapshot.term}"
        else:
            detail = ""
        return f"{t} {self.frm} → {self.to} term {self.term}" + (f" ({detail})" if detail else "")


class RaftMember:
    """The Raft state of one member (see module docstring).

    Parameters
    ----------
    name : str
        The member's name (``etcd-0``).
    ids : dict
        Every member's name → its numeric member ID (the hex in etcd's logs), this one included.
    host : object
        Carries messages and applies entries: ``send(msg)``, ``apply(member, entry)``,
        ``snapshot(member) -> Snapshot``, ``restore(member, snapshot)``, ``role_changed(member)``.
    clock : callable
        Returns the virtual time.
    rng : random.Random
        The member's stream for randomized election timeouts.
    """

    def __init__(self, name: str, ids: dict[str, int], host, clock, rng: random.Random | None = None, *,
                 heartbeat_interval: float = 0.1, election_ticks: int = 10):
        self.name = name
        self.id = ids[name]
        self.ids = ids
        self.peers = tuple(n for n in ids if n != name)
        self.quorum = len(ids) // 2 + 1
        self.host = host
        self.clock = clock
        self.rng = rng or random.Random(0)
        self.heartbeat_interval = heartbeat_interval
        self.election_ticks = election_ticks
        self.election_timeout = heartbeat_interval * election_ticks
        self.up = True
        # persistent state (etcd's HardState and WAL): survives a crash
        self.term = 0
        self.vote: str | None = None
        self.entries: list[Entry] = []
        self.offset = 0  # index of the last entry compacted away (0: none)
        self.offset_term = 0
        self.commit = 0
        self.applied = 0  # etcd keeps it in its backend (the consistent index)
        # volatile state
        self.state = FOLLOWER
        self.lead: str | None = None
        self.votes: dict[str, bool] = {}
        self.elapsed_since = 0.0  # when electionElapsed was last set to 0
        self.randomized_timeout = self.election_timeout
        self.heartbeat_ticks = 0  # the leader's ticks since its last CheckQuorum
        self.match: dict[str, int] = {}
        self.next: dict[str, int] = {}
        self.progress: dict[str, str] = {}
        self.probe_sent: dict[str, bool] = {}
        self.pending_snapshot: dict[str, int] = {}
        self.recent_active: dict[str, bool] = {}
        self.logs: deque[tuple[float, str, str]] = deque(maxlen=2000)
        # what the host keeps for the member: its state machine, URLs, its last snapshot
        self.store = None
        self.endpoint = ""
        self.peer_url = ""
        self.snapshot_index = 0
        self.db_size = 0
        self._reset_randomized_timeout()

    # -- the log ---------------------------------------------------------------------------
    def last_index(self) -> int:
        return self.offset + len(self.entries)

    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.offset_term

    def first_index(self) -> int:
        return self.offset + 1

    def term_at(self, index: int) -> int | None:
        """The term of the entry at ``index``; ``None`` when compacted away or not there yet."""
        if index == self.offset:
            return self.offset_term
        if index < self.offset or index > self.last_index():
            return None
        return self.entries[index - self.offset - 1].term

    def entry(self, index: int) -> Entry:
        return self.entries[index - self.offset - 1]

    def log(self, start: int | None = None) -> list[Entry]:
        """The entries still kept (from ``start``), oldest first."""
        if start is None or start <= self.offset:
            return list(self.entries)
        return self.entries[start - self.offset - 1:]

    def match_term(self, index: int, term: int) -> bool:
        t = self.term_at(index)
        return t is not None and t == term

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Whether a candidate's log (its last entry) is at least as up to date as ours (§5.4.1)."""
        mine = self.last_term()
        return last_term > mine or (last_term == mine and last_index >= self.last_index())

    def append_bootstrap(self, entries: list[Entry]) -> None:
        """The entries every member starts with (the initial members' conf changes), committed."""
        self.entries.extend(entries)
        self.term = max(self.term, entries[-1].term)
        self.commit_to(self.last_index())

    def compact_log(self, index: int) -> None:
        """Drop the entries up to ``index`` (they are in the state machine's snapshot)."""
        if index <= self.offset:
            return
        index = min(index, self.applied)
        self.offset_term = self.term_at(index)
        del self.entries[: index - self.offset]
        self.offset = index

    def _find_conflict(self, entries) -> int:
        # the first new entry whose index is missing here or holds another term
        for e in entries:
            if not self.match_term(e.index, e.term):
                if e.index <= self.last_index():
                    self._log("info", f"found conflict at index {e.index} [existing term: "
                                      f"{self.term_at(e.index)}, conflicting term: {e.term}]")
                return e.index
        return 0

    def _find_conflict_by_term(self, index: int, term: int) -> int:
        # the largest index <= index whose term is <= term: where a rejected leader should probe
        while index > 0:
            t = self.term_at(index)
            if t is None or t <= term:
                return index
            index -= 1
        return 0

    def commit_to(self, index: int) -> None:
        if index > self.commit:
            self.commit = index
            self._apply_committed()

    def _apply_committed(self) -> None:
        host = self.host
        while self.applied < self.commit:
            self.applied += 1
            if host is not None:
                host.apply(self, self.entry(self.applied))

    # -- roles -------------------------------------------------------------------------------
    def _reset_randomized_timeout(self) -> None:
        # etcd: electionTimeout + rand(electionTimeout) ticks
        ticks = self.election_ticks + self.rng.randrange(self.election_ticks)
        self.randomized_timeout = round(ticks * self.heartbeat_interval, 9)

    def _reset(self, term: int) -> None:
        if term != self.term:
            self.term = term
            self.vote = None
        self.lead = None
        self.elapsed_since = self.clock()
        self.heartbeat_ticks = 0
        self._reset_randomized_timeout()
        self.votes = {}
        last = self.last_index()
        for p in self.peers:
            self.match[p] = 0
            self.next[p] = last + 1
            self.progress[p] = PROBE
            self.probe_sent[p] = False
            self.pending_snapshot[p] = 0
            self.recent_active[p] = False

    def become_follower(self, term: int, lead: str | None) -> None:
        old = (self.state, self.lead)
        self._reset(term)
        self.lead = lead
        self.state = FOLLOWER
        self._log("info", f"{self.id:x} became follower at term {self.term}")
        self._changed(old)

    def restart(self) -> None:
        """Come back after a crash: a follower again, with the term, vote and log it had persisted."""
        self._log("info", f"newRaft {self.id:x} [peers: [{','.join(f'{i:x}' for i in self.ids.values())}], "
                          f"term: {self.term}, commit: {self.commit}, applied: {self.applied}, "
                          f"lastindex: {self.last_index()}, lastterm: {self.last_term()}]")
        self.lead = None
        self._reset(self.term)
        self.state = FOLLOWER
        self._log("info", f"{self.id:x} became follower at term {self.term}")
        if self.host is not None:
            self.host.role_changed(self)

    def _become_pre_candidate(self) -> None:
        # PreVote changes neither the term nor the vote: a member that cannot win never
        # raises its term, so it cannot disrupt a healthy leader when it returns.
        old = (self.state, self.lead)
        self.votes = {}
        self.lead = None
        self.state = PRE_CANDIDATE
        self._log("info", f"{self.id:x} became pre-candidate at term {self.term}")
        self._changed(old)

    def _become_candidate(self) -> None:
        old = (self.state, self.lead)
        self._reset(self.term + 1)
        self.vote = self.name
        self.state = CANDIDATE
        self._log("info", f"{self.id:x} became candidate at term {self.term}")
        self._changed(old)

    def _become_leader(self) -> None:
        old = (self.state, self.lead)
        self._reset(self.term)
        self.lead = self.name
        self.state = LEADER
        for p in self.peers:
            self.recent_active[p] = False
        self._log("info", f"{self.id:x} became leader at term {self.term}")
        # An entry of its own term: committing it commits everything before it (§5.4.2).
        self.entries.append(Entry(self.term, self.last_index() + 1))
        self._changed(old)
        self._maybe_commit()  # at once when the leader alone is a quorum

    def _changed(self, old: tuple) -> None:
        if old[1] != self.lead:
            if self.lead is not None:
                self._log("info", f"raft.node: {self.id:x} elected leader {self.ids[self.lead]:x} at term {self.term}")
            elif old[1] is not None:
                self._log("info", f"raft.node: {self.id:x} lost leader {self.ids[old[1]]:x} at term {self.term}")
        if self.host is not None and old[0] != self.state:
            self.host.role_changed(self)

    # -- timers (driven by the host) ---------------------------------------------------------
    def past_election_timeout(self) -> bool:
        return self.clock() - self.elapsed_since >= self.randomized_timeout - _EPS

    def election_deadline(self) -> float:
        return self.elapsed_since + self.randomized_timeout

    def in_lease(self) -> bool:
        """CheckQuorum's lease: a member that heard from its leader within the election timeout
        ignores vote requests, so a returning member cannot depose a working leader."""
        if self.state == LEADER:
            return True  # a leader restarts its election count every timeout: always in lease
        return self.lead is not None and self.clock() - self.elapsed_since < self.election_timeout - _EPS

    def hup(self) -> None:
        """The election timeout passed: start a (pre-)election."""
        if self.state == LEADER:
            return
        self.elapsed_since = self.clock()
        self._log("info", f"{self.id:x} is starting a new election at term {self.term}")
        self._campaign(pre=True)

    def tick_heartbeat(self) -> None:
        """The leader's heartbeat tick: CheckQuorum every election timeout, heartbeats every tick."""
        if self.state != LEADER:
            return
        self.heartbeat_ticks += 1
        if self.heartbeat_ticks >= self.election_ticks:
            self.heartbeat_ticks = 0
            active = 1 + sum(1 for p in self.peers if self.recent_active[p])
            for p in self.peers:
                self.recent_active[p] = False
            if active < self.quorum:
                self._log("warn", f"{self.id:x} stepped down to follower since quorum is not active")
                self.become_follower(self.term, None)
                return
        self.bcast_heartbeat()

    def bcast_heartbeat(self) -> None:
        for p in self.peers:
            # never more commit than the follower is known to hold
            self._send(Message(MSG_HEARTBEAT, self.name, p, self.term, commit=min(self.match[p], self.commit)))

    # -- elections -----------------------------------------------------------------------------
    def _campaign(self, pre: bool) -> None:
        if pre:
            self._become_pre_candidate()
            vote_type, term = MSG_PRE_VOTE, self.term + 1
        else:
            self._become_candidate()
            vote_type, term = MSG_VOTE, self.term
        if self._poll(self.name, _RESPONSE[vote_type], True) == "won":
            # a single-member cluster wins at once
            if pre:
                self._campaign(pre=False)
            else:
                self._become_leader()
            return
        last_index, last_term = self.last_index(), self.last_term()
        for p in self.peers:
            self._log("info", f"{self.id:x} [logterm: {last_term}, index: {last_index}] sent {vote_type} "
                              f"request to {self.ids[p]:x} at term {self.term}")
            self._send(Message(vote_type, self.name, p, term, log_term=last_term, index=last_index))

    def _poll(self, frm: str, resp_type: str, granted: bool) -> str:
        if granted:
            self._log("info", f"{self.id:x} received {resp_type} from {self.ids[frm]:x} at term {self.term}")
        else:
            self._log("info", f"{self.id:x} received {resp_type} rejection from {self.ids[frm]:x} at term {self.term}")
        self.votes.setdefault(frm, granted)
        yes = sum(1 for v in self.votes.values() if v)
        no = len(self.votes) - yes
        if frm != self.name:
            self._log("info", f"{self.id:x} has received {yes} {resp_type} votes and {no} vote rejections")
        if yes >= self.quorum:
            return "won"
        if no > len(self.ids) - self.quorum:
            return "lost"
        return "pending"

    # -- messages ------------------------------------------------------------------------------
    def _send(self, m: Message) -> None:
        self.host.send(m)

    def step(self, m: Message) -> None:
        """Handle one message (raft.Step)."""
        if m.term > self.term:
            if m.type in (MSG_VOTE, MSG_PRE_VOTE) and self.in_lease():
                left = max(0, round((self.election_timeout - (self.clock() - self.elapsed_since))
                                    / self.heartbeat_interval))
                self._log("info", f"{self.id:x} [logterm: {self.last_term()}, index: {self.last_index()}, "
                                  f"vote: {self._vote_id()}] ignored {m.type} from {self.ids[m.frm]:x} "
                                  f"[logterm: {m.log_term}, index: {m.index}] at term {self.term}: "
                                  f"lease is not expired (remaining ticks: {left})")
                return
            if m.type == MSG_PRE_VOTE or (m.type == MSG_PRE_VOTE_RESP and not m.reject):
                # a pre-vote is asked (and granted) in the candidate's future term: no term change
                pass
            else:
                self._log("info", f"{self.id:x} [term: {self.term}] received a {m.type} message with higher "
                                  f"term from {self.ids[m.frm]:x} [term: {m.term}]")
                if m.type in (MSG_APP, MSG_HEARTBEAT, MSG_SNAP):
                    self.become_follower(m.term, m.frm)
                else:
                    self.become_follower(m.term, None)
        elif m.term < self.term:
            if m.type in (MSG_APP, MSG_HEARTBEAT):
                # tell a stale leader about the newer term, so it steps down
                self._send(Message(MSG_APP_RESP, self.name, m.frm, self.term))
            elif m.type == MSG_PRE_VOTE:
                self._log("info", f"{self.id:x} [logterm: {self.last_term()}, index: {self.last_index()}, "
                                  f"vote: {self._vote_id()}] rejected {m.type} from {self.ids[m.frm]:x} "
                                  f"[logterm: {m.log_term}, index: {m.index}] at term {self.term}")
                self._send(Message(MSG_PRE_VOTE_RESP, self.name, m.frm, self.term, reject=True))
            return

        if m.type in (MSG_VOTE, MSG_PRE_VOTE):
            self._handle_vote(m)
        elif self.state == LEADER:
            self._step_leader(m)
        elif self.state in (CANDIDATE, PRE_CANDIDATE):
            self._step_candidate(m)
        else:
            self._step_follower(m)

    def _vote_id(self) -> str:
        return f"{self.ids[self.vote]:x}" if self.vote else "0"

    def _handle_vote(self, m: Message) -> None:
        can_vote = (self.vote == m.frm or (self.vote is None and self.lead is None)
                    or (m.type == MSG_PRE_VOTE and m.term > self.term))
        head = (f"{self.id:x} [logterm: {self.last_term()}, index: {self.last_index()}, vote: {self._vote_id()}]")
        them = f"{self.ids[m.frm]:x} [logterm: {m.log_term}, index: {m.index}] at term {self.term}"
        if can_vote and self.is_up_to_date(m.index, m.log_term):
            self._log("info", f"{head} cast {m.type} for {them}")
            self._send(Message(_RESPONSE[m.type], self.name, m.frm, m.term))
            if m.type == MSG_VOTE:
                self.elapsed_since = self.clock()
                self.vote = m.frm
        else:
            self._log("info", f"{head} rejected {m.type} from {them}")
            self._send(Message(_RESPONSE[m.type], self.name, m.frm, self.term, reject=True))

    def _step_candidate(self, m: Message) -> None:
        mine = MSG_PRE_VOTE_RESP if self.state == PRE_CANDIDATE else MSG_VOTE_RESP
        if m.type == MSG_APP:
            self.become_follower(m.term, m.frm)
            self._handle_append(m)
        elif m.type == MSG_HEARTBEAT:
            self.become_follower(m.term, m.frm)
            self._handle_heartbeat(m)
        elif m.type == MSG_SNAP:
            self.become_follower(m.term, m.frm)
            self._handle_snapshot(m)
        elif m.type == mine:
            result = self._poll(m.frm, m.type, not m.reject)
            if result == "won":
                if self.state == PRE_CANDIDATE:
                    self._campaign(pre=False)
                else:
                    self._become_leader()
                    self.bcast_append()
            elif result == "lost":
                self.become_follower(self.term, None)

    def _step_follower(self, m: Message) -> None:
        if m.type in (MSG_APP, MSG_HEARTBEAT, MSG_SNAP):
            self.elapsed_since = self.clock()
            if self.lead != m.frm:
                old = (self.state, self.lead)
                self.lead = m.frm
                self._changed(old)
            if m.type == MSG_APP:
                self._handle_append(m)
            elif m.type == MSG_HEARTBEAT:
                self._handle_heartbeat(m)
            else:
                self._handle_snapshot(m)

    def _handle_append(self, m: Message) -> None:
        if m.index < self.commit:
            self._send(Message(MSG_APP_RESP, self.name, m.frm, self.term, index=self.commit))
            return
        entries = m.entries
        if m.index == self.last_index() and m.log_term == self.last_term():
            # the usual case: the entries go right after our last one, nothing can conflict
            self.entries.extend(entries)
            last_new = m.index + len(entries)
            self.commit_to(min(m.commit, last_new))
            self._send(Message(MSG_APP_RESP, self.name, m.frm, self.term, index=last_new))
            return
        if self.match_term(m.index, m.log_term):
            last_new = m.index + len(m.entries)
            ci = self._find_conflict(m.entries)
            if ci:
                if ci <= self.commit:  # Raft's log matching property makes this impossible
                    raise AssertionError(f"{self.name}: entry {ci} conflicts with committed entry {self.commit}")
                # drop our uncommitted tail from the conflict on, take the leader's entries
                del self.entries[ci - self.offset - 1:]
                self.entries.extend(m.entries[ci - m.index - 1:])
            self.commit_to(min(m.commit, last_new))
            self._send(Message(MSG_APP_RESP, self.name, m.frm, self.term, index=last_new))
            return
        hint = self._find_conflict_by_term(min(m.index, self.last_index()), m.log_term)
        self._log("info", f"{self.id:x} [logterm: {self.term_at(m.index) or 0}, index: {m.index}] rejected "
                          f"MsgApp [logterm: {m.log_term}, index: {m.index}] from {self.ids[m.frm]:x}")
        self._send(Message(MSG_APP_RESP, self.name, m.frm, self.term, index=m.index, reject=True,
                           hint=hint, log_term=self.term_at(hint) or 0))

    def _handle_heartbeat(self, m: Message) -> None:
        self.commit_to(m.commit)
        self._send(Message(MSG_HEARTBEAT_RESP, self.name, m.frm, self.term))

    def _handle_snapshot(self, m: Message) -> None:
        snap = m.snapshot
        if snap.index <= self.commit or self.match_term(snap.index, snap.term):
            self._log("info", f"{self.id:x} [commit: {self.commit}] ignored snapshot [index: {snap.index}, "
                              f"term: {snap.term}]")
            self.commit_to(min(snap.index, self.last_index()))
            self._send(Message(MSG_APP_RESP, self.name, m.frm, self.term, index=self.commit))
            return
        self._log("info", f"{self.id:x} [commit: {self.commit}] restored snapshot [index: {snap.index}, "
                          f"term: {snap.term}]")
        self.entries = []
        self.offset, self.offset_term = snap.index, snap.term
        self.commit = self.applied = snap.index
        self.host.restore(self, snap)
        self._send(Message(MSG_APP_RESP, self.name, m.frm, self.term, index=self.last_index()))

    # -- the leader ------------------------------------------------------------------------------
    def propose(self, op: tuple) -> int:
        """Append ``op`` to the leader's log and send it out; returns its index."""
        if self.state != LEADER:
            raise RuntimeError(f"{self.name} is not the leader")
        index = self.last_index() + 1
        self.entries.append(Entry(self.term, index, op))
        self._maybe_commit()
        self.bcast_append()
        return index

    def bcast_append(self) -> None:
        for p in self.peers:
            self.send_append(p)

    def send_append(self, to: str) -> None:
        state = self.progress[to]
        if state == SNAPSHOT or (state == PROBE and self.probe_sent[to]):
            return  # paused until the follower answers
        prev = self.next[to] - 1
        prev_term = self.term_at(prev)
        if prev_term is None:
            self._send_snapshot(to)
            return
        entries = tuple(self.entries[prev - self.offset:])
        if state == REPLICATE:
            if entries:
                self.next[to] = entries[-1].index + 1  # optimistic: the next message carries what follows
        else:
            self.probe_sent[to] = True
        self._send(Message(MSG_APP, self.name, to, self.term, log_term=prev_term, index=prev, entries=entries,
                           commit=self.commit))

    def _send_snapshot(self, to: str) -> None:
        snap = self.host.snapshot(self)
        self._log("info", f"{self.id:x} [firstindex: {self.first_index()}, commit: {self.commit}] sent snapshot"
                          f"[index: {snap.index}, term: {snap.term}] to {self.ids[to]:x}")
        self.progress[to] = SNAPSHOT
        self.pending_snapshot[to] = snap.index
        self._send(Message(MSG_SNAP, self.name, to, self.term, snapshot=snap))

    def report_unreachable(self, to: str, snapshot: bool = False) -> None:
        """The transport could not deliver a message to ``to`` (etcd's ReportUnreachable, and
        ReportSnapshot with a failure for a lost ``MsgSnap``)."""
        if self.state != LEADER:
            return
        state = self.progress.get(to)
        if state == REPLICATE:
            self._become_probe(to)
        elif snapshot and state == SNAPSHOT:
            self.pending_snapshot[to] = 0
            self._become_probe(to)
            self.probe_sent[to] = True  # try again after the next heartbeat answer

    def _become_probe(self, to: str) -> None:
        if self.progress[to] == SNAPSHOT:
            self.next[to] = max(self.match[to] + 1, self.pending_snapshot[to] + 1)
        else:
            self.next[to] = self.match[to] + 1
        self.progress[to] = PROBE
        self.probe_sent[to] = False
        self.pending_snapshot[to] = 0

    def _maybe_commit(self) -> bool:
        indexes = sorted([self.last_index(), *(self.match[p] for p in self.peers)], reverse=True)
        index = indexes[self.quorum - 1]
        # only an entry of the current term is committed by counting replicas (§5.4.2)
        if index > self.commit and self.term_at(index) == self.term:
            self.commit_to(index)
            return True
        return False

    def _step_leader(self, m: Message) -> None:
        frm = m.frm
        if m.type == MSG_HEARTBEAT_RESP:
            self.recent_active[frm] = True
            self.probe_sent[frm] = False
            if self.match[frm] < self.last_index():
                self.send_append(frm)
        elif m.type == MSG_APP_RESP:
            self.recent_active[frm] = True
            if m.reject:
                self._log("debug", f"{self.id:x} received MsgAppResp(rejected, hint: (index {m.hint}, term "
                                   f"{m.log_term})) from {self.ids[frm]:x} for index {m.index}")
                probe = m.hint
                if m.log_term > 0:
                    probe = self._find_conflict_by_term(m.hint, m.log_term)
                if self._maybe_decr_to(frm, m.index, probe):
                    if self.progress[frm] == REPLICATE:
                        self._become_probe(frm)
                    self.send_append(frm)
                return
            if m.index > self.match[frm]:
                self.match[frm] = m.index
                self.next[frm] = max(self.next[frm], m.index + 1)
                state = self.progress[frm]
                if state == PROBE or (state == SNAPSHOT and self.match[frm] >= self.pending_snapshot[frm]):
                    self._become_probe(frm)
                    self.progress[frm] = REPLICATE
                    self.next[frm] = self.match[frm] + 1
                if self._maybe_commit():
                    # tell the followers at once, so they apply it too (etcd's bcastAppend)
                    self.bcast_append()
                elif self.next[frm] <= self.last_index():
                    self.send_append(frm)

    def _maybe_decr_to(self, to: str, rejected: int, match_hint: int) -> bool:
        # progress.MaybeDecrTo: ignore answers to messages older than the last probe
        if self.progress[to] == REPLICATE:
            if rejected <= self.match[to]:
                return False
            self.next[to] = self.match[to] + 1
            return True
        if self.next[to] - 1 != rejected:
            return False
        self.next[to] = max(min(rejected, match_hint + 1), 1)
        self.probe_sent[to] = False
        return True

    # -- display ---------------------------------------------------------------------------------
    def _log(self, level: str, msg: str) -> None:
        self.logs.append((self.clock(), level, msg))

    def log_lines(self, since: float = 0.0) -> str:
        """The member's raft log lines (etcd's JSON log format), as ``kubectl logs etcd-…`` shows them."""
        out = []
        for t, level, msg in self.logs:
            if t >= since and level != "debug":
                out.append(json.dumps({"level": level, "ts": timestamp_micro(t), "logger": "raft",
                                       "caller": "etcdserver/zap_raft.go:77", "msg": msg}, separators=(",", ":")))
        return "\n".join(out)

    def __repr__(self) -> str:
        state = self.state if self.up else "down"
        return (f"RaftMember({self.name}, {state}, term={self.term}, last={self.last_index()}, "
                f"commit={self.commit}, applied={self.applied})")


__all__ = [
    "CANDIDATE", "FOLLOWER", "LEADER", "MSG_APP", "MSG_APP_RESP", "MSG_HEARTBEAT", "MSG_HEARTBEAT_RESP",
    "MSG_PRE_VOTE", "MSG_PRE_VOTE_RESP", "MSG_SNAP", "MSG_VOTE", "MSG_VOTE_RESP", "PRE_CANDIDATE", "PROBE",
    "REPLICATE", "SNAPSHOT", "Entry", "Message", "RaftMember", "Snapshot", "describe_op",
]
