from django.urls import path

from kefu.identity import views

app_name = "identity"
urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("freeze/", views.freeze, name="freeze"),
    path("token", views.token_sign_in, name="token"),
    path("sso/", views.sso, name="sso"),
    path("unfreeze/<str:case_number>/", views.unfreeze, name="unfreeze"),
    path("account/<str:case_number>/", views.account_card, name="account_card"),
]
