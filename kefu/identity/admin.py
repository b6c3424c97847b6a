from django.contrib import admin

from kefu.identity.models import IdentityVerification, VerificationChallenge, VerificationState, WalletLink


class ReadOnlyAdmin(admin.ModelAdmin):
    """Security records are written by code only; the admin may look, not touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IdentityVerification)
class IdentityVerificationAdmin(ReadOnlyAdmin):
    list_display = ["user", "method", "detail", "verified_at", "expires_at", "ip_address"]
    list_filter = ["method"]
    search_fields = ["user__email"]


@admin.register(VerificationChallenge)
class VerificationChallengeAdmin(ReadOnlyAdmin):
    # code_hash is left out on purpose: nothing on screen should help anyone guess a code.
    list_display = [
        "user",
        "channel",
        "destination",
        "delivery",
        "created_at",
        "expires_at",
        "used_at",
        "attempts",
    ]
    fields = ["user", "channel", "destination", "delivery", "created_at", "expires_at", "used_at", "attempts"]
    list_filter = ["channel", "delivery"]
    search_fields = ["user__email"]


@admin.register(VerificationState)
class VerificationStateAdmin(admin.ModelAdmin):
    """Support leads may lift a lock-out by clearing ``locked_until``."""

    list_display = ["user", "failures", "lockouts", "locked_until", "updated_at"]
    fields = ["user", "failures", "lockouts", "locked_until"]
    readonly_fields = ["user"]
    search_fields = ["user__email"]


@admin.register(WalletLink)
class WalletLinkAdmin(ReadOnlyAdmin):
    list_display = ["user", "wallet_uid", "linked_at"]
    search_fields = ["user__email", "wallet_uid"]
