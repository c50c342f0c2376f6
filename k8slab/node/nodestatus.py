"""The Node object a kubelet registers and the status it reports (the kubelet's ``nodestatus`` setters).

Capacity comes from the machine; *allocatable* is capacity minus what the kubelet
keeps back: with kubeadm's defaults only the hard eviction thresholds
(``memory.available<100Mi``, ``nodefs.available<10%``). Conditions are the three
pressures (False: all is well) and ``Ready``; each keeps its
``lastTransitionTime`` until its status changes, and ``lastHeartbeatTime`` moves
on every report. A change of status is also an event on the Node
(``NodeHasSufficientMemory``, ``NodeReady`` ...).

Simplified: no real pressure — memory, disk and PIDs never run short.

Example
-------
>>> memory_ki("8Gi")
'8388608Ki'
>>> allocatable_memory("8Gi")
'8286208Ki'
"""

from __future__ import annotations

import uuid

from k8slab.api.quantity import to_bytes
from k8slab.apiserver.server import KUBERNETES_VERSION
from k8slab.sim.loop import timestamp

#: What kind's node image reports.
OS_IMAGE = "Debian GNU/Linux 12 (bookworm)"
KERNEL_VERSION = "6.5.0-35-generic"
#: The node's root disk (``ephemeral-storage`` capacity), 100 GiB.
EPHEMERAL_STORAGE_KI = 104_857_600
#: kubeadm's default hard eviction threshold for memory.
EVICTION_MEMORY_KI = 100 * 1024
#: Most images a node lists in ``status.images``.
MAX_IMAGES_IN_STATUS = 50

_CONDITIONS = (
    # type, healthy status, reason, message, event when it becomes healthy
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
     "NodeHasSufficientMemory"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", "NodeHasNoDiskPressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", "NodeHasSufficientPID"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status", "NodeReady"),
)


def memory_ki(memory: str) -> str:
    return f"{to_bytes(memory) // 1024}Ki"


def allocatable_memory(memory: str) -> str:
    return f"{to_bytes(memory) // 1024 - EVICTION_MEMORY_KI}Ki"


def node_labels(name: str, extra: dict | None) -> dict:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    labels.update(extra or {})
    return dict(sorted(labels.items()))


def machine_identity(rng) -> dict:
    """machineID, systemUUID and bootID of a node, drawn from its random stream."""
    machine = f"{rng.getrandbits(128):032x}"
    system = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    boot = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return {"machineID": machine, "systemUUID": system, "bootID": boot}


def capacity(cpu: str, memory: str, pods: int) -> dict:
    return {
        "cpu": str(cpu),
        "ephemeral-storage": f"{EPHEMERAL_STORAGE_KI}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": memory_ki(memory),
        "pods": str(pods),
    }


def allocatable(cpu: str, memory: str, pods: int) -> dict:
    return {
        "cpu": str(cpu),
        "ephemeral-storage": str(EPHEMERAL_STORAGE_KI * 1024 * 9 // 10),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": allocatable_memory(memory),
        "pods": str(pods),
    }


def conditions(previous: list[dict] | None, now: float, *, heartbeat: bool = True) -> tuple[list[dict], list[str]]:
    """The kubelet's four conditions, and the events of those whose status changed."""
    prev = {c.get("type"): c for c in previous or ()}
    out, events = [], []
    for ctype, status, reason, message, event in _CONDITIONS:
        old = prev.get(ctype)
        changed = old is None or old.get("status") != status
        out.append({
            "lastHeartbeatTime": timestamp(now) if heartbeat or old is None else old.get("lastHeartbeatTime"),
            "lastTransitionTime": timestamp(now) if changed else old.get("lastTransitionTime"),
            "message": message,
            "reason": reason,
            "status": status,
            "type": ctype,
        })
        if changed:
            events.append(event)
    return out, events


def image_list(records) -> list[dict]:
    """``status.images``: the node's images, biggest first (at most 50)."""
    out = []
    for rec in records[:MAX_IMAGES_IN_STATUS]:
        out.append({"names": list(rec.names), "sizeBytes": rec.size})
    return out


def node_info(identity: dict, runtime_version: str) -> dict:
    return {
        "architecture": "amd64",
        "bootID": identity["bootID"],
        "containerRuntimeVersion": runtime_version,
        "kernelVersion": KERNEL_VERSION,
        "kubeProxyVersion": KUBERNETES_VERSION,
        "kubeletVersion": KUBERNETES_VERSION,
        "machineID": identity["machineID"],
        "operatingSystem": "linux",
        "osImage": OS_IMAGE,
        "systemUUID": identity["systemUUID"],
    }


def node_status(k, previous: dict | None, now: float) -> tuple[dict, list[str]]:
    """The full ``status`` kubelet ``k`` reports now, and the condition events to record."""
    conds, events = conditions((previous or {}).get("conditions"), now)
    status = {
        "addresses": [{"address": k.internal_ip, "type": "InternalIP"}, {"address": k.name, "type": "Hostname"}],
        "allocatable": allocatable(k.cpu, k.memory, k.max_pods),
        "capacity": capacity(k.cpu, k.memory, k.max_pods),
        "conditions": conds,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "images": image_list(k.runtime.list_images()),
        "nodeInfo": node_info(k.identity, k.runtime.version),
    }
    return status, events


def without_heartbeats(status: dict) -> dict:
    """``status`` with the heartbeat times removed (to tell a real change from a routine report)."""
    s = dict(status)
    s["conditions"] = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"} for c in status.get("conditions", ())]
    return s


def initial_node(k, now: float) -> tuple[dict, list[str]]:
    """The Node object kubelet ``k`` registers (``POST /api/v1/nodes``)."""
    status, events = node_status(k, None, now)
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "kubeadm.alpha.kubernetes.io/cri-socket": k.cri_socket,
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "labels": node_labels(k.name, k.labels),
            "name": k.name,
        },
        "spec": {},
        "status": status,
    }
    if k.taints:
        node["spec"]["taints"] = [dict(t) for t in k.taints]
    return node, events
