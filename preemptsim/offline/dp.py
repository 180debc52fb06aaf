"""The offline optimum's dynamic programme over a neutral input (DESIGN.md §1, Precisions
(offline optimum)): zones with their ticks, availability and prices in run time, a job,
and the cost of moving between zones.  No scenario, no files: offline/__init__.py adapts.

Coordinates: progress x (useful work done) and slack z (time not spent working: waits,
restores).  Wall time is t = x + z, so holding an instance that works keeps z and moves x,
and a changeover keeps x and moves z.  Both are on one grid of step u: the state at
progress boundary j (x = j·u) is (market, k) with z = k·u, k ≤ (deadline − W)/u.  Every
rounding errs on the optimum's side (each listed where it is made), so the value is a
lower bound on the cost of any schedule that meets the deadline with no work lost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TOLERANCE_S = 1e-6  # the engine's tick tolerance (interruptions.TICK_TOLERANCE_S)
CELLS = 2000  # default: at most this many progress cells, and about CELLS² / 4 states
SPOT = 0  # a market index: 2·zone + (SPOT or 1 for on-demand)


@dataclass(frozen=True)
class Zone:
    """One zone in run time: tick ``i`` covers [starts_s[i], starts_s[i+1]); the first
    starts at or before 0 and the last ends at or after the horizon."""

    name: str
    starts_s: np.ndarray
    available: np.ndarray
    spot_usd_per_hour: np.ndarray  # per tick
    on_demand_usd_per_hour: float


@dataclass(frozen=True)
class Job:
    """What the optimum must do, in seconds and USD; the delays are their least values."""

    work_s: float
    deadline_s: float
    setup_s: float  # the first start's restore (none unless job.setup)
    spot_provision_s: float
    on_demand_provision_s: float
    restore_s: float
    instances: int
    storage_usd_per_s: float  # checkpoint storage per second of wall time


@dataclass(frozen=True)
class Lease:
    """One lease of the optimum's schedule, on the grid: launched (its restore or setup
    starts) at ``start_s``, released at ``end_s``."""

    zone: str
    market: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Solution:
    cost_usd: float  # inf where no schedule meets the deadline
    finish_s: float
    leases: tuple[Lease, ...]


def step_s(job: Job, cells: int = CELLS) -> float:
    """The grid step u: at most ``cells`` progress cells and about cells²/4 states."""
    slack_s = max(job.deadline_s - job.work_s, 0.0)
    u = max(job.work_s / cells, math.sqrt(job.work_s * slack_s) * 2 / cells)
    return min(job.work_s, u)


def shortest(moves: np.ndarray) -> np.ndarray:
    """The least total over chains of moves (Floyd–Warshall): several changeovers within
    one cell are taken as one, which must not cost more than the chain."""
    best = moves.astype(float).copy()
    for via in range(len(best)):
        best = np.minimum(best, best[:, via : via + 1] + best[via : via + 1, :])
    return best


def solve(
    zones: list[Zone],
    job: Job,
    move_s: np.ndarray,
    move_usd: np.ndarray,
    u: float,
) -> Solution:
    """The cheapest schedule on the grid of step ``u`` (a lower bound, module docstring),
    with its leases.  ``move_s[a, b]``/``move_usd[a, b]``: wait and cost of carrying the
    checkpoint from zone a to zone b, beyond the provision (0 on the diagonal)."""
    return _run([zones], job, move_s, move_usd, u, path=True)[0]


def costs(
    starts: list[list[Zone]], job: Job, move_s: np.ndarray, move_usd: np.ndarray, u: float
) -> np.ndarray:
    """The optimum's cost for each start's zones at once (vectorised over the starts)."""
    return np.array([s.cost_usd for s in _run(starts, job, move_s, move_usd, u, path=False)])


def _run(
    starts: list[list[Zone]],
    job: Job,
    move_s: np.ndarray,
    move_usd: np.ndarray,
    u: float,
    path: bool,
) -> list[Solution]:
    n_x = math.floor(job.work_s / u + 1e-9)  # work beyond n_x·u is not required
    slack_s = job.deadline_s - job.work_s
    if slack_s < 0 or job.setup_s > slack_s:
        return [Solution(math.inf, math.nan, ())] * len(starts)
    n_z = math.floor(slack_s / u + 1e-9) + 1
    cells = _Cells.of(starts, job, u, np.arange(n_x + n_z + 1) * u)
    first = math.floor(job.setup_s / u + 1e-9)
    cost = np.full((*cells.hold.shape[:2], n_z), math.inf)
    cost[:, :, first:] = cells.setup[:, :, first:n_z]
    waits = _waits(job, shortest(move_s), u)  # (source zone, target market) in cells
    usd = np.repeat(shortest(move_usd), 2, axis=1)  # (source zone, target market)
    boundaries = [cost]
    for j in range(n_x):
        window = slice(j, j + n_z)
        moved = _changeover(cost, cells.part[:, :, window], waits, usd)
        cost = np.minimum(cost + cells.hold[:, :, window], moved + cells.restore[:, :, window])
        if path:
            boundaries.append(cost)
    finish_s = job.work_s + np.arange(n_z) * u
    total = cost + job.storage_usd_per_s * finish_s
    solutions = []
    for b in range(len(starts)):
        market, k = np.unravel_index(int(np.argmin(total[b])), total[b].shape)
        leases: tuple[Lease, ...] = ()
        if path:
            steps = _Steps([c[0] for c in boundaries], cells.one(0), waits, usd)
            leases = _leases(steps, starts[0], int(market), int(k), u, job)
        solutions.append(Solution(float(total[b, market, k]), float(finish_s[k]), leases))
    return solutions


@dataclass(frozen=True)
class _Cells:
    """USD per grid time i and market, (start, market, time): ``hold`` a working cell
    (inf where spot is not usable), ``part`` a share of one (the cell a changeover falls
    in is shared by the leases: spot needs capacity somewhere in its window only),
    ``restore`` and ``setup`` the restore or setup that ends a launch into (j, k),
    indexed by i = j + k."""

    hold: np.ndarray
    part: np.ndarray
    restore: np.ndarray
    setup: np.ndarray

    @classmethod
    def of(cls, starts: list[list[Zone]], job: Job, u: float, times: np.ndarray) -> _Cells:
        def table(per_zone: Callable[[Zone], list[np.ndarray]]) -> np.ndarray:
            return np.stack([_markets(zones, per_zone) for zones in starts])

        cell = table(lambda z: _cell_usd(z, job, u, times))
        usable = table(lambda z: _usable(z, u, times))
        somewhere = table(lambda z: _somewhere(z, times, times + 2 * u))
        return cls(
            np.where(usable, cell, math.inf),
            np.where(somewhere, cell, math.inf),
            table(lambda z: _window_usd(z, job, job.restore_s, u, times)),
            table(lambda z: _window_usd(z, job, job.setup_s, u, times)),
        )

    def one(self, b: int) -> _Cells:
        return _Cells(self.hold[b], self.part[b], self.restore[b], self.setup[b])


def _markets(zones: list[Zone], per_zone: Callable[[Zone], list[np.ndarray]]) -> np.ndarray:
    """Per market (spot and on-demand of each zone in turn), the arrays of ``per_zone``."""
    return np.stack([column for zone in zones for column in per_zone(zone)])


def _waits(job: Job, move_s: np.ndarray, u: float) -> np.ndarray:
    """Cells of slack a changeover adds, rounded down: the least provision of the target
    market, the move, and the least restore (z rounded down at both ends loses < 1 cell)."""
    provision = np.array([job.spot_provision_s, job.on_demand_provision_s])
    seconds = move_s[:, :, None] + provision[None, None, :] + job.restore_s
    cells: np.ndarray = np.floor(seconds / u + 1e-9).astype(int)
    return cells.reshape(len(move_s), -1)


def _changeover(
    cost: np.ndarray, part: np.ndarray, waits: np.ndarray, usd: np.ndarray
) -> np.ndarray:
    """The best way into each (market, k) at the next boundary by a changeover within this
    cell, before its restore.  The cell is shared by the leases, so it costs at least the
    cheaper of the source's and the target's ``part``: min over sources of cost +
    min(part_source, part_target), taken as two running minima.  Several changeovers in
    one cell: the programme goes to the cheapest market among them in this cell and on
    to the last in the next (whose restore window reaches back a cell).  (start,
    market, k)."""
    _, markets, n_z = cost.shape
    paid = cost + part
    stay = np.minimum.accumulate(_by_zone(paid), axis=2)
    bare = np.minimum.accumulate(_by_zone(cost), axis=2)
    moved = np.full(cost.shape, math.inf)
    for zone in range(bare.shape[1]):
        for target in range(markets):
            shift = waits[zone, target]
            if shift < n_z:
                there = slice(shift, n_z)
                offered = np.minimum(
                    stay[:, zone, : n_z - shift],
                    bare[:, zone, : n_z - shift] + part[:, target, there],
                )
                offered += usd[zone, target]
                np.minimum(moved[:, target, there], offered, out=moved[:, target, there])
    return moved


def _by_zone(values: np.ndarray) -> np.ndarray:
    """The lesser of each zone's two markets: (start, zone, k)."""
    lesser: np.ndarray = np.minimum(values[:, 0::2], values[:, 1::2])
    return lesser


def _tick_of(zone: Zone, times_s: np.ndarray) -> np.ndarray:
    index = np.searchsorted(zone.starts_s, times_s + TOLERANCE_S, side="right") - 1
    ticks: np.ndarray = np.clip(index, 0, len(zone.starts_s) - 1)
    return ticks


def _least_price(zone: Zone, low_s: np.ndarray, high_s: np.ndarray) -> np.ndarray:
    """The least spot price of the ticks meeting [low_s, high_s], per window."""
    return _least(zone, zone.spot_usd_per_hour.astype(float), low_s, high_s)


def _somewhere(zone: Zone, low_s: np.ndarray, high_s: np.ndarray) -> list[np.ndarray]:
    """Whether spot has capacity in some tick meeting [low_s, high_s]; on-demand always."""
    taken = _least(zone, (~zone.available).astype(float), low_s, high_s)
    return [taken == 0, np.ones(len(low_s), dtype=bool)]


def _least(zone: Zone, values: np.ndarray, low_s: np.ndarray, high_s: np.ndarray) -> np.ndarray:
    """The least of per-tick ``values`` over the ticks meeting [low_s, high_s]."""
    first, last = _tick_of(zone, low_s - 2 * TOLERANCE_S), _tick_of(zone, high_s)
    least: np.ndarray = values[first]
    for extra in range(1, int(np.max(last - first, initial=0)) + 1):
        least = np.minimum(least, values[np.minimum(first + extra, last)])
    return least


def _cell_usd(zone: Zone, job: Job, u: float, times: np.ndarray) -> list[np.ndarray]:
    """USD of holding an instance that works through cell i (times [i·u, (i+1)·u) on the
    grid), per market: the schedule's slack lies in [k·u, (k+1)·u), so its real stretch
    lies in [i·u, (i+2)·u); it costs at least u at the least price there."""
    spot = _least_price(zone, times, times + 2 * u) * u / 3600.0 * job.instances
    on_demand = np.full(len(times), zone.on_demand_usd_per_hour * u / 3600.0 * job.instances)
    return [spot, on_demand]


def _usable(zone: Zone, u: float, times: np.ndarray) -> list[np.ndarray]:
    """Whether a market can hold cell i: on-demand always; spot where the tick at (i+1)·u
    (within the tolerance), which the real stretch holds, has capacity."""
    at = times + u
    before = zone.available[_tick_of(zone, at - 2 * TOLERANCE_S)]
    return [before | zone.available[_tick_of(zone, at)], np.ones(len(times), dtype=bool)]


def _window_usd(
    zone: Zone, job: Job, length_s: float, u: float, times: np.ndarray
) -> list[np.ndarray]:
    """USD of a restore (or setup) of ``length_s`` that ends the changeover into (j, k),
    indexed by i = j + k: it ends within [(i−1)·u, (i+2)·u) (a cell earlier where the
    lease began in a cell of several changeovers), so it lies in [(i−1)·u − length,
    (i+2)·u] and costs at least its length at the least price there.  On spot it needs
    ``length_s`` of capacity without a break ending somewhere in that window."""
    hours = length_s / 3600.0 * job.instances
    spot = _least_price(zone, times - u - length_s, times + 2 * u) * hours
    fits = _capacity_for(zone, length_s, times - u, times + 2 * u)
    return [
        np.where(fits, spot, math.inf),
        np.full(len(times), zone.on_demand_usd_per_hour * hours),
    ]


def _capacity_for(zone: Zone, length_s: float, low_s: np.ndarray, high_s: np.ndarray) -> np.ndarray:
    """Whether some stretch of ``length_s`` with capacity throughout ends in [low, high):
    checked where capacity has lasted longest, at the end of each tick in the window."""
    available, runs = zone.available, _run_starts(zone)
    first, last = _tick_of(zone, low_s), _tick_of(zone, high_s - 2 * TOLERANCE_S)
    ends = np.append(zone.starts_s[1:], math.inf)
    fits = np.zeros(len(low_s), dtype=bool)
    for extra in range(int(np.max(last - first, initial=0)) + 1):
        tick = np.minimum(first + extra, last)
        moment = np.minimum(ends[tick], high_s)
        long_enough = moment - runs[tick] >= length_s - 4 * TOLERANCE_S
        fits |= available[tick] & long_enough
    return fits


def _run_starts(zone: Zone) -> np.ndarray:
    """Per tick, when the run of capacity it belongs to began (−inf at the zone's start)."""
    available = zone.available
    breaks = np.where(~available, np.arange(len(available)), -1)
    last_break = np.maximum.accumulate(breaks)
    first_tick = last_break + 1
    starts = np.append(zone.starts_s, math.inf)
    begun: np.ndarray = np.where(
        first_tick == 0, -math.inf, starts[np.minimum(first_tick, len(available))]
    )
    return begun


@dataclass(frozen=True)
class _Steps:
    """What walking the optimum back needs, for one start: the (market, k) cost at every
    boundary, and the cells' costs (market, time)."""

    boundaries: list[np.ndarray]
    cells: _Cells
    waits: np.ndarray
    usd: np.ndarray

    def back(self, j: int, market: int, k: int) -> tuple[int, int] | None:
        """The state at boundary j − 1 that led to (market, k) at j: None where the cell
        was held in the same market (the same k), else the changeover's source."""
        before, value = self.boundaries[j - 1], self.boundaries[j][market, k]
        cells, i = self.cells, j - 1 + k
        if before[market, k] + cells.hold[market, i] == value:
            return None
        paid = value - cells.restore[market, i]
        for source in range(len(before)):
            top = k - self.waits[source // 2, market] + 1
            if top <= 0:
                continue
            shared = np.minimum(cells.part[source, j - 1 : j - 1 + top], cells.part[market, i])
            offered = before[source, :top] + shared + self.usd[source // 2, market]
            found = np.flatnonzero(np.isclose(offered, paid, rtol=1e-12, atol=1e-9))
            if len(found):
                return source, int(found[0])
        raise AssertionError("no changeover leads to this state")


def _leases(
    steps: _Steps, zones: list[Zone], market: int, k: int, u: float, job: Job
) -> tuple[Lease, ...]:
    """The schedule behind the optimum, walked back from the finish (grid times)."""
    leases: list[Lease] = []
    end_j = len(steps.boundaries) - 1
    for j in range(end_j, 0, -1):
        source = steps.back(j, market, k)
        if source is not None:
            leases.append(_lease(zones, market, j, end_j, k, u, job.restore_s))
            (market, k), end_j = source, j - 1
    leases.append(_lease(zones, market, 0, end_j, k, u, job.setup_s))
    return tuple(reversed(leases))


def _lease(
    zones: list[Zone], market: int, from_j: int, to_j: int, k: int, u: float, lead_s: float
) -> Lease:
    kind = "spot" if market % 2 == SPOT else "on_demand"
    start_s = (from_j + k) * u - lead_s
    return Lease(zones[market // 2].name, kind, max(start_s, 0.0), (to_j + k) * u)
