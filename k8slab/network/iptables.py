"""A node's netfilter tables (``nat`` and ``filter``), printed exactly as ``iptables-save`` does.

kube-proxy in iptables mode turns Services into rules: a packet for a ClusterIP
enters ``PREROUTING`` (from a pod) or ``OUTPUT`` (from the node itself), jumps to
``KUBE-SERVICES``, matches its Service's rule, jumps to ``KUBE-SVC-<hash>``, where
``-m statistic --mode random`` rules pick one ``KUBE-SEP-<hash>`` chain per
endpoint, whose ``DNAT`` rewrites the destination to a pod's IP and port. This
module holds the tables, renders them, and evaluates rules against a packet
(the walk itself is in :mod:`k8slab.network.packet`).

Chain names are kube-proxy's own (``portProtoHash`` in ``pkg/proxy/iptables/proxier.go``):
the first 16 characters of base32(sha256(service port name + protocol)), so the
names here are the names on a real cluster.

Example
-------
>>> service_chain_name("kube-system/kube-dns:dns", "udp")
'KUBE-SVC-TCOU7JCQXEZGVUNU'
>>> service_chain_name("default/kubernetes:https", "tcp")
'KUBE-SVC-NPX46M4PTMTKRN6Y'
>>> t = Tables()
>>> t.nat.ensure_chain("KUBE-MARK-MASQ")
>>> t.nat.append(Rule("KUBE-MARK-MASQ", SetMark(0x4000, 0x4000)))
>>> print(t.nat.save()[-2])
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from functools import lru_cache

from k8slab.sim.loop import EPOCH

# -- chain names, as kube-proxy computes them -------------------------------------------------------


@lru_cache(maxsize=1 << 14)
def port_proto_hash(service_port_name: str, protocol: str) -> str:
    """kube-proxy's ``portProtoHash``: 16 characters of base32(sha256(name + protocol)).

    ``service_port_name`` is ``namespace/name:portname`` (``namespace/name`` for an
    unnamed port); ``protocol`` is lower case (``tcp``).

    >>> port_proto_hash("kube-system/kube-dns:dns-tcp", "tcp")
    'ERIFXISQEP7F7OF4'
    """
    digest = hashlib.sha256((service_port_name + protocol).encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def service_chain_name(service_port_name: str, protocol: str) -> str:
    """``KUBE-SVC-<hash>``: the chain that load-balances over a service port's endpoints."""
    return "KUBE-SVC-" + port_proto_hash(service_port_name, protocol)


def service_local_chain_name(service_port_name: str, protocol: str) -> str:
    """``KUBE-SVL-<hash>``: like KUBE-SVC but only this node's endpoints (traffic policy Local)."""
    return "KUBE-SVL-" + port_proto_hash(service_port_name, protocol)


def external_chain_name(service_port_name: str, protocol: str) -> str:
    """``KUBE-EXT-<hash>``: where NodePort, LoadBalancer and external-IP traffic goes first."""
    return "KUBE-EXT-" + port_proto_hash(service_port_name, protocol)


def firewall_chain_name(service_port_name: str, protocol: str) -> str:
    """``KUBE-FW-<hash>``: loadBalancerSourceRanges filtering."""
    return "KUBE-FW-" + port_proto_hash(service_port_name, protocol)


@lru_cache(maxsize=1 << 16)
def endpoint_chain_name(service_port_name: str, protocol: str, endpoint: str) -> str:
    """``KUBE-SEP-<hash>`` of one endpoint (``ip:port``) of a service port.

    >>> endpoint_chain_name("default/web:http", "tcp", "10.244.1.2:8080")[:9]
    'KUBE-SEP-'
    """
    digest = hashlib.sha256((service_port_name + protocol + endpoint).encode()).digest()
    return "KUBE-SEP-" + base64.b32encode(digest).decode()[:16]


# -- statistic probabilities -------------------------------------------------------------------------


def probability_text(n: int) -> str:
    """What kube-proxy writes for ``1/n`` (``computeProbability``: ``%0.10f``)."""
    return f"{1.0 / n:.10f}"


def statistic_value(text: str) -> int:
    """The kernel's 31-bit threshold for a ``--probability`` (libxt_statistic: ``lround(2^31 * p)``)."""
    return int(0x80000000 * float(text) + 0.5)


def format_statistic(value: int) -> str:
    """How ``iptables-save`` prints the threshold back (``%.11f``), e.g. ``0.33333333349``.

    >>> format_statistic(statistic_value(probability_text(3)))
    '0.33333333349'
    """
    return f"{value / 0x80000000:.11f}"


# -- addresses ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def ip_int(ip: str) -> int:
    """``"10.0.0.1"`` -> 167772161."""
    a, b, c, d = ip.split(".")
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


@lru_cache(maxsize=1 << 14)
def _cidr(text: str) -> tuple[int, int, str]:
    """(network, mask, text as iptables-save prints it: always with a prefix length)."""
    addr, _, bits = text.partition("/")
    n = int(bits) if bits else 32
    mask = (0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF if n else 0
    return ip_int(addr) & mask, mask, f"{addr}/{n}"


def in_cidr(ip: str, cidr: str) -> bool:
    """Is ``ip`` inside ``cidr``?

    >>> in_cidr("10.244.3.7", "10.244.0.0/16"), in_cidr("172.18.0.2", "10.244.0.0/16")
    (True, False)
    """
    net, mask, _ = _cidr(cidr)
    return ip_int(ip) & mask == net


def _save_string(value: str) -> str:
    """``xtables_save_string``: quote unless only ``[A-Za-z0-9_-]``."""
    if value and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in value):
        return value
    escaped = "".join("\\" + ch if ch in "\"\\'" else ch for ch in value)
    return f'"{escaped}"'


# -- matches -----------------------------------------------------------------------------------------


class MatchContext:
    """What a rule may look at besides the packet: randomness, the clock, local addresses, state."""

    __slots__ = ("rng", "now", "is_local", "ctstate", "recent")

    def __init__(self, rng, now: float, is_local, ctstate: set[str], recent: dict):
        self.rng = rng
        self.now = now
        self.is_local = is_local
        self.ctstate = ctstate
        self.recent = recent


class Comment:
    """``-m comment --comment "..."`` (always matches; it is for the reader)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def save(self) -> str:
        return f"-m comment --comment {_save_string(self.text)}"

    def matches(self, pkt, ctx) -> bool:
        return True


class PortMatch:
    """``-m tcp --dport 80`` (or ``udp``/``sctp``); without a port it only names the protocol module."""

    __slots__ = ("proto", "dport")

    def __init__(self, proto: str, dport: int | None = None):
        self.proto = proto
        self.dport = dport

    def save(self) -> str:
        return f"-m {self.proto}" if self.dport is None else f"-m {self.proto} --dport {self.dport}"

    def matches(self, pkt, ctx) -> bool:
        return self.dport is None or pkt.dport == self.dport


class Statistic:
    """``-m statistic --mode random --probability p``: the kernel draws 31 random bits per packet."""

    __slots__ = ("value",)

    def __init__(self, probability: str):
        self.value = statistic_value(probability)

    @property
    def probability(self) -> float:
        return self.value / 0x80000000

    def save(self) -> str:
        return f"-m statistic --mode random --probability {format_statistic(self.value)}"

    def matches(self, pkt, ctx) -> bool:
        return ctx.rng.getrandbits(31) < self.value


class Recent:
    """``-m recent``: session affinity (``--rcheck`` a source seen recently, or ``--set`` it)."""

    __slots__ = ("name", "set", "seconds")

    def __init__(self, name: str, *, set: bool = False, seconds: int | None = None):  # noqa: A002
        self.name = name
        self.set = set
        self.seconds = seconds

    def save(self) -> str:
        if self.set:
            return f"-m recent --set --name {self.name} --mask 255.255.255.255 --rsource"
        return (f"-m recent --rcheck --seconds {self.seconds} --reap --name {self.name} "
                "--mask 255.255.255.255 --rsource")

    def matches(self, pkt, ctx) -> bool:
        seen = ctx.recent.setdefault(self.name, {})
        if self.set:
            seen[pkt.src] = ctx.now
            return True
        # --reap: forget sources older than --seconds while checking
        for src in [s for s, t in seen.items() if ctx.now - t > self.seconds]:
            del seen[src]
        return pkt.src in seen


class AddrType:
    """``-m addrtype --dst-type LOCAL``: is the address one of this node's own?"""

    __slots__ = ("side", "type")

    def __init__(self, *, dst_type: str | None = None, src_type: str | None = None):
        self.side = "dst" if dst_type else "src"
        self.type = dst_type or src_type

    def save(self) -> str:
        return f"-m addrtype --{self.side}-type {self.type}"

    def matches(self, pkt, ctx) -> bool:
        return ctx.is_local(pkt.dst if self.side == "dst" else pkt.src)


class MarkMatch:
    """``-m mark --mark 0x4000/0x4000`` (``!`` inverted)."""

    __slots__ = ("value", "mask", "invert")

    def __init__(self, value: int, mask: int, invert: bool = False):
        self.value = value
        self.mask = mask
        self.invert = invert

    def save(self) -> str:
        bang = "! " if self.invert else ""
        return f"-m mark {bang}--mark {self.value:#x}/{self.mask:#x}"

    def matches(self, pkt, ctx) -> bool:
        return ((pkt.mark & self.mask) == self.value) != self.invert


class Conntrack:
    """``-m conntrack --ctstate NEW`` — the packet's connection-tracking state."""

    __slots__ = ("states", "invert")

    def __init__(self, states: str, invert: bool = False):
        self.states = states
        self.invert = invert

    def save(self) -> str:
        bang = "! " if self.invert else ""
        return f"-m conntrack {bang}--ctstate {self.states}"

    def matches(self, pkt, ctx) -> bool:
        return bool(ctx.ctstate.intersection(self.states.split(","))) != self.invert


# -- targets -----------------------------------------------------------------------------------------


class Jump:
    """``-j KUBE-SVC-...``: continue in another chain, come back at its end."""

    __slots__ = ("chain",)
    kind = "jump"

    def __init__(self, chain: str):
        self.chain = chain

    def save(self) -> str:
        return f"-j {self.chain}"


class Verdict:
    """``-j ACCEPT`` / ``DROP`` / ``RETURN``."""

    __slots__ = ("name",)
    kind = "verdict"

    def __init__(self, name: str):
        self.name = name

    def save(self) -> str:
        return f"-j {self.name}"


class Reject:
    """``-j REJECT``: drop and tell the sender (``Connection refused`` for TCP via ICMP)."""

    __slots__ = ("reject_with",)
    kind = "reject"

    def __init__(self, reject_with: str = "icmp-port-unreachable"):
        self.reject_with = reject_with

    def save(self) -> str:
        return f"-j REJECT --reject-with {self.reject_with}"


class DNAT:
    """``-j DNAT --to-destination ip:port``: rewrite where the packet goes (the Service's whole trick)."""

    __slots__ = ("to",)
    kind = "dnat"

    def __init__(self, to: str):
        self.to = to

    def save(self) -> str:
        return f"-j DNAT --to-destination {self.to}"


class SetMark:
    """``-j MARK --set-xmark value/mask``: ``mark = (mark & ~mask) ^ value``.

    kube-proxy writes ``--or-mark 0x4000`` and ``--xor-mark 0x4000``; ``iptables-save``
    prints them back as ``--set-xmark 0x4000/0x4000`` and ``--set-xmark 0x4000/0x0``.
    """

    __slots__ = ("value", "mask")
    kind = "mark"

    def __init__(self, value: int, mask: int):
        self.value = value
        self.mask = mask

    def save(self) -> str:
        return f"-j MARK --set-xmark {self.value:#x}/{self.mask:#x}"


class Masquerade:
    """``-j MASQUERADE``: rewrite the source to the outgoing interface's address (SNAT)."""

    __slots__ = ("random_fully",)
    kind = "masquerade"

    def __init__(self, random_fully: bool = True):
        self.random_fully = random_fully

    def save(self) -> str:
        return "-j MASQUERADE --random-fully" if self.random_fully else "-j MASQUERADE"


# -- rules, chains, tables ---------------------------------------------------------------------------


class Rule:
    """One rule: address / protocol matches, match modules in order, and a target.

    >>> r = Rule("KUBE-SERVICES", Jump("KUBE-SVC-X"), dst="10.96.0.10", proto="udp",
    ...          matches=[Comment("kube-system/kube-dns:dns cluster IP"), PortMatch("udp", 53)])
    >>> r.text
    '-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-X'
    """

    __slots__ = ("chain", "target", "src", "src_invert", "dst", "dst_invert", "proto", "matches", "_text")

    def __init__(self, chain: str, target, *, src: str | None = None, src_invert: bool = False,
                 dst: str | None = None, dst_invert: bool = False, proto: str | None = None,
                 matches=()):
        self.chain = chain
        self.target = target
        self.src = src
        self.src_invert = src_invert
        self.dst = dst
        self.dst_invert = dst_invert
        self.proto = proto
        self.matches = tuple(matches)
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The rule as ``iptables-save`` prints it (``-s``, ``-d``, ``-p``, then modules, then ``-j``)."""
        if self._text is None:
            parts = ["-A", self.chain]
            if self.src is not None:
                parts += (["!"] if self.src_invert else []) + ["-s", _cidr(self.src)[2]]
            if self.dst is not None:
                parts += (["!"] if self.dst_invert else []) + ["-d", _cidr(self.dst)[2]]
            if self.proto is not None:
                parts += ["-p", self.proto]
            parts += [m.save() for m in self.matches]
            if self.target is not None:
                parts.append(self.target.save())
            self._text = " ".join(parts)
        return self._text

    def __repr__(self) -> str:
        return f"Rule({self.text!r})"

    def applies(self, pkt, ctx) -> bool:
        """Does the packet match every condition (in order, stopping at the first that fails)?"""
        if self.proto is not None and pkt.proto != self.proto:
            return False
        if self.src is not None and in_cidr(pkt.src, self.src) == self.src_invert:
            return False
        if self.dst is not None and in_cidr(pkt.dst, self.dst) == self.dst_invert:
            return False
        for m in self.matches:
            if not m.matches(pkt, ctx):
                return False
        return True


class Chain:
    """A named, ordered list of rules; built-in chains have a policy (``ACCEPT``).

    A *frozen* chain holds its rules as a tuple: several tables may share it (kube-proxy
    writes the same chains of a Service on every node); a table copies it before changing it.
    """

    __slots__ = ("name", "policy", "rules", "_by_dst")

    def __init__(self, name: str, policy: str | None = None, rules: list[Rule] | tuple[Rule, ...] | None = None):
        self.name = name
        self.policy = policy
        self.rules: list[Rule] | tuple[Rule, ...] = [] if rules is None else rules
        self._by_dst: tuple | None = None

    def frozen(self) -> Chain:
        """A read-only copy (rules as a tuple) that several tables may hold."""
        return Chain(self.name, self.policy, tuple(self.rules))

    def candidates(self, dst: int) -> list[int] | None:
        """Positions of the rules a packet to address ``dst`` may match, in order (``None``: all).

        A rule for one other destination address (``-d x/32``) cannot match and is checked
        before any match module runs (so skipping it changes nothing: no random draw, no
        ``recent`` update). In ``KUBE-SERVICES`` that is nearly every rule, so a packet walk
        looks at its Service's rules instead of all of them. Only long chains are indexed;
        the index is remade when the chain's rules change length.

        >>> c = Chain("KUBE-SERVICES", rules=[Rule("KUBE-SERVICES", Jump(f"KUBE-SVC-{i}"), dst=f"10.96.0.{i}")
        ...                                   for i in range(1, 20)] + [Rule("KUBE-SERVICES", Jump("KUBE-NODEPORTS"))])
        >>> c.candidates(ip_int("10.96.0.3")), c.candidates(ip_int("10.96.1.1"))
        ([2, 19], [19])
        """
        rules = self.rules
        index = self._by_dst
        if index is None or index[0] is not rules or index[1] != len(rules):
            index = self._by_dst = (rules, len(rules), *_dst_index(rules))
        by_dst, others = index[2], index[3]
        if by_dst is None:
            return None
        hit = by_dst.get(dst)
        if hit is None:
            return others
        return sorted(hit + others) if others else hit

    def __repr__(self) -> str:
        return f"Chain({self.name}, {len(self.rules)} rules)"

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


#: Chains shorter than this are scanned rule by rule (an index would not pay for itself).
_INDEX_MIN_RULES = 16


def _dst_index(rules) -> tuple[dict[int, list[int]] | None, list[int]]:
    """Rule positions by the single destination address they require, and the other positions."""
    if len(rules) < _INDEX_MIN_RULES:
        return None, []
    by_dst: dict[int, list[int]] = {}
    others: list[int] = []
    for i, rule in enumerate(rules):
        if rule.dst is not None and not rule.dst_invert:
            try:
                net, mask, _ = _cidr(rule.dst)
            except ValueError:
                mask = 0
            if mask == 0xFFFFFFFF:
                by_dst.setdefault(net, []).append(i)
                continue
        others.append(i)
    return (by_dst or None), others


BUILTIN_CHAINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
}


class Table:
    """One netfilter table (``nat`` or ``filter``): built-in chains plus user chains."""

    def __init__(self, name: str):
        self.name = name
        self.chains: dict[str, Chain] = {c: Chain(c, "ACCEPT") for c in BUILTIN_CHAINS[name]}

    def __repr__(self) -> str:
        return f"Table({self.name}, {len(self.chains)} chains)"

    def __getitem__(self, chain: str) -> Chain:
        return self.chains[chain]

    def __contains__(self, chain: str) -> bool:
        return chain in self.chains

    def ensure_chain(self, name: str) -> None:
        if name not in self.chains:
            self.chains[name] = Chain(name)

    def _writable(self, name: str) -> list[Rule]:
        """The rule list of chain ``name`` (created if needed), copied first if it is shared."""
        chain = self.chains.get(name)
        if chain is None:
            chain = self.chains[name] = Chain(name)
        elif type(chain.rules) is tuple:
            chain = self.chains[name] = Chain(name, chain.policy, list(chain.rules))
        return chain.rules

    def append(self, rule: Rule) -> None:
        """``-A``: add at the end of the rule's chain (created if needed)."""
        self._writable(rule.chain).append(rule)

    def ensure_rule_first(self, rule: Rule) -> None:
        """What kube-proxy's ``EnsureRule(Prepend, ...)`` does: ``-I`` at the top unless present."""
        rules = self._writable(rule.chain)
        if all(r.text != rule.text for r in rules):
            rules.insert(0, rule)

    def adopt(self, chains: dict[str, Chain]) -> None:
        """Append the rules of frozen ``chains`` (by name) to this table's chains of those names.

        The same as ``ensure_chain`` and ``append`` of each rule, but the chains this table
        does not have yet are taken as they are (shared, not copied): the cheap way to write
        the same chains into many tables (see :func:`merge_chains`). Changing a shared
        chain later (``append``) copies it first, so the other tables keep theirs.

        >>> shared = merge_chains([[Chain("KUBE-SVC-X", rules=(Rule("KUBE-SVC-X", Jump("KUBE-SEP-A")),))]])
        >>> a, b = Table("nat"), Table("nat")
        >>> a.adopt(shared); b.adopt(shared)
        >>> a["KUBE-SVC-X"] is b["KUBE-SVC-X"]
        True
        >>> a.append(Rule("KUBE-SVC-X", Jump("KUBE-SEP-B")))
        >>> len(a["KUBE-SVC-X"]), len(b["KUBE-SVC-X"])
        (2, 1)
        """
        mine = self.chains
        both = sorted(chains.keys() & mine.keys())
        kept = [mine[name] for name in both]
        mine.update(chains)
        for have in kept:
            more = chains[have.name].rules
            mine[have.name] = Chain(have.name, have.policy, [*have.rules, *more]) if more else have

    def frozen_chains(self) -> tuple[Chain, ...]:
        """The table's user chains and non-empty built-in ones, frozen, for :func:`merge_chains`."""
        return tuple(c.frozen() for c in self.chains.values() if c.policy is None or c.rules)

    def rules(self) -> list[Rule]:
        """Every rule, in ``iptables-save`` order: built-in chains first, then user chains by name."""
        return [r for c in self._ordered() for r in c.rules]

    def _ordered(self) -> list[Chain]:
        builtin = [self.chains[c] for c in BUILTIN_CHAINS[self.name]]
        user = sorted((c for c in self.chains.values() if c.policy is None), key=lambda c: c.name)
        return builtin + user

    def save(self) -> list[str]:
        """The table's ``iptables-save`` section, line by line (``*nat`` ... ``COMMIT``)."""
        chains = self._ordered()
        lines = [f"*{self.name}"]
        for c in chains:
            lines.append(f":{c.name} {c.policy or '-'} [0:0]")
        for c in chains:
            lines.extend(r.text for r in c.rules)
        lines.append("COMMIT")
        return lines


def merge_chains(groups) -> dict[str, Chain]:
    """Frozen chains by name from ``groups`` (iterables of frozen chains), for :meth:`Table.adopt`.

    The rules of chains of the same name are concatenated in order (as appending them one
    group after the other would); a chain that occurs once is kept as it is, shared.

    >>> a = Chain("X", rules=(Rule("X", Jump("A")),)); b = Chain("X", rules=(Rule("X", Jump("B")),))
    >>> [r.text for r in merge_chains([[a], [b, Chain("Y")]])["X"].rules]
    ['-A X -j A', '-A X -j B']
    """
    out: dict[str, Chain] = {}
    grown: dict[str, list[Rule]] = {}
    for chains in groups:
        for c in chains:
            have = out.get(c.name)
            if have is None:
                out[c.name] = c
            elif c.rules:
                rules = grown.get(c.name)
                if rules is None:
                    rules = grown[c.name] = list(have.rules)
                rules.extend(c.rules)
    for name, rules in grown.items():
        out[name] = Chain(name, out[name].policy, tuple(rules))
    return out


def _ctime(seconds: float) -> str:
    """C ``ctime()`` of a virtual instant: ``Wed Jan  1 00:00:35 2025``."""
    t = EPOCH + timedelta(seconds=int(seconds))
    return f"{t:%a %b} {t.day:2d} {t:%H:%M:%S %Y}"


class Tables:
    """A node's netfilter state: the ``filter`` and ``nat`` tables and the ``recent`` lists.

    ``local_ips`` are the node's own addresses (what ``-m addrtype --dst-type LOCAL``
    matches, besides ``127.0.0.0/8``).
    """

    VERSION = "v1.8.9 (nf_tables)"

    def __init__(self, local_ips=()):
        self.filter = Table("filter")
        self.nat = Table("nat")
        self.local_ips = list(local_ips)  # the first is the node's IP (the source MASQUERADE uses)
        # xt_recent's lists outlive rule reloads, as in the kernel (session affinity survives a sync)
        self.recent: dict[str, dict[str, float]] = {}

    def __repr__(self) -> str:
        return f"Tables(filter: {len(self.filter.rules())} rules, nat: {len(self.nat.rules())} rules)"

    def __getitem__(self, name: str) -> Table:
        return {"filter": self.filter, "nat": self.nat}[name]

    def is_local(self, ip: str) -> bool:
        return ip in self.local_ips or ip.startswith("127.")

    def save(self, table: str | None = None, *, now: float | None = None) -> str:
        """``iptables-save`` (``-t table`` for one): ``filter`` then ``nat``, as iptables-nft lists them.

        With ``now`` (virtual seconds) the ``# Generated by`` / ``# Completed on`` lines are added.
        """
        out: list[str] = []
        for t in (self.filter, self.nat):
            if table is not None and t.name != table:
                continue
            if now is not None:
                out.append(f"# Generated by iptables-save {self.VERSION} on {_ctime(now)}")
            out.extend(t.save())
            if now is not None:
                out.append(f"# Completed on {_ctime(now)}")
        return "\n".join(out) + "\n"

    def walk(self, packet, rng, *, from_host: bool = False, now: float = 0.0):
        """Trace one packet through the tables; see :func:`k8slab.network.packet.walk`."""
        from k8slab.network.packet import walk

        return walk(self, packet, rng, from_host=from_host, now=now)
