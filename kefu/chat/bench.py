"""``kefu bench chat``: many customers chatting with agents, customer-send → agent-receive latency.

What it does:

1. Starts ``--servers`` server processes (the project's ASGI app under uvicorn, as ``kefu serve``
   runs it) on free ports — with a throw-away SQLite database unless ``KEFU_DATABASE_URL`` is
   set — or uses ``--url``, a running server that shares this process's database.
2. Creates N customers and enough agents (one per 40 customers, in every team) with real
   sessions, as the login form would.
3. Agents connect to ``/ws/chat/agent/`` and go online with capacity for everyone. Customers
   connect to ``/ws/chat/`` (spread over the servers), tell the bot "转人工" and wait in the
   queue until the dispatcher gives them an agent — the product's hand-off path.
4. For ``--seconds``, every customer sends a message every ``--interval`` seconds (first one at
   a random offset); the agent receiving it answers at once. Latency is the time from the
   customer's send to the agent's receive, both measured in this process.
5. Counted as errors: connections that fail or drop, error frames, customers never assigned,
   messages not acknowledged or not delivered to the agent within 5 s after the end.

The last line is ``clients=N messages=M errors=E p50_ms=x p99_ms=y``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kefu import conf

CUSTOMER_PATH = "/ws/chat/"
AGENT_PATH = "/ws/chat/agent/"
CUSTOMERS_PER_AGENT = 40
CONNECT_CONCURRENCY = 40
SETUP_SECONDS_PER_100 = 20.0
DRAIN_SECONDS = 5.0
SETTLE_SECONDS = 5.0


def _why(exc: BaseException) -> str:
    """Why a connection ended, for the error counts: who closed it, with which code and reason
    (a keepalive timeout on our side reads differently from the server closing)."""
    sent, rcvd = getattr(exc, "sent", None), getattr(exc, "rcvd", None)
    if rcvd is not None:
        return f"(server closed {rcvd.code} {rcvd.reason})"
    if sent is not None:
        return f"(client closed {sent.code} {sent.reason})"
    return f"({type(exc).__name__})"


def _raise_file_limit() -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not start")


# --- people ------------------------------------------------------------------------------------


@dataclass
class People:
    customers: list[str]  # session cookies
    agents: list[str]
    capacity: int


def prepare(*, clients: int, agents: int) -> People:
    """Bench customers and agents (unique per run) with signed-in sessions, in bulk."""
    from datetime import timedelta

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from kefu.accounts.models import Role, Team, TeamMembership, User
    from kefu.chat.models import AgentPresence

    run = uuid.uuid4().hex[:8]
    capacity = math.ceil(clients / agents) + 2

    def people(prefix: str, count: int, role: str) -> list[User]:
        users = []
        for i in range(count):
            email = f"bench-{run}-{prefix}{i}@bench.invalid"
            user = User(email=email, username=email, role=role)
            user.set_unusable_password()
            users.append(user)
        User.objects.bulk_create(users, batch_size=500)
        return list(User.objects.filter(email__startswith=f"bench-{run}-{prefix}").order_by("pk"))

    customers = people("c", clients, Role.CUSTOMER)
    staff = people("a", agents, Role.AGENT)
    teams = list(Team.objects.all())
    TeamMembership.objects.bulk_create([TeamMembership(team=t, user=a) for a in staff for t in teams])
    AgentPresence.objects.bulk_create([AgentPresence(user=a, capacity=capacity) for a in staff])

    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)

    def sessions(users: list[User]) -> list[str]:
        rows, cookies = [], []
        for user in users:
            key = get_random_string(32)
            data = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: "kefu.accounts.backends.EmailBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
            rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
            cookies.append(f"sessionid={key}")
        Session.objects.bulk_create(rows, batch_size=500)
        return cookies

    return People(customers=sessions(customers), agents=sessions(staff), capacity=capacity)


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Result:
    clients: int
    messages: int
    errors: int
    latencies: list[float]
    setup_seconds: float
    replies: int
    error_kinds: Counter[str] = field(default_factory=Counter)
    server_cpu_seconds: float | None = None  # over the measured window, all server processes
    client_cpu_seconds: float = 0.0
    measured_seconds: float = 0.0
    client_stall_ms: float = 0.0  # the load generator's longest event-loop stall while measuring

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000


def _cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU time of ``pids`` (Linux ``/proc``), or None where it cannot be read."""
    total = 0.0
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, ValueError, IndexError):
        return None
    return total


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


class Bench:
    def __init__(
        self, urls: list[str], people: People, *, seconds: float, interval: float, server_pids: list[int]
    ) -> None:
        self.urls = urls
        self.server_pids = server_pids
        self.people = people
        self.seconds = seconds
        self.interval = interval
        self.sent: dict[str, float] = {}  # customer message id -> send time, until the agent has it
        self.unacked: set[str] = set()
        self.latencies: list[float] = []
        self.messages = 0
        self.replies = 0
        self.errors: Counter[str] = Counter()
        self.measuring = False
        self.stopping = False
        self.sockets: list[Any] = []
        self.settled: set[int] = set()  # customers that got an agent or failed (and were counted)
        self.stall = 0.0

    def error(self, kind: str) -> None:
        if not self.stopping:
            self.errors[kind] += 1

    async def connect(self, index: int, path: str, cookie: str) -> Any:
        from websockets.asyncio.client import connect

        base = self.urls[index % len(self.urls)]
        ws_url = base.replace("http://", "ws://").replace("https://", "wss://") + path
        websocket = await connect(
            ws_url,
            additional_headers={"Origin": base, "Cookie": cookie},
            open_timeout=60,
            max_size=2**22,
        )
        self.sockets.append(websocket)
        return websocket

    async def agent(self, index: int, cookie: str, ready: asyncio.Event) -> None:
        websocket = await self.connect(index, AGENT_PATH, cookie)
        await websocket.send(json.dumps({"type": "hello"}))
        await websocket.send(
            json.dumps({"type": "status", "status": "online", "capacity": self.people.capacity})
        )
        # Ready once the server says so: a hand-off before it would find nobody online and
        # file a ticket instead of queueing the chat.
        async for raw in websocket:
            frame = json.loads(raw)
            if frame.get("type") == "presence" and frame.get("status") == "online":
                break
        ready.set()
        counter = 0
        # Heartbeats, as the console sends them: an agent silent for 90 s is taken offline.
        pinger = asyncio.get_running_loop().create_task(self.ping(websocket, 25))
        try:
            async for raw in websocket:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    message = frame["message"]
                    sent = (
                        self.sent.pop(message.get("client_id", ""), None)
                        if message["sender"] == "customer"
                        else None
                    )
                    if sent is not None:
                        self.latencies.append(time.perf_counter() - sent)
                        counter += 1
                        await websocket.send(
                            json.dumps(
                                {
                                    "type": "message",
                                    "conversation_id": frame["conversation_id"],
                                    "client_id": f"r{index}-{counter}",
                                    "text": "好的，我来帮您查一下。",
                                }
                            )
                        )
                elif kind == "error":
                    self.error("agent_error:" + str(frame.get("code")))
        except Exception as exc:
            self.error("agent_connection" + _why(exc))
        finally:
            pinger.cancel()

    async def ping(self, websocket: Any, every: float) -> None:
        while True:
            await asyncio.sleep(every * random.uniform(0.5, 1.0))
            await websocket.send('{"type": "ping"}')

    async def customer(self, index: int, cookie: str, gate: asyncio.Semaphore, assigned: list[int]) -> None:
        async with gate:
            try:
                websocket = await self.connect(index, CUSTOMER_PATH, cookie)
            except Exception:
                self.error("customer_connect")
                self.settled.add(index)
                return
        active = asyncio.Event()
        reader = asyncio.get_running_loop().create_task(self.customer_reader(websocket, active))
        pinger = asyncio.get_running_loop().create_task(self.ping(websocket, 25))  # as the panel does
        try:
            await websocket.send(json.dumps({"type": "hello", "language": "zh-hans"}))
            await websocket.send(json.dumps({"type": "message", "client_id": f"h{index}", "text": "转人工"}))
            try:
                await asyncio.wait_for(active.wait(), timeout=self.setup_timeout)
            except TimeoutError:
                self.error("never_assigned")
                self.settled.add(index)
                return
            assigned[0] += 1
            self.settled.add(index)
            await self.wait_for_measuring()
            await asyncio.sleep(random.uniform(0, self.interval))
            n = 0
            while self.measuring:
                n += 1
                client_id = f"m{index}-{n}"
                self.unacked.add(client_id)
                self.sent[client_id] = time.perf_counter()
                self.messages += 1
                await websocket.send(
                    json.dumps({"type": "message", "client_id": client_id, "text": f"第 {n} 条消息"})
                )
                await asyncio.sleep(self.interval)
            await self.finished.wait()
        except Exception as exc:
            self.error("customer_connection" + _why(exc))
        finally:
            reader.cancel()
            pinger.cancel()

    async def customer_reader(self, websocket: Any, active: asyncio.Event) -> None:
        try:
            async for raw in websocket:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "ack":
                    self.unacked.discard(frame.get("client_id", ""))
                elif kind == "status" and frame.get("status") == "active":
                    active.set()
                elif kind == "message" and frame["message"]["sender"] == "agent":
                    self.replies += 1
                elif kind == "error":
                    self.error("customer_error:" + str(frame.get("code")))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error("customer_connection" + _why(exc))

    async def wait_for_measuring(self) -> None:
        await self.measure_start.wait()

    async def run(self) -> Result:
        self.measure_start = asyncio.Event()
        self.finished = asyncio.Event()
        clients = len(self.people.customers)
        self.setup_timeout = 30 + SETUP_SECONDS_PER_100 * clients / 100
        started = time.monotonic()
        ready = [asyncio.Event() for _ in self.people.agents]
        agents = [
            asyncio.get_running_loop().create_task(self.agent(i, cookie, ready[i]))
            for i, cookie in enumerate(self.people.agents)
        ]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), timeout=60)
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        assigned = [0]
        customers = [
            asyncio.get_running_loop().create_task(self.customer(i, cookie, gate, assigned))
            for i, cookie in enumerate(self.people.customers)
        ]
        deadline = time.monotonic() + self.setup_timeout
        while assigned[0] + sum(self.errors.values()) < clients and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        setup = time.monotonic() - started
        print(f"setup: {assigned[0]} of {clients} customers with an agent after {setup:.1f} s", flush=True)
        # Let the hand-off work finish (agents load their chats) before measuring steady chatting.
        await asyncio.sleep(SETTLE_SECONDS)
        # The load generator's 1,000 sockets are its long-lived objects now: out of its garbage
        # collector's reach, or a full collection (walking all of them, 0.2–0.7 s measured) stops
        # this loop mid-run and is counted as the server's latency.
        gc.collect()
        gc.freeze()

        self.measuring = True
        self.measure_start.set()
        stalls = asyncio.get_running_loop().create_task(self.stalls())
        server_cpu, client_cpu, window = _cpu_seconds(self.server_pids), _own_cpu_seconds(), time.monotonic()
        await asyncio.sleep(self.seconds)
        self.measuring = False
        stalls.cancel()
        gc.unfreeze()  # back within reach (the bench also runs inside test processes)
        server_after = _cpu_seconds(self.server_pids)
        server_cpu = None if server_cpu is None or server_after is None else server_after - server_cpu
        client_cpu = _own_cpu_seconds() - client_cpu
        window = time.monotonic() - window
        drain_until = time.monotonic() + DRAIN_SECONDS
        while (self.sent or self.unacked) and time.monotonic() < drain_until:
            await asyncio.sleep(0.1)
        if self.sent:
            self.errors["not_delivered"] += len(self.sent)
        if self.unacked:
            self.errors["not_acknowledged"] += len(self.unacked)
        if len(self.settled) < clients:
            self.errors["never_assigned"] += clients - len(self.settled)
        self.stopping = True
        self.finished.set()
        for task in customers + agents:
            task.cancel()
        await asyncio.gather(*customers, *agents, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        return Result(
            clients=clients,
            messages=self.messages,
            errors=sum(self.errors.values()),
            latencies=self.latencies,
            setup_seconds=setup,
            replies=self.replies,
            error_kinds=self.errors,
            server_cpu_seconds=server_cpu if self.server_pids else None,
            client_cpu_seconds=client_cpu,
            measured_seconds=window,
            client_stall_ms=self.stall * 1000,
        )

    async def stalls(self, every: float = 0.01) -> None:
        """The longest delay of this process's event loop while measuring: latency is timed
        here, so a stall of the load generator reads as the server's (shown with the results)."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(every)
            self.stall = max(self.stall, loop.time() - start - every)


def run_bench(
    *,
    urls: list[str],
    clients: int,
    seconds: float,
    interval: float,
    agents: int = 0,
    server_pids: list[int] | None = None,
) -> Result:
    """Prepare people in this process's database and run the load against ``urls``."""
    people = prepare(clients=clients, agents=agents or max(1, math.ceil(clients / CUSTOMERS_PER_AGENT)))
    bench = Bench(urls, people, seconds=seconds, interval=interval, server_pids=server_pids or [])
    return _event_loop_runner()(bench.run())


def _event_loop_runner() -> Any:
    """uvloop where installed (as uvicorn uses it in the servers): the load generator shares
    the machine's cores with the servers it measures, so it should cost as little as it can."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def cpu_summary(result: Result) -> str:
    """CPU spent while measuring: a number that, unlike latency, barely moves when other work
    shares the machine (each customer message counts with the agent's answer to it)."""
    per = max(result.messages, 1)
    server = (
        "server_cpu=n/a"
        if result.server_cpu_seconds is None
        else f"server_cpu_s={result.server_cpu_seconds:.1f} "
        f"server_cpu_ms_per_message={result.server_cpu_seconds * 1000 / per:.2f} "
        f"server_cores_busy={result.server_cpu_seconds / max(result.measured_seconds, 1e-9):.2f}"
    )
    return (
        f"{server} client_cpu_ms_per_message={result.client_cpu_seconds * 1000 / per:.2f} "
        f"client_stall_max_ms={result.client_stall_ms:.0f}"
    )


def summary(result: Result) -> str:
    return (
        f"clients={result.clients} messages={result.messages} errors={result.errors} "
        f"p50_ms={result.percentile(0.5):.1f} p99_ms={result.percentile(0.99):.1f}"
    )


def main(*, clients: int, seconds: float, url: str | None, interval: float, agents: int, servers: int) -> int:
    _raise_file_limit()
    scratch = None
    if url is None and not conf.env_value("KEFU_DATABASE_URL"):
        # A throw-away SQLite database: the benchmark never writes into the real one.
        scratch = tempfile.mkdtemp(prefix="kefu-bench-")
        conf.default_for_process("KEFU_DATA_DIR", scratch, replace=True)
    if url is None and servers > 1 and not conf.env_value("KEFU_REDIS_URL"):
        print("error: several server processes share conversations only through Redis; set KEFU_REDIS_URL")
        return 2
    # Every simulated customer connects from 127.0.0.1: the per-IP creation limits
    # (kefu.accounts.ratelimit.check_creation) would count them as one flooding client.
    conf.default_for_process("KEFU_CREATE_IP_FACTOR", "1000000")
    from kefu.cli import setup_django

    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    processes: list[subprocess.Popen[bytes]] = []
    urls = [url.rstrip("/")] if url else []
    try:
        if url is None:
            call_command("migrate", interactive=False, verbosity=0)
            for _ in range(servers):
                port = _free_port()
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "kefu.chat.bench", "serve", str(port)], env=os.environ.copy()
                    )
                )
                urls.append(f"http://127.0.0.1:{port}")
            for process, server in zip(processes, urls, strict=True):
                _wait_ready(int(server.rsplit(":", 1)[1]), process)
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
        print(
            f"servers={len(urls)} database={database} channel_layer={layer} clients={clients} "
            f"agents={agents or max(1, math.ceil(clients / CUSTOMERS_PER_AGENT))} interval_s={interval} "
            f"seconds={seconds}",
            flush=True,
        )
        result = run_bench(
            urls=urls,
            clients=clients,
            seconds=seconds,
            interval=interval,
            agents=agents,
            server_pids=[process.pid for process in processes],
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    if result.error_kinds:
        print("errors: " + ", ".join(f"{k}={v}" for k, v in sorted(result.error_kinds.items())))
    print(f"agent_replies_received={result.replies} setup_s={result.setup_seconds:.1f}")
    print(cpu_summary(result))
    print(summary(result), flush=True)
    return 0 if result.errors == 0 else 1


def serve(port: int) -> None:
    """One bench server: the ASGI app under uvicorn with ``kefu serve``'s settings (per-message
    deflate off, 1 ms GIL switch interval: see kefu/serve.py), with a job consumer (chat sweep)."""
    _raise_file_limit()
    from kefu.cli import setup_django

    setup_django()
    import uvicorn

    from kefu.jobs.engine import start_embedded_consumer
    from kefu.serve import SWITCH_INTERVAL, settle_memory, uvicorn_options

    sys.setswitchinterval(SWITCH_INTERVAL)
    start_embedded_consumer()  # the chat sweep (each bench server runs jobs: no `kefu worker`)
    settle_memory()
    uvicorn.run("kefu.asgi:application", host="127.0.0.1", port=port, **uvicorn_options(log_level="warning"))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        sys.exit("usage: python -m kefu.chat.bench serve PORT  (the benchmark itself: kefu bench chat)")
