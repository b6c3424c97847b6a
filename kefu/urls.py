from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from kefu.api import api
from kefu.views import favicon, home

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("help/", include("kefu.helpcenter.urls")),
    path("accounts/", include("kefu.accounts.urls")),
    path("identity/", include("kefu.identity.urls")),
    path("wallet/", include("kefu.wallet.urls")),
    path("chat/csat/", include("kefu.csat.urls")),
    path("chat/", include("kefu.chat.urls")),
    path("phone/", include("kefu.phone.urls")),
    path("reports/", include("kefu.reports.urls")),
    path("", include("kefu.tickets.urls")),
    path("", include("kefu.trust.urls")),
    path("channels/whatsapp/", include("kefu.whatsapp.urls")),
    path("channels/telegram/", include("kefu.telegram.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
