"""The SimPy model of one run (DESIGN.md §1): a Plan in, a RunRecord out.

plan.py holds the scenario as the engine needs it and the random streams, zones.py where
a job on many zones starts and what a move costs, job.py the job process, run.py one
replication, record.py what a run returns.
"""

from preemptsim.engine.job import MAX_LEASES
from preemptsim.engine.plan import Plan, Streams, draw
from preemptsim.engine.record import Lease, Market, RunRecord, Span
from preemptsim.engine.run import run_once
from preemptsim.keyed import SOURCES

__all__ = [
    "MAX_LEASES",
    "SOURCES",
    "Lease",
    "Market",
    "Plan",
    "RunRecord",
    "Span",
    "Streams",
    "draw",
    "run_once",
]
