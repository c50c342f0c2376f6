import os

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


# Every store made by the tests fingerprints what it holds, so a component that changes a
# shared (stored or cached) object in place instead of copying it fails the test.
os.environ["K8SLAB_CHECK_IMMUTABLE"] = "1"


@pytest.fixture(autouse=True)
def _stored_objects_are_never_changed_in_place():
    from k8slab.etcd.store import CHECKED_STORES

    yield
    changed = {repr(db): db.changed_in_place() for db in list(CHECKED_STORES)}
    CHECKED_STORES.clear()
    changed = {k: v for k, v in changed.items() if v}
    assert not changed, f"objects changed in place after being stored: {changed}"
