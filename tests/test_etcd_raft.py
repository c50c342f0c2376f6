"""The 3-member etcd: Raft elections, replication, quorum, catch-up, and etcdctl's views."""

import hashlib
from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8slab.api import errors
from k8slab.apiserver.server import APIServer
from k8slab.etcd import CompareFailed
from k8slab.etcd.cluster import (
    ERR_TIMEOUT,
    ERR_TIMEOUT_DUE_TO_CONNECTION_LOST,
    ERR_TIMEOUT_DUE_TO_LEADER_FAIL,
    EtcdCluster,
    MemberNotFound,
    NoMemberReachable,
    RequestTimedOut,
)
from k8slab.etcd.raft import FOLLOWER, LEADER, MSG_APP, PRE_CANDIDATE, Entry, Message, RaftMember
from k8slab.sim import EventLoop, Randomness, Trace

KEY = "/registry/configmaps/default/"


def new_cluster(seed=0, **kw):
    loop = EventLoop()
    return loop, EtcdCluster(loop, Randomness(seed), **kw)


def followers(db):
    return [m.name for m in db.members() if m.name != db.leader]


# -- bootstrap -------------------------------------------------------------------------------------
def test_a_new_cluster_elects_one_leader_and_looks_like_a_fresh_etcd():
    loop, db = new_cluster()
    assert db.leader is not None
    assert [(t, term) for t, term, _ in db.elections] == [(0.0, 2)]
    for m in db.members():
        assert (m.term, m.commit, m.applied, m.last_index()) == (2, 8, 8, 8)
        assert [e.term for e in m.log()] == [1, 1, 1, 2, 2, 2, 2, 2]
        assert m.state == (LEADER if m.name == db.leader else FOLLOWER)
        assert m.lead == db.leader
    assert db.revision == 1 and len(db) == 0
    log = db.log_table(db.leader)
    assert log.splitlines()[1:5] == [
        "     1*    1  conf change: add member etcd-0",
        "     2*    1  conf change: add member etcd-1",
        "     3*    1  conf change: add member etcd-2",
        "     4*    2  empty",
    ]
    assert log.splitlines()[-1] == "     8*    2  set cluster version 3.5.0"
    # the heartbeats and election timers are background work: the loop settles at once
    loop.run_until_settled()
    assert loop.now == 0.0


def test_member_ids_are_etcds_sha1_of_peer_urls_and_token():
    _, db = new_cluster()
    m = db.member("etcd-1")
    digest = hashlib.sha1(b"https://etcd-1:2380etcd-cluster").digest()
    assert m.id == int.from_bytes(digest[:8], "big")
    with pytest.raises(MemberNotFound, match='etcd member "etcd-9" not found; members are: etcd-0, etcd-1, etcd-2'):
        db.fail("etcd-9")


def test_same_seed_same_elections():
    def story(seed):
        loop, db = new_cluster(seed)
        db.fail(db.leader)
        loop.run_until(5.0)
        return db.elections, [m.randomized_timeout for m in db.members()]

    assert story(3) == story(3)
    assert story(0) != story(1)


# -- writes ------------------------------------------------------------------------------------------
def test_a_write_is_in_every_members_log_and_state_machine():
    loop, db = new_cluster()
    kv = db.put(KEY + "a", {"v": 1})
    assert (kv.mod_revision, kv.version) == (2, 1)
    leader = db.member(db.leader)
    assert leader.commit == 9 and leader.entry(9).op[:2] == ("put", KEY + "a")
    for name in followers(db):
        m = db.member(name)
        assert m.entry(9) is leader.entry(9)  # the very entry the leader appended
    loop.run_until(0.1)  # the next heartbeat carries the new commit index
    for m in db.members():
        assert (m.commit, m.applied) == (9, 9)
        assert m.store.get(KEY + "a").value == {"v": 1} and m.store.revision == 2


def test_compare_failure_is_decided_alike_on_every_member_and_bumps_no_revision():
    loop, db = new_cluster()
    db.put(KEY + "a", {"v": 1})
    with pytest.raises(CompareFailed, match="mod_revision is 2, not 7"):
        db.put(KEY + "a", {"v": 2}, expect_mod_revision=7)
    loop.run_until(0.1)
    for m in db.members():
        assert m.applied == 10  # the failed transaction is still a raft entry
        assert m.store.revision == 2 and m.store.get(KEY + "a").value == {"v": 1}


def test_watchers_see_each_committed_change_once():
    loop, db = new_cluster()
    seen = []
    db.watch("/registry/configmaps/", lambda ev: seen.append((ev.type, ev.kv.key[-1], ev.kv.mod_revision)))
    db.put(KEY + "a", {})
    down = followers(db)[0]
    db.fail(down)
    db.put(KEY + "b", {})
    db.delete(KEY + "a")
    db.recover(down)
    loop.run_until(0.5)  # it catches up: applying what it missed shows watchers nothing again
    db.fail(db.leader)
    loop.run_until(4.0)
    db.put(KEY + "c", {})
    assert seen == [("PUT", "a", 2), ("PUT", "b", 3), ("DELETE", "a", 4), ("PUT", "c", 5)]


# -- one member down --------------------------------------------------------------------------------
def test_losing_a_follower_keeps_the_cluster_writable():
    loop, db = new_cluster()
    leader, term = db.leader, db.term
    down = followers(db)[0]
    db.fail(down)
    for i in range(3):
        db.put(KEY + f"k{i}", {"i": i})
    loop.run_until(5.0)
    assert (db.leader, db.term, db.revision) == (leader, term, 4)
    assert db.member(down).last_index() == 8  # it missed the writes
    assert db.member(leader).progress[down] == "StateProbe"


def test_losing_the_leader_elects_a_new_one_in_a_higher_term():
    loop, db = new_cluster()
    db.put(KEY + "a", {"v": 1})
    old, term = db.leader, db.term
    loop.run_until(0.5)
    db.fail(old)
    # until the followers time out, they still follow the dead leader: writes time out
    with pytest.raises(RequestTimedOut) as e:
        db.put(KEY + "b", {})
    assert str(e.value) == ERR_TIMEOUT_DUE_TO_LEADER_FAIL
    assert db.get(KEY + "a").value == {"v": 1}  # reads serve the last state
    loop.run_until_settled()
    new = db.leader
    assert new not in (None, old)
    assert db.term == term + 1
    when, elected_term, name = db.elections[-1]
    assert (elected_term, name) == (term + 1, new)
    # a follower times out 1.0 to 2.0 s after the last heartbeat (t=0.5), then pre-votes and votes
    assert 1.5 <= when < 2.6
    assert "became pre-candidate at term 2" in db.member(new).log_lines()
    assert db.put(KEY + "b", {"v": 2}).mod_revision == 3
    assert [m.term for m in db.members() if m.up] == [term + 1] * 2


def test_a_write_during_an_election_waits_for_the_votes_on_the_wire():
    loop, db = new_cluster()
    old = db.leader
    db.fail(old)
    while not any(m.state == PRE_CANDIDATE for m in db.members() if m.up):
        loop.step()
    assert db.leader is None and len(loop.pending()) == 1  # its MsgPreVote to the other follower
    kv = db.put(KEY + "a", {})
    assert kv.mod_revision == 2 and db.leader not in (None, old)
    assert loop.pending() == []


def test_at_most_one_leader_per_term():
    loop, db = new_cluster(seed=5)
    for _ in range(4):
        db.fail(db.leader)
        loop.run_until(loop.now + 4)
        for m in db.members():
            db.recover(m.name)
        loop.run_until(loop.now + 1)
    terms = [term for _, term, _ in db.elections]
    assert terms == sorted(set(terms)) and len(terms) == 5


def test_a_member_cannot_depose_a_working_leader():
    loop, db = new_cluster()
    leader, term = db.leader, db.term
    rebel = db.member(followers(db)[0])
    loop.run_until(0.35)
    rebel.hup()  # it starts an election although the leader is fine
    loop.run_until(3.0)
    assert (db.leader, db.term) == (leader, term)
    assert "lease is not expired" in db.member(followers(db)[1]).log_lines()


# -- two members down -------------------------------------------------------------------------------
def test_without_quorum_writes_fail_and_reads_serve_the_last_state():
    loop, db = new_cluster()
    db.put(KEY + "a", {"v": 1})
    leader, term = db.leader, db.term
    for name in followers(db):
        db.fail(name)
    # the leader does not know yet that it is alone
    with pytest.raises(RequestTimedOut) as e:
        db.put(KEY + "b", {})
    assert str(e.value) == ERR_TIMEOUT_DUE_TO_CONNECTION_LOST
    loop.run_until(3.0)
    # CheckQuorum: it stepped down after an election timeout without hearing a quorum
    m = db.member(leader)
    assert db.leader is None and m.state != LEADER
    assert "stepped down to follower since quorum is not active" in m.log_lines()
    with pytest.raises(RequestTimedOut) as e:
        db.put(KEY + "b", {})
    assert str(e.value) == ERR_TIMEOUT
    with pytest.raises(RequestTimedOut):
        db.read_index()  # a linearizable read needs the leader
    assert db.get(KEY + "b") is None
    assert db.get(KEY + "a").value == {"v": 1} and db.revision == 2 and db.keys("/registry/") == [KEY + "a"]
    loop.run_until(60.0)
    assert m.term == term  # PreVote: the lone member never raises its term


def test_losing_leader_and_follower_leaves_a_follower_that_cannot_write():
    loop, db = new_cluster()
    survivor, other = followers(db)
    db.fail(db.leader)
    db.fail(other)
    with pytest.raises(RequestTimedOut, match=f"^{ERR_TIMEOUT}$"):
        db.delete(KEY + "a")
    assert db.member(survivor).up and db.leader is None
    # with every member down the client finds no one to talk to; reads keep the last state
    db.fail(survivor)
    with pytest.raises(NoMemberReachable, match="^context deadline exceeded$"):
        db.put(KEY + "a", {})
    assert db.revision == 1 and db.keys("/registry/") == []


def test_reads_never_go_back_when_a_stale_member_returns_alone():
    loop, db = new_cluster()
    stale = followers(db)[0]
    db.fail(stale)
    db.put(KEY + "a", {"v": 1})
    for m in db.members():
        db.fail(m.name)
    db.recover(stale)  # it missed the write, and cannot learn it without a quorum
    loop.run_until(5.0)
    assert db.member(stale).store.revision == 1
    assert db.revision == 2 and db.get(KEY + "a").value == {"v": 1}


# -- recovery ---------------------------------------------------------------------------------------
def test_a_recovered_member_catches_up_from_the_leaders_log():
    loop, db = new_cluster()
    down = followers(db)[0]
    db.fail(down)
    for i in range(20):
        db.put(KEY + f"k{i % 5}", {"i": i})
    db.delete(KEY + "k0")
    loop.run_until(1.0)
    db.recover(down)
    m, leader = db.member(down), db.member(db.leader)
    assert m.applied == 8 and m.state == FOLLOWER
    loop.run_until(1.2)  # one heartbeat answer, one MsgApp with what it missed
    assert (m.last_index(), m.commit, m.applied) == (leader.last_index(), leader.commit, leader.applied)
    assert m.store.revision == leader.store.revision == 22
    assert m.store.keys("/") == leader.store.keys("/")
    assert m.store.history(KEY + "k1") == leader.store.history(KEY + "k1")
    assert leader.progress[down] == "StateReplicate"


def test_a_member_too_far_behind_gets_a_snapshot():
    loop, db = new_cluster(snapshot_count=10, catch_up_entries=3)
    down = followers(db)[0]
    db.fail(down)
    for i in range(40):
        db.put(KEY + f"k{i % 7}", {"i": i})
    leader = db.member(db.leader)
    assert leader.first_index() > db.member(down).last_index() + 1  # what it misses is compacted away
    db.recover(down)
    loop.run_until(loop.now + 0.3)
    m = db.member(down)
    assert "restored snapshot" in m.log_lines()
    assert m.store.revision == leader.store.revision == 41
    assert m.store.history(KEY + "k3") == leader.store.history(KEY + "k3")
    db.put(KEY + "after", {})
    loop.run_until(loop.now + 0.2)
    assert m.store.get(KEY + "after") is not None and m.applied == leader.applied


def test_recovering_one_of_two_restores_writes_without_inflating_terms():
    loop, db = new_cluster()
    first = db.leader
    term = db.term
    for name in followers(db):
        db.fail(name)
    loop.run_until(30.0)
    back = [m.name for m in db.members() if not m.up][0]
    db.recover(back)
    loop.run_until_settled()
    assert db.leader is not None and db.term == term + 1
    assert db.put(KEY + "x", {}).mod_revision == 2
    assert db.member(first).up


# -- an uncommitted tail is replaced -----------------------------------------------------------------
class _Wire:
    """Delivers messages between RaftMembers in order (none to or from a member in ``down``)."""

    def __init__(self):
        self.members, self.queue, self.down = {}, deque(), set()

    def send(self, m):
        if m.to not in self.down and m.frm not in self.down:
            self.queue.append(m)

    def run(self):
        while self.queue:
            m = self.queue.popleft()
            self.members[m.to].step(m)

    def apply(self, member, entry):
        pass

    def role_changed(self, member):
        pass


def test_log_repair_replaces_a_conflicting_tail_and_fills_a_gap():
    wire = _Wire()
    ids = {"a": 1, "b": 2, "c": 3}
    for n in ids:
        wire.members[n] = RaftMember(n, ids, wire, clock=lambda: 0.0)
    a, b, c = (wire.members[n] for n in "abc")
    common = [Entry(1, 1, ("conf", "a")), Entry(1, 2, ("conf", "b")), Entry(1, 3, ("conf", "c"))]
    for m in (a, b, c):
        m.append_bootstrap(list(common))
        m.term = 2
    # b led term 2: entry 4 reached a, entries 5 and 6 reached nobody (never committed)
    a.entries.append(Entry(2, 4, ("put", "w", {}, None)))
    b.entries += [a.entries[-1], Entry(2, 5, ("put", "x", {}, None)), Entry(2, 6, ("put", "y", {}, None))]
    # a won term 3: it appends its empty entry at index 5 and sends it out
    a.term = 3
    a._become_leader()
    a.bcast_append()
    wire.run()
    # b drops its uncommitted tail from the first conflicting entry on
    assert [(e.term, e.index) for e in b.log()] == [(1, 1), (1, 2), (1, 3), (2, 4), (3, 5)]
    assert "found conflict at index 5 [existing term: 2, conflicting term: 3]" in b.log_lines()
    # c lacked entry 4: it refused the first MsgApp, the leader backed off and sent both
    assert "rejected MsgApp [logterm: 2, index: 4]" in c.log_lines()
    assert [(e.term, e.index) for e in c.log()] == [(1, 1), (1, 2), (1, 3), (2, 4), (3, 5)]
    # committing its own entry 5 also commits entry 4 of the old term (§5.4.2)
    assert (a.commit, b.commit, c.commit) == (5, 5, 5)
    assert a.match == {"b": 5, "c": 5} and a.progress == {"b": "StateReplicate", "c": "StateReplicate"}


def _three_on_a_wire():
    wire = _Wire()
    ids = {"a": 1, "b": 2, "c": 3}
    for n in ids:
        wire.members[n] = RaftMember(n, ids, wire, clock=lambda: 0.0)
    for m in wire.members.values():
        m.append_bootstrap([Entry(1, 1, ("conf", "a")), Entry(1, 2, ("conf", "b")), Entry(1, 3, ("conf", "c"))])
    return wire, *wire.members.values()


def test_an_entry_commits_only_once_a_quorum_holds_it():
    wire, a, b, c = _three_on_a_wire()
    a.hup()
    wire.run()
    assert a.state == LEADER and a.commit == 4
    wire.down = {"b", "c"}
    index = a.propose(("put", "k", {}, None))
    wire.run()
    assert (index, a.last_index(), a.commit) == (5, 5, 4)  # in the leader's log, not committed
    wire.down = {"c"}
    a.bcast_heartbeat()  # b answers; the leader sends it what it lacks
    wire.run()
    assert (a.commit, b.commit, c.last_index()) == (5, 5, 4)


def test_an_entry_of_an_older_term_is_not_committed_by_counting_replicas():
    wire, a, b, c = _three_on_a_wire()
    a.term = 2
    a.entries.append(Entry(2, 4, ("put", "w", {}, None)))
    a.term = 3
    a._become_leader()  # its own empty entry at index 5
    wire.down = {"b", "c"}
    a.bcast_append()
    # b acknowledges entry 4 (of term 2) only: a majority holds it, yet it is not committed (§5.4.2)
    a.step(Message("MsgAppResp", "b", "a", 3, index=4))
    assert (a.match["b"], a.commit) == (4, 3)
    a.step(Message("MsgAppResp", "b", "a", 3, index=5))
    assert a.commit == 5  # committing entry 5 of its own term commits 4 as well


def test_a_member_that_missed_committed_writes_cannot_become_leader():
    loop, db = new_cluster()
    leader, (stale, uptodate) = db.leader, followers(db)
    db.fail(stale)
    for i in range(3):
        db.put(KEY + f"k{i}", {"i": i})
    db.member(uptodate).randomized_timeout = 10.0  # let the stale member campaign first, for long
    db.fail(leader)
    db.recover(stale)
    loop.run_until(8.0)
    assert db.leader is None  # it cannot win: the up-to-date member refuses its (pre-)votes
    assert "rejected MsgPreVote from" in db.member(uptodate).log_lines()
    loop.run_until(14.0)
    assert db.leader == uptodate
    assert all(db.get(KEY + f"k{i}").value == {"i": i} for i in range(3))
    assert db.member(stale).store.revision == db.revision == 4


def test_message_reads_like_a_line_of_the_story():
    m = Message(MSG_APP, "etcd-0", "etcd-1", 3, log_term=2, index=9, entries=(Entry(3, 10),), commit=9)
    assert repr(m) == "MsgApp etcd-0 → etcd-1 term 3 (prev 9 (term 2), entries 10..10, commit 9)"


# -- etcdctl views ------------------------------------------------------------------------------------
FRESH_STATUS = """\
+---------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
|      ENDPOINT       |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |
+---------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
| https://etcd-0:2379 |  f0f92d99677353f |  3.5.12 |   20 kB |      true |      false |         2 |          8 |                  8 |        |
| https://etcd-1:2379 | 1a147ce6336081c1 |  3.5.12 |   20 kB |     false |      false |         2 |          8 |                  8 |        |
| https://etcd-2:2379 | ed2c681b974a3802 |  3.5.12 |   20 kB |     false |      false |         2 |          8 |                  8 |        |
+---------------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
"""


def test_endpoint_status_table_of_a_fresh_cluster():
    _, db = new_cluster()
    out = db.status()
    assert db.leader == "etcd-0"
    assert out == FRESH_STATUS
    assert (out.returncode, out.stderr) == (0, "")


def test_endpoint_status_reports_members_down_and_no_leader():
    loop, db = new_cluster()
    for _ in range(30):
        db.put(KEY + "a", {"data": "x" * 100})
    db.fail("etcd-0")
    db.fail("etcd-2")
    loop.run_until(3.0)
    out = db.status()
    assert out.returncode == 1
    assert out.stderr == (
        "Failed to get the status of endpoint https://etcd-0:2379 (context deadline exceeded)\n"
        "Failed to get the status of endpoint https://etcd-2:2379 (context deadline exceeded)\n"
    )
    rows = out.stdout.splitlines()
    assert rows[1].split("|")[1:-1] == [
        "      ENDPOINT       ", "        ID        ", " VERSION ", " DB SIZE ", " IS LEADER ", " IS LEARNER ",
        " RAFT TERM ", " RAFT INDEX ", " RAFT APPLIED INDEX ", "        ERRORS         "]
    assert [c.strip() for c in rows[3].split("|")[1:-1]] == [
        "https://etcd-1:2379", "1a147ce6336081c1", "3.5.12", "29 kB", "false", "false", "2", "38", "38",
        "etcdserver: no leader"]
    assert str(out).startswith("Failed to get the status of endpoint https://etcd-0:2379")


def test_member_list_table():
    _, db = new_cluster(hosts={"etcd-0": "172.18.0.2", "etcd-1": "172.18.0.3", "etcd-2": "172.18.0.4"})
    assert db.member_list().splitlines()[3] == (
        "|  e58c878e0e01014 | started | etcd-0 | https://172.18.0.2:2380 | https://172.18.0.2:2379 |      false |")
    assert db.member("etcd-0").id == int.from_bytes(
        hashlib.sha1(b"https://172.18.0.2:2380etcd-cluster").digest()[:8], "big")


# -- under the API server --------------------------------------------------------------------------------
def _configmap(name):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
            "data": {"k": name}}


def test_api_server_keeps_working_on_two_members_and_fails_writes_on_one():
    loop, rng = EventLoop(), Randomness(0)
    db = EtcdCluster(loop, rng)
    api = APIServer(db, loop, Trace(), rng)
    admin = api.client("kubectl", token=api.admin_token)
    admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    seen = []
    api.watch("test", "configmaps", lambda t, o: seen.append((t, o["metadata"]["name"])))
    admin.create(_configmap("a"))
    db.fail(followers(db)[0])
    admin.create(_configmap("b"))
    old = db.leader
    db.fail(old)
    with pytest.raises(errors.ApiError) as e:
        admin.create(_configmap("c"))
    assert e.value.code == 500 and ERR_TIMEOUT in e.value.message
    assert [o["metadata"]["name"] for o in admin.list("configmaps", "default")["items"]] == ["a", "b"]
    assert admin.get("configmaps", "b", "default")["data"] == {"k": "b"}
    loop.run_until_settled()
    assert db.leader is None  # one member of three cannot elect
    db.recover(old)
    loop.run_until_settled()
    assert db.leader is not None
    admin.create(_configmap("c"))
    loop.run_until_settled()
    assert seen == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]
    rv = admin.get("configmaps", "c", "default")["metadata"]["resourceVersion"]
    assert rv == str(db.revision) == str(db.get(KEY + "c").mod_revision)


# -- invariants, on random histories ------------------------------------------------------------------------
ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(0, 4)),
        st.tuples(st.just("delete"), st.integers(0, 4)),
        st.tuples(st.just("fail"), st.integers(0, 2)),
        st.tuples(st.just("recover"), st.integers(0, 2)),
        st.tuples(st.just("run"), st.sampled_from([0.05, 0.3, 1.2, 2.5])),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.integers(0, 3), st.booleans())
def test_raft_invariants_hold_under_failures(steps, seed, small_snapshots):
    kw = {"snapshot_count": 6, "catch_up_entries": 2} if small_snapshots else {}
    loop, db = new_cluster(seed, **kw)
    names = [m.name for m in db.members()]
    acked = []  # (key, revision, value) of every acknowledged write
    refused = []  # values of writes that failed
    serial = 0
    for op, arg in steps:
        if op in ("put", "delete"):
            key = KEY + f"k{arg}"
            serial += 1
            value = {"serial": serial}
            try:
                if op == "put":
                    kv = db.put(key, value)
                    acked.append((key, kv.mod_revision, value))
                else:
                    prev = db.delete(key)
                    if prev is not None:
                        acked.append((key, db.revision, None))
            except (RequestTimedOut, NoMemberReachable):
                if op == "put":
                    refused.append(value)
        elif op == "fail":
            db.fail(names[arg])
        elif op == "recover":
            db.recover(names[arg])
        else:
            loop.run_until(loop.now + arg)
        assert db.revision == 1 + len(acked)  # every acknowledged write is one revision, no gaps
    for n in names:
        db.recover(n)
    loop.run_until(loop.now + 5.0)

    members = db.members()
    leader = db.member(db.leader)
    # election safety: at most one leader per term
    terms = [t for _, t, _ in db.elections]
    assert len(terms) == len(set(terms))
    for m in members:
        # everyone caught up: same committed log, same state machine, same revision
        assert (m.commit, m.applied) == (leader.commit, leader.applied)
        assert m.store.revision == leader.store.revision == 1 + len(acked)
        lo = max(m.offset, leader.offset)
        mine = [(e.term, e.index, e.op) for e in m.log() if e.index > lo]
        theirs = [(e.term, e.index, e.op) for e in leader.log() if e.index > lo]
        assert mine == theirs
        # revisions are gap-free: every revision 2..N is exactly one kept change
        revs = sorted(rev for key in m.store._history for rev, _, _ in m.store.history(key))
        assert revs == list(range(2, m.store.revision + 1))
        # every acknowledged write is there; no refused write ever is
        for key, rev, value in acked:
            found = [(t, kv) for r, t, kv in m.store.history(key) if r == rev]
            assert len(found) == 1
            t, kv = found[0]
            assert (t == "PUT" and kv.value is value) if value is not None else t == "DELETE"
        stored = [kv.value for key in m.store._history for _, _, kv in m.store.history(key)]
        assert not any(v is r for v in stored for r in refused)


# -- a whole cluster on the 3-member etcd ----------------------------------------------------------------
@pytest.fixture
def ha_cluster():
    import k8slab

    return k8slab.Cluster(workers=2, seed=0, etcd_members=3)


def test_a_cluster_rides_out_an_etcd_leader_failure_and_reports_etcds_error_without_quorum(ha_cluster):
    from tests.conftest import nginx_deployment

    c = ha_cluster
    first = c.etcd.leader
    c.etcd.fail(first)
    c.run()  # run() lasts until the followers have elected a new leader
    assert c.etcd.leader not in (None, first)
    assert c.apply(nginx_deployment(3)) == ["deployment.apps/web created"]
    c.run()
    assert [p["status"]["phase"] for p in c.get("pods")] == ["Running"] * 3
    assert c.errors == []
    c.etcd.fail(c.etcd.leader)
    out = c.kubectl("scale deployment web --replicas=1")
    assert out.returncode == 1 and "etcdserver: request timed out" in out
    assert c.kubectl("get deployments").splitlines()[1].split()[:2] == ["web", "3/3"]


def test_nodes_come_back_ready_once_etcd_has_a_quorum_again(ha_cluster):
    c = ha_cluster
    c.fail_etcd("etcd-1").fail_etcd("etcd-2")
    out = c.kubectl("create deployment web --image=nginx")
    assert out.returncode == 1 and "Error from server: etcdserver: request timed out" in str(out)
    c.run(seconds=60)  # no lease renewal can be stored: the node controller's view goes stale
    c.recover_etcd("etcd-1")
    c.run(seconds=60)
    ready = {n["metadata"]["name"]: next(x["status"] for x in n["status"]["conditions"] if x["type"] == "Ready")
             for n in c.get("nodes")}
    assert ready == {"control-plane": "True", "worker-1": "True", "worker-2": "True"}
    assert str(c.kubectl("create deployment web --image=nginx")) == "deployment.apps/web created\n"
