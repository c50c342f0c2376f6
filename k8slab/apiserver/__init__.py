"""The API server, its request pipeline, and the client-side machinery components use with it
(client, informers, work queues, event recorder)."""

from k8slab.apiserver.client import Client
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.informer import DeltaFIFO, Indexer, Informer, Lister, SharedInformerFactory
from k8slab.apiserver.request import Request, UserInfo
from k8slab.apiserver.server import KUBERNETES_VERSION, APIServer, Watcher
from k8slab.apiserver.workqueue import WorkQueue

__all__ = [
    "APIServer",
    "Client",
    "DeltaFIFO",
    "EventRecorder",
    "Indexer",
    "Informer",
    "KUBERNETES_VERSION",
    "Lister",
    "Request",
    "SharedInformerFactory",
    "UserInfo",
    "Watcher",
    "WorkQueue",
]
