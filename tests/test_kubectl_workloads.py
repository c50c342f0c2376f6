"""``kubectl get`` and ``describe`` for workloads, configuration, storage, RBAC and custom resources.

Every table and description is compared with the exact text kubectl v1.30 prints
for the same objects (columns of ``pkg/printers/internalversion/printers.go``,
layouts of ``staging/.../kubectl/pkg/describe/describe.go``).
"""

import base64

import pytest

import k8slab
from k8slab.api.kinds import Kind
from k8slab.controlplane.cronjob import CronJobController
from k8slab.controlplane.daemonset import DaemonSetController
from k8slab.controlplane.job import JobController
from k8slab.controlplane.manager import ControllerManager
from k8slab.controlplane.registry import DEFAULT_CONTROLLERS
from k8slab.controlplane.statefulset import StatefulSetController


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def c():
    cluster = k8slab.Cluster(workers=2, seed=0)
    # the workload controllers this test needs, unless the cluster already runs them
    extra = [k for k in (StatefulSetController, DaemonSetController, JobController, CronJobController)
             if k not in DEFAULT_CONTROLLERS]
    ControllerManager(cluster.api, cluster.loop, cluster.rng, extra).start()
    return cluster


def create(c, tmp_path, text: str) -> str:
    """``kubectl create -f`` (no last-applied annotation, unlike apply)."""
    f = tmp_path / "objects.yaml"
    f.write_text(text)
    out = c.kubectl(f"create -f {f}")
    assert out.returncode == 0, str(out)
    return str(out)


def k(c, command: str) -> str:
    out = c.kubectl(command)
    assert out.returncode == 0, str(out)
    return str(out)


# -- StatefulSets, DaemonSets, ControllerRevisions ----------------------------------------------------

WORKLOADS = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, labels: {app: web}}
spec:
  serviceName: web
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: "nginx:1.27", ports: [{containerPort: 80}]}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 0
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, image: "postgres:16"}]}
  volumeClaimTemplates:
  - metadata: {name: data, labels: {tier: db}}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: standard
      resources: {requests: {storage: 1024Mi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {kubernetes.io/os: linux}
      containers: [{name: agent, image: "busybox:1.36", command: [sleep, "3600"]}]
"""


def test_get_statefulsets_daemonsets_and_controller_revisions(c, tmp_path):
    create(c, tmp_path, WORKLOADS)
    c.run(seconds=60)
    assert k(c, "get statefulsets") == """\
NAME   READY   AGE
db     0/0     60s
web    2/2     60s
"""
    assert k(c, "get sts web -o wide") == """\
NAME   READY   AGE   CONTAINERS   IMAGES
web    2/2     60s   nginx        nginx:1.27
"""
    assert k(c, "get ds") == """\
NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR            AGE
agent   2         2         2       2            2           kubernetes.io/os=linux   60s
"""
    assert k(c, "get daemonset agent -o wide") == """\
NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR            AGE   CONTAINERS   IMAGES         SELECTOR
agent   2         2         2       2            2           kubernetes.io/os=linux   60s   agent        busybox:1.36   app=agent
"""
    revisions = k(c, "get controllerrevisions").splitlines()
    assert revisions[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert [line.split()[1:] for line in revisions[1:]] == [
        ["daemonset.apps/agent", "1", "60s"], ["statefulset.apps/db", "1", "60s"], ["statefulset.apps/web", "1", "60s"]]
    assert all(line.split()[0].startswith(("agent-", "db-", "web-")) for line in revisions[1:])


def test_describe_statefulset_with_and_without_volume_claims(c, tmp_path):
    create(c, tmp_path, WORKLOADS)
    c.run(seconds=60)
    # several objects: separated by two blank lines, as kubectl describe prints them
    assert k(c, "describe sts --show-events=false") == """\
Name:               db
Namespace:          default
CreationTimestamp:  Wed, 01 Jan 2025 00:00:10 +0000
Selector:           app=db
Labels:             <none>
Annotations:        <none>
Replicas:           0 desired | 0 total
Update Strategy:    RollingUpdate
  Partition:        0
Pods Status:        0 Running / 0 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=db
  Containers:
   pg:
    Image:         postgres:16
    Port:          <none>
    Host Port:     <none>
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Volume Claims:
  Name:          data
  StorageClass:  standard
  Labels:        tier=db
  Annotations:   <none>
  Capacity:      1Gi
  Access Modes:  [ReadWriteOnce]


Name:               web
Namespace:          default
CreationTimestamp:  Wed, 01 Jan 2025 00:00:10 +0000
Selector:           app=web
Labels:             app=web
Annotations:        <none>
Replicas:           2 desired | 2 total
Update Strategy:    RollingUpdate
  Partition:        0
Pods Status:        2 Running / 0 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=web
  Containers:
   nginx:
    Image:         nginx:1.27
    Port:          80/TCP
    Host Port:     0/TCP
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Volume Claims:     <none>
"""


def test_describe_daemonset_counts_nodes_without_aligning_them(c, tmp_path):
    create(c, tmp_path, WORKLOADS)
    c.run(seconds=60)
    assert k(c, "describe ds agent --show-events=false") == """\
Name:           agent
Namespace:      default
Selector:       app=agent
Node-Selector:  kubernetes.io/os=linux
Labels:         <none>
Annotations:    deprecated.daemonset.template.generation: 1
Desired Number of Nodes Scheduled: 2
Current Number of Nodes Scheduled: 2
Number of Nodes Scheduled with Up-to-date Pods: 2
Number of Nodes Scheduled with Available Pods: 2
Number of Nodes Misscheduled: 0
Pods Status:  2 Running / 0 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=agent
  Containers:
   agent:
    Image:      busybox:1.36
    Port:       <none>
    Host Port:  <none>
    Command:
      sleep
      3600
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  kubernetes.io/os=linux
  Tolerations:     <none>
"""
    events = k(c, "describe ds agent").split("Events:\n", 1)[1].splitlines()
    assert events[0].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert [e.split()[:3] + e.split()[4:5] for e in events[2:]] == [["Normal", "SuccessfulCreate", "60s",
                                                                   "Created"]] * 2


# -- Jobs and CronJobs --------------------------------------------------------------------------------

BATCH = """\
apiVersion: batch/v1
kind: Job
metadata: {name: pi, labels: {app: pi}}
spec:
  completions: 3
  parallelism: 2
  manualSelector: true
  selector: {matchLabels: {app: pi}}
  template:
    metadata: {labels: {app: pi}}
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: busybox, command: [sh, -c, "echo 3.14"]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/5 * * * *"
  timeZone: Etc/UTC
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: t, image: busybox, command: [date]}]
"""


def test_get_jobs_shows_status_completions_and_duration(c, tmp_path):
    create(c, tmp_path, BATCH)
    c.run(seconds=400)
    # v1.30 added the STATUS column (kubernetes#123226)
    assert k(c, "get jobs") == """\
NAME            STATUS     COMPLETIONS   DURATION   AGE
pi              Complete   3/3           3s         6m40s
tick-28928165   Complete   1/1           1s         110s
"""
    assert k(c, "get job pi -o wide") == """\
NAME   STATUS     COMPLETIONS   DURATION   AGE     CONTAINERS   IMAGES    SELECTOR
pi     Complete   3/3           3s         6m40s   pi           busybox   app=pi
"""
    assert k(c, "get cronjobs") == """\
NAME   SCHEDULE      TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE   AGE
tick   */5 * * * *   Etc/UTC    False     0        110s            6m40s
"""
    assert k(c, "get cj -o wide") == """\
NAME   SCHEDULE      TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE   AGE     CONTAINERS   IMAGES    SELECTOR
tick   */5 * * * *   Etc/UTC    False     0        110s            6m40s   t            busybox   <none>
"""


def test_describe_job_and_cronjob(c, tmp_path):
    create(c, tmp_path, BATCH)
    c.run(seconds=400)
    assert k(c, "describe job pi --show-events=false") == """\
Name:             pi
Namespace:        default
Selector:         app=pi
Labels:           app=pi
Annotations:      <none>
Parallelism:      2
Completions:      3
Completion Mode:  NonIndexed
Suspend:          false
Backoff Limit:    6
Start Time:       Wed, 01 Jan 2025 00:00:10 +0000
Completed At:     Wed, 01 Jan 2025 00:00:13 +0000
Duration:         3s
Pods Statuses:    0 Active (0 Ready) / 3 Succeeded / 0 Failed
Pod Template:
  Labels:  app=pi
  Containers:
   pi:
    Image:      busybox
    Port:       <none>
    Host Port:  <none>
    Command:
      sh
      -c
      echo 3.14
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
"""
    assert k(c, "describe cronjob tick --show-events=false") == """\
Name:                          tick
Namespace:                     default
Labels:                        <none>
Annotations:                   <none>
Schedule:                      */5 * * * *
Concurrency Policy:            Allow
Suspend:                       False
Successful Job History Limit:  3
Failed Job History Limit:      1
Starting Deadline Seconds:     <unset>
Selector:                      <unset>
Parallelism:                   <unset>
Completions:                   <unset>
Pod Template:
  Labels:  <none>
  Containers:
   t:
    Image:      busybox
    Port:       <none>
    Host Port:  <none>
    Command:
      date
    Environment:     <none>
    Mounts:          <none>
  Volumes:           <none>
  Node-Selectors:    <none>
  Tolerations:       <none>
Last Schedule Time:  Wed, 01 Jan 2025 00:05:00 +0000
Active Jobs:         <none>
"""


# -- ConfigMaps, Secrets, ServiceAccounts, PriorityClasses --------------------------------------------

CONFIG = f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, labels: {{app: web}}}}
data:
  mode: fast
  nginx.conf: |
    server {{
      listen 80;
    }}
binaryData:
  logo.png: {b64("PNGDATA!")}
---
apiVersion: v1
kind: Secret
metadata: {{name: db-pass}}
type: Opaque
data: {{password: {b64("s3cr3t!!")}, username: {b64("admin")}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: registry}}
type: kubernetes.io/dockerconfigjson
data: {{.dockerconfigjson: {b64('{"auths":{}}')}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: builder}}
secrets: [{{name: db-pass}}, {{name: gone}}]
imagePullSecrets: [{{name: registry}}]
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {{name: high}}
value: 1000000
preemptionPolicy: Never
description: For the shop front.
"""


def test_get_configmaps_secrets_serviceaccounts_and_priorityclasses(c, tmp_path):
    assert create(c, tmp_path, CONFIG) == """\
configmap/settings created
secret/db-pass created
secret/registry created
serviceaccount/builder created
priorityclass.scheduling.k8s.io/high created
"""
    c.run(seconds=30)
    # every namespace also holds the cluster CA (the root CA publisher's ConfigMap, made at boot)
    assert k(c, "get configmaps") == """\
NAME               DATA   AGE
kube-root-ca.crt   1      40s
settings           3      30s
"""
    assert k(c, "get secrets") == """\
NAME       TYPE                             DATA   AGE
db-pass    Opaque                           2      30s
registry   kubernetes.io/dockerconfigjson   1      30s
"""
    assert k(c, "get sa builder") == "NAME      SECRETS   AGE\nbuilder   2         30s\n"
    assert k(c, "get pc high") == """\
NAME   VALUE     GLOBAL-DEFAULT   AGE   PREEMPTIONPOLICY
high   1000000   false            30s   Never
"""


def test_describe_configmap_shows_data_and_secret_only_sizes(c, tmp_path):
    create(c, tmp_path, CONFIG)
    c.run(seconds=30)
    assert k(c, "describe cm settings") == """\
Name:         settings
Namespace:    default
Labels:       app=web
Annotations:  <none>

Data
====
mode:
----
fast

nginx.conf:
----
server {
  listen 80;
}



BinaryData
====
logo.png: 8 bytes

Events:  <none>
"""
    text = k(c, "describe secret db-pass")
    assert text == """\
Name:         db-pass
Namespace:    default
Labels:       <none>
Annotations:  <none>

Type:  Opaque

Data
====
password:  8 bytes
username:  5 bytes
"""
    assert "s3cr3t" not in text


def test_describe_serviceaccount_and_priorityclass(c, tmp_path):
    create(c, tmp_path, CONFIG)
    c.run(seconds=30)
    assert k(c, "describe sa builder") == """\
Name:                builder
Namespace:           default
Labels:              <none>
Annotations:         <none>
Image pull secrets:  registry
Mountable secrets:   db-pass
                     gone (not found)
Tokens:              <none>
Events:              <none>
"""
    assert k(c, "describe priorityclass high") == """\
Name:              high
Value:             1000000
GlobalDefault:     false
PreemptionPolicy:  Never
Description:       For the shop front.
Annotations:       <none>
Events:            <none>
"""


# -- PersistentVolumes, PersistentVolumeClaims, StorageClasses ----------------------------------------

STORAGE = """\
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-data, finalizers: [kubernetes.io/pv-protection]}
spec:
  capacity: {storage: 2048Mi}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: manual
  volumeMode: Filesystem
  claimRef: {namespace: default, name: data}
  hostPath: {path: /mnt/data, type: DirectoryOrCreate}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-local, labels: {disk: ssd}, finalizers: [kubernetes.io/pv-protection]}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOncePod]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: fast
  volumeMode: Filesystem
  local: {path: /mnt/disks/ssd1}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [worker-1, worker-2]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, finalizers: [kubernetes.io/pvc-protection]}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  volumeMode: Filesystem
  volumeName: pv-data
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: big, finalizers: [kubernetes.io/pvc-protection]}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  volumeMode: Filesystem
  resources: {requests: {storage: 10Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers: [{name: app, image: busybox, command: [sleep, "3600"]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: big}}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: kubernetes.io/no-provisioner
parameters: {type: ssd}
reclaimPolicy: Retain
volumeBindingMode: Immediate
allowVolumeExpansion: true
mountOptions: [noatime]
"""


def _set_phases(c):
    # what the persistent-volume controller reports once it has looked at these objects
    for name, status in (("pv-data", {"phase": "Bound"}), ("pv-local", {"phase": "Available"})):
        pv = c.get("pv", name)
        pv["status"] = status
        c.admin.update_status(pv)
    for name, status in (("data", {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                                   "capacity": {"storage": "2048Mi"}}), ("big", {"phase": "Pending"})):
        pvc = c.get("pvc", name)
        pvc["status"] = status
        c.admin.update_status(pvc)


def test_get_persistent_volumes_claims_and_storage_classes(c, tmp_path):
    create(c, tmp_path, STORAGE)
    _set_phases(c)
    c.run(seconds=30)
    assert k(c, "get pv") == """\
NAME       CAPACITY   ACCESS MODES   RECLAIM POLICY   STATUS      CLAIM          STORAGECLASS   VOLUMEATTRIBUTESCLASS   REASON   AGE
pv-data    2Gi        RWO,ROX        Retain           Bound       default/data   manual         <unset>                          30s
pv-local   5Gi        RWOP           Delete           Available                  fast           <unset>                          30s
"""
    assert k(c, "get pvc -o wide") == """\
NAME   STATUS    VOLUME    CAPACITY   ACCESS MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE   VOLUMEMODE
big    Pending                                       manual         <unset>                 30s   Filesystem
data   Bound     pv-data   2Gi        RWO,ROX        manual         <unset>                 30s   Filesystem
"""
    assert k(c, "get storageclasses") == """\
NAME                 PROVISIONER                    RECLAIMPOLICY   VOLUMEBINDINGMODE      ALLOWVOLUMEEXPANSION   AGE
fast                 kubernetes.io/no-provisioner   Retain          Immediate              true                   30s
standard (default)   rancher.io/local-path          Delete          WaitForFirstConsumer   false                  40s
"""


def test_describe_persistent_volume_sources_and_node_affinity(c, tmp_path):
    create(c, tmp_path, STORAGE)
    _set_phases(c)
    c.run(seconds=30)
    assert k(c, "describe pv --show-events=false") == """\
Name:            pv-data
Labels:          <none>
Annotations:     <none>
Finalizers:      [kubernetes.io/pv-protection]
StorageClass:    manual
Status:          Bound
Claim:           default/data
Reclaim Policy:  Retain
Access Modes:    RWO,ROX
VolumeMode:      Filesystem
Capacity:        2Gi
Node Affinity:   <none>
Message:        \x20
Source:
    Type:          HostPath (bare host directory volume)
    Path:          /mnt/data
    HostPathType:  DirectoryOrCreate


Name:              pv-local
Labels:            disk=ssd
Annotations:       <none>
Finalizers:        [kubernetes.io/pv-protection]
StorageClass:      fast
Status:            Available
Claim:            \x20
Reclaim Policy:    Delete
Access Modes:      RWOP
VolumeMode:        Filesystem
Capacity:          5Gi
Node Affinity:    \x20
  Required Terms: \x20
    Term 0:        kubernetes.io/hostname in [worker-1, worker-2]
Message:          \x20
Source:
    Type:  LocalVolume (a persistent volume backed by local storage on a node)
    Path:  /mnt/disks/ssd1
"""


def test_describe_claim_names_the_pods_using_it_and_storage_class(c, tmp_path):
    create(c, tmp_path, STORAGE)
    _set_phases(c)
    c.run(seconds=30)
    assert k(c, "describe pvc big --show-events=false") == """\
Name:          big
Namespace:     default
StorageClass:  manual
Status:        Pending
Volume:       \x20
Labels:        <none>
Annotations:   <none>
Finalizers:    [kubernetes.io/pvc-protection]
Capacity:     \x20
Access Modes: \x20
VolumeMode:    Filesystem
Used By:       app
"""
    assert k(c, "describe sc --show-events=false") == """\
Name:                  fast
IsDefaultClass:        No
Annotations:           <none>
Provisioner:           kubernetes.io/no-provisioner
Parameters:            type=ssd
AllowVolumeExpansion:  True
MountOptions:
  noatime
ReclaimPolicy:      Retain
VolumeBindingMode:  Immediate


Name:                  standard
IsDefaultClass:        Yes
Annotations:           storageclass.kubernetes.io/is-default-class=true
Provisioner:           rancher.io/local-path
Parameters:            <none>
AllowVolumeExpansion:  <unset>
MountOptions:          <none>
ReclaimPolicy:         Delete
VolumeBindingMode:     WaitForFirstConsumer
"""


# -- RBAC, namespaces, leases -------------------------------------------------------------------------

RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, watch, list]
- apiGroups: [apps]
  resources: [deployments]
  resourceNames: [web]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods}
subjects:
- {kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}
- {kind: ServiceAccount, name: builder, namespace: default}
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-viewer}
rules:
- apiGroups: [""]
  resources: [nodes]
  verbs: [get, list]
- nonResourceURLs: [/healthz, /version]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: view-nodes}
subjects: [{kind: Group, name: ops, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: node-viewer, apiGroup: rbac.authorization.k8s.io}
"""


def test_get_roles_and_bindings(c, tmp_path):
    create(c, tmp_path, RBAC)
    c.run(seconds=30)
    # roles have no printer of their own: the server's default columns
    assert k(c, "get roles") == "NAME         CREATED AT\npod-reader   2025-01-01T00:00:10Z\n"
    assert k(c, "get clusterrole node-viewer") == "NAME          CREATED AT\nnode-viewer   2025-01-01T00:00:10Z\n"
    assert k(c, "get rolebindings") == "NAME        ROLE              AGE\nread-pods   Role/pod-reader   30s\n"
    assert k(c, "get rolebindings -o wide") == """\
NAME        ROLE              AGE   USERS   GROUPS   SERVICEACCOUNTS
read-pods   Role/pod-reader   30s   jane             default/builder
"""
    assert k(c, "get clusterrolebinding view-nodes -o wide") == """\
NAME         ROLE                      AGE   USERS   GROUPS   SERVICEACCOUNTS
view-nodes   ClusterRole/node-viewer   30s           ops     \x20
"""


def test_describe_roles_compacts_and_sorts_rules_like_kubectl(c, tmp_path):
    create(c, tmp_path, RBAC)
    assert k(c, "describe role pod-reader") == """\
Name:         pod-reader
Labels:       <none>
Annotations:  <none>
PolicyRule:
  Resources         Non-Resource URLs  Resource Names  Verbs
  ---------         -----------------  --------------  -----
  pods/log          []                 []              [get watch list]
  pods              []                 []              [get watch list]
  deployments.apps  []                 [web]           [get]
"""
    assert k(c, "describe clusterrole node-viewer") == """\
Name:         node-viewer
Labels:       <none>
Annotations:  <none>
PolicyRule:
  Resources  Non-Resource URLs  Resource Names  Verbs
  ---------  -----------------  --------------  -----
  nodes      []                 []              [get list]
             [/healthz]         []              [get]
             [/version]         []              [get]
"""
    assert k(c, "describe rolebinding read-pods") == """\
Name:         read-pods
Labels:       <none>
Annotations:  <none>
Role:
  Kind:  Role
  Name:  pod-reader
Subjects:
  Kind            Name     Namespace
  ----            ----     ---------
  User            jane    \x20
  ServiceAccount  builder  default
"""
    assert k(c, "describe clusterrolebinding view-nodes") == """\
Name:         view-nodes
Labels:       <none>
Annotations:  <none>
Role:
  Kind:  ClusterRole
  Name:  node-viewer
Subjects:
  Kind   Name  Namespace
  ----   ----  ---------
  Group  ops  \x20
"""


def test_get_namespaces_and_node_leases(c):
    c.run(seconds=20)
    assert k(c, "get namespaces") == """\
NAME              STATUS   AGE
default           Active   30s
kube-node-lease   Active   30s
kube-public       Active   30s
kube-system       Active   30s
"""
    assert k(c, "get leases -n kube-node-lease") == """\
NAME            HOLDER          AGE
control-plane   control-plane   30s
worker-1        worker-1        30s
worker-2        worker-2        30s
"""


# -- CustomResourceDefinitions and custom resources ---------------------------------------------------

CRDS = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crontabs.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Image, type: string, priority: 1, jsonPath: .spec.image}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
---
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: nightly}
spec: {cronSpec: "0 3 * * *", image: "backup:1.0", replicas: 2}
status:
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: hourly}
spec: {cronSpec: "0 * * * *", image: "report:2.1"}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: knob}
spec: {size: 3}
"""


def test_custom_resources_print_their_crd_columns_or_name_and_age(c, tmp_path):
    # the kinds the CRDs would add to discovery
    c.api.register_kind(Kind("CronTab", "crontabs", group="stable.example.com", short_names=("ct",)))
    c.api.register_kind(Kind("Widget", "widgets", group="example.com"))
    create(c, tmp_path, CRDS)
    c.run(seconds=65)
    assert k(c, "get crd") == "NAME                          CREATED AT\ncrontabs.stable.example.com   2025-01-01T00:00:10Z\n"
    # a path that finds nothing leaves its cell empty; priority 1 columns only with -o wide
    assert k(c, "get crontabs") == """\
NAME      SPEC        REPLICAS   READY   AGE
hourly    0 * * * *                      65s
nightly   0 3 * * *   2          True    65s
"""
    assert k(c, "get ct -o wide") == """\
NAME      SPEC        REPLICAS   READY   IMAGE        AGE
hourly    0 * * * *                      report:2.1   65s
nightly   0 3 * * *   2          True    backup:1.0   65s
"""
    # no CRD (or no printer columns): NAME and AGE
    assert k(c, "get widgets") == "NAME   AGE\nknob   65s\n"
