from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _seed_categories(sender, **kwargs) -> None:
    from kefu.tickets.seed import ensure_default_categories

    ensure_default_categories()


class TicketsConfig(AppConfig):
    name = "kefu.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from kefu.accounts.models import Team, TeamMembership, User
        from kefu.tickets import search
        from kefu.tickets.models import CannedReply, Category, Tag
        from kefu.tickets.selectors import CANNED_REPLIES, CATEGORY_TREE, STAFF, TAGS

        post_migrate.connect(_seed_categories, sender=self)
        search.register()
        CATEGORY_TREE.watch(Category, Team)  # the tree holds each category's team
        CANNED_REPLIES.watch(CannedReply)
        # A sign-in saves last_login only: not a change of who can be assigned.
        STAFF.watch(User, TeamMembership, ignore_fields={"last_login"})
        TAGS.watch(Tag)
