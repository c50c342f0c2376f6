"""Simulation machinery: virtual clock, deterministic event loop, seeded randomness, trace."""

from k8slab.sim.loop import EPOCH, Event, EventLoop, parse_timestamp, timestamp, timestamp_micro
from k8slab.sim.rng import Randomness
from k8slab.sim.trace import Trace, TraceEntry

__all__ = [
    "EPOCH",
    "Event",
    "EventLoop",
    "Randomness",
    "Trace",
    "TraceEntry",
    "parse_timestamp",
    "timestamp",
    "timestamp_micro",
]
