"""The kubelet admits a pod against the Node as the API server has it now.

A label added with ``kubectl label node`` after the kubelet last wrote its Node
status must count: the scheduler places a pod by that label, and the kubelet
must not reject it with ``NodeAffinity`` because of its own stale copy.
"""

from __future__ import annotations

import k8slab

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: fast
spec:
  nodeSelector:
    disk: ssd
  containers:
  - name: app
    image: nginx:1.27
"""


def test_pod_selecting_a_freshly_labelled_node_runs_there():
    c = k8slab.Cluster(workers=3, seed=0)
    c.run()
    out = c.kubectl("label node worker-2 disk=ssd")
    assert out.returncode == 0, str(out)
    c.apply(POD)
    c.run()
    kubelet = c.kubelets["worker-2"]
    # The kubelet's own last-written copy does not carry the label yet: the test exercises the
    # stale-copy case (a node status update would refresh it).
    assert "disk" not in ((kubelet.node or {}).get("metadata", {}).get("labels") or {})
    pod = c.get("pod", "fast")
    assert pod["spec"]["nodeName"] == "worker-2"
    assert pod["status"]["phase"] == "Running", pod["status"]
    assert "NodeAffinity" not in str(c.kubectl("get pod fast"))


def test_pod_whose_node_lost_the_label_is_rejected_by_the_kubelet():
    # The other way round: nodeName set by hand onto a node without the label -> the kubelet
    # rejects it with the real reason and message.
    c = k8slab.Cluster(workers=1, seed=0)
    c.run()
    c.apply(POD.replace("spec:\n", "spec:\n  nodeName: worker-1\n", 1))
    c.run()
    pod = c.get("pod", "fast")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["reason"] == "NodeAffinity"
    assert pod["status"]["message"] == "Pod was rejected: Predicate NodeAffinity failed"
