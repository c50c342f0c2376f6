"""``kubectl create <generator>``: Secrets, ConfigMaps, ServiceAccounts, RBAC objects, Jobs and CronJobs.

Each generator builds the object exactly as kubectl's does (the same fields, in
the same shape) and POSTs it; ``--dry-run=client -o yaml`` prints it instead,
which is how people write a first manifest. The confirmations are kubectl's:
``secret/db created``, ``role.rbac.authorization.k8s.io/pod-reader created``.

Example
-------
>>> secret_object("db", {"password": "s3cret"})["data"]
{'password': 'czNjcmV0'}
>>> rules_for(["get", "list"], [("", "pods")], [])
[{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['get', 'list']}]
"""

from __future__ import annotations

import base64
import os
import re

from k8slab.kubectl.cmd_expose import dry_run_strategy
from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.flags import Flag

OUTPUT_FLAGS = [
    Flag("dry-run", "", "string", no_value_default="unchanged"),
    Flag("output", "o", "string"),
    Flag("save-config", "", "bool"),
    Flag("validate", "", "string", no_value_default="strict"),
]

_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
RBAC_GROUP = "rbac.authorization.k8s.io"
# kubectl create role: the verbs it accepts (validResourceVerbs)
VALID_VERBS = ("*", "get", "delete", "list", "create", "update", "patch", "watch", "proxy", "deletecollection",
               "use", "bind", "escalate", "impersonate")


def emit(kubectl, obj: dict, ref: str, flags: dict, out: Output, *, namespaced: bool = True) -> None:
    """Create ``obj`` (or print it for ``--dry-run=client``) and print kubectl's confirmation."""
    dry = dry_run_strategy(flags)
    fmt = flags.get("output") or ""
    if fmt not in ("", "yaml", "json", "name"):
        raise KubectlError(f'unable to match a printer suitable for the output format "{fmt}", allowed formats '
                           "are: json,name,yaml")
    name = obj["metadata"]["name"]
    if dry == "client":
        result = obj
    else:
        extra = {"dry_run": True} if dry == "server" else {}
        result = kubectl.client.create(obj, namespace=kubectl.namespace(flags) if namespaced else None, **extra)
        name = result["metadata"]["name"]
    if fmt in ("yaml", "json"):
        from k8slab.kubectl.printers import encode

        out.write(encode(result, fmt))
        return
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry, "")
    out.print(f"{ref}/{name}" if fmt == "name" else f"{ref}/{name} created{suffix}")


def _one_name(positional: list[str], command: str) -> str:
    if len(positional) != 1:
        raise KubectlError(f"exactly one NAME is required, got {len(positional)}", help_hint=f"kubectl {command}")
    return positional[0]


def _split_commas(values) -> list[str]:
    return [v for value in values or [] for v in value.split(",") if v]


# -- Secrets and ConfigMaps ---------------------------------------------------------------------------

SOURCE_FLAGS = [
    Flag("from-literal", "", "strings"),
    Flag("from-file", "", "strings"),
    Flag("from-env-file", "", "strings"),
    Flag("append-hash", "", "bool"),
]


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise KubectlError(f'error reading {path}: no such file or directory') from None
    except IsADirectoryError:
        raise KubectlError(f"error reading {path}: is a directory") from None


def collect_sources(flags: dict, kind: str, name: str) -> dict[str, bytes]:
    """The keys and values of ``--from-literal``, ``--from-file`` and ``--from-env-file``, in kubectl's order."""
    data: dict[str, bytes] = {}

    def add(key: str, value: bytes) -> None:
        if not _CONFIG_KEY.match(key):
            raise KubectlError(
                f'"{key}" is not a valid key name for a {kind}: a valid config key must consist of alphanumeric '
                "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                "validation is '[-._a-zA-Z0-9]+')")
        if key in data:
            raise KubectlError(f'cannot add key {key}, another key by that name already exists in '
                               f'{"Data" if kind == "Secret" else "data"} for {kind} "{name}"')
        data[key] = value

    for source in flags.get("from-file") or []:
        key, sep, path = source.partition("=")
        if not sep:
            key, path = os.path.basename(source), source
        elif not key:
            raise KubectlError("key names or file paths cannot contain '='")
        if os.path.isdir(path):
            for entry in sorted(os.listdir(path)):
                full = os.path.join(path, entry)
                if os.path.isfile(full):
                    add(entry, _read(full))
            continue
        add(key, _read(path))
    for source in flags.get("from-literal") or []:
        key, sep, value = source.partition("=")
        if not sep or not key:
            raise KubectlError(f"invalid literal source {source}, expected key=value")
        add(key, value.encode())
    for path in flags.get("from-env-file") or []:
        for number, line in enumerate(_read(path).decode().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise KubectlError(f'"{line}" is not a valid key name: {path}: line {number}')
            add(key.strip(), value.encode())
    return data


def secret_object(name: str, data: dict, secret_type: str = "") -> dict:
    """A Secret as ``kubectl create secret generic`` builds it (values base64-encoded)."""
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "creationTimestamp": None}}
    encoded = {k: base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode() for k, v in sorted(data.items())}
    if encoded:
        obj["data"] = encoded
    if secret_type:
        obj["type"] = secret_type
    return obj


def configmap_object(name: str, data: dict[str, bytes]) -> dict:
    """A ConfigMap as ``kubectl create configmap`` builds it (text in ``data``, other bytes in ``binaryData``)."""
    obj: dict = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "creationTimestamp": None}}
    text, binary = {}, {}
    for key, value in sorted(data.items()):
        try:
            text[key] = value.decode()
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(value).decode()
    if binary:
        obj["binaryData"] = binary
    if text:
        obj["data"] = text
    return obj


def create_secret(kubectl, args: list[str], out: Output) -> None:
    if not args or args[0].startswith("-"):
        raise KubectlError("Create a secret with specified type: kubectl create secret (docker-registry | generic "
                           "| tls) NAME", help_hint="kubectl create secret")
    sub, rest = args[0], args[1:]
    if sub != "generic":
        raise KubectlError(f'"kubectl create secret {sub}" is not available in k8slab\'s in-process kubectl '
                           "(use generic)")
    positional, flags = kubectl.parse(rest, [*SOURCE_FLAGS, Flag("type", "", "string"), *OUTPUT_FLAGS],
                                      "create secret generic")
    name = _one_name(positional, "create secret generic")
    obj = secret_object(name, collect_sources(flags, "Secret", name), flags.get("type") or "")
    emit(kubectl, obj, "secret", flags, out)


def create_configmap(kubectl, args: list[str], out: Output) -> None:
    positional, flags = kubectl.parse(args, [*SOURCE_FLAGS, *OUTPUT_FLAGS], "create configmap")
    name = _one_name(positional, "create configmap")
    emit(kubectl, configmap_object(name, collect_sources(flags, "ConfigMap", name)), "configmap", flags, out)


def create_serviceaccount(kubectl, args: list[str], out: Output) -> None:
    positional, flags = kubectl.parse(args, OUTPUT_FLAGS, "create serviceaccount")
    name = _one_name(positional, "create serviceaccount")
    obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "creationTimestamp": None}}
    emit(kubectl, obj, "serviceaccount", flags, out)


# -- RBAC ------------------------------------------------------------------------------------------

def rules_for(verbs: list[str], resources: list[tuple[str, str]], names: list[str]) -> list[dict]:
    """One PolicyRule per API group, as ``kubectl create role`` groups ``--resource``."""
    groups: dict[str, list[str]] = {}
    for group, resource in resources:
        groups.setdefault(group, [])
        if resource not in groups[group]:
            groups[group].append(resource)
    rules = []
    for group, res in groups.items():
        rule = {"apiGroups": [group], "resources": res, "verbs": list(verbs)}
        if names:
            rule["resourceNames"] = list(names)
        rules.append(rule)
    return rules


def _resources(kubectl, values: list[str]) -> list[tuple[str, str]]:
    found = []
    for value in values:
        base, _, sub = value.partition("/")
        if base == "*":
            found.append(("*", value))
            continue
        kind = kubectl.registry.resolve(base)
        if kind is None:
            raise KubectlError(f'the server doesn\'t have a resource type "{base}"')
        found.append((kind.group, kind.plural + (f"/{sub}" if sub else "")))
    return found


ROLE_FLAGS = [Flag("verb", "", "strings"), Flag("resource", "", "strings"), Flag("resource-name", "", "strings"),
              *OUTPUT_FLAGS]


def create_role(kubectl, args: list[str], out: Output, *, cluster: bool = False) -> None:
    command = "create clusterrole" if cluster else "create role"
    positional, flags = kubectl.parse(args, ROLE_FLAGS, command)
    name = _one_name(positional, command)
    verbs = _split_commas(flags.get("verb"))
    if not verbs:
        raise KubectlError("at least one verb must be specified")
    for verb in verbs:
        if verb not in VALID_VERBS:
            raise KubectlError(f"invalid verb: '{verb}'")
    resources = _split_commas(flags.get("resource"))
    if not resources:
        raise KubectlError("at least one resource must be specified")
    obj = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole" if cluster else "Role",
           "metadata": {"name": name, "creationTimestamp": None},
           "rules": rules_for(verbs, _resources(kubectl, resources), _split_commas(flags.get("resource-name")))}
    ref = f"{'clusterrole' if cluster else 'role'}.{RBAC_GROUP}"
    emit(kubectl, obj, ref, flags, out, namespaced=not cluster)


BINDING_FLAGS = [Flag("role", "", "string"), Flag("clusterrole", "", "string"), Flag("user", "", "strings"),
                 Flag("group", "", "strings"), Flag("serviceaccount", "", "strings"), *OUTPUT_FLAGS]


def create_binding(kubectl, args: list[str], out: Output, *, cluster: bool = False) -> None:
    command = "create clusterrolebinding" if cluster else "create rolebinding"
    positional, flags = kubectl.parse(args, BINDING_FLAGS, command)
    name = _one_name(positional, command)
    role, cluster_role = flags.get("role"), flags.get("clusterrole")
    if cluster and role:
        raise KubectlError("unknown flag: --role", usage=f"kubectl {command}")
    if bool(role) == bool(cluster_role):
        raise KubectlError("exactly one of clusterrole or role must be specified" if not cluster
                           else "clusterrole must be specified")
    subjects = [{"apiGroup": RBAC_GROUP, "kind": "User", "name": u} for u in _split_commas(flags.get("user"))]
    subjects += [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in _split_commas(flags.get("group"))]
    for sa in _split_commas(flags.get("serviceaccount")):
        ns, sep, sa_name = sa.partition(":")
        if not sep or not ns or not sa_name:
            raise KubectlError("serviceaccount must be <namespace>:<name>")
        subjects.append({"kind": "ServiceAccount", "name": sa_name, "namespace": ns})
    obj = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRoleBinding" if cluster else "RoleBinding",
           "metadata": {"name": name, "creationTimestamp": None},
           "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role" if role else "ClusterRole", "name": role or cluster_role}}
    if subjects:
        obj["subjects"] = subjects
    ref = f"{'clusterrolebinding' if cluster else 'rolebinding'}.{RBAC_GROUP}"
    emit(kubectl, obj, ref, flags, out, namespaced=not cluster)


# -- Jobs and CronJobs ------------------------------------------------------------------------------

def _container(name: str, image: str, command: list[str]) -> dict:
    container = {"name": name, "image": image, "resources": {}}
    if command:
        container["command"] = list(command)
    return container


def create_job(kubectl, args: list[str], out: Output) -> None:
    dash = args.index("--") if "--" in args else len(args)
    command = args[dash + 1:]
    positional, flags = kubectl.parse(args[:dash], [Flag("image", "", "string"), Flag("from", "", "string"),
                                                    *OUTPUT_FLAGS], "create job")
    name = _one_name(positional, "create job")
    source = flags.get("from")
    if source:
        if flags.get("image") or command:
            raise KubectlError("either --image or --from must be specified")
        kind_name, _, cj_name = source.partition("/")
        if kind_name not in ("cronjob", "cronjobs", "cj", "cronjob.batch", "cronjobs.batch") or not cj_name:
            raise KubectlError(f"unknown object type {kind_name}")
        cj = kubectl.client.get("cronjobs.batch", cj_name, kubectl.namespace(flags))
        template = cj["spec"]["jobTemplate"]
        meta = template.get("metadata") or {}
        annotations = {"cronjob.kubernetes.io/instantiate": "manual", **(meta.get("annotations") or {})}
        obj = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": name, "creationTimestamp": None, "annotations": annotations,
                            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cj_name,
                                                 "uid": cj["metadata"]["uid"], "controller": True}]},
               "spec": template.get("spec", {}), "status": {}}
        if meta.get("labels"):
            obj["metadata"]["labels"] = dict(meta["labels"])
    else:
        if not flags.get("image"):
            raise KubectlError("--image must be specified")
        obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "creationTimestamp": None},
               "spec": {"template": {"metadata": {"creationTimestamp": None},
                                     "spec": {"containers": [_container(name, flags["image"], command)],
                                              "restartPolicy": "Never"}}},
               "status": {}}
    emit(kubectl, obj, "job.batch", flags, out)


def create_cronjob(kubectl, args: list[str], out: Output) -> None:
    dash = args.index("--") if "--" in args else len(args)
    command = args[dash + 1:]
    positional, flags = kubectl.parse(args[:dash], [Flag("image", "", "string"), Flag("schedule", "", "string"),
                                                    Flag("restart", "", "string"), *OUTPUT_FLAGS],
                                      "create cronjob")
    name = _one_name(positional, "create cronjob")
    if not flags.get("image"):
        raise KubectlError('required flag(s) "image", "schedule" not set' if not flags.get("schedule")
                           else 'required flag(s) "image" not set')
    if not flags.get("schedule"):
        raise KubectlError('required flag(s) "schedule" not set')
    restart = flags.get("restart") or "OnFailure"
    if restart not in ("OnFailure", "Never"):
        raise KubectlError(f"invalid restart policy: {restart}")
    obj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "creationTimestamp": None},
           "spec": {"jobTemplate": {"metadata": {"creationTimestamp": None, "name": name},
                                    "spec": {"template": {"metadata": {"creationTimestamp": None},
                                                          "spec": {"containers": [_container(name, flags["image"],
                                                                                             command)],
                                                                   "restartPolicy": restart}}}},
                    "schedule": flags["schedule"]},
           "status": {}}
    emit(kubectl, obj, "cronjob.batch", flags, out)


GENERATORS = {
    "secret": create_secret,
    "configmap": create_configmap,
    "cm": create_configmap,
    "serviceaccount": create_serviceaccount,
    "sa": create_serviceaccount,
    "role": create_role,
    "clusterrole": lambda k, a, o: create_role(k, a, o, cluster=True),
    "rolebinding": create_binding,
    "clusterrolebinding": lambda k, a, o: create_binding(k, a, o, cluster=True),
    "job": create_job,
    "cronjob": create_cronjob,
    "cj": create_cronjob,
}
