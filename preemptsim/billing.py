"""Leases to money (DESIGN.md §1, Billing): per-lease rounding, storage, manual restarts."""

from __future__ import annotations

import math

from preemptsim.engine import Lease, RunRecord
from preemptsim.scenario import Scenario

SECONDS_PER_MONTH = 730.0 * 3600.0  # a GB-month, as cloud price lists count it


def billed_s(held_s: float, granularity_s: float, minimum_s: float) -> float:
    """Seconds billed for a lease held ``held_s``: rounded up to the granularity, at least
    the minimum.  A part in 10⁹ of a unit over a whole count is float noise, not a unit."""
    units = math.ceil(held_s / granularity_s - 1e-9)
    return max(units * granularity_s, minimum_s)


def lease_billed_s(lease: Lease, scenario: Scenario) -> float:
    """Instance-seconds billed for one lease of the whole gang."""
    pricing = scenario.pricing
    one = billed_s(lease.end_s - lease.start_s, pricing.billing_granularity, pricing.minimum_billed)
    return one * scenario.job.instances


def usd_per_hour(lease: Lease, scenario: Scenario) -> float:
    """Price of one instance-hour of ``lease``: a trace's price where it gives one."""
    if lease.usd_per_hour is not None:
        return lease.usd_per_hour
    pricing = scenario.pricing
    return pricing.spot_usd_per_hour if lease.market == "spot" else pricing.on_demand_usd_per_hour


def storage_cost_usd(wall_s: float, scenario: Scenario) -> float:
    """Checkpoint storage over the whole wall time: size × USD per GB-month."""
    gb_months = scenario.checkpoint.size_gb * wall_s / SECONDS_PER_MONTH
    return gb_months * scenario.pricing.storage_usd_per_gb_month


def human_cost_usd(record: RunRecord, scenario: Scenario) -> float:
    """Engineer time spent restarting by hand, where ``restart.manual`` is true."""
    if not scenario.restart.manual:
        return 0.0
    hours = record.interruptions * scenario.restart.handling / 3600.0
    return hours * scenario.pricing.engineer_usd_per_hour
