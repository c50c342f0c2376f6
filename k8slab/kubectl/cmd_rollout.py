"""``kubectl rollout status|history|undo|pause|resume|restart``: manage a rollout.

Follows ``staging/.../kubectl/pkg/cmd/rollout`` and the polymorphic helpers behind it
(history and undo: :mod:`k8slab.kubectl.rollout_history`). Each subcommand takes
``TYPE NAME``, ``TYPE/NAME`` or a bare ``TYPE`` (every object of it) and prints one
line per object, as kubectl's name printer does: ``deployment.apps/web paused``,
``deployment.apps/web rolled back``, ``deployment.apps/web`` followed by the history
table. Errors for single objects (``error: deployments.apps "web" is already paused``)
are printed after the others succeeded.

k8slab simplifies: ``rollout status`` does not block, since the simulated cluster
only moves when it is run (and kubectl never runs its clock). It reports the
rollout's state once, with kubectl's own wording. With ``--timeout`` (say ``5s``)
on an unfinished rollout it ends as the real one does when the time is up: the
waiting line, then ``error: timed out waiting for the condition`` (exit code 1).
``--watch=false`` asks for one line anyway, so it always exits 0.
"""

from __future__ import annotations

from k8slab.api.cron import _go_duration as go_duration
from k8slab.api.errors import ApiError
from k8slab.kubectl.cmd_expose import dry_run_strategy
from k8slab.kubectl.cmd_label import print_errors
from k8slab.kubectl.command import KubectlError, Output
from k8slab.kubectl.duration import format_time
from k8slab.kubectl.flags import Flag
from k8slab.kubectl.printers import encode, for_output
from k8slab.kubectl.resources import fetch, parse_request
from k8slab.kubectl.rollout_history import (
    HISTORY_KINDS,
    group_kind,
    history_objects,
    rollback,
    view_history,
)

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

_COMMON = [Flag("filename", "f", "strings"), Flag("recursive", "R", "bool"), Flag("kustomize", "k", "string")]
_PRINT = [Flag("output", "o", "string"), Flag("show-managed-fields", "", "bool"), Flag("template", "", "string"),
          Flag("allow-missing-template-keys", "", "bool")]
SUBCOMMAND_FLAGS = {
    "status": [*_COMMON, Flag("watch", "w", "bool"), Flag("revision", "", "int"), Flag("timeout", "", "string"),
               Flag("selector", "l", "string")],
    "history": [*_COMMON, *_PRINT, Flag("revision", "", "int")],
    "undo": [*_COMMON, *_PRINT, Flag("to-revision", "", "int"), Flag("selector", "l", "string"),
             Flag("dry-run", "", "string", no_value_default="unchanged")],
    "pause": [*_COMMON, *_PRINT, Flag("field-manager", "", "string")],
    "resume": [*_COMMON, *_PRINT, Flag("field-manager", "", "string")],
    "restart": [*_COMMON, *_PRINT, Flag("selector", "l", "string"), Flag("field-manager", "", "string")],
}

ROLLOUT_HELP = """Manage the rollout of one or many resources.

 Valid resource types include:

  *  deployments
  *  daemonsets
  *  statefulsets

Available Commands:
  history       View rollout history
  pause         Mark the provided resource as paused
  restart       Restart a resource
  resume        Resume a paused resource
  status        Show the status of the rollout
  undo          Undo a previous rollout
"""


def rollout(kubectl, args: list[str], out: Output, stdin=None) -> None:
    if not args:
        out.write(ROLLOUT_HELP)
        return
    sub, rest = args[0], args[1:]
    if sub not in SUBCOMMAND_FLAGS:
        if sub.startswith("-"):
            out.write(ROLLOUT_HELP)
            return
        raise KubectlError(f'unknown command "{sub}" for "kubectl rollout"')
    positional, flags = kubectl.parse(rest, SUBCOMMAND_FLAGS[sub], f"rollout {sub}")
    if flags.get("filename"):
        raise KubectlError(f"rollout {sub} -f is not available in k8slab's in-process kubectl: name the resource")
    if not positional and not flags.get("selector"):
        if sub in ("status", "restart"):
            raise KubectlError('You must provide one or more resources by argument or filename.\nExample resource '
                               'specifications include:\n   \'-f rsrc.yaml\'\n   \'--filename=rsrc.json\'\n   '
                               "'<resource> <name>'\n   '<resource>'")
        raise KubectlError("required resource not specified")
    if sub in ("history", "status") and flags.get("revision", 0) < 0:
        raise KubectlError(f"revision must be a positive integer: {flags['revision']}")
    if sub == "status":
        status_timeout(flags)  # a bad duration fails before anything is read, as pflag does
    dry = dry_run_strategy(flags) if sub == "undo" else "none"
    namespace = kubectl.namespace(flags)
    request = parse_request(kubectl, positional, f"rollout {sub}") if positional else None
    if request is None:
        raise KubectlError("required resource not specified")
    api_errors: list[str] = []
    results = fetch(kubectl, request, out, namespace=namespace, label_selector=flags.get("selector"),
                    errors=api_errors)
    errors: list[tuple[str, bool]] = []
    handler = {"status": _status, "history": _history, "undo": _undo, "pause": _pause, "resume": _resume,
               "restart": _restart}[sub]
    for kind, objects in results:
        for obj in objects:
            try:
                handler(kubectl, kind, obj, flags, out, dry)
            except ApiError as e:
                errors.append((e.kubectl_message(), True))
            except KubectlError as e:
                if sub == "status":
                    raise
                errors.append((e.message, e.raw))
    errors.extend((m, True) for m in api_errors)
    if errors:
        print_errors(out, errors)


def _name(kind, obj: dict) -> str:
    return f"{kind.resource_ref}/{obj['metadata']['name']}"


def _print_result(kind, obj: dict, operation: str, flags: dict, out: Output) -> None:
    fmt = flags.get("output") or ""
    if fmt in ("yaml", "json"):
        out.write(encode(for_output(obj, kind), fmt))
    elif fmt == "name":
        out.print(_name(kind, obj))
    else:
        out.write(f"{_name(kind, obj)} {operation}\n")


# -- status -----------------------------------------------------------------------------------------


def rollout_status_message(kind: str, obj: dict) -> tuple[str, bool]:
    """kubectl's ``rollout status`` line for a Deployment, DaemonSet or StatefulSet, and whether it is done."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    name = meta.get("name", "")
    generation = meta.get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or generation > observed):
        return f"Waiting for {kind.lower()} spec update to be observed...", False
    if kind == "Deployment":
        for c in status.get("conditions") or []:
            if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
                raise KubectlError(f'deployment "{name}" exceeded its progress deadline')
        desired = 1 if spec.get("replicas") is None else int(spec["replicas"])
        updated = int(status.get("updatedReplicas") or 0)
        total = int(status.get("replicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        if updated < desired:
            return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of {desired} new replicas '
                    "have been updated..."), False
        if total > updated:
            return (f'Waiting for deployment "{name}" rollout to finish: {total - updated} old replicas are '
                    "pending termination..."), False
        if available < updated:
            return (f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated '
                    "replicas are available..."), False
        return f'deployment "{name}" successfully rolled out', True
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        available = int(status.get("numberAvailable") or 0)
        if updated < desired:
            return (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods have '
                    "been updated..."), False
        if available < desired:
            return (f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods '
                    "are available..."), False
        return f'daemon set "{name}" successfully rolled out', True
    desired = 1 if spec.get("replicas") is None else int(spec["replicas"])
    ready = int(status.get("readyReplicas") or 0)
    if ready < desired:
        return f"Waiting for {desired - ready} pods to be ready...", False
    updated = int(status.get("updatedReplicas") or 0)
    if updated < desired:
        return (f"Waiting for partitioned roll out to finish: {updated} out of {desired} new pods have been "
                "updated..."), False
    return (f"statefulset rolling update complete {int(status.get('currentReplicas') or 0)} pods at revision "
            f"{status.get('currentRevision', '')}..."), True


def _status(kubectl, kind, obj: dict, flags: dict, out: Output, dry: str) -> None:
    if kind.kind not in HISTORY_KINDS:
        raise KubectlError(f"no status viewer has been implemented for {group_kind(kind)}")
    revision = flags.get("revision", 0)
    if revision > 0 and kind.kind == "Deployment":
        running = (obj["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")
        try:
            running_revision = int(running)
        except ValueError:
            raise KubectlError(f'cannot get the revision: strconv.ParseInt: parsing "{running}": '
                               "invalid syntax") from None
        if running_revision != revision:
            raise KubectlError(f"desired revision ({revision}) is different from running revision "
                               f"({running_revision})")
    message, done = rollout_status_message(kind.kind, obj)
    out.print(message)
    if done or not flags.get("watch", True):
        return  # --watch=false: one status line is all that was asked for
    if status_timeout(flags) > 0:
        # kubectl would watch for the rest of the timeout; nothing can change meanwhile,
        # because the simulated cluster moves only when it is run, not while kubectl waits
        raise KubectlError("timed out waiting for the condition")


def status_timeout(flags: dict) -> float:
    """``--timeout`` in seconds (a Go duration such as ``5s`` or ``1m30s``; 0 means never).

    >>> status_timeout({"timeout": "1m30s"}), status_timeout({})
    (90.0, 0.0)
    """
    raw = flags.get("timeout")
    if raw is None:
        return 0.0
    try:
        return go_duration(raw)
    except ValueError as e:
        raise KubectlError(f'invalid argument "{raw}" for "--timeout" flag: {e}',
                           usage="kubectl rollout status") from None


# -- history and undo -----------------------------------------------------------------------------


def _history(kubectl, kind, obj: dict, flags: dict, out: Output, dry: str) -> None:
    if kind.kind not in HISTORY_KINDS:
        raise KubectlError(f'no history viewer has been implemented for "{group_kind(kind)}"')
    revision = flags.get("revision", 0)
    fmt = flags.get("output") or ""
    if fmt:
        found = history_objects(kubectl, kind, obj)
        numbers = [revision] if revision > 0 else sorted(found)
        for i, number in enumerate(numbers):
            item = found.get(number)
            if item is None:
                continue
            if fmt == "yaml":
                out.write(("---\n" if i else "") + encode(for_output(item), "yaml"))
            elif fmt == "json":
                out.write(encode(for_output(item), "json"))
            else:
                out.print(f"{kubectl.registry.for_object(item.get('apiVersion', ''), item.get('kind', '')).resource_ref}"
                          f"/{item['metadata']['name']}")
        return
    text = view_history(kubectl, kind, obj, revision)
    with_revision = f"with revision #{revision}" if revision > 0 else ""
    # the name printer ends the line after the text, which already ends in one: a blank line follows
    out.write(f"{_name(kind, obj)} {with_revision}\n{text}\n")


def _undo(kubectl, kind, obj: dict, flags: dict, out: Output, dry: str) -> None:
    if kind.kind not in HISTORY_KINDS:
        raise KubectlError(f'no rollbacker has been implemented for "{group_kind(kind)}"')
    result = rollback(kubectl, kind, obj, flags.get("to-revision", 0), dry)
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry, "")
    _print_result(kind, obj, result + suffix, flags, out)


# -- pause, resume, restart ------------------------------------------------------------------------


def _refusal(kind, obj: dict, reason: str) -> KubectlError:
    # set.CalculatePatches: "error: <resource> <name> <reason>", printed as it is
    return KubectlError(f'error: {kind.group_resource} "{obj["metadata"]["name"]}" {reason}', raw=True)


def _patch_and_print(kubectl, kind, obj: dict, patch: dict, operation: str, flags: dict, out: Output) -> None:
    meta = obj["metadata"]
    updated = kubectl.client.patch(kind.group_resource, meta["name"], patch, meta.get("namespace"),
                                   patch_type="strategic")
    _print_result(kind, updated, operation, flags, out)


def _pause(kubectl, kind, obj: dict, flags: dict, out: Output, dry: str) -> None:
    if kind.kind != "Deployment":
        raise _refusal(kind, obj, "pausing is not supported")
    if (obj.get("spec") or {}).get("paused"):
        raise _refusal(kind, obj, "is already paused")
    _patch_and_print(kubectl, kind, obj, {"spec": {"paused": True}}, "paused", flags, out)


def _resume(kubectl, kind, obj: dict, flags: dict, out: Output, dry: str) -> None:
    if kind.kind != "Deployment":
        raise _refusal(kind, obj, "resuming is not supported")
    if not (obj.get("spec") or {}).get("paused"):
        raise _refusal(kind, obj, "is not paused")
    _patch_and_print(kubectl, kind, obj, {"spec": {"paused": None}}, "resumed", flags, out)


def _restart(kubectl, kind, obj: dict, flags: dict, out: Output, dry: str) -> None:
    if kind.kind not in HISTORY_KINDS:
        raise _refusal(kind, obj, "restarting is not supported")
    if kind.kind == "Deployment" and (obj.get("spec") or {}).get("paused"):
        raise _refusal(kind, obj, "can't restart paused deployment (run rollout resume first)")
    stamp = format_time(kubectl.time())
    template_meta = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
    if (template_meta.get("annotations") or {}).get(RESTARTED_AT) == stamp:
        raise KubectlError(f"failed to create patch for {obj['metadata']['name']}: if restart has already been "
                           "triggered within the past second, please wait before attempting to trigger another")
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    _patch_and_print(kubectl, kind, obj, patch, "restarted", flags, out)
