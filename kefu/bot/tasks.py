"""The bot's periodic job: close conversations the customer left with the bot
(``kefu.bot.idle``), every ten minutes while ``KEFU_BOT_IDLE_CLOSE_HOURS`` is above 0."""

from __future__ import annotations

from kefu.jobs.engine import periodic_job

SWEEP_SECONDS = 600.0


def _sweep_seconds() -> float:
    from kefu.bot.idle import idle_hours

    return SWEEP_SECONDS if idle_hours() > 0 else 0.0


@periodic_job(_sweep_seconds)
def close_idle() -> None:
    from kefu.bot.idle import do_close_idle

    do_close_idle()
