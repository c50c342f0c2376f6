"""Leader election of kube-scheduler and kube-controller-manager through Leases in kube-system.

The replicas run in a real ``Cluster(workers=3, seed=0)``. Until the cluster wires them
in itself (``Cluster(ha_control_plane=True)``), the helper below stops the cluster's own
scheduler and controller manager and starts leader-elected replicas in their place.
"""

from __future__ import annotations

import re

import pytest
from conftest import nginx_deployment

from k8slab import Cluster
from k8slab.api.errors import K8sLabError
from k8slab.controlplane.leaderelection import (
    JITTER_FACTOR,
    LEASE_DURATION,
    RETRY_PERIOD,
    LeaderElector,
    ReplicatedComponent,
    controller_manager_replicas,
    holder_identity,
    scheduler_replicas,
)
from k8slab.controlplane.registry import DEFAULT_CONTROLLERS
from k8slab.sim.loop import parse_timestamp

HA_HOSTS = ("control-plane", "control-plane2")
IDENTITY = re.compile(r"(control-plane2?)_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
#: the longest a standby may take after the last renewal: it sees that renewal on its next poll
#: (at most one jittered retry period later), then waits 15 s, then polls once more
HANDOVER_BOUND = LEASE_DURATION + 2 * RETRY_PERIOD * (1 + JITTER_FACTOR)

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: late}
spec: {containers: [{name: nginx, image: nginx:1.27}]}
"""


def replicated_cluster(ha: bool, **cluster_kw) -> tuple[Cluster, ReplicatedComponent, ReplicatedComponent]:
    """A cluster whose kube-scheduler and kube-controller-manager are leader-elected replicas."""
    try:
        c = Cluster(workers=3, seed=0, ha_control_plane=ha, **cluster_kw)
    except TypeError:
        pass  # the cluster does not replicate its components yet: replace them here
    else:
        return c, c.kube_scheduler, c.kube_controller_manager
    c = Cluster(workers=3, seed=0, **cluster_kw)
    hosts = HA_HOSTS if ha else HA_HOSTS[:1]
    c.scheduler.stop()
    c.controller_manager.stop()

    def configure(cm, replica):
        cm.cluster_cidr = c.pod_cidr

    kcm = controller_manager_replicas(c.api, c.loop, c.rng, DEFAULT_CONTROLLERS, hosts=hosts, configure=configure)
    sched = scheduler_replicas(c.api, c.loop, c.rng, hosts=hosts)
    kcm.start()
    sched.start()
    c.run()
    return c, sched, kcm


def lease(c: Cluster, name: str) -> dict:
    return c.get("lease", name, namespace="kube-system")


def leader_election_events(c: Cluster, name: str) -> list[dict]:
    events = [e for e in c.get("events", namespace="kube-system")
              if e["reason"] == "LeaderElection" and e["involvedObject"]["name"] == name]
    return sorted(events, key=lambda e: e["metadata"]["name"])


def requests(c: Cluster, *, since: float = 0.0, actor: str | None = None, resource: str | None = None) -> list:
    return [e for e in c.trace if e.type == "request" and e.time >= since
            and (actor is None or e.actor == actor) and (resource is None or e.resource == resource)]


# -- one replica: the lease is there and renewed ------------------------------------------------------


def test_each_component_holds_its_lease_as_kubeadm_runs_it():
    c, sched, kcm = replicated_cluster(ha=False)
    c.run(seconds=60)
    for comp, source in ((sched, "default-scheduler"), (kcm, "kube-controller-manager")):
        leader = comp.leader
        assert leader is comp.replicas[0] and leader.host == "control-plane"
        spec = lease(c, comp.name)["spec"]
        assert set(spec) == {"holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime",
                             "leaseTransitions"}
        assert spec["holderIdentity"] == leader.identity
        assert IDENTITY.fullmatch(leader.identity).group(1) == "control-plane"
        assert spec["leaseDurationSeconds"] == 15
        assert spec["leaseTransitions"] == 0
        assert re.fullmatch(r"2025-01-01T00:\d\d:\d\d\.\d{6}Z", spec["renewTime"])
        acquired, renewed = parse_timestamp(spec["acquireTime"]), parse_timestamp(spec["renewTime"])
        # renewed every retry period (2 s) since it was acquired
        assert c.now - RETRY_PERIOD < renewed <= c.now
        assert round(renewed - acquired, 6) % RETRY_PERIOD == 0
        events = leader_election_events(c, comp.name)
        assert [e["message"] for e in events] == [f"{leader.identity} became leader"]
        ev = events[0]
        assert ev["type"] == "Normal"
        assert ev["source"] == {"component": source}
        assert ev["involvedObject"]["kind"] == "Lease"
        assert ev["involvedObject"]["apiVersion"] == "coordination.k8s.io/v1"
        assert ev["involvedObject"]["namespace"] == "kube-system"


def test_renewals_are_one_update_every_two_seconds_and_never_keep_run_busy():
    c, sched, kcm = replicated_cluster(ha=False)
    t0 = c.now
    c.run()
    assert c.now - t0 < 1  # the heartbeats are background work: nothing to wait for
    t0 = c.now
    c.run(seconds=60)
    for name in ("kube-scheduler", "kube-controller-manager"):
        writes = [e for e in requests(c, since=t0 + 1e-9, resource="leases") if e.name == name]
        assert {(e.actor, e.verb, e.code) for e in writes} == {(name, "update", 200)}
        assert len(writes) == 30  # 60 s / 2 s, each a single PUT (the leader's fast path)
    table = c.kubectl("get lease -n kube-system")
    assert str(table).splitlines()[0].split() == ["NAME", "HOLDER", "AGE"]
    assert sched.leader.identity in str(table) and kcm.leader.identity in str(table)


def test_a_restarted_single_replica_waits_a_full_lease_duration():
    c, sched, _ = replicated_cluster(ha=False)
    c.run(seconds=3)
    old = sched.leader.identity
    sched.fail(0)
    c.apply(POD)
    c.run(seconds=5)
    assert "nodeName" not in c.get("pod", "late")["spec"]  # nobody schedules
    restarted = c.now
    sched.recover(0)
    c.run()
    new = sched.replicas[0]
    assert new.leading and new.identity != old and IDENTITY.fullmatch(new.identity)
    spec = lease(c, "kube-scheduler")["spec"]
    assert spec["holderIdentity"] == new.identity
    assert spec["leaseTransitions"] == 1
    # the new process has never seen the record change: it must wait 15 s from its first look
    took = parse_timestamp(spec["acquireTime"])
    assert restarted + LEASE_DURATION <= took <= restarted + LEASE_DURATION + RETRY_PERIOD * (1 + JITTER_FACTOR)
    assert c.get("pod", "late")["spec"]["nodeName"].startswith("worker-")


# -- two replicas: one works, the other waits ------------------------------------------------------------


def test_only_the_leader_schedules_and_runs_controllers():
    c, sched, kcm = replicated_cluster(ha=True)
    assert sched.leader is sched.replicas[0] and kcm.leader is kcm.replicas[0]
    assert [r.host for r in sched.replicas] == list(HA_HOSTS)
    standby_s, standby_k = sched.replicas[1], kcm.replicas[1]
    assert IDENTITY.fullmatch(standby_s.identity).group(1) == "control-plane2"
    t0 = c.now
    c.apply(nginx_deployment(3))
    c.run()
    pods = c.get("pods")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Running" for p in pods)
    binds = requests(c, since=t0, resource="pods/binding")
    assert [e.actor for e in binds] == ["kube-scheduler/control-plane"] * 3
    # the standby scheduler keeps its cache warm but never tries a pod
    assert standby_s.component.attempts == 0
    assert standby_s.component.running is False
    assert {p["metadata"]["name"] for p in standby_s.component._pod_lister().list() if
            p["metadata"]["namespace"] == "default"} == {p["metadata"]["name"] for p in pods}
    # the standby controller manager has not even started its controllers or informers
    assert standby_k.component.controllers == {}
    assert not any(inf.running for inf in standby_k.component.informers)
    assert kcm.leader.component.controllers
    # all a standby sends is a look at the lease now and then
    for standby in (standby_s, standby_k):
        sent = {(e.verb, e.resource, e.name) for e in requests(c, since=t0, actor=standby.actor)}
        assert sent == {("get", "leases", standby.owner.name)}


def test_killing_the_leader_hands_over_after_the_lease_expires():
    c, sched, kcm = replicated_cluster(ha=True)
    c.run(seconds=7)
    last_renewal = {comp.name: parse_timestamp(lease(c, comp.name)["spec"]["renewTime"]) for comp in (sched, kcm)}
    first = {comp.name: comp.leader.identity for comp in (sched, kcm)}
    failed_at = c.now
    for comp in (sched, kcm):
        comp.fail()
        assert comp.leader is None
    c.apply(POD)
    c.apply(nginx_deployment(2))
    c.run()  # waits for the handover, then for the work it unblocks
    took = {}
    for comp in (sched, kcm):
        new = comp.replicas[1]
        assert comp.leader is new and new.host == "control-plane2"
        spec = lease(c, comp.name)["spec"]
        assert spec["holderIdentity"] == new.identity
        assert spec["leaseTransitions"] == 1
        took[comp.name] = parse_timestamp(spec["acquireTime"])
        assert last_renewal[comp.name] + LEASE_DURATION < took[comp.name] <= last_renewal[comp.name] + HANDOVER_BOUND
        assert [e["message"] for e in leader_election_events(c, comp.name)] == [
            f"{first[comp.name]} became leader", f"{new.identity} became leader"]
    # nothing happened while nobody led; then the new leaders did the work
    binds = requests(c, since=failed_at, resource="pods/binding")
    assert [(e.actor, e.name) for e in binds if e.name == "late"] == [("kube-scheduler/control-plane2", "late")]
    assert min(e.time for e in binds) >= took["kube-scheduler"] - 1e-6  # acquireTime is in microseconds
    rs_creates = [e for e in requests(c, since=failed_at, resource="replicasets") if e.verb == "create"]
    assert len(rs_creates) == 1 and rs_creates[0].time >= took["kube-controller-manager"] - 1e-6
    assert c.get("pod", "late")["status"]["phase"] == "Running"
    web = [p for p in c.get("pods") if p["metadata"]["name"].startswith("web-")]
    assert len(web) == 2 and all(p["status"]["phase"] == "Running" for p in web)
    # the dead leader sent nothing after it was killed
    assert requests(c, since=failed_at + 1e-9, actor="kube-scheduler/control-plane") == []
    assert requests(c, since=failed_at + 1e-9, actor="kube-controller-manager/control-plane") == []


def test_a_recovered_replica_comes_back_as_a_standby_with_a_new_identity():
    c, sched, _ = replicated_cluster(ha=True)
    killed = sched.replicas[0].identity
    sched.fail(0)
    c.run()
    holder = sched.replicas[1].identity
    sched.recover("control-plane")
    c.run(seconds=60)
    back = sched.replicas[0]
    assert back.running and not back.leading and back.identity != killed
    assert IDENTITY.fullmatch(back.identity).group(1) == "control-plane"
    spec = lease(c, "kube-scheduler")["spec"]
    assert spec["holderIdentity"] == holder and spec["leaseTransitions"] == 1
    assert repr(sched) == ("ReplicatedComponent(kube-scheduler: Replica(kube-scheduler on control-plane: standby), "
                           "Replica(kube-scheduler on control-plane2: leader))")


def test_a_leader_that_cannot_renew_gives_up_after_the_renew_deadline():
    c, sched, kcm = replicated_cluster(ha=True, etcd_members=3)
    c.run(seconds=1)
    leader = sched.leader
    first = leader.identity
    # without a quorum no write succeeds: renewals fail, reads still answer
    c.fail_etcd("etcd-1").fail_etcd("etcd-2")
    lost_at = c.now
    c.run(seconds=14)
    lines = [line.split(" ", 1)[1] for line in leader.log]
    assert "failed to renew lease kube-system/kube-scheduler: timed out waiting for the condition" in lines
    assert lines[-3:] == ["failed to renew lease kube-system/kube-scheduler: timed out waiting for the condition",
                          "Leaderelection lost", "attempting to acquire leader lease kube-system/kube-scheduler..."]
    gave_up = float(next(x for x in leader.log if "failed to renew" in x).split("s ", 1)[0])
    # the failing round began at the first renewal after the loss and lasted the renew deadline (10 s)
    assert lost_at + 10 <= gave_up <= lost_at + RETRY_PERIOD + 10
    assert leader.restarts == 1 and leader.running and not leader.leading
    assert leader.identity != first  # a new process
    assert sched.leader is None
    c.recover_etcd("etcd-1").recover_etcd("etcd-2")
    c.run(seconds=40)
    assert sched.leader is not None
    spec = lease(c, "kube-scheduler")["spec"]
    assert spec["holderIdentity"] == sched.leader.identity != first
    assert spec["leaseTransitions"] == 1


def test_identities_come_from_the_seed():
    a = holder_identity("control-plane", __import__("random").Random(7))
    b = holder_identity("control-plane", __import__("random").Random(7))
    assert a == b and IDENTITY.fullmatch(a)
    c1, s1, k1 = replicated_cluster(ha=True)
    c2, s2, k2 = replicated_cluster(ha=True)
    assert [r.identity for r in s1.replicas + k1.replicas] == [r.identity for r in s2.replicas + k2.replicas]
    assert len({r.identity for r in s1.replicas + k1.replicas}) == 4


def test_elector_checks_its_timings_as_client_go_does():
    c = Cluster(workers=1, seed=0)
    client = c.api.client("demo")

    def make(**kw):
        return LeaderElector(client, c.loop, c.rng, "demo", "kube-system", "me", lambda: None, lambda: None, **kw)

    with pytest.raises(ValueError, match="^leaseDuration must be greater than renewDeadline$"):
        make(lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError, match=r"^renewDeadline must be greater than retryPeriod\*JitterFactor$"):
        make(renew_deadline=4, retry_period=4)
    with pytest.raises(ValueError, match="^Lock identity is empty$"):
        LeaderElector(client, c.loop, c.rng, "demo", "kube-system", "", lambda: None, lambda: None)
    le = make()
    assert repr(le) == "LeaderElector(kube-system/demo as me: stopped)"


def test_replica_lookup_errors_name_what_exists():
    c, sched, _ = replicated_cluster(ha=True)
    with pytest.raises(LookupError, match="no replica on 'worker-1'; hosts are: control-plane, control-plane2"):
        sched.replica("worker-1")
    with pytest.raises(LookupError, match="replicas 0..1, not 2"):
        sched.fail(2)
    if hasattr(c, "fail_component"):
        with pytest.raises(K8sLabError):
            c.fail_component("kube-proxy")
