"""Counter-based random numbers keyed by (seed, source, replication, draw) (DESIGN.md §5).

Draw i of source s of replication r is output i of a SplitMix64 stream (Steele, Lea,
Flood, OOPSLA 2014) whose state is keyed by (seed, s, r): nothing is carried from draw to
draw, so a replication's numbers do not depend on which others share its call.  The fast
engine draws everything from here; both engines draw a trace's random start from here, so
that they replay a trace from the same moment (DESIGN.md §1, Traces).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741
U = npt.NDArray[np.uint64]

SOURCES = ("interruptions", "downtime", "restore")
START_DRAW = -1  # the trace start's draw of source 0, before any take's (draws 0, 1, …)
START_GRID_S = 2.0**-20  # random starts lie on this grid (~1 µs): start + whole seconds is exact
_GAMMA, _MASK = 0x9E3779B97F4A7C15, (1 << 64) - 1
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(z: U) -> U:
    """SplitMix64's output function, on arrays (uint64 arithmetic wraps)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


class Keyed:
    """Uniforms in (0, 1) keyed by (seed, source, replication, draw) for replications ``reps``."""

    def __init__(self, seed: int, reps: I) -> None:
        keys = np.random.SeedSequence(seed).generate_state(len(SOURCES), np.uint64)
        spread = reps.astype(np.uint64) * np.uint64(_GAMMA)
        self._states = [_mix(spread + key) for key in keys]

    def uniform(self, source: int, draw: int, rows: I) -> F:
        """Draw ``draw`` of ``source`` for the replications at positions ``rows``."""
        z = _mix(self._states[source][rows] + np.uint64(((draw + 1) * _GAMMA) & _MASK))
        return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def random_starts_s(seed: int, reps: I, period_s: float) -> F:
    """Random trace starts of replications ``reps``: uniform over [0, period_s), on a grid
    of 2⁻²⁰ s, so that a start plus whole seconds is an exact sum in either engine."""
    uniform = Keyed(seed, reps).uniform(0, START_DRAW, np.arange(len(reps)))
    steps = np.floor(uniform * (period_s / START_GRID_S))
    return np.minimum(steps * START_GRID_S, math.nextafter(period_s, 0.0))
