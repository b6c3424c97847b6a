"""Several machines on one: two ``kefu serve`` nodes and a ``kefu worker``, as real processes.

Shared by ``scripts/bench_cluster.py`` (the full run, printed) and ``kefu/tests/test_cluster.py``
(a smaller one in the PostgreSQL run of the suite). The processes are started as
docs/deploy.md says (``kefu serve --no-demo``, ``kefu worker``) on PostgreSQL and Redis, each
with a data directory of its own, so nothing can pass between them through local disk:

- node A also runs the SMTP receiver (``KEFU_SMTP_LISTEN``);
- outgoing mail goes to a sink (aiosmtpd) in this process that records every message it gets;
- files go to moto's S3 server, also started here (:func:`kefu.tests.s3server.running_s3_server`).

Every check counts side effects (database rows, messages the sink received, bytes), never log
lines, and returns a :class:`Check` with one printable line. The caller's Django must point at
the same database as the nodes (the script: its environment; the test: pytest's test database
with ``transactional_db``), because the checks read rows through the ORM.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import json
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kefu.chat.bench import AGENT_PATH, CUSTOMER_PATH, Bench, People, _free_port, _wait_ready
from kefu.tests.s3server import running_s3_server

START_SECONDS = 180.0  # a node migrates (a no-op) and imports everything: slow on a busy machine
RECONCILE_SECONDS = 1.0  # KEFU_MAIL_WORKER_INTERVAL of the cluster
RETRY_SECONDS = 2  # KEFU_MAIL_RETRY_SECONDS: a job killed after its claim is retried this soon
SUPPORT = "support@cluster.test"


@dataclass
class Check:
    name: str
    ok: bool
    line: str
    numbers: dict[str, Any] = field(default_factory=dict)


def database_url(database: dict[str, Any]) -> str:
    """A ``postgres://`` URL for a Django ``DATABASES`` entry (pytest's test database)."""
    user = quote(str(database.get("USER") or ""), safe="")
    password = quote(str(database.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{database['NAME']}"


def wait_until(predicate: Callable[[], Any], *, timeout: float, every: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something true or ``timeout`` seconds pass (then its
    last value: the caller reports what it saw)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(every)


# --------------------------------------------------------------------------- the mail sink


class MailSink:
    """The outgoing mail server: an aiosmtpd server in this process that keeps every message."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[tuple[tuple[str, ...], str, bytes]] = []  # (recipients, Message-ID, raw)
        self.controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        headers = BytesHeaderParser().parsebytes(raw)
        with self.lock:
            self.messages.append(
                (tuple(a.lower() for a in envelope.rcpt_tos), str(headers.get("Message-ID", "")), raw)
            )
        return "250 2.0.0 OK"

    def start(self) -> int:
        from kefu.mail.smtp import build_controller

        self.controller = build_controller(self, "127.0.0.1", 0)
        self.controller.start()
        return int(self.controller.port)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def deliveries(self, recipients: set[str]) -> Counter[str]:
        """How many messages each of ``recipients`` received."""
        counts: Counter[str] = Counter()
        with self.lock:
            for rcpts, _message_id, _raw in self.messages:
                for rcpt in rcpts:
                    if rcpt in recipients:
                        counts[rcpt] += 1
        return counts

    def raw_to(self, recipients: set[str]) -> list[bytes]:
        with self.lock:
            return [raw for rcpts, _message_id, raw in self.messages if recipients.intersection(rcpts)]

    def message_ids(self, recipients: set[str]) -> Counter[str]:
        counts: Counter[str] = Counter()
        with self.lock:
            for rcpts, message_id, _raw in self.messages:
                if recipients.intersection(rcpts):
                    counts[message_id] += 1
        return counts


# --------------------------------------------------------------------------- the processes


class Cluster:
    """Nodes A and B (``kefu serve``) and one ``kefu worker``; ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        workdir: Path,
        concurrency: int = 4,
        model_cache: Path | None = None,
    ) -> None:
        self.database_url = database_url
        # None: each process trains the bot's intent model into its own data directory, as a
        # new machine does; a path: they share that cache, as machines installed before.
        self.model_cache = model_cache
        self.redis_url = redis_url
        self.workdir = workdir
        self.concurrency = concurrency
        # The same on every node, as deploy.md says, and this process's own: the sessions the
        # checks create here are signed with it.
        from django.conf import settings

        self.secret_key = str(settings.SECRET_KEY)
        self.run = uuid.uuid4().hex[:8]
        self.sink = MailSink()
        self.stack = ExitStack()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self.ports: dict[str, int] = {}
        self.s3_environ: dict[str, str] = {}
        self.sink_port = 0
        self.smtp_port = 0
        self.worker_starts = 0

    # -- environment

    def environ(self, name: str, **extra: str) -> dict[str, str]:
        """The process's environment: this machine's, minus every KEFU_* variable, plus the
        cluster's settings (the same on all) and a data directory of its own."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("KEFU_")}
        data_dir = self.workdir / name
        data_dir.mkdir(parents=True, exist_ok=True)
        env.update(
            {
                "KEFU_DATABASE_URL": self.database_url,
                "KEFU_REDIS_URL": self.redis_url,
                "KEFU_SECRET_KEY": self.secret_key,
                "KEFU_DATA_DIR": str(data_dir),
                "KEFU_EMAIL_URL": f"smtp://127.0.0.1:{self.sink_port}",
                "KEFU_SUPPORT_EMAIL": SUPPORT,
                # The public address (the proxy's; node A stands in for it) on every process:
                # the worker renders the links in mail, and has no port of its own to guess from.
                "KEFU_BASE_URL": self.url("a"),
                "KEFU_MAIL_WORKER_INTERVAL": str(RECONCILE_SECONDS),
                "KEFU_MAIL_RETRY_SECONDS": str(RETRY_SECONDS),
                # Every simulated person connects from 127.0.0.1: per-IP limits would see one flood.
                "KEFU_CREATE_IP_FACTOR": "1000000",
                "KEFU_LOG_LEVEL": "WARNING",
                **self.s3_environ,
                **({"KEFU_MODEL_CACHE": str(self.model_cache)} if self.model_cache else {}),
                **extra,
            }
        )
        return env

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        # `python -m kefu` is the `kefu` command (its console script runs the same main()).
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "kefu", *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.processes[name] = process
        return process

    # -- life cycle

    def start(self) -> None:
        from kefu.jobs.engine import build_huey

        self.workdir.mkdir(parents=True, exist_ok=True)
        # Jobs a previous, interrupted run left in this Redis database are not ours to count.
        build_huey(self.redis_url).flush()
        s3 = self.stack.enter_context(running_s3_server())
        self.s3_environ = s3.environ(prefix=f"cluster-{self.run}")
        self.s3 = s3
        self.sink_port = self.sink.start()
        self.stack.callback(self.sink.stop)
        self.smtp_port = _free_port()
        self.ports = {"a": _free_port(), "b": _free_port()}
        for name, port in self.ports.items():
            extra = {}
            if name == "a":
                extra["KEFU_SMTP_LISTEN"] = f"127.0.0.1:{self.smtp_port}"
            self.spawn(
                f"node-{name}",
                ["serve", "--no-demo", "--host", "127.0.0.1", "--port", str(port)],
                self.environ(f"node-{name}", **extra),
            )
        self.start_worker()
        for name in ("a", "b"):
            _wait_ready(self.ports[name], self.processes[f"node-{name}"], timeout=START_SECONDS)
        _wait_ready(self.smtp_port, self.processes["node-a"], timeout=START_SECONDS)

    def start_worker(self) -> subprocess.Popen[bytes]:
        self.worker_starts += 1
        return self.spawn(
            "worker", ["worker", "--concurrency", str(self.concurrency)], self.environ("worker")
        )

    def kill_worker(self) -> None:
        """SIGKILL: no graceful shutdown, jobs under way die where they are."""
        process = self.processes["worker"]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
        self.stack.close()

    def url(self, node: str) -> str:
        return f"http://127.0.0.1:{self.ports[node]}"

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for name, path in self.logs.items():
            try:
                text = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {name} ({path})\n" + "\n".join(text))
        return "\n".join(out)


@contextmanager
def running_cluster(
    *,
    database_url: str,
    redis_url: str,
    workdir: Path,
    concurrency: int = 4,
    model_cache: Path | None = None,
) -> Iterator[Cluster]:
    cluster = Cluster(
        database_url=database_url,
        redis_url=redis_url,
        workdir=workdir,
        concurrency=concurrency,
        model_cache=model_cache,
    )
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


# --------------------------------------------------------------------------- mail


def _mail(run: str, index: int) -> tuple[str, bytes]:
    sender = f"c{index}-{run}@customers.cluster.test"
    message = EmailMessage()
    message["From"] = f"Customer {index} <{sender}>"
    message["To"] = SUPPORT
    message["Subject"] = f"充值没有到账 {run}-{index}"
    message["Message-ID"] = f"<m{index}-{run}@customers.cluster.test>"
    message["Date"] = formatdate(localtime=True)
    message.set_content(f"您好，我昨天充值的 USDT 还没有到账，请帮忙查一下。编号 {index}。")
    return sender, message.as_bytes()


def send_mails(cluster: Cluster, run: str, indexes: range) -> list[str]:
    """Hand mails to node A's SMTP receiver over one connection; returns the senders. Each
    ``250`` means the mail was committed (kefu.mail.smtp)."""
    senders = []
    with smtplib.SMTP("127.0.0.1", cluster.smtp_port, timeout=60) as smtp:
        for index in indexes:
            sender, raw = _mail(run, index)
            smtp.sendmail(sender, [SUPPORT], raw)
            senders.append(sender)
    return senders


@dataclass
class MailCounts:
    inbound: int
    processed: int
    tickets: int
    ticket_ids: int
    ack_rows: int
    acks_sent: int
    deliveries: int
    duplicated_recipients: int
    extra_deliveries: int
    max_ack_rows_per_ticket: int
    max_tickets_per_inbound: int


def count_mail(cluster: Cluster, senders: list[str]) -> MailCounts:
    from django.db.models import Count

    from kefu.mail.models import InboundMail, InboundStatus, OutboundKind, OutboundMail, OutboundStatus
    from kefu.tickets.models import Ticket

    inbound = InboundMail.objects.filter(header_from__in=senders)
    tickets = Ticket.objects.filter(customer__email__in=senders)
    acks = OutboundMail.objects.filter(kind=OutboundKind.ACK, to_email__in=senders)
    per_ticket = acks.values("ticket").annotate(n=Count("id")).order_by("-n").values_list("n", flat=True)
    per_customer = (
        tickets.values("customer").annotate(n=Count("id")).order_by("-n").values_list("n", flat=True)
    )
    deliveries = cluster.sink.deliveries(set(senders))
    return MailCounts(
        inbound=inbound.count(),
        processed=inbound.filter(status=InboundStatus.PROCESSED).count(),
        tickets=tickets.count(),
        ticket_ids=inbound.exclude(ticket=None).values("ticket").distinct().count(),
        ack_rows=acks.count(),
        acks_sent=acks.filter(status=OutboundStatus.SENT).count(),
        deliveries=sum(deliveries.values()),
        duplicated_recipients=sum(1 for n in deliveries.values() if n > 1),
        extra_deliveries=sum(n - 1 for n in deliveries.values() if n > 1),
        max_ack_rows_per_ticket=max(per_ticket, default=0),
        max_tickets_per_inbound=max(per_customer, default=0),
    )


def _text_of(raw: bytes) -> str:
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.default)
    body = message.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


def check_mail(cluster: Cluster, *, timeout: float = 120) -> Check:
    """One mail on node A's SMTP receiver, delivered twice: one inbound row, one ticket, one
    acknowledgement row, one delivery, still so after two reconcile intervals and a retry delay."""
    run = f"{cluster.run}m"
    started = time.monotonic()
    senders = send_mails(cluster, run, range(1))
    send_mails(cluster, run, range(1))  # the MTA delivers it again (same Message-ID): one row
    done = wait_until(lambda: count_mail(cluster, senders).deliveries >= 1, timeout=timeout)
    first = time.monotonic() - started
    # A duplicate would come from a second claim (reconcile) or a retry: give both time to show.
    time.sleep(2 * RECONCILE_SECONDS + RETRY_SECONDS + 2)
    c = count_mail(cluster, senders)
    link = f"{cluster.url('a')}/portal/tickets/"
    linked = sum(1 for raw in cluster.sink.raw_to(set(senders)) if link in _text_of(raw))
    ok = (
        bool(done)
        and (c.inbound, c.processed, c.tickets, c.ack_rows, c.acks_sent, c.deliveries, linked) == (1,) * 7
    )
    line = (
        f"mail: smtp_deliveries_to_A=2 inbound_rows={c.inbound} tickets={c.tickets} ack_rows={c.ack_rows} acks_sent={c.acks_sent} "
        f"sink_deliveries={c.deliveries} ack_links_to_public_address={linked} ack_after_s={first:.1f} "
        f"waited_more_s={2 * RECONCILE_SECONDS + RETRY_SECONDS + 2:.0f} {'OK' if ok else 'FAIL'}"
    )
    return Check("mail", ok, line, c.__dict__)


# --------------------------------------------------------------------------- chat


async def _frame(
    websocket: Any, predicate: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no matching frame")
        frame = json.loads(await asyncio.wait_for(websocket.recv(), timeout=remaining))
        if predicate(frame):
            return frame


async def _chat(cluster: Cluster, people: People, texts: tuple[str, str], timeout: float) -> dict[str, Any]:
    # Bench.connect: index 0 goes to the first URL (node A), index 1 to the second (node B).
    bench = Bench([cluster.url("a"), cluster.url("b")], people, seconds=0, interval=1, server_pids=[])
    customer_text, agent_text = texts
    out: dict[str, Any] = {}
    try:
        agent = await bench.connect(1, AGENT_PATH, people.agents[0])
        await agent.send(json.dumps({"type": "hello"}))
        await agent.send(json.dumps({"type": "status", "status": "online", "capacity": people.capacity}))
        await _frame(agent, lambda f: f.get("type") == "presence" and f.get("status") == "online", timeout)
        customer = await bench.connect(0, CUSTOMER_PATH, people.customers[0])
        await customer.send(json.dumps({"type": "hello", "language": "zh-hans"}))
        await customer.send(json.dumps({"type": "message", "client_id": "handoff", "text": "转人工"}))
        await _frame(customer, lambda f: f.get("type") == "status" and f.get("status") == "active", timeout)
        started = time.perf_counter()
        await customer.send(json.dumps({"type": "message", "client_id": "c1", "text": customer_text}))
        got = await _frame(
            agent,
            lambda f: f.get("type") == "message" and f["message"].get("text") == customer_text,
            timeout,
        )
        out["customer_to_agent_ms"] = (time.perf_counter() - started) * 1000
        out["conversation_id"] = got["conversation_id"]
        started = time.perf_counter()
        await agent.send(
            json.dumps(
                {
                    "type": "message",
                    "conversation_id": got["conversation_id"],
                    "client_id": "a1",
                    "text": agent_text,
                }
            )
        )
        await _frame(
            customer,
            lambda f: (
                f.get("type") == "message"
                and f["message"].get("sender") == "agent"
                and f["message"].get("text") == agent_text
            ),
            timeout,
        )
        out["agent_to_customer_ms"] = (time.perf_counter() - started) * 1000
    except (TimeoutError, OSError) as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        await asyncio.gather(*(ws.close() for ws in bench.sockets), return_exceptions=True)
    return out


def check_chat(cluster: Cluster, people: People, *, timeout: float = 120) -> Check:
    """A customer on node A and an agent on node B (channel layer: Redis) chat both ways."""
    from kefu.tickets.models import Message

    texts = (f"节点A的客户 {cluster.run}", f"节点B的客服 {cluster.run}")
    # In its own thread: the caller's thread may already run an event loop (Playwright's sync
    # API leaves one in the test process), and asyncio.run() refuses to nest.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(asyncio.run, _chat(cluster, people, texts, timeout)).result()
    rows = {
        sender: Message.objects.filter(body=text, sender=sender, channel="chat").count()
        for sender, text in (("customer", texts[0]), ("agent", texts[1]))
    }
    ok = "error" not in result and rows == {"customer": 1, "agent": 1}
    line = (
        f"chat: customer@A->agent@B delivered={'customer_to_agent_ms' in result} "
        f"({result.get('customer_to_agent_ms', float('nan')):.0f} ms) "
        f"agent@B->customer@A delivered={'agent_to_customer_ms' in result} "
        f"({result.get('agent_to_customer_ms', float('nan')):.0f} ms) "
        f"rows customer={rows['customer']} agent={rows['agent']}"
        + (f" error={result['error']}" if "error" in result else "")
        + f" {'OK' if ok else 'FAIL'}"
    )
    return Check("chat", ok, line, {**result, **rows})


# --------------------------------------------------------------------------- files


def noise_png(side: int = 256) -> bytes:
    """A real PNG that does not compress (random pixels): some hundred kilobytes to carry."""
    from PIL import Image

    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def check_files(cluster: Cluster, people: People) -> Check:
    """Upload through node A's portal, download through node B: byte-identical for the owner,
    a 404 for another customer; the object is in the bucket, on no node's disk."""
    import requests
    from django.urls import reverse

    from kefu.tickets.models import Attachment, Category

    owner, stranger = people.customers[1], people.customers[2]
    payload = noise_png()
    title = f"截图 {cluster.run}"
    with requests.Session() as session:
        session.headers["Cookie"] = owner
        form_url = cluster.url("a") + reverse("tickets:portal_new")
        form = session.get(form_url, timeout=60)
        token = form.cookies.get("csrftoken") or session.cookies.get("csrftoken")
        session.headers["Cookie"] = f"{owner}; csrftoken={token}"
        posted = session.post(
            form_url,
            data={
                "csrfmiddlewaretoken": token,
                "category": Category.objects.get(slug="deposit-not-credited").pk,
                "title": title,
                "description": "见截图",
            },
            files={"attachments": ("screenshot.png", payload, "image/png")},
            allow_redirects=False,
            timeout=60,
        )
    item = Attachment.objects.filter(ticket__title=title).first()
    if posted.status_code != 302 or item is None:
        return Check("files", False, f"files: upload on A answered {posted.status_code} FAIL")
    url = cluster.url("b") + reverse("tickets:attachment", args=[item.public_id])
    mine = requests.get(url, headers={"Cookie": owner}, timeout=60)
    theirs = requests.get(url, headers={"Cookie": stranger}, timeout=60)
    key = f"{cluster.s3_environ['KEFU_S3_PREFIX']}/{item.file.name}"
    in_bucket = key in cluster.s3.keys(cluster.s3_environ["KEFU_S3_PREFIX"] + "/")
    on_disk = sum(
        1 for p in cluster.workdir.rglob("*") if p.is_file() and p.name == Path(item.file.name).name
    )
    identical = mine.status_code == 200 and mine.content == payload
    ok = identical and theirs.status_code == 404 and in_bucket and on_disk == 0
    line = (
        f"files: uploaded_on_A_bytes={len(payload)} downloaded_on_B_status={mine.status_code} "
        f"bytes={len(mine.content)} identical={identical} other_customer_on_B_status={theirs.status_code} "
        f"in_bucket={in_bucket} copies_on_node_disks={on_disk} {'OK' if ok else 'FAIL'}"
    )
    return Check("files", ok, line, {"bytes": len(payload), "status": mine.status_code})


# --------------------------------------------------------------------------- jobs with a kill


def check_jobs(
    cluster: Cluster,
    *,
    jobs: int,
    kill_at: float = 0.3,
    timeout: float = 600,
    log: Callable[[str], None] = print,
) -> Check:
    """``jobs`` mails (each: a processing job, then an acknowledgement job); the worker is
    SIGKILLed once ``kill_at`` of the acknowledgements are out, then started again. Every mail
    must become exactly one ticket with exactly one acknowledgement row, all sent.

    Sink deliveries are reported as counted: SMTP cannot be exactly-once, a kill between the
    sink's ``250`` and the row's update to ``sent`` sends that mail again after the retry delay.
    """
    run = f"{cluster.run}j"
    senders = [_mail(run, index)[0] for index in range(jobs)]
    accepted: list[float] = []
    failures: list[BaseException] = []

    def deliver() -> None:  # node A keeps receiving while the worker dies: it needs no worker
        try:
            send_mails(cluster, run, range(jobs))
        except BaseException as exc:  # reported below; the counts will fall short too
            failures.append(exc)
        accepted.append(time.monotonic() - started)

    started = time.monotonic()
    sender = threading.Thread(target=deliver, name="cluster-mail-sender")
    sender.start()
    kill_when = max(1, int(jobs * kill_at))
    before = wait_until(
        lambda: (c := count_mail(cluster, senders)).acks_sent >= kill_when and c, timeout=timeout, every=0.05
    )
    killed_after_s = time.monotonic() - started
    cluster.kill_worker()
    at_kill = count_mail(cluster, senders)
    sender.join(timeout=timeout)
    log(
        f"jobs: worker SIGKILLed after {killed_after_s:.1f} s with inbound_rows={at_kill.inbound} "
        f"processed={at_kill.processed} acks_sent={at_kill.acks_sent}; node A accepted all {jobs} mails "
        f"after {accepted[0] if accepted else float('nan'):.1f} s"
        + (f" (sender failed: {failures[0]!r})" if failures else "")
    )
    time.sleep(1.0)  # nothing runs now: the counts must stand still
    still = count_mail(cluster, senders)
    cluster.start_worker()
    restarted = time.monotonic()
    done = wait_until(
        lambda: (c := count_mail(cluster, senders)).acks_sent >= jobs and c.processed >= jobs,
        timeout=timeout,
        every=0.2,
    )
    finished_s = time.monotonic() - started
    # Anything sent twice (a retry after the kill) shows up within a reconcile and a retry delay.
    time.sleep(2 * RECONCILE_SECONDS + RETRY_SECONDS + 2)
    c = count_mail(cluster, senders)
    exact_rows = (
        c.inbound == jobs
        and c.processed == jobs
        and c.tickets == jobs
        and c.ticket_ids == jobs
        and c.ack_rows == jobs
        and c.acks_sent == jobs
        and c.max_ack_rows_per_ticket == 1
        and c.max_tickets_per_inbound == 1
    )
    every_ack_delivered = len(cluster.sink.deliveries(set(senders))) == jobs
    # A duplicate delivery must be the same outbox row sent again (same Message-ID, a second
    # attempt after the kill), never a second acknowledgement.
    resent = sum(1 for n in cluster.sink.message_ids(set(senders)).values() if n > 1)
    second_attempts = _acks_sent_after_a_retry(senders)
    ok = bool(done) and bool(before) and exact_rows and every_ack_delivered and not failures
    line = (
        f"jobs: mails={jobs} killed_at processed={at_kill.processed} acks_sent={at_kill.acks_sent} "
        f"(1 s later {still.processed}/{still.acks_sent}) -> after restart inbound_rows={c.inbound} "
        f"processed={c.processed} tickets={c.tickets} ack_rows={c.ack_rows} acks_sent={c.acks_sent} "
        f"max_tickets_per_mail={c.max_tickets_per_inbound} max_acks_per_ticket={c.max_ack_rows_per_ticket} "
        f"sink_deliveries={c.deliveries} recipients_reached={len(cluster.sink.deliveries(set(senders)))} "
        f"duplicate_deliveries={c.extra_deliveries} (same_message_id_resent={resent}, "
        f"acks_sent_on_a_later_attempt={second_attempts}) "
        f"total_s={finished_s:.1f} after_restart_s={time.monotonic() - restarted - (2 * RECONCILE_SECONDS + RETRY_SECONDS + 2):.1f} "
        f"{'OK' if ok else 'FAIL'}"
    )
    return Check(
        "jobs",
        ok,
        line,
        {
            **c.__dict__,
            "killed_processed": at_kill.processed,
            "killed_acks_sent": at_kill.acks_sent,
            "resent": resent,
        },
    )


def _acks_sent_after_a_retry(senders: list[str]) -> int:
    from kefu.mail.models import OutboundKind, OutboundMail, OutboundStatus

    return OutboundMail.objects.filter(
        kind=OutboundKind.ACK, to_email__in=senders, status=OutboundStatus.SENT, attempts__gt=1
    ).count()
