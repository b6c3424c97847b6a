"""The SMTP receiver: mail for the support address, stored before it is acknowledged.

An aiosmtpd server in its own thread. ``DATA`` is answered ``250`` only after the guarded
mail is committed to the database; any failure to store answers ``451`` so the sending
server keeps the mail and tries again. Processing happens afterwards, in the mail worker.
It is meant to sit behind the operator's MTA (which does TLS, SPF/DKIM/DMARC and spam
filtering) or on a port that only that MTA can reach.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections

from kefu.mail import conf

logger = logging.getLogger(__name__)


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port``, ``[::1]:2525`` or ``:2525`` (all interfaces) → (host, port)."""
    value = (listen or "").strip()
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"KEFU_SMTP_LISTEN must be host:port, not {listen!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _accept(raw: bytes, envelope_from: str, envelope_to: list[str]) -> int:
    """Store one mail (runs in a worker thread with its own database connection)."""
    from kefu.mail.actions import do_accept_inbound
    from kefu.mail.models import InboundSource

    close_old_connections()
    try:
        accepted = do_accept_inbound(
            raw, envelope_from=envelope_from, envelope_to=envelope_to, source=InboundSource.SMTP
        )
        return accepted.inbound.pk
    finally:
        close_old_connections()


class InboundHandler:
    """aiosmtpd handler: validates recipients, stores mail, then calls ``on_accept``."""

    def __init__(self, on_accept: Callable[[int], None] | None = None) -> None:
        self.on_accept = on_accept
        # One thread of our own for storing: database writes stay serialised (SQLite) and never
        # queue behind other work on asgiref's shared thread.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefu-smtp-store")

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list
    ) -> str:
        if not conf.accepts_recipient(address):
            return "550 5.1.1 Mailbox unavailable: this server only takes mail for the support address"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from kefu.mail.actions import MailTooLarge
        from kefu.mail.redaction import UnsafeMail

        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            pk = await asyncio.get_running_loop().run_in_executor(
                self.executor, _accept, raw, envelope.mail_from or "", list(envelope.rcpt_tos)
            )
        except MailTooLarge:
            return "552 5.3.4 Message too big for this system"
        except UnsafeMail:
            return "554 5.6.0 Message could not be stored safely; please resend it as plain text"
        except Exception:
            logger.exception("could not store inbound mail; asking the sender to retry")
            return "451 4.3.0 Temporary failure storing the message; please try again later"
        if self.on_accept is not None:
            try:
                self.on_accept(pk)
            except Exception:  # the mail is stored; the worker's sweep will find it anyway
                logger.exception("on_accept hook failed for inbound mail %s", pk)
        return f"250 2.0.0 OK: queued as {pk}"


class SMTPReceiver:
    """A running receiver; ``port`` is the bound port (useful with port 0)."""

    def __init__(self, controller: Any, handler: InboundHandler) -> None:
        self.controller = controller
        self.handler = handler

    @property
    def host(self) -> str:
        return str(self.controller.hostname)

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def stop(self) -> None:
        """Stop listening; mail already accepted is safe in the database."""
        self.controller.stop()
        self.handler.executor.shutdown(wait=True)


def build_controller(handler: Any, host: str, port: int, **smtp_options: Any) -> Any:
    """An aiosmtpd ``Controller`` that also works with port 0 (the kernel picks a free port)."""
    from aiosmtpd.controller import Controller

    class _Controller(Controller):
        def _trigger_server(self) -> None:
            # With port 0 the kernel chose the port: learn it before the readiness probe.
            if isinstance(self.server, asyncio.Server) and self.port == 0:
                self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    return _Controller(handler, hostname=host, port=port, **smtp_options)


def start_smtp_receiver(listen: str, *, on_accept: Callable[[int], None] | None = None) -> SMTPReceiver:
    """Start the SMTP receiver on ``listen`` (``host:port``; port 0 picks a free one).

    Needs aiosmtpd. Oversized mail is refused with ``552`` (``KEFU_MAIL_MAX_BYTES``, announced
    in EHLO as SIZE). ``on_accept(inbound_pk)`` runs after each stored mail; the mail worker
    passes its wake-up here.
    """
    host, port = split_listen(listen)
    handler = InboundHandler(on_accept)
    controller = build_controller(
        handler,
        host,
        port,
        server_hostname=conf.smtp_hostname(),
        ident="Kefu ESMTP",
        data_size_limit=conf.max_bytes(),
    )
    controller.start()
    logger.info("SMTP receiver listening on %s:%s", host, controller.port)
    return SMTPReceiver(controller, handler)
