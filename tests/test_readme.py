"""The README's first taste runs exactly as written."""

import pathlib

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_readme_first_taste_runs(capsys):
    text = README.read_text()
    code = text.split("## A first taste", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    c = namespace["c"]
    out = capsys.readouterr().out
    assert "web-766486c5b6-4g6q5" in out and "Running" in out
    assert c.now > 340  # the failed node was noticed and its pod moved
