"""The API server's rules for a pod spec (``ValidatePodSpec``), wherever one appears.

A pod spec is checked the same way in a Pod, in the pod template of a
Deployment, ReplicaSet, DaemonSet, Job or CronJob, and in a PodTemplate (not in
a StatefulSet's, which the real API server leaves unchecked, see
:mod:`k8slab.api.rules`): volumes with unique names and exactly one source
(``configMap``, ``secret``, ``hostPath``... each with its own rules), containers
with a name and an image, ports in range, environment variables (names, one
``valueFrom`` source, ``configMapKeyRef`` / ``secretKeyRef`` keys), ``envFrom``,
volume mounts that name a (valid) volume, resources that are standard and whose
requests do not exceed their limits, restart and DNS policies, tolerations.
Once a pod exists its spec is almost frozen: :func:`pod_update` refuses any
change but images, added tolerations and a few deadlines.

Follows ``pkg/apis/core/validation/validation.go`` (``ValidatePodSpec``,
``ValidateVolumes``, ``ValidateEnv``, ``ValidateEnvFrom``, ``ValidateVolumeMounts``).
Simplified: the sources other than ``emptyDir``, ``hostPath``, ``configMap``,
``secret`` and ``persistentVolumeClaim`` are only counted, not checked inside;
``fieldRef`` paths are not checked.

Each broken rule adds a cause (:mod:`k8slab.api.field_errors`) to the
``causes`` list passed in, worded as the real API server words it.

Example
-------
>>> causes = []
>>> pod_spec({"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 0}]}],
...           "restartPolicy": "Sometimes"}, "spec", causes)
>>> for c in causes:
...     print(c["field"], "|", c["message"])
spec.containers[0].ports[0].containerPort | Required value
spec.restartPolicy | Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from k8slab.api.field_errors import (
    NONNEGATIVE,
    GoLiteral,
    check_nonnegative,
    dict_field,
    duplicate,
    forbidden,
    int_field,
    invalid,
    list_field,
    not_found,
    not_supported,
    required,
    str_field,
    type_invalid,
)
from k8slab.api.names import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    port_name_errors,
    validate_labels,
)
from k8slab.api.quantity import canonical_quantity, parse_quantity

__all__ = [
    "PORT_RANGE",
    "PROTOCOLS",
    "RESTART_POLICIES",
    "config_key_errors",
    "pod_spec",
    "pod_template",
    "pod_update",
]

#: The detail of a port number out of range (container ports and service ports).
PORT_RANGE = "must be between 1 and 65535, inclusive"
#: The protocols a port may use (container ports and service ports).
PROTOCOLS = ["SCTP", "TCP", "UDP"]
RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
_PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
_STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_ENV_NAME_ERROR = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
    "and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', "
    "regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
)
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_FILE_MODE = "must be a number between 0 and 0777 (octal), both inclusive"
#: Volume sources in the order ``validateVolumeSource`` counts them (JSON names).
_VOLUME_SOURCES = (
    "emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret", "nfs",
    "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "cinder", "cephfs", "quobyte",
    "downwardAPI", "fc", "flexVolume", "configMap", "azureFile", "vsphereVolume", "photonPersistentDisk",
    "portworxVolume", "azureDisk", "storageos", "projected", "scaleIO", "csi", "ephemeral",
)
# Where the "more than 1 volume type" error points, when Go spells it differently (sic).
_SOURCE_PATH = {"cephfs": "cephFS", "downwardAPI": "downwarAPI"}
_HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                    "FileOrCreate", "Socket"]


def config_key_errors(key: str) -> list[str]:
    """Why ``key`` cannot name a ConfigMap or Secret entry (``IsConfigMapKey``): it becomes a file name.

    Example
    -------
    >>> config_key_errors("app.properties")
    []
    >>> config_key_errors("..data")
    ["must not start with '..'"]
    >>> config_key_errors("my key")[0][:58]
    'a valid config key must consist of alphanumeric characters'
    """
    errs = []
    if len(key) > 253:
        errs.append("must be no more than 253 characters")
    if not _CONFIG_KEY.match(key):
        errs.append(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
            "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        )
    if key in (".", ".."):
        errs.append(f"must not be '{key}'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _unset(obj: Mapping, key: str) -> bool:
    """Whether ``obj[key]`` is missing, null or ``""``: "Required", rather than of the wrong type."""
    value = obj.get(key)
    return value is None or value == ""


def _resources(resources: Any, path: str, causes: list) -> None:
    values: dict[str, dict] = {}
    for part in ("limits", "requests"):
        listing = dict_field(resources, part, f"{path}.{part}", causes) or {}
        values[part] = {}
        for name in sorted(listing, key=str):
            name = str(name)
            where = f"{path}.{part}[{name}]"
            if (
                "/" not in name
                and name not in _STANDARD_CONTAINER_RESOURCES
                and not name.startswith("hugepages-")
            ):
                causes.append(invalid(where, name, "must be a standard resource for containers"))
                continue
            raw = listing[name]
            try:
                amount = parse_quantity(raw)
            except ValueError as exc:
                causes.append(invalid(where, raw if isinstance(raw, str) else str(raw), str(exc)))
                continue
            if amount < 0:
                causes.append(invalid(where, GoLiteral(canonical_quantity(raw)), NONNEGATIVE))
                continue
            values[part][name] = raw
    for name, raw in values["requests"].items():
        limit = values["limits"].get(name)
        if limit is not None and parse_quantity(raw) > parse_quantity(limit):
            causes.append(
                invalid(
                    f"{path}.requests",
                    canonical_quantity(raw),
                    f"must be less than or equal to {name} limit of {canonical_quantity(limit)}",
                )
            )


def _container(ctr: Any, path: str, names: set, volumes: set, causes: list) -> None:
    if not isinstance(ctr, dict):
        causes.append(type_invalid(path, ctr, "object"))
        return
    name = str_field(ctr, "name", f"{path}.name", causes)
    if not name:
        if _unset(ctr, "name"):
            causes.append(required(f"{path}.name"))
    else:
        errs = dns1123_label_errors(name)
        for msg in errs:
            causes.append(invalid(f"{path}.name", name, msg))
        if not errs and name in names:
            causes.append(duplicate(f"{path}.name", name))
        names.add(name)
    image = str_field(ctr, "image", f"{path}.image", causes)
    if not image:
        if _unset(ctr, "image"):
            causes.append(required(f"{path}.image"))
    elif image != image.strip():
        causes.append(
            invalid(f"{path}.image", image, "must not have leading or trailing whitespace")
        )
    port_names: set = set()
    for i, port in enumerate(list_field(ctr, "ports", f"{path}.ports", causes) or []):
        ppath = f"{path}.ports[{i}]"
        if not isinstance(port, dict):
            causes.append(type_invalid(ppath, port, "object"))
            continue
        pname = str_field(port, "name", f"{ppath}.name", causes)
        if pname:
            errs = port_name_errors(pname)
            for msg in errs:
                causes.append(invalid(f"{ppath}.name", pname, msg))
            if not errs and pname in port_names:
                causes.append(duplicate(f"{ppath}.name", pname))
            port_names.add(pname)
        number = int_field(port, "containerPort", f"{ppath}.containerPort", causes)
        if not number:
            if number is not None or "containerPort" not in port:
                causes.append(required(f"{ppath}.containerPort"))
        elif not 1 <= number <= 65535:
            causes.append(invalid(f"{ppath}.containerPort", number, PORT_RANGE))
        host = int_field(port, "hostPort", f"{ppath}.hostPort", causes)
        if host and not 1 <= host <= 65535:
            causes.append(invalid(f"{ppath}.hostPort", host, PORT_RANGE))
        protocol = str_field(port, "protocol", f"{ppath}.protocol", causes) or "TCP"
        if protocol not in PROTOCOLS:
            causes.append(not_supported(f"{ppath}.protocol", protocol, PROTOCOLS))
    for i, env in enumerate(list_field(ctr, "env", f"{path}.env", causes) or []):
        env_name = env.get("name") if isinstance(env, dict) else None
        if not env_name:
            causes.append(required(f"{path}.env[{i}].name"))
        elif not isinstance(env_name, str) or not _ENV_NAME.match(env_name):
            causes.append(invalid(f"{path}.env[{i}].name", str(env_name), _ENV_NAME_ERROR))
        if isinstance(env, dict):
            _env_value_from(env, f"{path}.env[{i}]", causes)
    _env_from(list_field(ctr, "envFrom", f"{path}.envFrom", causes) or [], f"{path}.envFrom", causes)
    mount_paths: set = set()
    for i, mount in enumerate(
        list_field(ctr, "volumeMounts", f"{path}.volumeMounts", causes) or []
    ):
        mpath = f"{path}.volumeMounts[{i}]"
        if not isinstance(mount, dict):
            causes.append(type_invalid(mpath, mount, "object"))
            continue
        # Typed readers first: a name or path of the wrong type is reported once.
        mname = str_field(mount, "name", f"{mpath}.name", causes)
        if mname is None and not _unset(mount, "name"):
            pass  # of the wrong type: reported
        else:
            if not mname:
                causes.append(required(f"{mpath}.name"))
            # only a volume that passed its own checks can be mounted (ValidateVolumes)
            if mname not in volumes:
                causes.append(not_found(f"{mpath}.name", mname or ""))
        mount_path = str_field(mount, "mountPath", f"{mpath}.mountPath", causes)
        if mount_path:
            if mount_path in mount_paths:
                causes.append(invalid(f"{mpath}.mountPath", mount_path, "must be unique"))
            mount_paths.add(mount_path)
        elif _unset(mount, "mountPath"):
            causes.append(required(f"{mpath}.mountPath"))
    pull = str_field(ctr, "imagePullPolicy", f"{path}.imagePullPolicy", causes)
    if pull is not None and pull not in _PULL_POLICIES:
        causes.append(not_supported(f"{path}.imagePullPolicy", pull, _PULL_POLICIES))
    _resources(
        dict_field(ctr, "resources", f"{path}.resources", causes), f"{path}.resources", causes
    )


def _key_selector(ref: Any, path: str, causes: list) -> None:
    """``validateConfigMapKeySelector`` / ``validateSecretKeySelector``: a name and a valid key."""
    if not isinstance(ref, dict):
        return
    name = str_field(ref, "name", f"{path}.name", causes)
    if name is not None or _unset(ref, "name"):
        # an empty name is checked as a name too: Go has no "unset" here
        for msg in dns1123_subdomain_errors(name or ""):
            causes.append(invalid(f"{path}.name", name or "", msg))
    key = str_field(ref, "key", f"{path}.key", causes)
    if not key:
        if _unset(ref, "key"):
            causes.append(required(f"{path}.key"))
    else:
        for msg in config_key_errors(key):
            causes.append(invalid(f"{path}.key", key, msg))


def _env_value_from(env: dict, path: str, causes: list) -> None:
    """``validateEnvVarValueFrom``: exactly one source, and no ``value`` beside it."""
    value_from = dict_field(env, "valueFrom", f"{path}.valueFrom", causes)
    if value_from is None:
        return
    where = f"{path}.valueFrom"
    sources = 0
    for key in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"):
        if value_from.get(key) is not None:
            sources += 1
            if key in ("configMapKeyRef", "secretKeyRef"):
                _key_selector(dict_field(value_from, key, f"{where}.{key}", causes), f"{where}.{key}", causes)
    if sources == 0:
        causes.append(invalid(where, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                         "`configMapKeyRef` or `secretKeyRef`"))
    elif env.get("value"):
        causes.append(invalid(where, "", "may not be specified when `value` is not empty"))
    elif sources > 1:
        causes.append(invalid(where, "", "may not have more than one field specified at a time"))


def _env_from(sources: list, path: str, causes: list) -> None:
    """``ValidateEnvFrom``: a prefix that is a variable name, one named ConfigMap or Secret."""
    for i, source in enumerate(sources):
        spath = f"{path}[{i}]"
        if not isinstance(source, dict):
            causes.append(type_invalid(spath, source, "object"))
            continue
        prefix = str_field(source, "prefix", f"{spath}.prefix", causes)
        if prefix and not _ENV_NAME.match(prefix):
            causes.append(invalid(f"{spath}.prefix", prefix, _ENV_NAME_ERROR))
        count = 0
        for key in ("configMapRef", "secretRef"):
            ref = source.get(key)
            if ref is None:
                continue
            count += 1
            ref = dict_field(source, key, f"{spath}.{key}", causes)
            if ref is None:
                continue
            name = str_field(ref, "name", f"{spath}.{key}.name", causes)
            if not name:
                if _unset(ref, "name"):
                    causes.append(required(f"{spath}.{key}.name"))
            else:
                # checked as a generateName prefix (a trailing "-" passes), as in Go
                checked = name[:-1] + "a" if name.endswith("-") else name
                for msg in dns1123_subdomain_errors(checked):
                    causes.append(invalid(f"{spath}.{key}.name", name, msg))
        # (sic) these two point at the list, not the entry
        if count == 0:
            causes.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif count > 1:
            causes.append(invalid(path, "", "may not have more than one field specified at a time"))


def _local_path(value: str, path: str, causes: list) -> None:
    """``ValidateLocalNonReservedPath``: relative, no ``..`` element, not starting with ``..``."""
    before = len(causes)
    if value.startswith("/"):
        causes.append(invalid(path, value, "must be a relative path"))
    if ".." in value.split("/"):
        causes.append(invalid(path, value, "must not contain '..'"))
    if value.startswith("..") and not value.startswith("../") and len(causes) == before:
        causes.append(invalid(path, value, "must not start with '..'"))


def _file_mode(source: dict, key: str, path: str, causes: list) -> None:
    mode = int_field(source, key, path, causes)
    if mode is not None and not 0 <= mode <= 0o777:
        causes.append(invalid(path, mode, _FILE_MODE))


def _key_to_paths(source: dict, path: str, causes: list) -> None:
    for i, item in enumerate(list_field(source, "items", f"{path}.items", causes) or []):
        ipath = f"{path}.items[{i}]"
        if not isinstance(item, dict):
            causes.append(type_invalid(ipath, item, "object"))
            continue
        if not str_field(item, "key", f"{ipath}.key", causes) and _unset(item, "key"):
            causes.append(required(f"{ipath}.key"))
        target = str_field(item, "path", f"{ipath}.path", causes)
        if not target and _unset(item, "path"):
            causes.append(required(f"{ipath}.path"))
        _local_path(target or "", f"{ipath}.path", causes)
        _file_mode(item, "mode", f"{ipath}.mode", causes)


def _volume_source(vol: dict, vpath: str, causes: list) -> None:
    """``validateVolumeSource``: exactly one source, and that source's own rules."""
    present = [key for key in _VOLUME_SOURCES if vol.get(key) is not None]
    # (No source at all cannot happen: defaulting made such a volume an emptyDir.)
    for n, key in enumerate(present):
        if n > 0:
            causes.append(forbidden(f"{vpath}.{_SOURCE_PATH.get(key, key)}", "may not specify more than 1 volume type"))
            continue
        spath = f"{vpath}.{key}"
        source = dict_field(vol, key, spath, causes)
        if source is None:
            continue
        if key in ("configMap", "secret"):
            name_key = "name" if key == "configMap" else "secretName"
            if not str_field(source, name_key, f"{spath}.{name_key}", causes) and _unset(source, name_key):
                causes.append(required(f"{spath}.{name_key}"))
            _file_mode(source, "defaultMode", f"{spath}.defaultMode", causes)
            _key_to_paths(source, spath, causes)
        elif key == "persistentVolumeClaim":
            if not str_field(source, "claimName", f"{spath}.claimName", causes) and _unset(source, "claimName"):
                causes.append(required(f"{spath}.claimName"))
        elif key == "hostPath":
            host_path = str_field(source, "path", f"{spath}.path", causes)
            if not host_path:
                if _unset(source, "path"):
                    causes.append(required(f"{spath}.path"))
                continue
            if ".." in host_path.split("/"):
                causes.append(invalid(f"{spath}.path", host_path, "must not contain '..'"))
            host_type = str_field(source, "type", f"{spath}.type", causes)
            if host_type is not None and host_type not in _HOST_PATH_TYPES:
                causes.append(not_supported(f"{spath}.type", host_type, _HOST_PATH_TYPES))
        elif key == "emptyDir" and source.get("sizeLimit") is not None:
            try:
                negative = parse_quantity(source["sizeLimit"]) < 0
            except ValueError:
                negative = False  # not a quantity: the schema reports it
            if negative:
                causes.append(forbidden(f"{spath}.sizeLimit", "SizeLimit field must be a valid resource quantity"))


def pod_spec(spec: Any, path: str, causes: list) -> None:
    """``ValidatePodSpec``: volumes, containers, restart and DNS policy, node selector.

    ``path`` is where the spec sits (``spec``, ``spec.template.spec``...); each
    broken rule is appended to ``causes``.

    Example
    -------
    >>> causes = []
    >>> pod_spec({"containers": [{"name": "web"}]}, "spec.template.spec", causes)
    >>> [(c["field"], c["message"]) for c in causes]
    [('spec.template.spec.containers[0].image', 'Required value')]
    """
    spec = spec if isinstance(spec, dict) else {}
    volumes: set[str] = set()
    for i, vol in enumerate(list_field(spec, "volumes", f"{path}.volumes", causes) or []):
        vpath = f"{path}.volumes[{i}]"
        if not isinstance(vol, dict):
            causes.append(type_invalid(vpath, vol, "object"))
            continue
        before = len(causes)
        _volume_source(vol, vpath, causes)
        vname = str_field(vol, "name", f"{vpath}.name", causes)
        if not vname:
            if _unset(vol, "name"):
                causes.append(required(f"{vpath}.name"))
            continue
        for msg in dns1123_label_errors(vname):
            causes.append(invalid(f"{vpath}.name", vname, msg))
        if vname in volumes:
            causes.append(duplicate(f"{vpath}.name", vname))
        if len(causes) == before:  # a volume with any error cannot be mounted
            volumes.add(vname)
    names: set = set()
    containers = list_field(spec, "containers", f"{path}.containers", causes)
    if not containers:
        causes.append(required(f"{path}.containers"))
    for i, ctr in enumerate(containers or []):
        _container(ctr, f"{path}.containers[{i}]", names, volumes, causes)
    for i, ctr in enumerate(
        list_field(spec, "initContainers", f"{path}.initContainers", causes) or []
    ):
        _container(ctr, f"{path}.initContainers[{i}]", names, volumes, causes)
    restart = (
        str_field(spec, "restartPolicy", f"{path}.restartPolicy", causes) or "Always"
    )  # the default
    if restart not in RESTART_POLICIES:
        causes.append(not_supported(f"{path}.restartPolicy", restart, RESTART_POLICIES))
    dns = str_field(spec, "dnsPolicy", f"{path}.dnsPolicy", causes) or "ClusterFirst"
    if dns not in _DNS_POLICIES:
        causes.append(not_supported(f"{path}.dnsPolicy", dns, _DNS_POLICIES))
    causes.extend(
        validate_labels(
            dict_field(spec, "nodeSelector", f"{path}.nodeSelector", causes), f"{path}.nodeSelector"
        )
    )
    account = str_field(spec, "serviceAccountName", f"{path}.serviceAccountName", causes)
    if account:
        for msg in dns1123_subdomain_errors(account):
            causes.append(invalid(f"{path}.serviceAccountName", account, msg))
    node = str_field(spec, "nodeName", f"{path}.nodeName", causes)
    if node:
        for msg in dns1123_subdomain_errors(node):
            causes.append(invalid(f"{path}.nodeName", node, msg))
    check_nonnegative(
        spec, "terminationGracePeriodSeconds", f"{path}.terminationGracePeriodSeconds", causes
    )
    deadline = int_field(spec, "activeDeadlineSeconds", f"{path}.activeDeadlineSeconds", causes)
    if deadline is not None and not 1 <= deadline <= 2**31 - 1:
        causes.append(
            invalid(
                f"{path}.activeDeadlineSeconds",
                deadline,
                f"must be between 1 and {2**31 - 1}, inclusive",
            )
        )
    for i, tol in enumerate(list_field(spec, "tolerations", f"{path}.tolerations", causes) or []):
        tpath = f"{path}.tolerations[{i}]"
        if not isinstance(tol, dict):
            causes.append(type_invalid(tpath, tol, "object"))
            continue
        str_field(tol, "key", f"{tpath}.key", causes)
        int_field(tol, "tolerationSeconds", f"{tpath}.tolerationSeconds", causes)
        value = str_field(tol, "value", f"{tpath}.value", causes)
        operator = str_field(tol, "operator", f"{tpath}.operator", causes)
        if operator is None and not _unset(tol, "operator"):
            pass  # of the wrong type: reported
        elif (operator or "Equal") not in ("Equal", "Exists"):
            causes.append(not_supported(f"{tpath}.operator", operator, ["Equal", "Exists"]))
        elif operator == "Exists" and value:
            causes.append(
                invalid(
                    f"{tpath}.operator", value, "value must be empty when `operator` is 'Exists'"
                )
            )
        effect = str_field(tol, "effect", f"{tpath}.effect", causes)
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            causes.append(
                not_supported(
                    f"{tpath}.effect", effect, ["NoExecute", "NoSchedule", "PreferNoSchedule"]
                )
            )


def pod_template(template: Any, path: str, causes: list) -> dict:
    """Check a pod template's labels and pod spec; return the template (``{}`` if not a dict).

    Example
    -------
    >>> causes = []
    >>> _ = pod_template({"metadata": {"labels": {"app": "my app"}}, "spec": {}}, "template", causes)
    >>> [c["field"] for c in causes]
    ['template.metadata.labels', 'template.spec.containers']
    """
    template = template if isinstance(template, dict) else {}
    meta = dict_field(template, "metadata", f"{path}.metadata", causes) or {}
    causes.extend(
        validate_labels(
            dict_field(meta, "labels", f"{path}.metadata.labels", causes), f"{path}.metadata.labels"
        )
    )
    pod_spec(template.get("spec"), f"{path}.spec", causes)
    return template


_POD_UPDATABLE = (
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def _changed_paths(old: Any, new: Any, path: str, out: list) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            _changed_paths(old.get(key), new.get(key), f"{path}.{key}", out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _changed_paths(a, b, f"{path}[{i}]", out)
    elif old != new:
        out.append(f"{path}: {json.dumps(old)} -> {json.dumps(new)}")


def _list_or_none(spec: Mapping, key: str) -> list | None:
    """``spec[key]`` if a list, ``[]`` if unset (or empty), ``None`` if of another type."""
    value = spec.get(key)
    if not value:
        return [] if value is None or isinstance(value, list) else None
    return value if isinstance(value, list) else None


def pod_update(new: Mapping, old: Mapping, causes: list) -> None:
    """Forbid an update of a pod that changes more than its images and a few other fields.

    Example
    -------
    >>> old = {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}
    >>> causes = []
    >>> pod_update({"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}, old, causes)
    >>> causes
    []
    >>> pod_update({"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}, old, causes)
    >>> print(causes[0]["message"].splitlines()[-1])
      spec.containers[0].name: "web" -> "app"
    """
    new_spec = dict(new.get("spec") or {})
    old_spec = dict(old.get("spec") or {})
    # Mask what may change, then anything left that differs is forbidden.
    for part in ("containers", "initContainers"):
        a, b = old_spec.get(part), new_spec.get(part)
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            new_spec[part] = [
                {**n, "image": o.get("image")}
                if isinstance(n, dict) and isinstance(o, dict)
                else n
                for o, n in zip(a, b, strict=True)
            ]
    new_spec["activeDeadlineSeconds"] = old_spec.get("activeDeadlineSeconds")
    # Tolerations may only be added, gates only removed; compared only when both are
    # lists (anything else differs, or not, like any other field).
    old_tol, new_tol = (
        _list_or_none(old_spec, "tolerations"),
        _list_or_none(new_spec, "tolerations"),
    )
    if old_tol is not None and new_tol is not None and all(t in new_tol for t in old_tol):
        new_spec["tolerations"] = old_spec.get("tolerations")
    grace_old, grace_new = (
        old_spec.get("terminationGracePeriodSeconds"),
        new_spec.get("terminationGracePeriodSeconds"),
    )
    if isinstance(grace_old, int) and grace_old < 0 and grace_new == 1:
        new_spec["terminationGracePeriodSeconds"] = grace_old
    gates_old = _list_or_none(old_spec, "schedulingGates")
    gates_new = _list_or_none(new_spec, "schedulingGates")
    if gates_old is not None and gates_new is not None and all(g in gates_old for g in gates_new):
        new_spec["schedulingGates"] = old_spec.get("schedulingGates")
    new_spec = {k: v for k, v in new_spec.items() if v is not None}
    old_spec = {k: v for k, v in old_spec.items() if v is not None}
    if new_spec != old_spec:
        changed: list = []
        _changed_paths(old_spec, new_spec, "spec", changed)
        causes.append(
            forbidden(
                "spec",
                f"pod updates may not change fields other than {_POD_UPDATABLE}\n  "
                + "\n  ".join(changed),
            )
        )
