"""Optional LLM polish of the bot's replies, off by default.

The dialogue manager writes every reply deterministically from Kefu's articles and facts. With
``KEFU_BOT_LLM_URL`` set, :func:`polish` asks a model server the operator runs (anything that
speaks the OpenAI-compatible chat-completions API: vLLM, llama.cpp's server, Ollama, a hosted
API) to rephrase that reply, grounded in the passages and facts it was drawn from. The model only
rephrases: it never decides what to say, and its output is used only when it passes every check
below; otherwise the deterministic reply is returned unchanged. So the bot behaves exactly as
without an LLM when the server is off, slow, broken or creative.

Checks (all must pass):

* the secret guard (:mod:`kefu.trust.guard`) on everything sent — a reply that holds a secret is
  never sent, secrets in the grounding are hidden before sending — and on everything received (a
  reply with a seed phrase or key in it is dropped);
* no number, URL, domain, address or hash in the output that is absent from the reply and the
  grounding (a model that "helpfully" adds a fee, a link or a deadline is refused);
* a length bound (``MAX_GROWTH`` times the reply plus ``MAX_EXTRA_CHARS``) and a non-empty
  answer in the requested script (CJK for zh-hans/zh-hant, mostly not CJK for en).

Timeout (``KEFU_BOT_LLM_TIMEOUT``), HTTP errors, malformed JSON and oversized bodies all fall
back to the reply as given. Nothing here raises.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# Output longer than this many times the reply (plus a constant for very short replies) is refused:
# the model is asked to rephrase, not to add.
MAX_GROWTH = 1.5
MAX_EXTRA_CHARS = 60
# Largest response body read from the model server.
MAX_RESPONSE_BYTES = 256 * 1024
# Grounding sent with a reply: enough for a few passages, bounded so a long article is not sent whole.
MAX_GROUNDING_CHARS = 4000

_LANGUAGE_NAMES = {
    "zh-hans": "Simplified Chinese",
    "zh-hant": "Traditional Chinese",
    "en": "English",
}

SYSTEM_PROMPT = (
    "You rephrase a customer-support reply so that it reads naturally and kindly. Rules: keep the "
    "meaning exactly; use only facts stated in the reply or in the passages; do not add numbers, "
    "amounts, times, links, addresses, steps or promises that are not in them; never ask for or "
    "mention a seed phrase or private key unless the reply does; keep it about as short as the "
    "reply; answer in {language} only. Output only the rephrased reply, no preface."
)


class Rephraser(Protocol):
    """A model that rephrases a reply; raises on any failure (polish() turns that into a fallback)."""

    def rephrase(self, text: str, *, grounding: Sequence[str], language: str) -> str: ...


class LLMError(Exception):
    """The model server did not give a usable answer."""


@dataclass(frozen=True)
class OpenAIChatRephraser:
    """Client of an OpenAI-compatible ``POST {url}/chat/completions`` endpoint."""

    url: str
    model: str
    api_key: str = ""
    timeout: float = 3.0

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    def request_body(self, text: str, *, grounding: Sequence[str], language: str) -> dict[str, Any]:
        passages = "\n\n".join(f"[{n}] {p}" for n, p in enumerate(grounding, start=1))
        user = f"Passages:\n{passages or '(none)'}\n\nReply to rephrase:\n{text}"
        return {
            "model": self.model,
            "messages": [
                {
                    "role": "system",
                    "content": SYSTEM_PROMPT.format(language=_LANGUAGE_NAMES.get(language, "English")),
                },
                {"role": "user", "content": user},
            ],
            "temperature": 0.2,
            # Tokens, generous for CJK (about one token per character) yet bounded.
            "max_tokens": int(len(text) * MAX_GROWTH) + MAX_EXTRA_CHARS + 64,
            "stream": False,
        }

    def rephrase(self, text: str, *, grounding: Sequence[str], language: str) -> str:
        import httpx

        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = self.request_body(text, grounding=grounding, language=language)
        try:
            # A redirect could carry the key to another host: not followed. No proxy from the
            # environment either: the operator names the server.
            with httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False) as client:
                with client.stream("POST", self.endpoint, json=body, headers=headers) as response:
                    if response.status_code != 200:
                        raise LLMError(f"HTTP {response.status_code}")
                    raw = bytearray()
                    for chunk in response.iter_bytes():
                        raw += chunk
                        if len(raw) > MAX_RESPONSE_BYTES:
                            raise LLMError("response too large")
        except httpx.HTTPError as exc:  # timeouts, refused connections, protocol errors
            raise LLMError(f"{type(exc).__name__}") from exc
        try:
            data = json.loads(bytes(raw).decode("utf-8"))
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError("malformed chat-completions response") from exc
        if not isinstance(content, str):
            raise LLMError("malformed chat-completions response")
        return content


def configured_rephraser() -> Rephraser | None:
    """The rephraser the settings describe, or ``None`` when the LLM backend is off."""
    from django.conf import settings

    url = settings.KEFU_BOT_LLM_URL
    if not url:
        return None
    return OpenAIChatRephraser(
        url=url,
        model=settings.KEFU_BOT_LLM_MODEL,
        api_key=settings.KEFU_BOT_LLM_API_KEY,
        timeout=settings.KEFU_BOT_LLM_TIMEOUT or 3.0,
    )


def polish(text: str, *, grounding: Sequence[str], language: str) -> str:
    """``text`` rephrased by the configured LLM, or ``text`` itself when the backend is off, fails,
    or its output fails a check (see the module docstring)."""
    rephraser = configured_rephraser()
    if rephraser is None or not text.strip():
        return text
    return polish_with(rephraser, text, grounding=grounding, language=language)


def polish_with(rephraser: Rephraser, text: str, *, grounding: Sequence[str], language: str) -> str:
    """:func:`polish` with an explicit backend (the checks are the same)."""
    from kefu.trust import guard

    if guard.scan(text, language=language).secret:
        return text  # a reply holding a secret is never sent anywhere
    safe_grounding = _bounded([guard.redact(g, language=language) for g in grounding if g])
    try:
        candidate = rephraser.rephrase(text, grounding=safe_grounding, language=language)
    except Exception as exc:  # any backend failure means "no polish", never a broken reply
        logger.info("bot LLM polish skipped: %s", exc)
        return text
    problem = check_output(candidate, text=text, grounding=safe_grounding, language=language)
    if problem:
        logger.info("bot LLM polish refused: %s", problem)
        return text
    return candidate.strip()


def check_output(candidate: str, *, text: str, grounding: Sequence[str], language: str) -> str | None:
    """Why ``candidate`` may not replace ``text`` (``None``: it may)."""
    from kefu.trust import guard

    output = candidate.strip()
    if not output:
        return "empty"
    if len(output) > len(text) * MAX_GROWTH + MAX_EXTRA_CHARS:
        return "too long"
    if guard.scan(output, language=language).secret:
        return "secret in output"
    source = _fold(" ".join([text, *grounding]))
    folded = _fold(output)
    allowed_numbers = set(_numbers(source))
    if any(n not in allowed_numbers for n in _numbers(folded)):
        return "number not in the reply or grounding"
    allowed_links = set(_links(source))
    if any(link not in allowed_links and link not in source for link in _links(folded)):
        return "link not in the reply or grounding"
    if any(token not in source for token in _long_tokens(folded)):
        return "address or hash not in the reply or grounding"
    cjk = len(_CJK.findall(output))
    letters = cjk + len(re.findall(r"[A-Za-z]", output))
    if language.startswith("zh") and cjk == 0:
        return "not Chinese"
    if language == "en" and letters and cjk / letters > 0.3:
        return "not English"
    return None


# --------------------------------------------------------------------------------- helpers

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Digits with their grouping/decimal separators: "1,000", "0.5", "10:02" are one number each.
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'）)】」,，。]+", re.IGNORECASE)
_DOMAIN = re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}\b", re.IGNORECASE)
# Addresses, hashes, keys: long runs of letters and digits with at least one digit.
_LONG_TOKEN = re.compile(r"\b(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{20,}\b")


def _fold(text: str) -> str:
    # NFKC: full-width digits and letters count as the ASCII ones the source may use.
    return unicodedata.normalize("NFKC", text).lower()


def _numbers(text: str) -> list[str]:
    # "1,000" and "1000" are the same number; a trailing ".0" is not a new one either.
    out = []
    for match in _NUMBER.findall(text):
        value = match.replace(",", "")
        if re.fullmatch(r"\d+\.0+", value):
            value = value.split(".")[0]
        out.append(value)
    return out


def _links(text: str) -> list[str]:
    links = [m.rstrip(".,;:!?") for m in _URL.findall(text)]
    return links + [m for m in _DOMAIN.findall(text) if not m.replace(".", "").isdigit()]


def _long_tokens(text: str) -> list[str]:
    return _LONG_TOKEN.findall(text)


def _bounded(passages: list[str]) -> list[str]:
    out, used = [], 0
    for passage in passages:
        room = MAX_GROUNDING_CHARS - used
        if room <= 0:
            break
        out.append(passage[:room])
        used += len(out[-1])
    return out
