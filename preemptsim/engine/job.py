"""The job process of one SimPy run (DESIGN.md §1); run.py starts it.

One job process holds the state.  It works in segments of useful work, each followed by a
blocking checkpoint, as one timeout per segment; an interruption is one timeout armed
when an instance starts, whose callback interrupts the job.  So a run costs events per
segment, checkpoint and interruption, never per training step.  Where an interruption
and a phase end fall on the same instant, the interruption wins: that checkpoint is lost.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Literal

import simpy

from preemptsim.engine.plan import Plan, Streams, draw
from preemptsim.engine.record import Lease, Market, RunRecord, Span, mark_lost
from preemptsim.engine.zones import Placement, Start
from preemptsim.interruptions import Model

Phase = Literal["restore", "segment", "checkpoint", "idle"]
MAX_LEASES = 100_000  # a run that needs more has segments that (almost) never fit


@dataclass
class Job:
    """The state of one run, and the process that advances it.

    Progress is useful work done; ``durable`` is the progress a restart resumes from, with
    the index of the segment it lies in.  A persist in flight becomes durable when it ends.
    """

    env: simpy.Environment
    plan: Plan
    placement: Placement
    rngs: Streams
    spans: list[Span] | None
    progress_s: float = 0.0
    segment: int = 0  # the segment progress is in
    durable: tuple[float, int] = (0.0, 0)
    persist: tuple[float, float, int] | None = None  # (ends at, progress, segment)
    phase: Phase = "restore"
    phase_start_s: float = 0.0
    phase_work_s: float = 0.0
    market: Market = "spot"
    lease_no: int = 0
    leases: list[Lease] = field(default_factory=list)
    interruptions: int = 0
    lost_work_s: float = 0.0
    checkpoint_s: float = 0.0
    restore_s: float = 0.0
    wait_s: float = 0.0
    idle_s: float = 0.0
    checkpoints: int = 0
    switched_at_s: float = math.nan
    next_stop_s: float = math.inf  # the next notice or take of the current lease
    take_s: float = math.inf  # when the current lease is taken
    lead_s: float = 0.0  # the current lease's notice before its take
    saved_at_s: float = math.inf  # when the segment under way is saved, if not interrupted
    taken: bool = False  # whether the last lease was taken (else released or first)
    taken_at_s: float = -math.inf  # the moment the last take was meant for
    zone: int = 0  # the zone of the job's instance, or of its checkpoint between instances
    migrations: int = 0
    migration_s: float = 0.0
    egress_usd: float = 0.0
    process: simpy.Process | None = None

    @property
    def model(self) -> Model:
        """The interruption model of the zone the job is in."""
        return self.placement.models[self.zone]

    def run(self) -> Generator[simpy.Event, object, None]:
        """Lease after lease until the work is done."""
        first, market = True, self.plan.first_market
        while True:
            if market == "spot":
                market = yield from self._wait_for_spot(first)
            if market == "on_demand" and self.plan.first_market == "spot":
                if math.isnan(self.switched_at_s):
                    self.switched_at_s = self.env.now
                yield from self._wait(self.env.now + (0.0 if first else self.plan.od_provision_s))
            self.market = market
            following = yield from self._lease(first)
            if following is None:
                return
            if len(self.leases) >= MAX_LEASES:
                raise RuntimeError(
                    f"{self.plan.scenario.name}: no finish after {MAX_LEASES} instances: "
                    "segments rarely fit between interruptions; checkpoint more often"
                )
            market, first = following, False

    def _wait_for_spot(self, first: bool) -> Generator[simpy.Event, object, Market]:
        """Downtime, any wait for capacity and any move to another zone, unless the policy
        moves to on-demand first (in the zone the job is in).

        A manual restart's response follows an interruption (the last lease taken) only: a voluntary
        move to spot is the policy's, with no human to wait for.  Once capacity is there,
        the safety net counts the restore the new instance will pay before it works.
        """
        begin_s, scenario = self.env.now, self.plan.scenario
        provision_s = 0.0 if first else draw(scenario.restart.provision, self.rngs, 1)
        response_s = self.plan.response_s if self.taken else 0.0
        from_s, carries = begin_s + provision_s + response_s, self.durable[0] > 0
        start = self.placement.start(from_s, self.zone, self.taken, carries)
        ready_s = start.ready_s  # after any copy of the checkpoint to another zone
        policy, remaining_s = self.plan.policy, self._remaining_s()
        restore_s = scenario.job.setup if first else scenario.restart.restore.mean_s
        unaffordable = policy.leave_spot(ready_s + restore_s, remaining_s, self._next_segment_s())
        switch_s = min(float(policy.switch_at(remaining_s)), ready_s if unaffordable else math.inf)
        switch_s = max(begin_s, switch_s)
        if switch_s < ready_s or unaffordable:
            yield from self._wait(switch_s)
            return "on_demand"
        yield from self._wait(start.chosen_s)
        yield from self._migrate(start, first)
        yield from self._wait(ready_s)
        return "spot"

    def _migrate(self, start: Start, first: bool) -> Generator[simpy.Event, object, None]:
        """Move to the start's zone (a migration, but at the first start) with its copy
        of the checkpoint: no instance held, counted in migration_s."""
        if start.zone == self.zone:
            return
        self.zone, self.migrations = start.zone, self.migrations + (not first)
        self.egress_usd += start.move.egress_usd
        if start.move.copy_s > 0:
            yield self.env.timeout(start.move.copy_s)
            self.migration_s += start.move.copy_s
            self._log(start.chosen_s, self.env.now, "migrate", None)

    def _wait(self, until_s: float) -> Generator[simpy.Event, object, None]:
        """Hold no instance until ``until_s``: not billed, not interruptible."""
        begin_s = self.env.now
        if until_s > begin_s:
            yield self.env.timeout(until_s - begin_s)
            self.wait_s += until_s - begin_s
            self._log(begin_s, until_s, "wait", None)

    def _lease(self, first: bool) -> Generator[simpy.Event, object, Market | None]:
        """Hold one instance (or gang) until the work is done (None), it is taken (spot
        next), or the policy releases it for the other market."""
        start_s, market = self.env.now, self.market
        self._arm(start_s)
        self.taken = False
        try:
            try:
                yield from self._restore(first)
                return (yield from self._work())
            except simpy.Interrupt as stop:
                if stop.cause != "notice":
                    raise
                yield from self._drain()
        except simpy.Interrupt:
            self._lose()
            self.taken, self.taken_at_s = True, self.take_s
            return "spot"
        finally:
            self.lease_no += 1  # disarms this lease's interruption
            price = self.model.usd_per_hour(start_s, self.env.now) if market == "spot" else None
            self.leases.append(Lease(start_s, self.env.now, market, price))
        return "spot"

    def _restore(self, first: bool) -> Generator[simpy.Event, object, None]:
        """Setup at the first start, restore after a restart: held, billed, interruptible."""
        scenario = self.plan.scenario
        duration_s = scenario.job.setup if first else draw(scenario.restart.restore, self.rngs, 2)
        self._enter("restore")
        if duration_s > 0:
            yield self.env.timeout(duration_s)
        self.restore_s += duration_s
        self._log(self.phase_start_s, self.env.now, "restore")

    def _work(self) -> Generator[simpy.Event, object, Market | None]:
        """Segments of work, each but the last followed by a checkpoint: one timeout each.

        None when the work is done; the other market when the policy moves there, which it
        decides at durable points, so that no work is thrown away.
        """
        plan, env = self.plan, self.env
        logging, guarded = self.spans is not None, plan.policy.deadline_aware
        stretch = not (logging or guarded or plan.persist_s)
        while True:
            if stretch:
                yield from self._stretch()
            segment = self.segment
            last = segment == plan.segments - 1
            end_s = plan.work_s if last else (segment + 1) * plan.interval_s
            work_s = end_s - self.progress_s
            blocking_s = 0.0 if last else self._snapshot_wait_s(work_s)
            if guarded and self._leave(work_s + blocking_s):
                yield from self._await_durable()
                return "on_demand" if self.market == "spot" else "spot"
            self.phase, self.phase_start_s, self.phase_work_s = "segment", env.now, work_s
            self.saved_at_s = env.now + work_s + blocking_s + (0.0 if last else plan.persist_s)
            yield env.timeout(work_s + blocking_s)
            self.progress_s = end_s
            if logging:
                self._log(self.phase_start_s, self.phase_start_s + work_s, "work")
                self._log(self.phase_start_s + work_s, env.now, "checkpoint")
            if last:
                self._settle(env.now, taken=False)  # persists that ended by the finish count
                return None
            self.segment += 1
            self.checkpoint_s += blocking_s
            self._persisted(env.now + plan.persist_s, end_s, segment + 1)

    def _stretch(self) -> Generator[simpy.Event, object, None]:
        """Whole sync segments that end before the next notice or take, as one timeout.

        Nothing can happen inside such a stretch, so it equals one timeout per segment; the
        segment the next interruption falls in is left to the per-segment loop.
        """
        plan, now_s = self.plan, self.env.now
        segment_s = plan.interval_s + plan.snapshot_s
        if self.progress_s != self.segment * plan.interval_s:
            return  # mid-segment after an emergency checkpoint
        count = min(
            plan.segments - 1 - self.segment,
            int((self.next_stop_s - now_s) // segment_s)
            if self.next_stop_s < math.inf
            else plan.segments,
        )
        if count > 0 and now_s + count * segment_s >= self.next_stop_s:
            count -= 1  # ties go to the interruption
        if count < 2:
            return
        self.phase, self.phase_start_s, self.phase_work_s = "segment", now_s, 0.0
        yield self.env.timeout(count * segment_s)
        self.segment += count
        self.progress_s = self.segment * plan.interval_s
        self.durable = (self.progress_s, self.segment)
        self.checkpoints += count
        self.checkpoint_s += count * plan.snapshot_s

    def _leave(self, segment_s: float) -> bool:
        """Whether the policy leaves this market at this segment start."""
        if self.market == "spot":
            return bool(self.plan.policy.leave_spot(self.env.now, self._remaining_s(), segment_s))
        return self._leave_on_demand(segment_s)

    def _await_durable(self) -> Generator[simpy.Event, object, None]:
        """Before a voluntary move: hold the instance, idle, until the persist in flight
        ends, so that the move carries only durable progress (DESIGN.md §1)."""
        if self.persist is not None:
            self._enter("idle")
            yield self.env.timeout(self.persist[0] - self.env.now)
            self.idle_s += self.env.now - self.phase_start_s
            self._log(self.phase_start_s, self.env.now, "idle")
            self._settle(self.env.now, taken=False)

    def _snapshot_wait_s(self, work_s: float) -> float:
        """Blocking time after ``work_s`` of work: any wait for the last persist, then the
        snapshot (the whole write in sync mode)."""
        if self.persist is None:
            return self.plan.snapshot_s
        ready_s = self.env.now + work_s
        return max(ready_s, self.persist[0]) - ready_s + self.plan.snapshot_s

    def _persisted(self, end_s: float, progress_s: float, segment: int) -> None:
        """Start a persist (the snapshot waited for the last one to end); a sync checkpoint,
        with no persist, is durable at once."""
        if self.plan.persist_s == 0:
            self.durable = (progress_s, segment)
            self.checkpoints += 1
            return
        self._settle(math.inf)
        self.persist = (end_s, progress_s, segment)

    def _settle(self, now_s: float, taken: bool = True) -> None:
        """Make a persist that ended before ``now_s`` durable (or at it, where nothing
        takes the instance then: ties go to the interruption)."""
        if self.persist and (self.persist[0] < now_s or (not taken and self.persist[0] == now_s)):
            self.durable = self.persist[1:]
            self.persist = None
            self.checkpoints += 1

    def _leave_on_demand(self, segment_s: float) -> bool:
        now_s = self.env.now
        return self.placement.has_capacity(now_s, self.zone) and self.plan.policy.leave_on_demand(
            now_s, self._remaining_s(), segment_s
        )

    def _next_segment_s(self) -> float:
        """Work and blocking write from the durable point to the next checkpoint."""
        return float(self.plan.policy.next_segment_s(*self.durable))

    def _remaining_s(self) -> float:
        """C(t): work and blocking checkpoint writes left from the durable point."""
        return float(self.plan.policy.remaining_s(*self.durable))

    def _notice_helps(self) -> bool:
        """Whether to act on a notice: only when the segment under way would not be saved
        (its checkpoint durable, or the job done) before the take and an emergency
        checkpoint would, saving work that is not yet durable.  Otherwise the job carries
        on as if there were no notice, so a notice never hurts.  The emergency checkpoint
        fits when it is shorter than the notice's lead (exact: an emergency write equal to
        the notice ends at the take, which the take wins)."""
        now_s = self.env.now
        if self.phase != "segment" or self.saved_at_s < self.take_s:
            return False
        worked_s = min(now_s - self.phase_start_s, self.phase_work_s)
        saves = self.progress_s + worked_s > self.durable[0]
        return saves and self.plan.emergency_write_s < self.lead_s

    def _drain(self) -> Generator[simpy.Event, object, None]:
        """After a notice that helps: an emergency checkpoint of the work so far (any
        checkpoint being written is abandoned for it), then idle until taken."""
        now_s = self.env.now
        worked_s = min(now_s - self.phase_start_s, self.phase_work_s)
        self._log(self.phase_start_s, self.phase_start_s + worked_s, "work")
        self._log(self.phase_start_s + worked_s, now_s, "checkpoint")
        self.checkpoint_s += now_s - self.phase_start_s - worked_s
        self.progress_s += worked_s
        self._settle(now_s)
        self._enter("checkpoint")
        yield self.env.timeout(self.plan.emergency_write_s)
        self.checkpoint_s += self.plan.emergency_write_s
        self._log(self.phase_start_s, self.env.now, "checkpoint")
        self.persist, self.durable = None, self.plan.position(self.progress_s, self.segment)
        self.checkpoints += 1
        self._enter("idle")
        yield self.env.event()  # never triggered: the instance is taken

    def _enter(self, phase: Phase, work_s: float = 0.0) -> None:
        self.phase, self.phase_start_s, self.phase_work_s = phase, self.env.now, work_s

    def _arm(self, start_s: float) -> None:
        """Schedule the notice and the take of the lease that starts now."""
        self.next_stop_s = self.take_s = math.inf
        if self.market != "spot":
            return
        # A take happens once: one that fired a rounding error before its moment (SimPy
        # adds a delay to the clock) must not take the next instance too.
        take_s = self.model.take_at(max(start_s, self.taken_at_s))
        if math.isinf(take_s):
            return
        self.next_stop_s = self.take_s = take_s
        self.lead_s = min(self.plan.notice_s, take_s - start_s)
        lease_no = self.lease_no
        if self.plan.on_notice:
            notice_s = max(take_s - self.plan.notice_s, start_s)
            if notice_s < take_s:
                self._schedule(notice_s, lease_no, "notice")
                self.next_stop_s = notice_s
        self._schedule(take_s, lease_no, "taken")

    def _schedule(self, at_s: float, lease_no: int, cause: str) -> None:
        event = self.env.timeout(at_s - self.env.now)
        event.callbacks.append(lambda _: self._interrupt(lease_no, cause))

    def _interrupt(self, lease_no: int, cause: str) -> None:
        if cause == "notice" and not self._notice_helps():
            return
        if lease_no == self.lease_no and self.process is not None and self.process.is_alive:
            self.process.interrupt(cause)

    def _lose(self) -> None:
        """The instance is taken: roll back to the last durable checkpoint."""
        now_s = self.env.now
        elapsed_s = now_s - self.phase_start_s
        self.interruptions += 1
        if self.phase == "segment":
            worked_s = min(elapsed_s, self.phase_work_s)
            self._log(self.phase_start_s, self.phase_start_s + worked_s, "work")
            self._log(self.phase_start_s + worked_s, now_s, "checkpoint")
            self.progress_s += worked_s
            self.checkpoint_s += elapsed_s - worked_s
        elif self.phase == "restore":
            self.restore_s += elapsed_s
        elif self.phase == "checkpoint":
            self.checkpoint_s += elapsed_s
        else:
            self.idle_s += elapsed_s
        if self.phase != "segment":
            self._log(self.phase_start_s, now_s, self.phase)
        self._settle(now_s)
        if self.plan.scenario.checkpoint.storage == "ephemeral":
            self.durable = (0.0, 0)
        self.persist = None
        self.lost_work_s += self.progress_s - self.durable[0]
        if self.spans is not None:
            mark_lost(self.spans, self.progress_s - self.durable[0])
        self.progress_s, self.segment = self.durable
        self._log(now_s, now_s, "interruption")

    def _log(self, start_s: float, end_s: float, kind: str, market: object = "held") -> None:
        if self.spans is not None and (end_s > start_s or kind == "interruption"):
            held = self.market if market == "held" else None
            zone = self.plan.zones.names[self.zone]
            self.spans.append(Span(start_s, end_s, kind, held, zone))  # type: ignore[arg-type]

    def record(self) -> RunRecord:
        return RunRecord(
            wall_s=self.env.now,
            leases=tuple(self.leases),
            interruptions=self.interruptions,
            lost_work_s=self.lost_work_s,
            checkpoint_s=self.checkpoint_s,
            restore_s=self.restore_s,
            wait_s=self.wait_s,
            idle_s=self.idle_s,
            checkpoints=self.checkpoints,
            switched_at_s=self.switched_at_s,
            spans=None if self.spans is None else tuple(self.spans),
            migrations=self.migrations,
            migration_s=self.migration_s,
            egress_usd=self.egress_usd,
            zone=self.plan.zones.names[self.zone],
        )
