"""The in-process kubectl: the same commands, tables and messages as kubectl v1.30.

>>> from k8slab.kubectl import human_duration
>>> human_duration(250)
'4m10s'

``Kubectl(client, registry, now, apply=None)`` runs command lines against an
API-server client; its results print exactly as a terminal would show them.
"""

from k8slab.kubectl.command import Kubectl, KubectlError, KubectlResult
from k8slab.kubectl.duration import human_duration, parse_time, short_human_duration

__all__ = ["Kubectl", "KubectlError", "KubectlResult", "human_duration", "parse_time", "short_human_duration"]
