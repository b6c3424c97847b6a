"""``kefu phone call``: play a call against Kefu's own webhooks, as the provider would.

It signs every request with the auth token (so it goes through the same 403 as the provider),
sends the provider's form fields (CallSid, AccountSid, From, To, CallStatus, Digits,
QueuePosition, ...), and follows the TwiML it gets back: prints what ``<Say>`` says, reads key
presses for ``<Gather>``, follows ``<Redirect>``, waits in an ``<Enqueue>`` by polling its wait
URL, "records" for ``<Record>`` and stops at ``<Hangup>``. At the end it sends the status
callback, as the provider does when a call completes. Tests drive it with a scripted keypad.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"


class Transport(Protocol):
    def post(self, url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
        """POST the form to ``url`` with the signature header; (status, body)."""
        ...


class HttpTransport:
    """The simulator against a running Kefu (``kefu serve``)."""

    def __init__(self, timeout: float = 10.0) -> None:
        import httpx

        self.client = httpx.Client(timeout=timeout)

    def post(self, url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
        response = self.client.post(url, data=params, headers={"X-Twilio-Signature": signature})
        return response.status_code, response.text


class CallFailed(Exception):
    """Kefu answered a webhook with something that is not TwiML (an error status, bad XML)."""


Keypad = Callable[[str], "str | None"]  # the prompt → keys pressed ("" no key, None hangs up)


@dataclass
class Played:
    """What happened on the call, for tests and the console."""

    call_sid: str
    said: list[str] = field(default_factory=list)
    voices: list[str] = field(default_factory=list)  # each <Say>'s language attribute
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, status)
    queued: bool = False
    left_queue: bool = False
    recorded: bool = False
    hung_up_by: str = ""  # "kefu" (<Hangup>), "caller", or "end" (the TwiML ran out)


@dataclass
class Simulator:
    base_url: str
    auth_token: str
    account_sid: str
    caller: str
    called: str
    transport: Transport
    keypad: Keypad
    out: Callable[[str], None] = print
    wait_rounds: int = 3
    start_position: int = 1
    call_sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.played = Played(call_sid=self.call_sid)
        self.started = time.monotonic()

    # --- requests --------------------------------------------------------------------------

    def params(self, **extra: str) -> dict[str, str]:
        values = {
            "CallSid": self.call_sid,
            "AccountSid": self.account_sid,
            "From": self.caller,
            "To": self.called,
            "Caller": self.caller,
            "Called": self.called,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": API_VERSION,
        }
        values.update(extra)
        return values

    def absolute(self, url: str) -> str:
        if url.startswith("http://") or url.startswith("https://"):
            return url
        return self.base_url + (url if url.startswith("/") else "/" + url)

    def post(self, url: str, **extra: str) -> ElementTree.Element:
        url = self.absolute(url)
        params = self.params(**extra)
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        status, body = self.transport.post(url, params, signature)
        parts = urlsplit(url)
        self.played.requests.append((parts.path + (f"?{parts.query}" if parts.query else ""), status))
        if status != 200:
            raise CallFailed(f"{url} answered {status}")
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError as exc:
            raise CallFailed(f"{url} answered something that is not XML") from exc
        if root.tag != "Response":
            raise CallFailed(f"{url} answered <{root.tag}>, not <Response>")
        return root

    # --- playing TwiML ---------------------------------------------------------------------

    def say(self, element: ElementTree.Element) -> None:
        words = (element.text or "").strip()
        self.played.said.append(words)
        self.played.voices.append(element.get("language", ""))
        self.out(f"[{element.get('language', '')}] {words}")

    def gather_keys(self, element: ElementTree.Element) -> str | None:
        """Play the Gather's prompts, then read keys as the provider would collect them."""
        for child in element:
            if child.tag == "Say":
                self.say(child)
        keys = self.keypad("keys> ")
        if keys is None:
            return None
        keys = keys.strip()
        # As the provider collects them: up to the finish key (not included), at most numDigits.
        finish = element.get("finishOnKey", "#")
        if finish and finish in keys:
            keys = keys[: keys.index(finish)]
        num_digits = element.get("numDigits", "")
        if num_digits.isdigit():
            keys = keys[: int(num_digits)]
        return keys

    def run(self) -> Played:
        """Play the whole call: the incoming-call webhook, then wherever the TwiML leads."""
        document: ElementTree.Element | None = self.post("/phone/twilio/voice", CallStatus="ringing")
        while document is not None:
            document = self.play(document)
        self.post(
            "/phone/twilio/status",
            CallStatus="completed",
            CallDuration=str(max(int(time.monotonic() - self.started), 1)),
        )
        return self.played

    def play(self, document: ElementTree.Element) -> ElementTree.Element | None:
        """Run one TwiML document; the next document to run, or None when the call ended."""
        for verb in document:
            if verb.tag == "Say":
                self.say(verb)
            elif verb.tag in ("Pause", "Play"):
                continue
            elif verb.tag == "Gather":
                keys = self.gather_keys(verb)
                if keys is None:
                    self.played.hung_up_by = "caller"
                    return None
                if keys:
                    return self.post(verb.get("action") or "", Digits=keys)
            elif verb.tag == "Redirect":
                return self.post((verb.text or "").strip())
            elif verb.tag == "Enqueue":
                return self.enqueue(verb)
            elif verb.tag == "Record":
                self.out("(recording after the tone; press Enter to stop)")
                if self.keypad("message> ") is None:
                    self.played.hung_up_by = "caller"
                    return None
                self.played.recorded = True
                recording = "RE" + secrets.token_hex(16)
                return self.post(
                    verb.get("action") or "",
                    RecordingUrl=f"https://api.twilio.com/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{recording}",
                    RecordingSid=recording,
                    RecordingDuration="7",
                )
            elif verb.tag == "Hangup":
                self.played.hung_up_by = "kefu"
                return None
        self.played.hung_up_by = self.played.hung_up_by or "end"
        return None

    def enqueue(self, verb: ElementTree.Element) -> ElementTree.Element | None:
        """Wait in the queue: poll the wait URL (its Gather may make the caller <Leave>). Nobody
        answers a simulated queue, so after ``wait_rounds`` the caller hangs up."""
        self.played.queued = True
        self.out(f"(waiting in queue {(verb.text or '').strip()})")
        wait_url, action = verb.get("waitUrl"), verb.get("action")
        queue = {"QueueSid": "QU" + secrets.token_hex(16), "CurrentQueueSize": str(self.start_position)}
        result = "hangup"
        for round_ in range(self.wait_rounds):
            position = max(self.start_position - round_, 1)
            fields = {
                **queue,
                "QueuePosition": str(position),
                "QueueTime": str(round_ * 30),
                "AvgQueueTime": "60",
            }
            if wait_url and self.wait(self.post(wait_url, **fields)) == "leave":
                result = "leave"
                break
        if result == "hangup":
            self.played.hung_up_by = "caller"
        else:
            self.played.left_queue = True
        if not action:
            return None
        answer = self.post(action, QueueResult=result, QueueSid=queue["QueueSid"], QueueTime="30")
        return None if result == "hangup" else answer

    def wait(self, document: ElementTree.Element) -> str:
        """Run a wait-URL document; "leave" when it leaves the queue."""
        for verb in _walk(document):
            if verb.tag == "Say":
                self.say(verb)
            elif verb.tag == "Gather":
                keys = self.gather_keys(verb)
                if keys:
                    if self.wait(self.post(verb.get("action") or "", Digits=keys)) == "leave":
                        return "leave"
                return ""
            elif verb.tag == "Leave":
                return "leave"
        return ""


def _walk(document: ElementTree.Element) -> Iterator[ElementTree.Element]:
    yield from iter(document)
