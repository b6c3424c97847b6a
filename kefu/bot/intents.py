"""The intent names of INTENTS.md (a contract) with the labels customers see."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

OUT_OF_SCOPE = "out_of_scope"

INTENT_LABELS = {
    "otp_problem": _("Verification code problems"),
    "password_reset": _("Resetting a password"),
    "account_recovery": _("Recovering an account"),
    "account_locked": _("Locked or restricted account"),
    "account_compromised": _("Account hacked or stolen"),
    "two_factor": _("Two-factor authentication"),
    "kyc_verification": _("Identity verification (KYC)"),
    "update_contact_info": _("Changing phone number or email"),
    "deposit_not_credited": _("Deposit not credited"),
    "deposit_wrong_network": _("Deposit on the wrong network or without memo"),
    "withdrawal_failed": _("Withdrawal failed"),
    "withdrawal_pending": _("Withdrawal pending or not received"),
    "withdrawal_limit": _("Withdrawal limits"),
    "balance_discrepancy": _("Balance looks wrong"),
    "fees": _("Fees"),
    "transaction_failed": _("Transaction failed"),
    "transaction_status": _("Checking a transaction"),
    "trade_dispute": _("Trade disputes"),
    "app_not_opening": _("App will not open"),
    "feature_malfunction": _("A feature is not working"),
    "wallet_backup_restore": _("Backing up or restoring a wallet"),
    "cold_wallet": _("Cold wallets"),
    "seed_phrase_safety": _("Keeping your seed phrase safe"),
    "scam_report": _("Reporting a scam"),
    "verify_official_channel": _("Checking an official channel"),
    "security_tips": _("Security tips"),
    "contact_human": _("Talking to a human agent"),
    "contact_channels": _("Ways to contact support"),
    "service_hours": _("Service hours"),
    "ticket_status": _("Progress of a ticket"),
    "queue_wait": _("Waiting in the queue"),
    "complaint": _("Complaints"),
    "maintenance_notice": _("Maintenance and announcements"),
    "greeting": _("Greeting"),
    "thanks": _("Thanks"),
    "goodbye": _("Goodbye"),
}

INTENTS = tuple(INTENT_LABELS)

# Hand over at once: a person must act now (freeze, recover funds, stop the scam).
URGENT_INTENTS = frozenset({"account_compromised", "scam_report"})
SMALLTALK = frozenset({"greeting", "thanks", "goodbye"})
