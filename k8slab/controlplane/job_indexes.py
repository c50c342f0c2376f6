"""Completion indexes of Indexed Jobs, kept as ordered intervals (``"0-3,7"``).

An ``Indexed`` Job gives each pod an index ``0..completions-1`` (annotation and
label ``batch.kubernetes.io/job-completion-index``); ``status.completedIndexes``
lists the indexes that succeeded as intervals, the way
``pkg/controller/job/indexed_job_utils.go`` writes and reads them.

Example
-------
>>> format_indexes(with_indexes(parse_indexes("0,2-3", 10), [1, 7]))
'0-3,7'
>>> total_indexes(parse_indexes("0-3,7", 10)), has_index([(0, 3), (7, 7)], 5)
(5, False)
"""

from __future__ import annotations

#: Annotation (and label) with an Indexed Job pod's completion index.
JOB_COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
#: What :func:`completion_index` returns for a pod without a valid index.
UNKNOWN_INDEX = -1


def completion_index(pod: dict) -> int:
    """The pod's completion index (from its annotation), or -1."""
    value = (pod["metadata"].get("annotations") or {}).get(JOB_COMPLETION_INDEX)
    try:
        ix = int(value) if value is not None else UNKNOWN_INDEX
    except ValueError:
        return UNKNOWN_INDEX
    return ix if ix >= 0 else UNKNOWN_INDEX



def parse_indexes(text: str | None, completions: int) -> list[tuple[int, int]]:
    """``status.completedIndexes`` as ``[(first, last), ...]``, ignoring indexes >= ``completions``."""
    out: list[list[int]] = []
    for part in (text or "").split(",") if text else ():
        limits = part.split("-")
        try:
            first = int(limits[0])
        except ValueError:
            continue
        if first >= completions:
            break
        if len(limits) > 1:
            try:
                last = int(limits[1])
            except ValueError:
                continue
            last = min(last, completions - 1)
        else:
            last = first
        if out and out[-1][1] == first - 1:
            out[-1][1] = last
        else:
            out.append([first, last])
    return [(a, b) for a, b in out]


def with_indexes(intervals: list[tuple[int, int]], new: list[int]) -> list[tuple[int, int]]:
    """The intervals with the (sorted) indexes ``new`` added, merged."""
    out: list[list[int]] = []

    def put(first: int, last: int) -> None:
        if not out or first > out[-1][1] + 1:
            out.append([first, last])
        elif out[-1][1] < last:
            out[-1][1] = last

    i = j = 0
    while i < len(intervals) and j < len(new):
        if intervals[i][0] < new[j]:
            put(*intervals[i])
            i += 1
        else:
            put(new[j], new[j])
            j += 1
    for first, last in intervals[i:]:
        put(first, last)
    for ix in new[j:]:
        put(ix, ix)
    return [(a, b) for a, b in out]


def format_indexes(intervals: list[tuple[int, int]]) -> str:
    """``"0-3,7"``: two neighbours are written ``"4,5"``, longer runs with a dash."""
    parts = []
    for first, last in intervals:
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
    return ",".join(parts)


def total_indexes(intervals: list[tuple[int, int]]) -> int:
    return sum(last - first + 1 for first, last in intervals)


def has_index(intervals: list[tuple[int, int]], ix: int) -> bool:
    return any(first <= ix <= last for first, last in intervals)


def first_pending_indexes(active_pods: list[dict], succeeded: list[tuple[int, int]], count: int,
                          completions: int) -> list[int]:
    """The ``count`` lowest indexes neither succeeded nor held by an active pod.

    >>> first_pending_indexes([], [(0, 1), (4, 4)], 3, 10)
    [2, 3, 5]
    """
    if count == 0:
        return []
    active = sorted({ix for ix in (completion_index(p) for p in active_pods) if ix != UNKNOWN_INDEX})
    taken = with_indexes(succeeded, active)
    out: list[int] = []
    candidate = 0
    for first, last in taken:
        while candidate < completions and len(out) < count and candidate < first:
            out.append(candidate)
            candidate += 1
        candidate = max(candidate, last + 1)
    while candidate < completions and len(out) < count:
        out.append(candidate)
        candidate += 1
    return out
