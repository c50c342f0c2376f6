import pytest

NGINX_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: {image}
        ports:
        - containerPort: 80
"""


def nginx_deployment(replicas: int = 3, image: str = "nginx:1.27") -> str:
    return NGINX_DEPLOYMENT.format(replicas=replicas, image=image)


@pytest.fixture
def cluster():
    import k8slab

    return k8slab.Cluster(workers=3, seed=0)
