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

from k8slab.api.selectors import LabelSelector


def format_labels(labels: dict | None) -> str:
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_string(selector: dict | None) -> str:
    """The selector in label-query syntax; empty for ``None`` or ``{}``."""
    if not selector:
        return ""
    try:
        return str(LabelSelector.from_dict(selector))
    except ValueError:
        return "<error>"


def format_selector(selector: dict | None) -> str:
    return selector_string(selector) or "<none>"
