"""etcd: the cluster's key-value store (MVCC revisions, watches, compare-and-swap)."""

from k8slab.etcd.store import Compacted, CompareFailed, Etcd, KeyValue, Unavailable, WatchEvent

__all__ = ["Compacted", "CompareFailed", "Etcd", "KeyValue", "Unavailable", "WatchEvent"]
