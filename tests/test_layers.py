"""The package layers of DESIGN.md: lower layers never import higher ones."""

import ast
import pathlib

import k8slab

ROOT = pathlib.Path(k8slab.__file__).parent

# package -> k8slab packages it may import
ALLOWED = {
    "api": set(),
    "sim": {"api"},
    "etcd": {"api", "sim"},
    "apiserver": {"api", "sim", "etcd"},
    "controlplane": {"api", "sim", "apiserver"},
    "node": {"api", "sim", "apiserver", "network"},
    "network": {"api", "sim"},
    "kubectl": {"api", "apiserver"},
}

HEAVY = {"matplotlib", "ipywidgets", "networkx", "IPython"}


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_lower_layers_never_import_higher_ones():
    problems = []
    for pkg, allowed in ALLOWED.items():
        for path in sorted((ROOT / pkg).rglob("*.py")) if (ROOT / pkg).exists() else []:
            for mod in _imports(path):
                parts = mod.split(".")
                if parts[0] == "k8slab" and len(parts) > 1 and parts[1] != pkg and parts[1] not in allowed:
                    problems.append(f"{path.relative_to(ROOT)} imports {mod}")
                if parts[0] in HEAVY:
                    problems.append(f"{path.relative_to(ROOT)} imports {mod} (plotting/widgets stay out of the model)")
    assert problems == []


def test_import_k8slab_stays_light():
    import subprocess
    import sys

    code = "import sys, k8slab; print(sorted(m for m in ('matplotlib', 'ipywidgets', 'networkx', 'yaml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
