"""``kubectl describe`` for RBAC: Role, ClusterRole, RoleBinding, ClusterRoleBinding.

A role's rules are shown as kubectl's ``pkg/util/rbac`` reshapes them
(:mod:`k8slab.kubectl.policy_rules`); a binding shows the role it grants and its
subjects. None of them has a Namespace line or events, as in kubectl.

Example
-------
>>> from datetime import datetime, timezone
>>> role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
...         "metadata": {"name": "pod-reader", "namespace": "default"},
...         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}]}
>>> print(describe_role(role, Context(None, datetime(2025, 1, 1, tzinfo=timezone.utc))), end="")
Name:         pod-reader
Labels:       <none>
Annotations:  <none>
PolicyRule:
  Resources  Non-Resource URLs  Resource Names  Verbs
  ---------  -----------------  --------------  -----
  pods       []                 []              [get watch list]
"""

from __future__ import annotations

from k8slab.kubectl.describe import Context, Writer, write_object_meta
from k8slab.kubectl.policy_rules import compact_and_sort, policy_row


def describe_role(role: dict, ctx: Context) -> str:
    """Role and ClusterRole."""
    w = Writer()
    meta = role.get("metadata") or {}
    write_object_meta(w, meta, namespace=False)
    w.write(0, "PolicyRule:\n")
    w.write(1, "Resources\tNon-Resource URLs\tResource Names\tVerbs\n")
    w.write(1, "---------\t-----------------\t--------------\t-----\n")
    for rule in compact_and_sort(role.get("rules") or []):
        w.write(1, "\t".join(policy_row(rule)) + "\n")
    return w.text()


def describe_role_binding(binding: dict, ctx: Context) -> str:
    """RoleBinding and ClusterRoleBinding."""
    w = Writer()
    meta, ref = binding.get("metadata") or {}, binding.get("roleRef") or {}
    write_object_meta(w, meta, namespace=False)
    w.write(0, "Role:\n")
    w.write(1, f"Kind:\t{ref.get('kind', '')}\n")
    w.write(1, f"Name:\t{ref.get('name', '')}\n")
    w.write(0, "Subjects:\n")
    w.write(1, "Kind\tName\tNamespace\n")
    w.write(1, "----\t----\t---------\n")
    for s in binding.get("subjects") or []:
        w.write(1, f"{s.get('kind', '')}\t{s.get('name', '')}\t{s.get('namespace', '')}\n")
    return w.text()
