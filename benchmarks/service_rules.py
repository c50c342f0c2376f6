"""Network benchmark: kube-proxy rule programming for S Services × 10 endpoints on 100 nodes.

What runs: one API server (with the Service IP allocator, so ClusterIPs are real), the
real EndpointSlice controller, and a kube-proxy (iptables mode) on each of 100 nodes.
No kubelets and no scheduler: the pods are created already bound (``spec.nodeName``) and
their status is written Running + Ready with a pod IP, as a kubelet would have — starting
pods is the other benchmark's job (deployment_scale.py). Each Service is ClusterIP with one
port and selects 10 pods, spread over the nodes.

What is measured, for each S (default 100, 300, 1000):

- boot: API server, controller and 100 kube-proxies started, first (empty) syncs done;
- create: all Services and pods written through the API (the loop does not run meanwhile);
- sync: wall and cpu seconds from "all created" until every kube-proxy has synced the final
  state (slices written by the controller, watched by the proxies, applied), the virtual
  seconds that took and the syncs per proxy; rules are built lazily, on first look, so this
  is "state synced";
- build: then the rules are built on every node (``tables``, forced on each): "rules built";
  setup is boot + create + sync + build, svcs/s is S / (sync + build) wall seconds;
- nat lines (``iptables-save -t nat`` of one node), the time of that render (rule texts are
  made on the first one) and of the same on a second node, and of one packet walk (a pod's
  packet to a ClusterIP, mean over walks to every Service);
- incremental: with everything programmed, one pod is deleted (``--force --grace-period=0``):
  seconds until all 100 proxies have resynced (virtual seconds too: the ``minSyncPeriod``
  rate limit), then until all have rebuilt their rules;
- peak resident memory, and growth relative to the smallest S (10 for 10x Services is linear).

Each size runs in its own process so peak memory is that size's alone; with ``-r N`` each
size runs N times and the medians are printed.

    python benchmarks/service_rules.py               # S = 100, 300, 1000
    python benchmarks/service_rules.py -r 3 100 1000
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time

NODES = 100
ENDPOINTS = 10


class _Timer:
    """Wall and cpu seconds of a ``with`` block: ``.wall``, ``.cpu``."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def run_one(n_services: int) -> dict:
    import random

    from k8slab.apiserver import APIServer
    from k8slab.apiserver import services as service_alloc
    from k8slab.controlplane.endpointslice import EndpointSliceController
    from k8slab.controlplane.manager import ControllerManager
    from k8slab.etcd import Etcd
    from k8slab.network.packet import Packet
    from k8slab.node.kubeproxy import KubeProxy
    from k8slab.sim import EventLoop, Randomness, Trace

    # -- boot: API server (allocating ClusterIPs), EndpointSlice controller, 100 kube-proxies ----
    with _Timer() as boot:
        loop = EventLoop()
        rng = Randomness(0)
        api = APIServer(Etcd(), loop, Trace(enabled=False), rng)
        service_alloc.register(api)
        admin = api.client("kubectl")
        admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
        nodes = [f"worker-{i + 1}" for i in range(NODES)]
        proxies = [KubeProxy(api, loop, rng, name, f"172.18.{i // 250}.{i % 250 + 2}")
                   for i, name in enumerate(nodes)]
        ControllerManager(api, loop, rng, [EndpointSliceController], events=False).start()
        for p in proxies:
            p.start()
        loop.run_until_settled()

    # -- create Services and their pods (bound, Running, Ready), without running the loop ------
    with _Timer() as create:
        for s in range(n_services):
            app = f"svc-{s:04d}"
            admin.create({"apiVersion": "v1", "kind": "Service",
                          "metadata": {"name": app, "namespace": "default"},
                          "spec": {"selector": {"app": app}, "ports": [
                              {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}})
            for e in range(ENDPOINTS):
                k = s * ENDPOINTS + e
                node = k % NODES
                pod = admin.create({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"{app}-{e}", "namespace": "default", "labels": {"app": app}},
                    "spec": {"nodeName": nodes[node], "containers": [{
                        "name": "app", "image": "nginx:1.27",
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]}})
                ip = f"10.244.{node}.{k // NODES + 2}"
                pod["status"] = {
                    "phase": "Running", "hostIP": proxies[node].node_ip, "podIP": ip, "podIPs": [{"ip": ip}],
                    "conditions": [{"type": t, "status": "True"}
                                   for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]}
                admin.update_status(pod)

    # -- sync: until every kube-proxy has applied the final state (rules not built yet) --------
    events0, virtual0 = loop.events_run, loop.now
    with _Timer() as sync:
        loop.run_until_settled()
    sync_events = loop.events_run - events0
    sync_virtual = max(p.last_sync for p in proxies) - virtual0
    synced = sum(1 for p in proxies if _synced(p, n_services, ENDPOINTS))
    syncs = [p.syncs for p in proxies]

    # -- build: the rules of every node (lazy until looked at, so forced here) -----------------
    with _Timer() as build:
        for p in proxies:
            _ = p.tables

    # -- one node's iptables-save -t nat: first render (rule texts made), then another node's ---
    with _Timer() as render:
        nat = proxies[0].iptables(table="nat")
    with _Timer() as render_warm:
        proxies[1].iptables(table="nat")
    nat_lines = nat.count("\n")
    sep_chains = nat.count("\n:KUBE-SEP-")

    # -- packet walks: from a pod on the first node to each Service's ClusterIP ---------------
    ips = [svc["spec"]["clusterIP"] for svc in admin.list("services", "default")["items"]
           if svc["metadata"]["name"].startswith("svc-")]
    walk_rng = random.Random(0)
    dnat = 0
    with _Timer() as walk:
        for ip in ips:
            dnat += proxies[0].walk(Packet("10.244.0.2", ip, 80), walk_rng).destination.endswith(":8080")

    # -- incremental: one Service loses one endpoint; every proxy resyncs, then rebuilds -------
    virtual0 = loop.now
    with _Timer() as inc_sync:
        admin.delete("pods", "svc-0000-0", "default", grace_period_seconds=0, force=True)
        loop.run_until_settled()
    inc_virtual = max(p.last_sync for p in proxies) - virtual0
    resynced = sum(1 for p, before in zip(proxies, syncs, strict=True) if p.syncs > before)
    with _Timer() as inc_build:
        for p in proxies:
            _ = p.tables
    sep_after = proxies[0].iptables(table="nat").count("\n:KUBE-SEP-")

    return {
        "services": n_services,
        "pods": n_services * ENDPOINTS,
        "synced": synced,
        "boot_s": boot.wall,
        "create_s": create.wall,
        "create_cpu_s": create.cpu,
        "sync_s": sync.wall,
        "sync_cpu_s": sync.cpu,
        "sync_events": sync_events,
        "sync_virtual_s": sync_virtual,
        "syncs_per_proxy": statistics.mean(syncs),
        "build_s": build.wall,
        "build_cpu_s": build.cpu,
        "setup_s": boot.wall + create.wall + sync.wall + build.wall,
        "setup_cpu_s": boot.cpu + create.cpu + sync.cpu + build.cpu,
        "nat_lines": nat_lines,
        "render_s": render.wall,
        "render_warm_s": render_warm.wall,
        "walk_s": walk.wall / len(ips),
        "walks_dnat": dnat,
        "inc_sync_s": inc_sync.wall,
        "inc_sync_cpu_s": inc_sync.cpu,
        "inc_virtual_s": inc_virtual,
        "inc_build_s": inc_build.wall,
        "inc_build_cpu_s": inc_build.cpu,
        "inc_resynced": resynced,
        "inc_sep_delta": sep_chains - sep_after,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _synced(proxy, n_services: int, endpoints: int) -> bool:
    """Has this kube-proxy applied every Service with all its endpoints, with nothing pending?

    Reads the proxy's applied state (not its rules, which are built lazily on first look).
    """
    if proxy._pending_services or proxy._pending_slices or proxy._sync_event is not None:
        return False
    if len(proxy._svc_ports) != n_services:
        return False
    return all(len(eps) == endpoints for by_port in proxy._endpoints.values() for eps in by_port.values()) \
        and len(proxy._endpoints) == n_services


def _median_run(n: int, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True,
                             check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "--one":
        print(json.dumps(run_one(int(argv[1]))))
        return 0
    repeat = 1
    if len(argv) >= 2 and argv[0] in ("-r", "--repeat"):
        repeat, argv = int(argv[1]), argv[2:]
    sizes = [int(a) for a in argv] or [100, 300, 1000]
    results = [_median_run(n, repeat) for n in sizes]
    base = results[0]
    print(f"kube-proxy rule programming on {NODES} nodes, {ENDPOINTS} endpoints per Service (no kubelets)"
          + (f", median of {repeat} runs" if repeat > 1 else ""))
    print()
    print("all Services programmed: sync = every proxy has the final state; build = rules made on every node")
    print(f"{'svcs':>5} {'pods':>6} {'create s':>8} {'sync s':>7} {'cpu s':>6} {'virt s':>6} {'syncs':>5} "
          f"{'build s':>7} {'cpu s':>6} {'setup s':>7} {'cpu s':>6} {'svcs/s':>7} {'peak MiB':>8}")
    for r in results:
        print(f"{r['services']:>5.0f} {r['pods']:>6.0f} {r['create_s']:>8.2f} {r['sync_s']:>7.2f} "
              f"{r['sync_cpu_s']:>6.2f} {r['sync_virtual_s']:>6.3f} {r['syncs_per_proxy']:>5.1f} "
              f"{r['build_s']:>7.2f} {r['build_cpu_s']:>6.2f} {r['setup_s']:>7.2f} {r['setup_cpu_s']:>6.2f} "
              f"{r['services'] / (r['sync_s'] + r['build_s']):>7.0f} {r['peak_mib']:>8.0f}")
    print()
    print("one node: iptables-save -t nat (first render, then another node's), one packet walk;")
    print("incremental: one pod deleted, all proxies resynced, then all rules rebuilt")
    print(f"{'svcs':>5} {'nat lines':>9} {'render ms':>9} {'again ms':>8} {'walk ms':>7} "
          f"{'inc sync ms':>11} {'cpu ms':>7} {'virt s':>6} {'inc build ms':>12} {'cpu ms':>7}")
    for r in results:
        print(f"{r['services']:>5.0f} {r['nat_lines']:>9.0f} {1000 * r['render_s']:>9.1f} "
              f"{1000 * r['render_warm_s']:>8.1f} {1000 * r['walk_s']:>7.3f} {1000 * r['inc_sync_s']:>11.1f} "
              f"{1000 * r['inc_sync_cpu_s']:>7.1f} {r['inc_virtual_s']:>6.3f} {1000 * r['inc_build_s']:>12.1f} "
              f"{1000 * r['inc_build_cpu_s']:>7.1f}")
    print()
    print(f"growth relative to {base['services']:.0f} Services (10 for 10x is linear; cpu seconds):")
    print(f"{'svcs':>5} {'size x':>6} {'sync x':>6} {'build x':>7} {'setup x':>7} {'lines x':>7} "
          f"{'render x':>8} {'walk x':>6} {'inc sync x':>10} {'inc build x':>11} {'memory x':>8}")
    for r in results:
        print(f"{r['services']:>5.0f} {r['services'] / base['services']:>6.1f} "
              f"{r['sync_cpu_s'] / base['sync_cpu_s']:>6.1f} {r['build_cpu_s'] / base['build_cpu_s']:>7.1f} "
              f"{r['setup_cpu_s'] / base['setup_cpu_s']:>7.1f} {r['nat_lines'] / base['nat_lines']:>7.1f} "
              f"{r['render_s'] / base['render_s']:>8.1f} {r['walk_s'] / base['walk_s']:>6.1f} "
              f"{r['inc_sync_cpu_s'] / base['inc_sync_cpu_s']:>10.1f} "
              f"{r['inc_build_cpu_s'] / base['inc_build_cpu_s']:>11.1f} {r['peak_mib'] / base['peak_mib']:>8.1f}")
    bad = [r for r in results if r["synced"] != NODES or r["walks_dnat"] != r["services"]
           or r["inc_resynced"] != NODES or r["inc_sep_delta"] != 1]
    if bad:
        print("NOT CONVERGED:", ", ".join(
            f"{r['services']:.0f} Services: {r['synced']:.0f}/{NODES} proxies synced, "
            f"{r['walks_dnat']:.0f} walks DNATed, {r['inc_resynced']:.0f} resynced, "
            f"{r['inc_sep_delta']:.0f} endpoint chains removed" for r in bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
