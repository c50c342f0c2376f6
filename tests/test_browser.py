"""A real browser runs a notebook in JupyterLab, clicks a ClusterLab button, and sees the change.

JupyterLab is started from this venv on loopback with a temporary root, settings,
data and runtime directory (nothing of the user's or the venv's configuration is
changed): ``tests/browser/overrides.json`` is copied to a temporary
``<prefix>/share/jupyter/lab/settings/overrides.json`` given as the app settings
directory. It turns notebook windowing off (every cell is in the DOM), starts the
kernel without asking, and fetches no news. Debian's Chromium (``/usr/bin/chromium``)
is driven by Playwright; no browser is downloaded. Without Chromium or Playwright the
test is skipped, saying why, except under CI (``CI`` set), where it fails.

The assertions are on the widgets' DOM (``.jupyter-widgets``, ``.widget-button``,
the ``<img>`` of the figure, the ``<pre>`` of the pods table), so a missing
ipywidgets lab extension makes the test fail, not just a missing cell output.
"""

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).parent / "browser"
TOKEN = "k8slab-browser-test"

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]


def _missing() -> list[str]:
    missing = []
    if not os.path.exists(CHROMIUM):
        missing.append(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append('the playwright package is not installed (pip install -e ".[test]")')
    return missing


def _require_browser() -> None:
    """Skip (or, under CI, fail) when Chromium or Playwright is missing."""
    missing = _missing()
    if missing and os.environ.get("CI"):
        pytest.fail("the browser test must run in CI, but " + "; ".join(missing))
    if missing:
        pytest.skip("; ".join(missing))


@pytest.fixture
def browser_available():
    _require_browser()


def test_a_missing_browser_skips_but_fails_under_ci(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="/nonexistent/chromium is not installed"):
        _require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="the browser test must run in CI, but /nonexistent/chromium"):
        _require_browser()

NOTEBOOK_CELLS = [
    ("markdown", "# ClusterLab in a real browser\n\nWritten by `tests/test_browser.py`."),
    ("code", "import k8slab\nfrom k8slab.widgets import ClusterLab\n\n"
             "c = k8slab.Cluster(workers=2, seed=0)\nlab = ClusterLab(c, namespace=None)\nlab"),
]

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
# The kernel of the notebook shown is connected and idle.
KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
                for kind, src in NOTEBOOK_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, str(path))


@pytest.fixture
def jupyterlab(browser_available, tmp_path):
    """A JupyterLab server on loopback serving a temporary directory: yields its base URL."""
    root, settings = tmp_path / "root", tmp_path / "share" / "jupyter" / "lab" / "settings"
    root.mkdir()
    settings.mkdir(parents=True)
    shutil.copy(HERE / "overrides.json", settings / "overrides.json")
    _write_notebook(root / "clusterlab.ipynb")
    port = _free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), IPYTHONDIR=str(tmp_path / "ipython"), MPLBACKEND="Agg",
               JUPYTER_PLATFORM_DIRS="0")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.token={TOKEN}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--ServerApp.root_dir={root}", f"--LabApp.app_settings_dir={settings}",
           f"--LabApp.user_settings_dir={tmp_path / 'user-settings'}",
           f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = tmp_path / "jupyterlab.log"
    log = open(log_path, "w")
    # Its own session: at the end the server and every kernel it started go, and nothing else.
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited ({proc.returncode}):\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2) as r:
                    json.load(r)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("jupyter lab did not answer within 90 s:\n" + log_path.read_text())
                time.sleep(0.2)
        yield url
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen) -> None:
    # SIGTERM lets the server shut its kernels down; then the whole session is killed anyway.
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def test_cluster_lab_renders_and_reacts_to_a_click(jupyterlab, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            try:
                page.goto(f"{jupyterlab}/lab/tree/clusterlab.ipynb?reset&token={TOKEN}")
                page.wait_for_selector(f"{PANEL} .jp-Notebook .jp-Cell")
                page.wait_for_function(KERNEL_IDLE, timeout=90_000)
                # Not awaited: the command's promise settles only when every cell has run.
                page.evaluate("() => { window.jupyterapp.commands.execute('runmenu:run-all'); }")

                # The cell has run once its output (widget or text) is there and the kernel is idle.
                output = page.locator(f"{PANEL} .jp-CodeCell .jp-OutputArea-output").first
                output.wait_for(state="attached", timeout=120_000)
                page.wait_for_function(KERNEL_IDLE, timeout=120_000)
                add = page.locator(f"{PANEL} .jupyter-widgets .widget-button", has_text="Add node")
                try:
                    add.wait_for(state="visible", timeout=30_000)
                except PlaywrightTimeout:
                    pytest.fail("the ClusterLab widget did not render (is the @jupyter-widgets/jupyterlab-manager "
                                f"lab extension installed and enabled?); the cell shows: {output.inner_text()!r}")
                panel = page.locator(PANEL)
                labels = panel.locator(".widget-button").all_inner_texts()
                for name in ("Add node", "Fail", "Recover", "Cordon", "Uncordon", "Apply", "Step",
                             "Run until settled", "Run for"):
                    assert name in [t.strip() for t in labels], labels
                figure = panel.locator(".jupyter-widgets img.widget-image")
                figure.wait_for(state="visible")
                panes = panel.locator(".jupyter-widgets pre.k8slab-pane")
                pods = panes.filter(has_text="NAMESPACE")
                assert "kube-proxy-worker-2" in pods.first.inner_text()
                assert "kube-proxy-worker-3" not in pods.first.inner_text()
                src_before = figure.get_attribute("src")
                width = figure.evaluate("img => img.naturalWidth")
                assert width > 500  # a real picture was decoded, not a broken image
                assert panel.locator(".jupyter-widgets").filter(has_text="Cluster(3 nodes").count() > 0

                add.click()
                page.wait_for_function(
                    """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) pre.k8slab-pane')]
                        .some(p => p.textContent.includes('kube-proxy-worker-3'))""")
                page.wait_for_function(KERNEL_IDLE)
                page.wait_for_function(
                    "([sel, before]) => { const i = document.querySelector(sel); return i && i.src !== before; }",
                    arg=[f"{PANEL} .jupyter-widgets img.widget-image", src_before])
                assert panel.locator("pre.k8slab-pane", has_text="node worker-3 joined").count() == 1
                assert panel.locator(".jupyter-widgets").filter(has_text="Cluster(4 nodes").count() > 0
                assert figure.evaluate("img => img.complete && img.naturalWidth") > 500
            finally:
                page.screenshot(path=str(tmp_path / "clusterlab.png"), full_page=True)
        finally:
            browser.close()
