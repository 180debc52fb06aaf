"""preemptsim: should this GPU job run on spot, and how often should it checkpoint?

>>> import preemptsim as ps
>>> sc = ps.load_scenario("scenarios/runpod-a6000-lora-7b.toml")   # doctest: +SKIP
>>> runs = ps.simulate(sc, reps=2000, seed=1)                       # doctest: +SKIP
>>> ps.summarize(runs, sc)["savings_vs_on_demand"]                  # doctest: +SKIP
"""

from preemptsim import analytic
from preemptsim.advise import advise
from preemptsim.scenario import Scenario, ScenarioError, load_scenario
from preemptsim.simulate import simulate, summarize, timeline
from preemptsim.sweep import sweep

__all__ = [
    "Scenario",
    "advise",
    "ScenarioError",
    "analytic",
    "load_scenario",
    "simulate",
    "summarize",
    "sweep",
    "timeline",
]
__version__ = "0.1.0"
