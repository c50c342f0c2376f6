"""etcd: the cluster's key-value store (MVCC revisions, watches, compare-and-swap), optionally 3 members."""

from k8slab.etcd.cluster import EtcdCluster, NoMemberReachable, RequestTimedOut
from k8slab.etcd.store import Compacted, CompareFailed, Etcd, KeyValue, Unavailable, WatchEvent

__all__ = ["Compacted", "CompareFailed", "Etcd", "EtcdCluster", "KeyValue", "NoMemberReachable", "RequestTimedOut",
           "Unavailable", "WatchEvent"]
