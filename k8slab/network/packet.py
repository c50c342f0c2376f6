"""Trace one packet through a node's netfilter tables, rule by rule.

The path is the kernel's for the first packet of a connection (later packets
follow the connection-tracking entry and skip the ``nat`` table):

- from a pod (or from outside, to a NodePort): ``nat PREROUTING`` → routing →
  ``filter FORWARD`` (or ``filter INPUT`` if it is now for the node itself) →
  ``nat POSTROUTING``;
- from a process on the node itself (``from_host=True``): ``nat OUTPUT`` →
  ``filter OUTPUT`` → ``nat POSTROUTING``.

Each rule that matches is one :class:`Step`; ``-m statistic`` draws from the
``random.Random`` the caller passes, so a seeded walk is reproducible.

Example
-------
>>> import random
>>> from k8slab.network.iptables import Tables, Rule, Jump, DNAT, Comment, PortMatch
>>> t = Tables(local_ips=["172.18.0.3"])
>>> t.nat.append(Rule("PREROUTING", Jump("KUBE-SERVICES"), matches=[Comment("kubernetes service portals")]))
>>> t.nat.append(Rule("KUBE-SERVICES", DNAT("10.244.1.5:8080"), dst="10.96.0.20", proto="tcp",
...                   matches=[PortMatch("tcp", 80)]))
>>> w = t.walk(Packet("10.244.2.7", "10.96.0.20", 80), random.Random(0))
>>> w.destination, w.verdict
('10.244.1.5:8080', 'ACCEPT')
>>> print(w)
packet 10.244.2.7 -> 10.96.0.20:80/tcp
  nat/PREROUTING: -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
  nat/KUBE-SERVICES: -A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.1.5:8080
  filter/FORWARD: policy ACCEPT
  nat/POSTROUTING: policy ACCEPT
ACCEPT: 10.244.2.7 -> 10.244.1.5:8080/tcp
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, replace

from k8slab.network.iptables import MatchContext, Rule, Table, Tables, ip_int


@dataclass
class Packet:
    """The first packet of a connection: source, destination, destination port, protocol, mark."""

    src: str
    dst: str
    dport: int
    proto: str = "tcp"
    mark: int = 0

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}:{self.dport}/{self.proto}"


@dataclass
class Step:
    """One matched rule (or a chain's policy, when ``rule`` is ``None``)."""

    table: str
    chain: str
    rule: Rule | None
    note: str = ""

    @property
    def text(self) -> str:
        return self.rule.text if self.rule is not None else self.note

    def __str__(self) -> str:
        return f"{self.table}/{self.chain}: {self.text}"


@dataclass
class Walk:
    """Where the packet went: the steps, the verdict, the packet as it leaves (after NAT)."""

    original: Packet
    packet: Packet
    steps: list[Step]
    verdict: str  # ACCEPT, DROP or REJECT

    @property
    def destination(self) -> str:
        """``ip:port`` after DNAT (the ClusterIP itself when nothing rewrote it)."""
        return f"{self.packet.dst}:{self.packet.dport}"

    @property
    def endpoint_chain(self) -> str | None:
        """The ``KUBE-SEP-...`` chain that was chosen, if any."""
        for s in self.steps:
            if s.chain.startswith("KUBE-SEP-"):
                return s.chain
        return None

    @property
    def masqueraded(self) -> bool:
        return self.packet.src != self.original.src

    def __str__(self) -> str:
        lines = [f"packet {self.original}"]
        lines += [f"  {s}" for s in self.steps]
        lines.append(f"{self.verdict}: {self.packet}")
        return "\n".join(lines)


def _traverse(table: Table, start: str, pkt: Packet, ctx: MatchContext, steps: list[Step], out_ip: str):
    """Run ``pkt`` through ``table`` from built-in chain ``start``; returns the verdict.

    Jumps push the calling position; the end of a user chain (or ``RETURN``) pops
    back; the end of a built-in chain applies its policy. ``DNAT`` and
    ``MASQUERADE`` rewrite the packet and end the table, as in the kernel, so the
    destination is the same all the way: rules for other destinations are skipped
    (:meth:`~k8slab.network.iptables.Chain.candidates`).
    """
    try:
        dst = ip_int(pkt.dst)
    except ValueError:
        dst = None  # not an IPv4 address: every rule is looked at
    stack: list[tuple[str, int]] = []
    chain, i = start, 0
    while True:
        c = table.chains[chain]
        rules = c.rules
        positions = c.candidates(dst) if dst is not None else None
        jumped = False
        for j in range(i, len(rules)) if positions is None else positions[bisect_left(positions, i):]:
            rule = rules[j]
            if not rule.applies(pkt, ctx):
                continue
            steps.append(Step(table.name, chain, rule))
            t = rule.target
            if t is None:  # a rule without -j only counts packets (and comments)
                continue
            kind = t.kind
            if kind == "jump":
                stack.append((chain, j + 1))
                chain, i = t.chain, 0
                jumped = True
                break
            elif kind == "mark":
                pkt.mark = (pkt.mark & ~t.mask & 0xFFFFFFFF) ^ t.value
            elif kind == "dnat":
                ip, _, port = t.to.rpartition(":")
                pkt.dst, pkt.dport = ip, int(port)
                ctx.ctstate.add("DNAT")
                return "ACCEPT"
            elif kind == "masquerade":
                pkt.src = out_ip
                ctx.ctstate.add("SNAT")
                return "ACCEPT"
            elif kind == "reject":
                return "REJECT"
            elif t.name == "RETURN":
                break
            else:  # ACCEPT / DROP
                return t.name
        if jumped:
            continue
        if c.policy is None and stack:
            chain, i = stack.pop()  # end of a user chain (or RETURN): back to the caller
            continue
        policy = c.policy or "ACCEPT"
        steps.append(Step(table.name, chain, None, f"policy {policy}"))
        return policy


def walk(tables: Tables, packet: Packet, rng, *, from_host: bool = False, now: float = 0.0) -> Walk:
    """Trace ``packet`` through ``tables`` (see module docstring). ``packet`` is not modified.

    ``from_host`` says the packet is sent by the node itself (``OUTPUT``) rather than
    arriving from a pod or the outside (``PREROUTING``).
    """
    pkt = replace(packet)
    steps: list[Step] = []
    ctx = MatchContext(rng, now, tables.is_local, {"NEW"}, tables.recent)
    out_ip = tables.local_ips[0] if tables.local_ips else pkt.src
    verdict = _traverse(tables.nat, "OUTPUT" if from_host else "PREROUTING", pkt, ctx, steps, out_ip)
    if verdict == "ACCEPT":
        if from_host:
            hook = "OUTPUT"
        else:
            hook = "INPUT" if tables.is_local(pkt.dst) else "FORWARD"
        verdict = _traverse(tables.filter, hook, pkt, ctx, steps, out_ip)
        if verdict == "ACCEPT" and hook != "INPUT":
            verdict = _traverse(tables.nat, "POSTROUTING", pkt, ctx, steps, out_ip)
    return Walk(packet, pkt, steps, verdict)
