"""%load_ext k8slab gives %kubectl and %%apply on the current cluster."""

import pytest

IPython = pytest.importorskip("IPython")


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "k8slab")
    yield sh
    InteractiveShell.clear_instance()


def test_kubectl_and_apply_magics_act_on_the_latest_cluster(shell, capsys):
    import k8slab

    k8slab.Cluster(workers=1, seed=0)
    c = k8slab.Cluster(workers=2, seed=0)  # the latest one is current
    out = shell.run_line_magic("kubectl", "get nodes")
    assert out.returncode == 0
    assert [line.split()[0] for line in str(out).splitlines()[1:]] == ["control-plane", "worker-1", "worker-2"]
    shell.run_cell_magic("apply", "", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
    assert capsys.readouterr().out.strip() == "namespace/team-a created"
    assert c.get("namespace", "team-a")["status"]["phase"] == "Active"


def test_apply_magic_prints_errors_instead_of_a_traceback(shell, capsys):
    import k8slab

    k8slab.Cluster(workers=1, seed=0)
    shell.run_cell_magic("apply", "", "apiVersion: v1\nkind: Namespace\nmetadata:\n  nam: x\n")
    out = capsys.readouterr().out
    assert out.startswith("error: ")
    assert "Traceback" not in out
