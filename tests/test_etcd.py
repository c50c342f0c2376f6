import pytest

from k8slab.etcd import CompareFailed, Etcd


def test_revisions_count_every_write_and_keys_remember_theirs():
    db = Etcd()
    assert db.revision == 1
    a = db.put("/registry/pods/default/a", {"v": 1})
    b = db.put("/registry/pods/default/b", {"v": 1})
    a2 = db.put("/registry/pods/default/a", {"v": 2})
    assert (a.create_revision, a.mod_revision, a.version) == (2, 2, 1)
    assert b.mod_revision == 3
    assert (a2.create_revision, a2.mod_revision, a2.version) == (2, 4, 2)
    assert db.revision == 4


def test_stale_compare_fails_and_changes_nothing():
    db = Etcd()
    db.put("/registry/deployments/default/web", {"replicas": 1})
    db.put("/registry/deployments/default/web", {"replicas": 2})
    with pytest.raises(CompareFailed):
        db.put("/registry/deployments/default/web", {"replicas": 5}, expect_mod_revision=2)
    assert db.get("/registry/deployments/default/web").value == {"replicas": 2}
    assert db.revision == 3


def test_create_only_if_absent():
    db = Etcd()
    db.put("/registry/pods/default/a", {}, expect_mod_revision=0)
    with pytest.raises(CompareFailed):
        db.put("/registry/pods/default/a", {}, expect_mod_revision=0)


def test_range_is_sorted_and_scoped_by_prefix():
    db = Etcd()
    for key in ("/registry/pods/kube-system/x", "/registry/pods/default/b", "/registry/pods/default/a",
                "/registry/minions/worker-1"):
        db.put(key, {})
    assert db.keys("/registry/pods/default/") == ["/registry/pods/default/a", "/registry/pods/default/b"]
    assert len(db.range("/registry/pods/")) == 3
    assert db.keys("/registry/") == sorted(db.keys("/registry/"))
    assert len(db.keys("/registry/")) == 4


def test_watch_sees_puts_and_deletes_under_its_prefix_only():
    db = Etcd()
    seen = []
    db.watch("/registry/pods/", lambda ev: seen.append((ev.type, ev.kv.key, ev.kv.mod_revision)))
    db.put("/registry/pods/default/a", {})
    db.put("/registry/minions/n1", {})
    db.delete("/registry/pods/default/a")
    assert seen == [("PUT", "/registry/pods/default/a", 2), ("DELETE", "/registry/pods/default/a", 4)]


def test_history_and_compaction():
    db = Etcd()
    for v in range(4):
        db.put("/registry/configmaps/default/c", {"v": v})
    db.delete("/registry/configmaps/default/c")
    hist = db.history("/registry/configmaps/default/c")
    assert [h[1] for h in hist] == ["PUT"] * 4 + ["DELETE"]
    assert [h[0] for h in hist] == [2, 3, 4, 5, 6]
    db.put("/registry/configmaps/default/d", {"v": 0})
    db.compact(5)
    assert [h[0] for h in db.history("/registry/configmaps/default/c")] == [5, 6]
    assert [h[0] for h in db.history("/registry/configmaps/default/d")] == [7]


def test_watch_from_a_revision_replays_what_happened_since():
    from k8slab.etcd import Compacted

    db = Etcd()
    db.put("/registry/pods/default/a", {"v": 1})  # rev 2
    db.put("/registry/pods/default/b", {"v": 1})  # rev 3
    db.put("/registry/pods/default/a", {"v": 2})  # rev 4
    db.delete("/registry/pods/default/b")  # rev 5
    seen = []
    db.watch("/registry/pods/", lambda ev: seen.append((ev.type, ev.kv.key[-1], ev.kv.mod_revision)), from_revision=3)
    db.put("/registry/pods/default/c", {})  # rev 6, live
    assert seen == [("PUT", "b", 3), ("PUT", "a", 4), ("DELETE", "b", 5), ("PUT", "c", 6)]
    db.compact(5)
    with pytest.raises(Compacted):
        db.watch("/registry/pods/", lambda ev: None, from_revision=4)
