"""The Kubernetes API's vocabulary, with no simulator in it.

One module per concept:

``kinds``         which kinds exist and what kubectl calls them
``errors``        errors shaped like the API server's and kubectl's
``field_errors``  the causes of a 422, worded like Go's ``field.Error``
``manifest``      reading YAML with line numbers (:func:`load_manifests`)
``validation``    the checks of ``kubectl apply``, in order (:func:`validate_manifest`)
``schema``        fitting the OpenAPI schema, strictly (unknown fields, wrong types)
``rules``         the API server's own rules (:func:`semantic_causes`)
``rules_pod``     the pod spec rules, shared by every kind with a pod template
``defaults``      what the API server fills in (:func:`apply_defaults`)
``selectors``     label and field selectors
``names``         name and label rules, generated names
``quantity``      ``500m`` and ``512Mi``

The main functions are importable from here too; each loads its module on
first use, so ``import k8slab.api`` stays cheap.

Example
-------
>>> from k8slab.api import parse_quantity
>>> parse_quantity("1Ki")
Fraction(1024, 1)
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "load_manifests": "manifest",
    "Manifest": "manifest",
    "validate_manifest": "validation",
    "semantic_causes": "validation",
    "apply_defaults": "defaults",
    "LabelSelector": "selectors",
    "parse_selector": "selectors",
    "parse_field_selector": "selectors",
    "parse_quantity": "quantity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'k8slab.api' has no attribute {name!r}")
    return getattr(importlib.import_module(f"k8slab.api.{module}"), name)
