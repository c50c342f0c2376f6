"""The controllers kube-controller-manager runs by default in k8slab."""

from k8slab.controlplane.cronjob import CronJobController
from k8slab.controlplane.daemonset import DaemonSetController
from k8slab.controlplane.deployment import DeploymentController
from k8slab.controlplane.endpointslice import EndpointsController, EndpointSliceController
from k8slab.controlplane.garbagecollector import GarbageCollector
from k8slab.controlplane.job import JobController, TTLAfterFinishedController
from k8slab.controlplane.namespace import NamespaceController
from k8slab.controlplane.nodeipam import NodeIpamController
from k8slab.controlplane.nodelifecycle import NodeLifecycleController
from k8slab.controlplane.podgc import PodGCController
from k8slab.controlplane.replicaset import ReplicaSetController
from k8slab.controlplane.resourcequota import ResourceQuotaController
from k8slab.controlplane.serviceaccount import RootCACertPublisher, ServiceAccountsController
from k8slab.controlplane.statefulset import StatefulSetController
from k8slab.controlplane.volume import STORAGE_CONTROLLERS

DEFAULT_CONTROLLERS = [
    DeploymentController,
    ReplicaSetController,
    StatefulSetController,
    DaemonSetController,
    GarbageCollector,
    NodeIpamController,
    NodeLifecycleController,
    PodGCController,
    EndpointSliceController,
    EndpointsController,
    JobController,
    CronJobController,
    TTLAfterFinishedController,
    NamespaceController,
    ServiceAccountsController,
    RootCACertPublisher,
    ResourceQuotaController,
    *STORAGE_CONTROLLERS,
]
