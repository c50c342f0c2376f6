"""Command-line flags parsed the way kubectl's flag library (spf13/pflag) parses them.

Flags may come before, between or after arguments; ``--name=value``,
``--name value``, ``-n value``, ``-nvalue`` and ``-n=value`` all work; boolean
flags take no value unless written ``--flag=false``; ``--`` ends the flags.
Mistakes produce pflag's own messages, which kubectl prints as
``error: unknown flag: --foo`` followed by ``See 'kubectl get --help' for usage.``

Example
-------
>>> spec = [Flag("namespace", "n", "string"), Flag("all-namespaces", "A", "bool")]
>>> parse(["pods", "-n", "kube-system", "-A"], spec)
(['pods'], {'namespace': 'kube-system', 'all-namespaces': True})
>>> parse(["--foo"], spec)
Traceback (most recent call last):
...
k8slab.kubectl.flags.FlagError: unknown flag: --foo
"""

from __future__ import annotations

from dataclasses import dataclass


class FlagError(Exception):
    """A flag kubectl's parser would reject; the message is pflag's."""


@dataclass(frozen=True)
class Flag:
    name: str
    short: str = ""
    type: str = "bool"  # bool, string, int, strings (repeatable)
    default: object = None
    no_value_default: str | None = None  # a string flag usable bare (``-o`` has none; ``--dry-run`` has "unchanged")


def _convert(flag: Flag, raw: str, shown: str):
    if flag.type == "bool":
        low = raw.lower()
        if low in ("1", "t", "true"):
            return True
        if low in ("0", "f", "false"):
            return False
        raise FlagError(f'invalid argument "{raw}" for "{shown}" flag: strconv.ParseBool: parsing "{raw}": invalid syntax')
    if flag.type == "int":
        try:
            return int(raw, 10)
        except ValueError:
            raise FlagError(f'invalid argument "{raw}" for "{shown}" flag: strconv.ParseInt: parsing "{raw}": invalid syntax') from None
    return raw


def parse(args: list[str], spec: list[Flag]) -> tuple[list[str], dict]:
    """Split ``args`` into positional arguments and flag values (only flags given appear)."""
    # a command's own flag shadows a global one of the same name (``create rolebinding --user``)
    by_name = {f.name: f for f in reversed(spec)}
    by_short = {f.short: f for f in reversed(spec) if f.short}
    positional: list[str] = []
    values: dict = {}

    def store(flag: Flag, value) -> None:
        if flag.type == "strings":
            values.setdefault(flag.name, []).append(value)
        else:
            values[flag.name] = value

    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional.extend(args[i:])
            break
        if arg.startswith("--") and len(arg) > 2:
            name, eq, raw = arg[2:].partition("=")
            flag = by_name.get(name)
            if flag is None:
                raise FlagError(f"unknown flag: --{name}")
            shown = f"--{name}"
            if eq:
                store(flag, _convert(flag, raw, shown))
            elif flag.type == "bool":
                store(flag, True)
            elif flag.no_value_default is not None:
                store(flag, flag.no_value_default)
            elif i < len(args):
                store(flag, _convert(flag, args[i], shown))
                i += 1
            else:
                raise FlagError(f"flag needs an argument: --{name}")
        elif arg.startswith("-") and len(arg) > 1:
            shorts = arg[1:]
            j = 0
            while j < len(shorts):
                ch = shorts[j]
                flag = by_short.get(ch)
                if flag is None:
                    raise FlagError(f"unknown shorthand flag: '{ch}' in -{shorts}")
                shown = f"-{ch}, --{flag.name}"
                rest = shorts[j + 1 :]
                if rest.startswith("="):
                    store(flag, _convert(flag, rest[1:], shown))
                    break
                if flag.type == "bool":
                    store(flag, True)
                    j += 1
                    continue
                if rest:
                    store(flag, _convert(flag, rest, shown))
                elif flag.no_value_default is not None:
                    store(flag, flag.no_value_default)
                elif i < len(args):
                    store(flag, _convert(flag, args[i], shown))
                    i += 1
                else:
                    raise FlagError(f"flag needs an argument: '{ch}' in -{shorts}")
                break
        else:
            positional.append(arg)
    return positional, values


def flag_values(args: list[str], names: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(flag, value)`` for each of the ``names`` (``--as``, ``-v``) given as ``flag=value`` or
    ``flag value``, in order, before any ``--`` (what follows belongs to a command in a container).

    >>> flag_values(["get", "pods", "--as=alice", "-v", "6", "--", "--as=bob"], ("--as", "-v"))
    [('--as', 'alice'), ('-v', '6')]
    """
    found = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            break
        for flag in names:
            if a.startswith(flag + "="):
                found.append((flag, a[len(flag) + 1:]))
                break
            if a == flag and i + 1 < len(args):
                found.append((flag, args[i + 1]))
                i += 1
                break
        i += 1
    return found
