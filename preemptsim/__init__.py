"""preemptsim: should this GPU job run on spot, and how often should it checkpoint?

>>> import preemptsim as ps
>>> sc = ps.load_scenario("scenarios/runpod-a6000-lora-7b.toml")   # doctest: +SKIP
>>> runs = ps.simulate(sc, reps=2000, seed=1)                       # doctest: +SKIP
>>> ps.summarize(runs, sc)["savings_vs_on_demand"]                  # doctest: +SKIP

The names below load their modules on first use, so that ``import preemptsim`` (and the
command line's start-up) costs nothing until a simulation is asked for.
"""

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preemptsim import analytic
    from preemptsim.advise import advise
    from preemptsim.fitting import fit
    from preemptsim.offline import offline_optimum
    from preemptsim.scenario import Scenario, ScenarioError, load_scenario
    from preemptsim.simulate import simulate, summarize, timeline
    from preemptsim.sweep import sweep

_HOMES = {
    "Scenario": "preemptsim.scenario",
    "ScenarioError": "preemptsim.scenario",
    "load_scenario": "preemptsim.scenario",
    "simulate": "preemptsim.simulate",
    "summarize": "preemptsim.simulate",
    "timeline": "preemptsim.simulate",
    "sweep": "preemptsim.sweep",
    "advise": "preemptsim.advise",
    "fit": "preemptsim.fitting",
    "offline_optimum": "preemptsim.offline",
}
__all__ = [
    "Scenario",
    "ScenarioError",
    "advise",
    "analytic",
    "fit",
    "load_scenario",
    "offline_optimum",
    "simulate",
    "summarize",
    "sweep",
    "timeline",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Load the module behind a public name on first use (PEP 562)."""
    if name == "analytic":
        return import_module("preemptsim.analytic")
    if name not in _HOMES:
        raise AttributeError(f"module 'preemptsim' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)


class _Package(ModuleType):
    """``ps.simulate``, ``ps.sweep`` and ``ps.advise`` name functions, not the modules of
    the same name: importing such a module (``import preemptsim.sweep``) would otherwise
    bind the module over the function's name in this package."""

    def __setattr__(self, name: str, value: Any) -> None:
        if not (isinstance(value, ModuleType) and name in _HOMES):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
