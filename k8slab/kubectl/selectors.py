"""Labels and label selectors written the way kubectl writes them.

``format_labels`` is ``labels.FormatLabels`` (``app=web,tier=front``, or ``<none>``);
``selector_string`` is ``LabelSelectorAsSelector(sel).String()`` (requirements
sorted by key: ``app=web,env in (prod,qa),!canary``); ``format_selector`` is
``metav1.FormatLabelSelector``, the same but ``<none>`` when empty.

Example
-------
>>> format_labels({"tier": "front", "app": "web"})
'app=web,tier=front'
>>> selector_string({"matchLabels": {"app": "web"},
...                  "matchExpressions": [{"key": "env", "operator": "In", "values": ["qa", "prod"]}]})
'app=web,env in (prod,qa)'
>>> format_selector({})
'<none>'
"""

from __future__ import annotations


def format_labels(labels: dict | None) -> str:
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_string(selector: dict | None) -> str:
    """The selector in label-query syntax; empty for ``None`` or ``{}``."""
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = []
    for k, v in (selector.get("matchLabels") or {}).items():
        reqs.append((k, f"{k}={v}"))
    for e in selector.get("matchExpressions") or []:
        key, op = e.get("key", ""), e.get("operator", "")
        values = ",".join(sorted(e.get("values") or []))
        if op == "In":
            reqs.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            return "<error>"
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def format_selector(selector: dict | None) -> str:
    return selector_string(selector) or "<none>"
