"""The README's Python examples run as written (STYLE.md, habit 9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_blocks_run(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(compile(code.replace("reps=2000", "reps=200"), "README.md", "exec"), namespace)


def test_readme_leads_with_the_two_commands_ci_runs() -> None:
    text = (ROOT / "README.md").read_text()
    install, tests = re.findall(r"```bash\n(.*?)\n```", text, re.S)[:2]
    assert install.endswith("preemptsim run")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -q -e '.[test,probe]' 'torch==2.13.0'" in ci
    assert "pip install -e '.[test,probe]' 'torch==2.13.0'" in tests
    assert tests.endswith("python -m pytest -q") and ci.rstrip().endswith("python -m pytest -q")


@pytest.mark.parametrize(
    ("argv", "first_line"),
    [
        (["run"], "runpod-a6000-lora-7b: LoRA fine-tune"),
        (["advise"], "runpod-a6000-lora-7b: 24h of work"),
        (["optimum", "gcp-h100-trace", "--starts", "5"], "gcp-h100-trace: the offline optimum"),
    ],
    ids=["run", "advise", "optimum"],
)
def test_readme_shows_what_the_command_prints(
    argv: list[str], first_line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's sample output is what the command prints: same seed, same numbers."""
    from preemptsim.cli import main

    text = (ROOT / "README.md").read_text()
    start = text.index(f"```\n{first_line}") + 4
    assert main(argv) == 0
    assert capsys.readouterr().out == text[start : text.index("```", start)]
