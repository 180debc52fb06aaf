"""Counts for issue 13: inputs the fuzz suite's strategies draw, and how many of them the
command line did not handle cleanly (tests/fuzzkit.py judges each), by kind of problem.

    python bench/fuzz_count.py [EXAMPLES_PER_STRATEGY]
"""

from __future__ import annotations

import collections
import contextlib
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests import test_fuzz as tf
from tests.fuzzkit import BASE, call, strict_json, with_keys, write_toml


def judge(argv: list[str], tally: collections.Counter[str], examples: list[str]) -> None:
    outcome = call(argv)
    problem = outcome.problem
    if problem is None and outcome.code == 0 and "--json" in argv:
        try:
            strict_json(outcome.out)
        except ValueError:
            problem = "invalid json"
    kind = "clean" if problem is None else problem.split(":")[0].split(" (")[0]
    tally[kind] += 1
    if problem and len(examples) < 40:
        examples.append(f"{kind}: {argv[:3]} … {problem[:160]!r}")


def main(n: int) -> None:
    tally: collections.Counter[str] = collections.Counter()
    examples: list[str] = []
    root = Path(tempfile.mkdtemp())
    scenario = str(write_toml(root / "base.toml", BASE))
    many = settings(max_examples=n, deadline=None, derandomize=True, database=None)

    @many
    @given(data=tf.scenarios())
    def scenarios(data: dict[str, Any]) -> None:
        judge(["run", str(write_toml(root / "s.toml", data)), *tf.RUN], tally, examples)

    @many
    @given(text=st.one_of(tf.json_traces(), tf.csv_traces()))
    def traces(text: str) -> None:
        trace = root / ("t.csv" if text.startswith("date") else "t.json")
        trace.write_text(text, encoding="utf-8")
        data = with_keys(BASE, {"interruptions": {"model": "trace", "path": str(trace)}})
        judge(["run", str(write_toml(root / "s.toml", data)), *tf.RUN], tally, examples)

    @many
    @given(path=st.sampled_from(tf.PROBE_PATHS), value=st.sampled_from(tf.NASTY))
    def probes(path: tuple[Any, ...], value: Any) -> None:
        probe = root / "p.json"
        probe.write_text(tf.json.dumps(tf._replaced(tf.PROBE, path, value)), encoding="utf-8")
        judge(["calibrate", str(probe), "--scenario", scenario, "--model-params", "7e9"],
              tally, examples)  # fmt: skip

    @many
    @given(data=st.data())
    def commands(data: st.DataObject) -> None:
        with contextlib.chdir(root):
            judge(data.draw(tf.command_lines(scenario)), tally, examples)

    for name, run in (("scenarios", scenarios), ("traces", traces), ("probes", probes),
                      ("command lines", commands)):  # fmt: skip
        before = sum(tally.values())
        run()
        print(f"{name}: {sum(tally.values()) - before} inputs", flush=True)
    print("outcomes:", dict(tally))
    print(f"tried {sum(tally.values())}, not clean {sum(tally.values()) - tally['clean']}")
    print("\n".join(examples))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
