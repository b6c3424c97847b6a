"""The mail worker: one background thread that processes inbound mail, sends the outbox and
polls IMAP; plus :func:`start_mail_services`, which ``kefu serve`` calls to run it all.

The thread sweeps at start-up (so mail accepted before a crash is processed), whenever it is
woken (a mail was stored, an outbox row committed) and every ``KEFU_MAIL_WORKER_INTERVAL``
seconds. Rows are claimed with a conditional UPDATE, so several nodes may run a worker each.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.db import close_old_connections

from kefu.mail import conf
from kefu.mail.smtp import SMTPReceiver, start_smtp_receiver

logger = logging.getLogger(__name__)

_workers: list[MailWorker] = []
_workers_lock = threading.Lock()


def wake_mail_worker() -> None:
    """Ask running workers in this process to sweep now (a no-op where none runs)."""
    with _workers_lock:
        workers = list(_workers)
    for worker in workers:
        worker.wake()


class MailWorker(threading.Thread):
    """Processes pending inbound mail, sends due outbound mail, polls IMAP when configured."""

    def __init__(self, *, interval: float, imap_url: str = "", imap_interval: float = 60.0) -> None:
        super().__init__(name="kefu-mail-worker", daemon=True)
        self.interval = interval
        self.imap_url = imap_url
        self.imap_interval = imap_interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._next_imap = 0.0

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        with _workers_lock:
            _workers.append(self)
        try:
            while not self._stopping.is_set():
                busy = self.sweep()
                if not busy:
                    self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            with _workers_lock:
                _workers.remove(self)
            close_old_connections()

    def sweep(self) -> bool:
        """One round; True if a batch was full and another round should follow at once."""
        from kefu.mail.actions import process_pending_mail
        from kefu.mail.imap import poll_imap_once
        from kefu.mail.outbound import send_pending_mail

        close_old_connections()
        busy = False
        if self.imap_url and time.monotonic() >= self._next_imap:
            self._next_imap = time.monotonic() + self.imap_interval
            try:
                poll_imap_once(self.imap_url)
            except Exception:
                logger.exception("IMAP poll failed")
        try:
            busy |= process_pending_mail(limit=100) >= 100
        except Exception:
            logger.exception("processing inbound mail failed")
        try:
            busy |= send_pending_mail(limit=50) >= 50
        except Exception:
            logger.exception("sending outbound mail failed")
        close_old_connections()
        return busy


@dataclass
class MailServices:
    """What :func:`start_mail_services` started; ``stop()`` on shutdown."""

    worker: MailWorker
    receiver: SMTPReceiver | None = None

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
        self.worker.stop()


def start_mail_services(
    *, smtp_listen: str | None = None, imap_url: str | None = None, interval: float | None = None
) -> MailServices:
    """Start the mail worker thread and, when ``KEFU_SMTP_LISTEN`` is set, the SMTP receiver.

    Arguments override the settings (``KEFU_SMTP_LISTEN``, ``KEFU_IMAP_URL``,
    ``KEFU_MAIL_WORKER_INTERVAL``, ``KEFU_IMAP_INTERVAL``).
    """
    listen = conf.smtp_listen() if smtp_listen is None else smtp_listen
    imap = conf.imap_url() if imap_url is None else imap_url
    worker = MailWorker(
        interval=conf.worker_interval() if interval is None else interval,
        imap_url=imap,
        imap_interval=conf.imap_interval(),
    )
    worker.start()
    receiver = start_smtp_receiver(listen, on_accept=lambda _pk: worker.wake()) if listen else None
    if not conf.notifications_enabled():
        logger.info("KEFU_EMAIL_URL is not set: no acknowledgements or replies will be mailed")
    return MailServices(worker=worker, receiver=receiver)
