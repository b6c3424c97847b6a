"""Several machines on one: prove that two web nodes and a job worker behave as one Kefu.

Starts, as real processes and as docs/deploy.md says, two ``kefu serve --no-demo`` nodes (A and
B, their own ports and data directories; node A also runs the SMTP receiver) and one
``kefu worker``, all on the PostgreSQL database of ``KEFU_DATABASE_URL`` and the Redis database
of ``KEFU_REDIS_URL``, with files in moto's S3 server and outgoing mail caught by a sink, both
in this process. Then it checks, counting rows, sink deliveries and bytes:

1. mail: a mail to node A's receiver becomes one ticket whose acknowledgement is sent once;
2. chat: a customer on node A and an agent on node B chat, both directions;
3. files: a file uploaded through node A's portal downloads byte-identical through node B (and
   is a 404 there for another customer);
4. jobs: ``--jobs`` mails; the worker is SIGKILLed mid-run and restarted; every mail becomes
   exactly one ticket with one acknowledgement, and sink deliveries are counted as they are.

One line per check ending in OK or FAIL; the exit status is 1 if any failed. Writes rows into
the database it is given (customers ``*@customers.cluster.test``, bench people): point it at
a scratch database.

    KEFU_DATABASE_URL=postgres://kefu:kefu@127.0.0.1:5432/kefu_scratch \\
    KEFU_REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python scripts/bench_cluster.py --jobs 200
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200, help="mails for the kill-and-restart check (200)")
    parser.add_argument(
        "--kill-at",
        type=float,
        default=0.3,
        help="fraction of acknowledgements sent when the worker is killed",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="the worker's job threads (4)")
    parser.add_argument("--keep", action="store_true", help="keep the processes' logs and data directories")
    args = parser.parse_args()

    database = os.environ.get("KEFU_DATABASE_URL", "")
    redis = os.environ.get("KEFU_REDIS_URL", "")
    if not database.startswith(("postgres", "pgsql")) or not redis:
        print("error: set KEFU_DATABASE_URL (PostgreSQL) and KEFU_REDIS_URL: several nodes share those")
        return 2

    from kefu.cli import setup_django

    setup_django()
    from django.core.management import call_command

    from kefu.chat.bench import prepare
    from kefu.tests.cluster import check_chat, check_files, check_jobs, check_mail, running_cluster

    call_command("migrate", interactive=False, verbosity=0)
    workdir = Path(tempfile.mkdtemp(prefix="kefu-cluster-"))
    print(
        f"cluster: nodes=2 (kefu serve) workers=1 (kefu worker --concurrency {args.concurrency}) "
        f"database=postgresql redis=yes storage=s3(moto) cpus={os.cpu_count()} python={platform.python_version()}",
        flush=True,
    )
    checks = []
    started = time.monotonic()
    try:
        with running_cluster(
            database_url=database, redis_url=redis, workdir=workdir, concurrency=args.concurrency
        ) as cluster:
            print(f"start: all three processes ready after {time.monotonic() - started:.1f} s", flush=True)
            try:
                people = prepare(clients=3, agents=1)
                for run in (
                    lambda: check_mail(cluster),
                    lambda: check_chat(cluster, people),
                    lambda: check_files(cluster, people),
                    lambda: check_jobs(cluster, jobs=args.jobs, kill_at=args.kill_at),
                ):
                    check = run()
                    checks.append(check)
                    print(check.line, flush=True)
            finally:
                if not all(check.ok for check in checks) or len(checks) < 4:
                    print(cluster.log_tail(), flush=True)
    finally:
        if args.keep:
            print(f"logs and data directories kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = [check.name for check in checks if not check.ok]
    print(
        f"result: {len(checks) - len(failed)} of 4 checks OK"
        + (f", failed: {', '.join(failed)}" if failed else "")
    )
    return 0 if len(checks) == 4 and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
