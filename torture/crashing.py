"""Scenario 2, crashing workers: the load of scenario 1 while workers and whole instances die.

A chaos thread SIGKILLs a random gunicorn worker every second or so (its master starts a new
one), and at set moments SIGKILLs a whole instance, master and workers at once (the full
version restarts the first one later, then kills the other). Requests in flight on a killed
process get no answer; their clients retry with the same key on the other instance.

Afterwards, as in scenario 1, plus: the snapshots taken during the load and the books after it
show no partial transaction (postings without their transaction or balance, or the reverse),
and every key retried against the survivor posted exactly once.
"""

# ruff: noqa: S311 -- pseudo-random choices of victims; nothing here is a secret.
from __future__ import annotations

import random
import threading
import time

from torture.client import Load, LoadPlan
from torture.infra import Context, Instance
from torture.racing import load_scenario
from torture.report import Result

FULL = LoadPlan(duration=40, threads=16, timeout=5.0, impatient=0.03, max_requests=200_000)
SHORT = LoadPlan(duration=8, threads=12, timeout=5.0, impatient=0.03, max_requests=5_000, settle=20)

# (share of the duration, action): "kill" a whole instance, "restart" the one killed last.
FULL_SCHEDULE = [(0.30, "kill"), (0.50, "restart"), (0.70, "kill-other")]
SHORT_SCHEDULE = [(0.45, "kill")]


class Chaos:
    def __init__(self, pair: list[Instance], load: Load, schedule: list[tuple[float, str]], seed: int) -> None:
        self.pair = pair
        self.load = load
        self.schedule = sorted(schedule)
        self.rng = random.Random(f"{seed}-chaos")
        self.events: list[tuple[float, str]] = []  # (seconds into the load, what happened)
        self.worker_kills = 0
        self.instance_kills = 0
        self.restarts = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def start(self) -> Chaos:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _note(self, what: str) -> None:
        self.events.append((time.monotonic() - self.load.stats.started, what))

    def _run(self) -> None:
        plan = self.load.plan
        killed: Instance | None = None
        first_killed: Instance | None = None
        pending = list(self.schedule)
        try:
            while not self._stop.wait(self.rng.uniform(0.5, 1.4)):
                elapsed = time.monotonic() - self.load.stats.started
                if elapsed > plan.duration:
                    return
                if pending and elapsed >= pending[0][0] * plan.duration:
                    _, action = pending.pop(0)
                    if action == "kill":
                        killed = first_killed = self.rng.choice([i for i in self.pair if i.alive])
                        killed.crash()
                        self.instance_kills += 1
                        self._note(f"SIGKILL instance {killed.name} (master and workers)")
                    elif action == "restart" and killed is not None:
                        killed.start()
                        self.restarts += 1
                        self._note(f"restarted {killed.name}")
                        killed = None
                    elif action == "kill-other":
                        victim = next(i for i in self.pair if i is not first_killed and i.alive)
                        victim.crash()
                        self.instance_kills += 1
                        self._note(f"SIGKILL instance {victim.name} (master and workers)")
                    continue
                alive = [i for i in self.pair if i.alive]
                if alive:
                    instance = self.rng.choice(alive)
                    pid = instance.kill_worker(self.rng.choice)
                    if pid:
                        self.worker_kills += 1
                        self._note(f"worker {pid} of {instance.name}")
        except Exception as exc:  # Shown as a violation: the chaos did not go as planned.
            self.errors.append(f"chaos: {type(exc).__name__}: {exc}")


def run(ctx: Context, plan: LoadPlan | None = None, schedule: list[tuple[float, str]] | None = None) -> Result:
    result = Result("crashing", "2. Crashing workers")
    plan = plan or (SHORT if ctx.short else FULL)
    schedule = schedule if schedule is not None else (SHORT_SCHEDULE if ctx.short else FULL_SCHEDULE)
    chaos_box: list[Chaos] = []

    def chaos(pair: list[Instance], load: Load):
        chaos_box.append(Chaos(pair, load, schedule, ctx.seed).start())
        return chaos_box[0].stop

    load = load_scenario(ctx, result, "crashing", plan, chaos=chaos)
    monkey = chaos_box[0]
    result.faults += monkey.worker_kills + monkey.instance_kills
    result.violations.extend(monkey.errors)
    result.expect(monkey.worker_kills > 0, "no worker was killed")
    result.expect(
        monkey.instance_kills == sum(1 for _, action in schedule if action.startswith("kill")),
        f"{monkey.instance_kills} instances killed, the schedule has {len(schedule)} kills",
    )
    result.figures = {
        "faults": f"{monkey.worker_kills} workers and {monkey.instance_kills} whole instances SIGKILLed, "
        f"{monkey.restarts} instance restarted; {load.stats.hangups} client hang-ups",
        **result.figures,
        "instances killed and restarted (seconds into the load)": [
            f"{at:.1f} s: {what}" for at, what in monkey.events if not what.startswith("worker")
        ],
        "workers SIGKILLed at (seconds into the load)": ", ".join(
            f"{at:.1f}" for at, what in monkey.events if what.startswith("worker")
        ),
    }
    return result
