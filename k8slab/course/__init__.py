"""Feedback for the course exercises: checks that say "passed" or give a specific hint.

Every check returns a :class:`Check` (``.passed``, ``.message``) that displays as one
or two lines of text in a notebook. A check never raises.

>>> import k8slab
>>> from k8slab import course
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> course.checks(course.exists(c, "node", "worker-1"), course.equals(len(c.nodes), 2, what="the node count"))
✅ node "worker-1" exists.
✅ the node count is 2.
"""

from k8slab.course.check import Check, Checks, check, checks, equals
from k8slab.course.objects import absent, can_i, curl_ok, exists, kubectl_ok, service_has_endpoints
from k8slab.course.pods import deployment_ready, pod_running, pod_scheduled

__all__ = [
    "Check",
    "Checks",
    "absent",
    "can_i",
    "check",
    "checks",
    "curl_ok",
    "deployment_ready",
    "equals",
    "exists",
    "kubectl_ok",
    "pod_running",
    "pod_scheduled",
    "service_has_endpoints",
]
