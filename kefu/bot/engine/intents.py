"""The intent names the default bot can return: a contract with the rest of Kefu.

Mirrors the taxonomy in the project's INTENTS.md. Other apps (flows, routing, hand-off) key on
these strings, so renaming one is a breaking change.
"""

from __future__ import annotations

OUT_OF_SCOPE = "out_of_scope"

INTENTS: tuple[str, ...] = (
    "otp_problem",
    "password_reset",
    "account_recovery",
    "account_locked",
    "account_compromised",
    "two_factor",
    "kyc_verification",
    "update_contact_info",
    "deposit_not_credited",
    "deposit_wrong_network",
    "withdrawal_failed",
    "withdrawal_pending",
    "withdrawal_limit",
    "balance_discrepancy",
    "fees",
    "transaction_failed",
    "transaction_status",
    "trade_dispute",
    "app_not_opening",
    "feature_malfunction",
    "wallet_backup_restore",
    "cold_wallet",
    "seed_phrase_safety",
    "scam_report",
    "verify_official_channel",
    "security_tips",
    "contact_human",
    "contact_channels",
    "service_hours",
    "ticket_status",
    "queue_wait",
    "complaint",
    "maintenance_notice",
    "greeting",
    "thanks",
    "goodbye",
)
