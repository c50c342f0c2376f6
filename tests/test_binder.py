"""The Binder configuration installs k8slab, and a notebook kernel there imports it.

mybinder.org (repo2docker) runs ``pip install -r binder/requirements.txt`` from the repository
root. This test does the same into a fresh virtual environment, offline: the environment sees
the test environment's packages through a path file (so only what binder/ lists is installed,
with ``--no-deps``), then a Jupyter kernel started with that environment's Python must import
k8slab from the new install, not from the source tree.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import sysconfig
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def _requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def test_binder_lists_this_repository():
    # repo2docker runs pip from the repository root, so a local path is resolved from there
    paths = [line.removeprefix("-e").strip() for line in _requirement_lines()]
    assert any(p.startswith(".") and (ROOT / p).resolve() == ROOT for p in paths), _requirement_lines()


def test_binder_python_fits_the_package():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert m and int(m.group(1)) >= 10, runtime  # pyproject: requires-python >= 3.10


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    env = tmp_path_factory.mktemp("binder") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    py = env / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies come from the test environment (appended after the venv's own packages;
    # its .pth files, such as the editable k8slab, are not processed)
    pathlib.Path(purelib, "_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps",
                    "--no-input", "-r", str(BINDER / "requirements.txt")],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    return py, pathlib.Path(purelib)


def test_binder_requirements_install_the_package(binder_env):
    py, purelib = binder_env
    code = textwrap.dedent("""
        import importlib.metadata as md, json
        dist = md.distribution("k8slab")
        print(json.dumps({"files": str(dist.locate_file("k8slab/__init__.py")),
                          "requires": dist.requires or []}))
    """)
    out = json.loads(subprocess.run([str(py), "-c", code], cwd="/", capture_output=True, text=True,
                                    check=True).stdout)
    assert pathlib.Path(out["files"]).resolve() == (purelib / "k8slab" / "__init__.py").resolve()
    assert (purelib / "k8slab" / "course" / "__init__.py").exists()  # the whole package, not a link
    names = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0].lower() for r in out["requires"]}
    # JupyterLab 4 and ipywidgets 8 (its prebuilt lab extension: widgets work without a build)
    assert {"jupyterlab", "ipywidgets", "ipykernel", "matplotlib"} <= names
    assert any(re.match(r"ipywidgets\s*>=\s*8", r) for r in out["requires"])
    assert any(re.match(r"jupyterlab\s*>=\s*4", r) for r in out["requires"])


def test_a_kernel_in_the_binder_environment_imports_k8slab(binder_env, tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    py, purelib = binder_env
    spec_dir = tmp_path / "kernels" / "binder-python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Binder Python 3", "language": "python"}))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    km = KernelManager(kernel_name="binder-python3", kernel_spec_manager=ksm)
    km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        seen = []
        reply = kc.execute_interactive(
            "import sys, k8slab\nprint(sys.prefix)\nprint(k8slab.__file__)\n"
            "c = k8slab.Cluster(workers=1, seed=0)\nprint(c.kubectl('get nodes').splitlines()[0].split()[0])",
            timeout=120, output_hook=lambda msg: seen.append(msg["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    prefix, location, header = "".join(seen).splitlines()
    assert pathlib.Path(prefix).resolve() == py.parent.parent.resolve()
    assert pathlib.Path(location).resolve() == (purelib / "k8slab" / "__init__.py").resolve()
    assert header == "NAME"
