"""Scale benchmark: N workers, one Deployment of 30·N replicas, applied and run until all Running.

Prints, for each N, the wall seconds from apply to all pods Running, pods per second,
the peak resident memory of the process, and how the cost grows relative to the
smallest N (a growth ratio of 10 for 10x the cluster is linear).

Each size runs in its own process so peak memory is that size's alone.

    python benchmarks/deployment_scale.py            # N = 100, 300, 1000
    python benchmarks/deployment_scale.py 50 100     # other sizes
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        resources:
          requests: {{cpu: 10m, memory: 16Mi}}
"""


def run_one(workers: int) -> dict:
    import k8slab

    t0 = time.perf_counter()
    c = k8slab.Cluster(workers=workers, seed=0, trace=False, pod_cidr="10.128.0.0/9")
    boot = time.perf_counter() - t0
    replicas = 30 * workers
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    c.apply(DEPLOYMENT.format(replicas=replicas))
    c.run()
    wall = time.perf_counter() - t1
    cpu = time.process_time() - cpu1
    pods = c.get("pods")
    running = sum(1 for p in pods if p["status"].get("phase") == "Running")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "workers": workers,
        "pods": replicas,
        "running": running,
        "boot_s": boot,
        "wall_s": wall,
        "cpu_s": cpu,
        "virtual_s": c.now,
        "events": c.loop.events_run,
        "peak_mib": peak_kib / 1024,
    }


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "--one":
        print(json.dumps(run_one(int(argv[1]))))
        return 0
    sizes = [int(a) for a in argv] or [100, 300, 1000]
    results = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = results[0]
    print(f"{'nodes':>6} {'pods':>7} {'running':>7} {'boot s':>7} {'wall s':>7} {'cpu s':>7} {'pods/s':>8} "
          f"{'peak MiB':>9} {'size x':>7} {'time x':>7}")
    for r in results:
        print(
            f"{r['workers']:>6} {r['pods']:>7} {r['running']:>7} {r['boot_s']:>7.2f} {r['wall_s']:>7.2f} "
            f"{r['cpu_s']:>7.2f} "
            f"{r['pods'] / r['wall_s']:>8.0f} {r['peak_mib']:>9.0f} {r['workers'] / base['workers']:>7.1f} "
            f"{r['wall_s'] / base['wall_s']:>7.1f}"
        )
    bad = [r for r in results if r["running"] != r["pods"]]
    if bad:
        print("NOT CONVERGED:", ", ".join(f"{r['workers']} nodes: {r['running']}/{r['pods']}" for r in bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
