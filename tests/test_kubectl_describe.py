"""kubectl describe: the real layout, sections in order, aligned by Go's tabwriter."""

try:
    from .test_kubectl_fakeclient import (
        FakeClient,
        deployment,
        event,
        kubectl_for,
        node,
        pod,
        replicaset,
        ts,
    )
except ImportError:
    from test_kubectl_fakeclient import (
        FakeClient,
        deployment,
        event,
        kubectl_for,
        node,
        pod,
        replicaset,
        ts,
    )


def run(cmd, *objects):
    result = kubectl_for(FakeClient(*objects)).run(cmd)
    assert result.exception is None
    return result


def web_pod(**kwargs):
    p = pod("web-7d8b9c6f5-x2x4q", labels={"app": "web", "pod-template-hash": "7d8b9c6f5"},
            owner=("ReplicaSet", "web-7d8b9c6f5"), created=ts(300), **kwargs)
    p["spec"]["containers"][0]["volumeMounts"] = [
        {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access-5v8w8", "readOnly": True}]
    p["spec"]["volumes"] = [{"name": "kube-api-access-5v8w8", "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}]
    return p


def test_describe_pod_matches_kubectl_layout():
    p = web_pod()
    p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "250m", "memory": "256Mi"},
                                               "requests": {"cpu": "100m", "memory": "128Mi"}}
    p["status"]["qosClass"] = "Burstable"
    evs = [event("e1", p, "Scheduled", "Successfully assigned default/web-7d8b9c6f5-x2x4q to worker-1",
                 component="default-scheduler", first=ts(300)),
           event("e2", p, "Pulled", 'Container image "nginx:1.27" already present on machine', first=ts(299)),
           event("e3", p, "BackOff", "Back-off restarting failed container", type_="Warning", first=ts(250),
                 last=ts(20), count=7)]
    assert run("describe pod web-7d8b9c6f5-x2x4q", p, *evs) == """\
Name:             web-7d8b9c6f5-x2x4q
Namespace:        default
Priority:         0
Service Account:  default
Node:             worker-1/172.18.0.3
Start Time:       Wed, 01 Jan 2025 00:55:00 +0000
Labels:           app=web
                  pod-template-hash=7d8b9c6f5
Annotations:      <none>
Status:           Running
IP:               10.244.1.5
IPs:
  IP:           10.244.1.5
Controlled By:  ReplicaSet/web-7d8b9c6f5
Containers:
  nginx:
    Container ID:   containerd://web-7d8b9c6f5-x2x4q-nginx
    Image:          nginx:1.27
    Image ID:       docker.io/library/nginx:1.27@sha256:abc
    Port:           80/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Wed, 01 Jan 2025 00:55:00 +0000
    Ready:          True
    Restart Count:  0
    Limits:
      cpu:     250m
      memory:  256Mi
    Requests:
      cpu:        100m
      memory:     128Mi
    Environment:  <none>
    Mounts:
      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-5v8w8 (ro)
Conditions:
  Type                        Status
  PodReadyToStartContainers   True·
  Initialized                 True·
  Ready                       True·
  ContainersReady             True·
  PodScheduled                True·
Volumes:
  kube-api-access-5v8w8:
    Type:                    Projected (a volume that contains injected data from multiple sources)
    TokenExpirationSeconds:  3607
    ConfigMapName:           kube-root-ca.crt
    ConfigMapOptional:       <nil>
    DownwardAPI:             true
QoS Class:                   Burstable
Node-Selectors:              <none>
Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                             node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Events:
  Type     Reason     Age                  From               Message
  ----     ------     ----                 ----               -------
  Normal   Scheduled  5m                   default-scheduler  Successfully assigned default/web-7d8b9c6f5-x2x4q to worker-1
  Normal   Pulled     4m59s                kubelet            Container image "nginx:1.27" already present on machine
  Warning  BackOff    20s (x7 over 4m10s)  kubelet            Back-off restarting failed container
""".replace("·", " ")  # kubectl leaves a space after each condition status


def test_describe_pod_without_events_and_with_a_waiting_container():
    p = pod("nginx", phase="Pending", ready=False, state={"waiting": {"reason": "ErrImagePull"}})
    p["status"]["containerStatuses"][0].update({"containerID": "", "imageID": ""})
    text = run("describe pod nginx", p)
    assert "    Container ID:   \n    Image:          nginx:1.27\n    Image ID:       \n" in text
    assert "    State:          Waiting\n      Reason:       ErrImagePull\n    Ready:          False\n" in text
    # No volumes: "Volumes:\t<none>" continues the Conditions block, whose widest cell sets the column.
    assert text.endswith("Volumes:                      <none>\n" "QoS Class:                    BestEffort\n"
                         "Node-Selectors:               <none>\n" "Tolerations:                  node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n"
                         "                              node.kubernetes.io/unreachable:NoExecute op=Exists for 300s\n"
                         "Events:                       <none>\n")


def test_describe_pod_sections_come_in_kubectl_order():
    text = run("describe pod web-7d8b9c6f5-x2x4q", web_pod())
    keys = ["Name:", "Namespace:", "Priority:", "Service Account:", "Node:", "Start Time:", "Labels:", "Annotations:",
            "Status:", "IP:", "IPs:", "Controlled By:", "Containers:", "Conditions:", "Volumes:", "QoS Class:",
            "Node-Selectors:", "Tolerations:", "Events:"]
    positions = [text.index("\n" + k) if i else text.index(k) for i, k in enumerate(keys)]
    assert positions == sorted(positions)


def test_describe_pod_with_last_state_and_probe():
    p = web_pod(restarts=2, last_state={"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                                         "startedAt": ts(100), "finishedAt": ts(35)}})
    p["spec"]["containers"][0]["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                                                   "initialDelaySeconds": 5, "periodSeconds": 5, "timeoutSeconds": 1,
                                                   "successThreshold": 1, "failureThreshold": 3}
    text = run("describe pod web-7d8b9c6f5-x2x4q", p)
    assert (
        "    Last State:     Terminated\n"
        "      Reason:       OOMKilled\n"
        "      Exit Code:    137\n"
        "      Started:      Wed, 01 Jan 2025 00:58:20 +0000\n"
        "      Finished:     Wed, 01 Jan 2025 00:59:25 +0000\n"
        "    Ready:          True\n"
        "    Restart Count:  2\n"
        "    Liveness:       http-get http://:8080/healthz delay=5s timeout=1s period=5s #success=1 #failure=3\n"
    ) in text


def test_describe_deployment():
    d = deployment("web")
    old = replicaset("web-5d4f8b9c7", d, replicas=0, ready=0, template_hash="5d4f8b9c7")
    old["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    new = replicaset("web-7d8b9c6f5", d)
    ev = event("web.1", d, "ScalingReplicaSet", "Scaled up replica set web-7d8b9c6f5 to 3",
               component="deployment-controller", first=ts(120))
    assert run("describe deployment web", d, old, new, ev) == """\
Name:                   web
Namespace:              default
CreationTimestamp:      Wed, 01 Jan 2025 00:00:00 +0000
Labels:                 app=web
Annotations:            deployment.kubernetes.io/revision: 1
Selector:               app=web
Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
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
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      True    MinimumReplicasAvailable
  Progressing    True    NewReplicaSetAvailable
OldReplicaSets:  web-5d4f8b9c7 (0/0 replicas created)
NewReplicaSet:   web-7d8b9c6f5 (3/3 replicas created)
Events:
  Type    Reason             Age   From                   Message
  ----    ------             ----  ----                   -------
  Normal  ScalingReplicaSet  2m    deployment-controller  Scaled up replica set web-7d8b9c6f5 to 3
"""


def test_describe_replicaset_counts_its_pods():
    d = deployment("web")
    rs = replicaset("web-7d8b9c6f5", d, replicas=2, ready=1)
    labels = {"app": "web", "pod-template-hash": "7d8b9c6f5"}
    pods = [pod("web-7d8b9c6f5-a", labels=labels, owner=("ReplicaSet", "web-7d8b9c6f5")),
            pod("web-7d8b9c6f5-b", labels=labels, owner=("ReplicaSet", "web-7d8b9c6f5"), phase="Pending", ready=False)]
    text = run("describe rs web-7d8b9c6f5", d, rs, *pods)
    assert text.startswith(
        "Name:           web-7d8b9c6f5\n"
        "Namespace:      default\n"
        "Selector:       app=web,pod-template-hash=7d8b9c6f5\n"
        "Labels:         app=web\n"
        "                pod-template-hash=7d8b9c6f5\n"
        "Annotations:    deployment.kubernetes.io/desired-replicas: 2\n"
        "                deployment.kubernetes.io/max-replicas: 3\n"
        "                deployment.kubernetes.io/revision: 1\n"
        "Controlled By:  Deployment/web\n"
        "Replicas:       2 current / 2 desired\n"
        "Pods Status:    1 Running / 1 Waiting / 0 Succeeded / 0 Failed\n"
        "Pod Template:\n"
    )


def test_describe_node_lists_pods_with_requests_and_allocated_resources():
    n = node("worker-1", "172.18.0.3")
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "worker-1", "namespace": "kube-node-lease"},
             "spec": {"holderIdentity": "worker-1", "renewTime": "2025-01-01T00:59:55.000000Z"}}
    big = pod("web", created=ts(35))
    big["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "500m", "memory": "512Mi"},
                                                 "limits": {"cpu": "1", "memory": "1Gi"}}
    small = pod("db", namespace="data", created=ts(35))
    small["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "250m", "memory": "128Mi"}}
    done = pod("job-x", phase="Succeeded", ready=False)
    text = run("describe node worker-1", n, lease, big, small, done)
    assert text.startswith(
        "Name:               worker-1\n"
        "Roles:              <none>\n"
        "Labels:             beta.kubernetes.io/arch=amd64\n"
    )
    assert (
        "Taints:             <none>\n"
        "Unschedulable:      false\n"
        "Lease:\n"
        "  HolderIdentity:  worker-1\n"
        "  AcquireTime:     <unset>\n"
        "  RenewTime:       Wed, 01 Jan 2025 00:59:55 +0000\n"
        "Conditions:\n"
    ) in text
    assert (
        "PodCIDRs:                     10.244.3.0/24\n"
        "Non-terminated Pods:          (2 in total)\n"
        "  Namespace                   Name    CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age\n"
        "  ---------                   ----    ------------  ----------  ---------------  -------------  ---\n"
        "  data                        db      250m (12%)    0 (0%)      128Mi (3%)       0 (0%)         35s\n"
        "  default                     web     500m (25%)    1 (50%)     512Mi (12%)      1Gi (25%)      35s\n"
        "Allocated resources:\n"
        "  (Total limits may be over 100 percent, i.e., overcommitted.)\n"
        "  Resource           Requests     Limits\n"
        "  --------           --------     ------\n"
        "  cpu                750m (37%)   1 (50%)\n"
        "  memory             640Mi (15%)  1Gi (25%)\n"
        "  ephemeral-storage  0 (0%)       0 (0%)\n"
        "Events:              <none>\n"
    ) in text


def test_describe_control_plane_node_shows_role_and_taint():
    text = run("describe node control-plane", node("control-plane", "172.18.0.2", control_plane=True))
    assert "Roles:              control-plane\n" in text
    assert "Taints:             node-role.kubernetes.io/control-plane:NoSchedule\n" in text
    assert "Lease:              Failed to get lease: leases.coordination.k8s.io \"control-plane\" not found\n" in text


def test_describe_by_name_prefix_and_errors():
    a, b = pod("web-1"), pod("web-2")
    text = run("describe pod web", a, b)
    assert text.startswith("Name:             web-1\n") and "\n\nName:             web-2\n" in text
    missing = run("describe pod nope", a)
    assert (missing, missing.returncode) == ('Error from server (NotFound): pods "nope" not found\n', 1)
    two = run("describe pods", a, b)
    assert "Events:                       <none>\n\n\nName:             web-2" in two


def test_describe_generic_fallback():
    cm = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
          "type": "Opaque", "data": {"k": "dg=="}}
    text = run("describe secret s", cm)
    assert text.startswith("Name:         s\nNamespace:    default\nLabels:       <none>\nAnnotations:  <none>\n")


def test_describe_resourcequota_and_limitrange_print_kubectls_tables():
    import k8slab

    c = k8slab.Cluster(workers=1, seed=0)
    c.kubectl("create namespace dev")
    c.apply("""\
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: dev}
spec: {hard: {pods: "4", requests.cpu: "1", limits.memory: 1Gi}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: dev}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 250m, memory: 128Mi}
    max: {cpu: "1"}
""")
    c.run()
    c.kubectl("run web --image=nginx:1.27 -n dev")
    c.run()
    assert c.kubectl("describe quota compute -n dev") == """\
Name:          compute
Namespace:     dev
Resource       Used   Hard
--------       ----   ----
limits.memory  256Mi  1Gi
pods           1      4
requests.cpu   250m   1
"""
    assert c.kubectl("describe limits defaults -n dev") == """\
Name:       defaults
Namespace:  dev
Type        Resource  Min  Max  Default Request  Default Limit  Max Limit/Request Ratio
----        --------  ---  ---  ---------------  -------------  -----------------------
Container   cpu       -    1    250m             500m           -
Container   memory    -    -    128Mi            256Mi          -
"""
