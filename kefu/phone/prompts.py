"""What the hotline says: the default flow's prompts in Chinese and English (translated with
gettext), which an admin may reword per voice inbox (:class:`kefu.phone.models.Prompt`).

The language choice is said in both languages whatever the call's language: it is how the caller
picks one.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from kefu.phone.models import Prompt, PromptKey
from kefu.refcache import ReferenceCache

LANGUAGES = ("zh-hans", "en")
# The <Say language="..."> of each call language.
SAY_LANGUAGE = {"zh-hans": "zh-CN", "en": "en-US"}

# The language choice is not translated: each half is in its own language.
LANGUAGE_CHOICE = {"zh-hans": "中文请按 1，", "en": "For English press 2."}

DEFAULTS: dict[str, Promise] = {
    PromptKey.WARNING: _(
        "Our staff will never ask for your seed phrase, your private key or a verification code. "
        "Never tell them to anyone on the phone."
    ),
    PromptKey.MENU: _(
        "For deposits and withdrawals, press 1. For account and security, press 2. "
        "For other questions, press 3. To be called back, press 9. To speak to an agent, press 0. "
        "For an existing case, press the pound key."
    ),
    PromptKey.ACCOUNT_MENU: _(
        "If you lost access or forgot your password, press 1. If your account was stolen or there "
        "was a withdrawal you did not make, press 2. To freeze your account, press 3."
    ),
    PromptKey.CASE_NUMBER: _(
        "Please key in the digits of your case number, without the letters K F, then press the pound key."
    ),
    PromptKey.CLOSED: _(
        "Our phone line is closed now. To be called back when we open, press 9. "
        "To get a link to open a ticket by SMS, press 2. Or leave a message after the tone."
    ),
    PromptKey.QUEUE: _("Please hold, we are connecting you to an agent."),
    PromptKey.VOICEMAIL: _(
        "Please leave your message after the tone. Press the pound key when you are done."
    ),
    PromptKey.GOODBYE: _("Thank you for calling. Goodbye."),
}


def language_of(value: str) -> str:
    return "en" if (value or "").startswith("en") else "zh-hans"


def _load_wordings() -> dict[tuple[int, str, str], str]:
    return {
        (inbox_id, key, language): wording
        for inbox_id, key, language, wording in Prompt.objects.values_list(
            "inbox_id", "key", "language", "text"
        )
    }


# Admins' wordings: a few rows read by every webhook answer (one query a prompt before). Saving or
# deleting one forgets them in this process at once, other processes within a minute.
_wordings = ReferenceCache("phone-prompts", _load_wordings, seconds=60.0)
_wordings.watch(Prompt)


def text(inbox_id: int, key: str, language: str) -> str:
    """The prompt as this inbox says it: an admin's wording, else the translated default."""
    language = language_of(language)
    custom = _wordings.get().get((inbox_id, str(key), language))
    if custom:
        return str(custom)
    if key == PromptKey.LANGUAGE:
        return LANGUAGE_CHOICE[language]
    with override(language):
        return str(DEFAULTS[key])


def digits_spoken(value: str) -> str:
    """A number read out digit by digit (``2 0 2 6 ...``): TTS would say "twenty twenty-six"."""
    return " ".join(ch for ch in value if ch.isdigit())
