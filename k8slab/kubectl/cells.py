"""Small readers shared by the table printers: an object's name, age, counts and containers."""

from __future__ import annotations

from datetime import datetime

from k8slab.kubectl.duration import age


def meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def name(obj: dict) -> str:
    return meta(obj).get("name", "")


def age_of(obj: dict, now: datetime) -> str:
    return age(meta(obj).get("creationTimestamp"), now)


def as_count(value) -> str:
    return str(int(value or 0))


def replicas(spec: dict) -> int:
    """``spec.replicas``, which the API server defaults to 1."""
    value = spec.get("replicas")
    return 1 if value is None else int(value)


def containers(template: dict | None) -> tuple[str, str]:
    spec = ((template or {}).get("spec") or {})
    cs = spec.get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)
