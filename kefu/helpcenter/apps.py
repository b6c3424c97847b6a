from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HelpcenterConfig(AppConfig):
    name = "kefu.helpcenter"
    label = "helpcenter"
    verbose_name = _("Help centre")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from kefu.helpcenter import signals
        from kefu.helpcenter.models import Article

        post_save.connect(signals.article_saved, sender=Article, dispatch_uid="helpcenter.article_saved")
        post_delete.connect(
            signals.article_deleted, sender=Article, dispatch_uid="helpcenter.article_deleted"
        )
