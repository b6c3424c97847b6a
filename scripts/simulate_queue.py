"""Simulate a day of live chat and measure how wrong the wait estimate shown to customers is.

A discrete-event simulation of one team's queue: customers arrive (a quiet night, a morning
ramp, lunchtime and evening peaks, 5 % security cases that jump the queue), agents come and go
on shifts (some leave early, some join late, capacity 2–4 chats each), chats take a
log-normally distributed time, customers whose estimate is over the offer threshold may take
a ticket instead, and some lose patience. Dispatch is the product's: highest priority first,
then first come; least-loaded agent (chats ÷ capacity), ties by longest since last chat.

Each queued customer is shown the estimate of ``kefu.chat.estimate`` on arrival and again
every 30 seconds (as the live queue does), computed from what the product knows at that
moment: position, agents online with their chats' ages, and the trimmed mean handling time
of chats closed in the last four hours. Compared with when they were actually assigned, the
script prints the mean and 90th-percentile absolute error in seconds.

    python scripts/simulate_queue.py                 # 5 simulated days, the product's estimator
    python scripts/simulate_queue.py --compare       # also other residual floors and the naive estimate
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kefu.chat.estimate import estimate_wait, mean_handling_seconds  # noqa: E402

DAY = 24 * 3600
OFFER_AFTER = 600  # the product's default KEFU_CHAT_OFFER_AFTER_SECONDS
UPDATE_EVERY = 30
HANDLE_WINDOW = 4 * 3600
HANDLE_SAMPLE = 100
DEFAULT_HANDLE = 420.0

# Arrivals per minute by hour of day (Asia/Shanghai): quiet night, peaks at 10–12 and 20–22.
ARRIVALS_PER_MINUTE = [
    0.25, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 1.0, 1.6, 2.2, 2.4,
    2.0, 1.6, 1.5, 1.5, 1.4, 1.4, 1.5, 1.9, 2.6, 2.8, 1.8, 0.7,
]  # fmt: skip

# Shifts: (start hour, end hour, agents, capacity).
# Staffed a little under the peaks, as the seeds describe: queues form at 10–12 and 20–22.
SHIFTS = [(0, 8, 2, 3), (8, 17, 5, 3), (9, 18, 2, 2), (16, 24, 4, 3), (19, 23, 2, 4)]


# --- estimators scored against the product's with --compare ------------------------------------


def projected_wait(
    position: int, ages: list[list[float]], capacities: list[int], samples: list[float], mean: float
) -> float | None:
    """Each chat in progress ends after its expected residual life; slots go out in order."""
    ordered = sorted(samples)

    def residual(age: float) -> float:
        longer = [x for x in ordered if x > age]
        return sum(longer) / len(longer) - age if len(longer) >= 3 else mean * 0.5

    slots: list[float] = []
    for agent_ages, capacity in zip(ages, capacities, strict=True):
        remaining = sorted(residual(a) for a in agent_ages)
        surplus = max(len(remaining) - capacity, 0)
        slots += [0.0] * max(capacity - len(remaining), 0) + remaining[surplus:]
    if not slots:
        return None
    heapq.heapify(slots)
    start = 0.0
    for _ in range(position):
        start = heapq.heappop(slots)
        heapq.heappush(slots, start + mean)
    return start


def monte_carlo_wait(
    position: int,
    ages: list[list[float]],
    capacities: list[int],
    samples: list[float],
    mean: float,
    rng: random.Random,
    runs: int = 60,
) -> float | None:
    """Replay the queue ``runs`` times drawing chat lengths from recent ones (given each chat's age)."""
    if not any(capacities):
        return None
    ordered = sorted(samples)

    def draw(age: float) -> float:
        if len(ordered) < 5:
            return rng.expovariate(1 / mean)
        longer = [x for x in ordered if x > age]
        return (rng.choice(longer) - age) if len(longer) >= 3 else rng.choice(ordered)

    starts = []
    for _ in range(runs):
        slots: list[float] = []
        for agent_ages, capacity in zip(ages, capacities, strict=True):
            remaining = sorted(draw(a) for a in agent_ages)
            surplus = max(len(remaining) - capacity, 0)
            slots += [0.0] * max(capacity - len(remaining), 0) + remaining[surplus:]
        heapq.heapify(slots)
        start = 0.0
        for _ in range(position):
            start = heapq.heappop(slots)
            heapq.heappush(slots, start + draw(0.0))
        starts.append(start)
    starts.sort()
    return starts[len(starts) // 2]


@dataclass
class Agent:
    ident: int
    capacity: int
    online: bool = False
    chats: dict[int, float] = field(default_factory=dict)  # customer -> assigned at
    last_assigned: float = -1.0


@dataclass
class Customer:
    ident: int
    arrived: float
    priority: int
    patience: float
    estimates: list[tuple[float, float | None, dict[str, float | None]]] = field(default_factory=list)
    assigned: float | None = None
    gone: bool = False


class Day:
    def __init__(self, seed: int, compare: bool) -> None:
        self.rng = random.Random(seed)
        self.compare = compare
        self.estimator_rng = random.Random(seed + 1)  # keeps the day itself the same with --compare
        self.now = 0.0
        self.events: list[tuple[float, int, str, int]] = []
        self.counter = 0
        self.agents: list[Agent] = []
        self.queue: list[Customer] = []
        self.customers: list[Customer] = []
        self.closed: deque[tuple[float, float]] = deque()  # (closed at, handling seconds)
        self.offers_taken = 0
        self.abandoned = 0

    # --- events ------------------------------------------------------------------------------

    def schedule(self, at: float, kind: str, ident: int = 0) -> None:
        self.counter += 1
        heapq.heappush(self.events, (at, self.counter, kind, ident))

    def run(self) -> None:
        self._plan_arrivals()
        self._plan_shifts()
        self.schedule(UPDATE_EVERY, "tick")
        while self.events:
            at, _, kind, ident = heapq.heappop(self.events)
            if at > DAY + 6 * 3600:
                break
            self.now = at
            getattr(self, "on_" + kind)(ident)

    def _plan_arrivals(self) -> None:
        # A Poisson process with an hourly rate, drawn by thinning a process at the peak rate.
        peak = max(ARRIVALS_PER_MINUTE) / 60
        t = self.rng.expovariate(peak)
        while t < DAY:
            if self.rng.random() < ARRIVALS_PER_MINUTE[int(t // 3600)] / 60 / peak:
                self.schedule(t, "arrival")
            t += self.rng.expovariate(peak)

    def _plan_shifts(self) -> None:
        for start, end, count, capacity in SHIFTS:
            for _ in range(count):
                agent = Agent(len(self.agents), capacity)
                self.agents.append(agent)
                join = start * 3600 + self.rng.uniform(-300, 900)  # some are late
                leave = end * 3600 + self.rng.uniform(-1800, 600)
                if self.rng.random() < 0.1:  # called away mid-shift
                    leave = self.rng.uniform(join + 1800, leave)
                self.schedule(max(join, 0), "join", agent.ident)
                self.schedule(leave, "leave", agent.ident)

    def on_arrival(self, _: int) -> None:
        customer = Customer(
            ident=len(self.customers),
            arrived=self.now,
            priority=3 if self.rng.random() < 0.05 else 2,
            patience=self.rng.expovariate(1 / 1500),
        )
        self.customers.append(customer)
        self.queue.append(customer)
        self.queue.sort(key=lambda c: (-c.priority, c.arrived, c.ident))
        self.dispatch()
        if customer.assigned is None:
            estimate = self.estimate(customer)
            if (estimate[0] is None or estimate[0] > OFFER_AFTER) and self.rng.random() < 0.5:
                self.leave_queue(customer)
                self.offers_taken += 1
                return
            self.schedule(self.now + customer.patience, "patience", customer.ident)

    def on_patience(self, ident: int) -> None:
        customer = self.customers[ident]
        if customer.assigned is None and not customer.gone:
            self.leave_queue(customer)
            self.abandoned += 1

    def on_join(self, ident: int) -> None:
        self.agents[ident].online = True
        self.dispatch()

    def on_leave(self, ident: int) -> None:
        self.agents[ident].online = False  # finishes the chats in hand, takes no new ones

    def on_done(self, ident: int) -> None:
        for agent in self.agents:
            if ident in agent.chats:
                started = agent.chats.pop(ident)
                self.closed.append((self.now, self.now - started))
                break
        self.dispatch()

    def on_tick(self, _: int) -> None:
        for customer in self.queue:
            self.estimate(customer)
        if self.now < DAY + 6 * 3600:
            self.schedule(self.now + UPDATE_EVERY, "tick")

    # --- the product's rules -----------------------------------------------------------------

    def leave_queue(self, customer: Customer) -> None:
        customer.gone = True
        self.queue.remove(customer)

    def dispatch(self) -> None:
        while self.queue:
            free = [a for a in self.agents if a.online and len(a.chats) < a.capacity]
            if not free:
                return
            agent = min(free, key=lambda a: (len(a.chats) / a.capacity, a.last_assigned, a.ident))
            customer = self.queue.pop(0)
            customer.assigned = self.now
            agent.chats[customer.ident] = self.now
            agent.last_assigned = self.now
            handle = self.rng.lognormvariate(math.log(300), 0.75)
            self.schedule(self.now + handle, "done", customer.ident)

    def recent_handling(self) -> list[float]:
        while self.closed and self.closed[0][0] < self.now - HANDLE_WINDOW:
            self.closed.popleft()
        return [h for _, h in list(self.closed)[-HANDLE_SAMPLE:]]

    def estimate(self, customer: Customer) -> tuple[float | None, dict[str, float | None]]:
        position = self.queue.index(customer) + 1
        online = [a for a in self.agents if a.online]
        samples = self.recent_handling()
        mean = mean_handling_seconds(samples, DEFAULT_HANDLE)
        product = estimate_wait(position=position, slots=sum(a.capacity for a in online), handle_seconds=mean)
        others: dict[str, float | None] = {}
        if self.compare:
            ages = [[self.now - t for t in a.chats.values()] for a in online]
            capacities = [a.capacity for a in online]
            others["projection"] = projected_wait(position, ages, capacities, samples, mean)
            others["monte-carlo"] = monte_carlo_wait(
                position, ages, capacities, samples, mean, self.estimator_rng
            )
        customer.estimates.append((self.now, product, others))
        return product, others


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(math.ceil(q * len(ordered))) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=5, help="simulated days (different seeds)")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--compare", action="store_true", help="also score other estimators")
    args = parser.parse_args()

    first: dict[str, list[float]] = {}
    every: dict[str, list[float]] = {}
    bias: dict[str, list[float]] = {}
    served = queued = offers = abandoned = 0
    waits: list[float] = []
    for day in range(args.days):
        sim = Day(args.seed + day, args.compare)
        sim.run()
        offers += sim.offers_taken
        abandoned += sim.abandoned
        for customer in sim.customers:
            if customer.assigned is None or not customer.estimates:
                continue  # assigned at once (nothing to estimate) or left the queue
            queued += 1
            waits.append(customer.assigned - customer.arrived)
            for index, (at, product, others) in enumerate(customer.estimates):
                actual = customer.assigned - at
                scores = {"product": product, **others}
                for name, value in scores.items():
                    # "Nobody can take you" counts as an hour: the customer is told to expect long.
                    signed = (value if value is not None else 3600.0) - actual
                    every.setdefault(name, []).append(abs(signed))
                    if index == 0:
                        first.setdefault(name, []).append(abs(signed))
                        bias.setdefault(name, []).append(signed)
        served += sum(1 for c in sim.customers if c.assigned is not None)

    print(
        f"days={args.days} seed={args.seed} served={served} queued={queued} "
        f"took_offer={offers} abandoned={abandoned} "
        f"wait_p50_s={percentile(waits, 0.5):.0f} wait_p90_s={percentile(waits, 0.9):.0f}"
    )
    for name in first:
        a, b, c = first[name], every[name], bias[name]
        print(
            f"{name:<15} on arrival: MAE_s={sum(a) / len(a):.0f} p90_abs_s={percentile(a, 0.9):.0f} "
            f"bias_s={sum(c) / len(c):+.0f}   every update: MAE_s={sum(b) / len(b):.0f} "
            f"p90_abs_s={percentile(b, 0.9):.0f}"
        )
    a = first["product"]
    print(f"estimate_error MAE_s={sum(a) / len(a):.0f} p90_abs_s={percentile(a, 0.9):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
