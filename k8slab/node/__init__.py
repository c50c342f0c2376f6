"""What runs on every node: kubelet, container runtime, (later) kube-proxy."""
