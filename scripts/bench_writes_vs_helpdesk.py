"""Benchmark: ticket creation, Kefu against django-helpdesk 2.6.1, same machine, same PostgreSQL.

    .venv/bin/python scripts/bench_writes_vs_helpdesk.py [--rounds 3] [--tickets 200] [--clients 4]

What it does (numbers, no assertions; not a test):

* django-helpdesk 2.6.1 goes into its own virtualenv (``var/helpdesk-venv``, made on first use
  with pip from PyPI) with a minimal Django project generated into ``var/helpdesk-project``
  (not committed). It is served by gunicorn, one worker process with 4 threads (``gthread``),
  the usual way to run a WSGI Django app; ``CONN_MAX_AGE`` keeps its connections.
* Kefu is served by ``kefu serve --no-demo`` (uvicorn, one process), as shipped.
* Both use the PostgreSQL server of ``--pg`` with their own databases (dropped and created
  on each run, so both start from empty tables).
* The create paths are each product's public JSON API with a bearer token:
  Kefu ``POST /api/v1/tickets`` as a customer (title, description, category; the rate limit
  raised for the run; the demo SLA policies loaded, so each ticket starts its timers),
  django-helpdesk ``POST /api/tickets/`` (its DRF ``TicketViewSet``,
  staff-only, DRF ``TokenAuthentication``; queue, title, description, priority). No
  submitter e-mail on the django-helpdesk side (it would render and send an acknowledgement
  in the request); Kefu sends none without ``KEFU_EMAIL_URL``.
* ``--clients`` threads (one keep-alive HTTP connection each) create ``--tickets`` tickets
  per round; rounds alternate Kefu, django-helpdesk, Kefu, ... Prints tickets/s and p50/p99
  per round, then the medians and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELPDESK_REQUIREMENTS = [
    "django-helpdesk==2.6.1",
    "Django==5.2.19",
    "djangorestframework==3.16.1",
    "gunicorn==23.0.0",
    "psycopg[binary]==3.3.9",
]
TEXT_ZH = "您好，我昨天从交易所提币到钱包，已经过了六个小时还没有到账，请帮忙查一下。订单号 A{n:07d}。"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(pg: str, sql: str) -> None:
    subprocess.run(["psql", f"{pg}/postgres", "-q", "-c", sql], check=True, stdout=subprocess.DEVNULL)


def recreate_db(pg: str, name: str) -> None:
    psql(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(pg, f'CREATE DATABASE "{name}"')


def wait_http(url: str, proc: subprocess.Popen, wait_s: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}) before answering {url}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"no answer from {url} after {wait_s} s")


# ---------------------------------------------------------------- django-helpdesk


def helpdesk_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    marker = venv / ".kefu-bench-installed"
    if marker.exists() and marker.read_text() == "\n".join(HELPDESK_REQUIREMENTS):
        return python
    print(f"installing django-helpdesk 2.6.1 into {venv} ...", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *HELPDESK_REQUIREMENTS],
        check=True,
    )
    marker.write_text("\n".join(HELPDESK_REQUIREMENTS))
    return python


def helpdesk_project(project: Path, *, pg: str, db: str) -> None:
    """A minimal Django project around django-helpdesk, as its install guide describes."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "hdproject").mkdir(exist_ok=True)
    (project / "hdproject" / "__init__.py").write_text("")
    user_pass_host = pg.split("://", 1)[1]
    creds, hostport = user_pass_host.rsplit("@", 1)
    user, _, password = creds.partition(":")
    host, _, port = hostport.partition(":")
    (project / "hdproject" / "settings.py").write_text(
        textwrap.dedent(
            f"""\
            SECRET_KEY = "bench-only-not-secret"
            DEBUG = False
            ALLOWED_HOSTS = ["*"]
            INSTALLED_APPS = [
                "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
                "django.contrib.sites", "django.contrib.humanize",
                "rest_framework", "rest_framework.authtoken", "helpdesk",
            ]
            SITE_ID = 1
            MIDDLEWARE = [
                "django.middleware.security.SecurityMiddleware",
                "django.contrib.sessions.middleware.SessionMiddleware",
                "django.middleware.common.CommonMiddleware",
                "django.middleware.csrf.CsrfViewMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
                "django.contrib.messages.middleware.MessageMiddleware",
            ]
            ROOT_URLCONF = "hdproject.urls"
            TEMPLATES = [{{
                "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
                "OPTIONS": {{"context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]}},
            }}]
            DATABASES = {{"default": {{
                "ENGINE": "django.db.backends.postgresql", "NAME": {db!r}, "USER": {user!r},
                "PASSWORD": {password!r}, "HOST": {host!r}, "PORT": {port or "5432"!r},
                "CONN_MAX_AGE": 600,
            }}}}
            DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
            USE_TZ = True
            STATIC_URL = "/static/"
            EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
            HELPDESK_TEAMS_MODE_ENABLED = False
            REST_FRAMEWORK = {{
                "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
            }}
            LOGGING = {{"version": 1, "disable_existing_loggers": False}}
            """
        )
    )
    (project / "hdproject" / "urls.py").write_text(
        'from django.urls import include, path\n\nurlpatterns = [path("", include("helpdesk.urls"))]\n'
    )
    (project / "hdproject" / "wsgi.py").write_text(
        "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproject.settings")\n'
        "application = get_wsgi_application()\n"
    )
    (project / "setup_bench.py").write_text(
        textwrap.dedent(
            """\
            import json, os
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproject.settings")
            import django
            django.setup()
            from django.contrib.auth import get_user_model
            from rest_framework.authtoken.models import Token
            from helpdesk.models import Queue
            queue, _ = Queue.objects.get_or_create(slug="withdraw", defaults={"title": "提币问题"})
            tokens = []
            for i in range(int(os.environ["BENCH_CLIENTS"])):
                user, _ = get_user_model().objects.get_or_create(
                    username=f"staff{i}", defaults={"is_staff": True, "email": f"staff{i}@example.com"})
                tokens.append(Token.objects.get_or_create(user=user)[0].key)
            print(json.dumps({"queue": queue.pk, "tokens": tokens}))
            """
        )
    )


def start_helpdesk(args: argparse.Namespace) -> tuple[subprocess.Popen, str, dict]:
    python = helpdesk_venv(args.helpdesk_venv)
    project = args.helpdesk_project
    helpdesk_project(project, pg=args.pg, db=args.helpdesk_db)
    recreate_db(args.pg, args.helpdesk_db)
    env = {**os.environ, "PYTHONPATH": str(project), "DJANGO_SETTINGS_MODULE": "hdproject.settings"}
    subprocess.run([str(python), "-m", "django", "migrate", "-v", "0"], check=True, cwd=project, env=env)
    out = subprocess.run(
        [str(python), "setup_bench.py"],
        check=True,
        cwd=project,
        env={**env, "BENCH_CLIENTS": str(args.clients)},
        capture_output=True,
        text=True,
    )
    setup = json.loads(out.stdout.strip().splitlines()[-1])
    port = free_port()
    proc = subprocess.Popen(
        [
            str(python),
            "-m",
            "gunicorn",
            "hdproject.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            str(args.clients),
            "--log-level",
            "warning",
        ],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/api/", proc)
    return proc, base, setup


# ---------------------------------------------------------------- Kefu


def start_kefu(args: argparse.Namespace) -> tuple[subprocess.Popen, str, dict, int]:
    recreate_db(args.pg, args.kefu_db)
    data_dir = args.kefu_data_dir
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": f"{args.pg}/{args.kefu_db}",
        "KEFU_DATA_DIR": str(data_dir),
        # Each client files hundreds of tickets a minute: far past a customer's allowance.
        "KEFU_TICKET_CREATE_RATE": "1000000/60",
        "DJANGO_SETTINGS_MODULE": "kefu.settings",
    }
    if args.kefu_redis:
        env["KEFU_REDIS_URL"] = args.kefu_redis
    else:
        env.pop("KEFU_REDIS_URL", None)
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "kefu", "migrate"], check=True, env=env, stdout=subprocess.DEVNULL)
    setup_code = textwrap.dedent(
        f"""\
        import json
        from kefu.cli import setup_django
        setup_django()
        from kefu.accounts.actions import do_create_api_token, do_ensure_user
        from kefu.sla.demo import load as load_sla_policies
        from kefu.tickets.models import Category
        load_sla_policies()  # every new ticket starts its SLA timers, as in a real install
        category = Category.objects.filter(parent__isnull=False, is_active=True, slug__contains="withdraw").first() \\
            or Category.objects.filter(parent__isnull=False, is_active=True).first()
        tokens = []
        for i in range({args.clients}):
            user = do_ensure_user(email=f"bench-customer-{{i}}@example.com")
            tokens.append(do_create_api_token(user=user, name="bench"))
        print(json.dumps({{"category": category.slug, "tokens": tokens}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", setup_code], check=True, env=env, capture_output=True, text=True, cwd=ROOT
    )
    setup = json.loads(out.stdout.strip().splitlines()[-1])
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kefu", "serve", "--no-demo", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/api/v1/categories", proc)
    wait_idle(proc.pid)  # the start-up thread loads the search index and the bot's model
    return proc, base, setup, proc.pid


# ---------------------------------------------------------------- load


def wait_idle(pid: int, wait_s: float = 180) -> None:
    """Until the process uses under 5 % of a core for a second (its start-up work is done)."""
    deadline = time.monotonic() + wait_s
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = cpu_seconds(pid)
        if now - before < 0.05:
            return
        before = now


def run_round(
    *, name: str, base: str, tokens: list[str], make_body, path: str, tickets: int, expect: int
) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(tickets))

    def client(token: str) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"{token}"}, timeout=60) as http:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                t = time.perf_counter()
                r = http.post(path, json=make_body(n))
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    if r.status_code == expect:
                        latencies.append(ms)
                    else:
                        errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=client, args=(tok,)) for tok in tokens]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    result = {
        "name": name,
        "ok": len(latencies),
        "errors": len(errors),
        "rate": len(latencies) / wall,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else float("nan"),
    }
    if errors:
        print(f"  {name}: first error: {errors[0]}", flush=True)
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", default="postgres://kefu:kefu@127.0.0.1:5432", help="server URL, no database")
    parser.add_argument("--kefu-db", default="kefu_writes_bench")
    parser.add_argument("--helpdesk-db", default="helpdesk_writes_bench")
    parser.add_argument("--kefu-data-dir", type=Path, default=ROOT / "var" / "writes-bench")
    parser.add_argument("--kefu-redis", default="", help="KEFU_REDIS_URL for Kefu (default: none)")
    parser.add_argument("--helpdesk-venv", type=Path, default=ROOT / "var" / "helpdesk-venv")
    parser.add_argument("--helpdesk-project", type=Path, default=ROOT / "var" / "helpdesk-project")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--tickets", type=int, default=200, help="tickets per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per product, interleaved")
    parser.add_argument("--only", choices=["kefu", "helpdesk"], default=None)
    args = parser.parse_args()
    if shutil.which("psql") is None:
        raise SystemExit("needs psql on PATH (to create the two databases)")
    os.environ.setdefault("PGPASSWORD", args.pg.split("://", 1)[1].rsplit("@", 1)[0].partition(":")[2])

    procs: list[subprocess.Popen] = []
    products: list[tuple[str, dict]] = []
    try:
        if args.only in (None, "kefu"):
            kproc, kbase, ksetup, kpid = start_kefu(args)
            procs.append(kproc)
            category = ksetup["category"]
            products.append(
                (
                    "kefu",
                    dict(
                        base=kbase,
                        tokens=[f"Bearer {t}" for t in ksetup["tokens"]],
                        path="/api/v1/tickets",
                        expect=201,
                        make_body=lambda n: {
                            "category": category,
                            "title": f"提币未到账 {n}",
                            "description": TEXT_ZH.format(n=n),
                        },
                        pid=kpid,
                    ),
                )
            )
        if args.only in (None, "helpdesk"):
            hproc, hbase, hsetup = start_helpdesk(args)
            procs.append(hproc)
            queue = hsetup["queue"]
            products.append(
                (
                    "django-helpdesk",
                    dict(
                        base=hbase,
                        tokens=[f"Token {t}" for t in hsetup["tokens"]],
                        path="/api/tickets/",
                        expect=201,
                        make_body=lambda n: {
                            "queue": queue,
                            "title": f"提币未到账 {n}",
                            "description": TEXT_ZH.format(n=n),
                            "priority": 3,
                        },
                        pid=hproc.pid,
                    ),
                )
            )
        # Warm-up: first requests pay for imports, URL resolving, prepared statements.
        for name, p in products:
            run_round(name=name, tickets=20, **{k: v for k, v in p.items() if k != "pid"})
        print(f"clients={args.clients} tickets/round={args.tickets} load={os.getloadavg()}", flush=True)
        results: dict[str, list[dict]] = {name: [] for name, _ in products}
        for i in range(args.rounds):
            for name, p in products:
                # gunicorn's worker is the master's child: count the whole tree's CPU by the child.
                pid = p["pid"]
                if name == "django-helpdesk":
                    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                    pid = int(kids[0]) if kids else pid
                cpu0 = cpu_seconds(pid)
                r = run_round(name=name, tickets=args.tickets, **{k: v for k, v in p.items() if k != "pid"})
                r["cpu_ms"] = (cpu_seconds(pid) - cpu0) * 1000 / max(1, r["ok"])
                results[name].append(r)
                print(
                    f"round {i + 1} {name:<16} {r['rate']:6.1f} tickets/s  p50={r['p50']:6.1f} ms"
                    f"  p99={r['p99']:6.1f} ms  server CPU {r['cpu_ms']:5.1f} ms/ticket"
                    f"  ok={r['ok']} errors={r['errors']}  load={os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        medians = {}
        for name, rs in results.items():
            rates = [r["rate"] for r in rs]
            medians[name] = statistics.median(rates)
            print(
                f"{name:<16} median {medians[name]:6.1f} tickets/s (min {min(rates):.1f}, max {max(rates):.1f})"
                f"  p50 {statistics.median(r['p50'] for r in rs):.1f} ms"
                f"  p99 {statistics.median(r['p99'] for r in rs):.1f} ms"
                f"  CPU {statistics.median(r['cpu_ms'] for r in rs):.1f} ms/ticket"
            )
        if len(medians) == 2:
            print(
                f"ratio kefu / django-helpdesk (median rates): {medians['kefu'] / medians['django-helpdesk']:.2f}x"
            )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
