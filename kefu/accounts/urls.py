from django.contrib.auth import views as auth_views
from django.urls import path

from kefu.accounts.views import LoginView, two_factor_setup, two_factor_verify

app_name = "accounts"
urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("2fa/setup/", two_factor_setup, name="2fa_setup"),
    path("2fa/verify/", two_factor_verify, name="2fa_verify"),
]
