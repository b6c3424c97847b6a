from django.urls import path

from kefu.telegram import views

app_name = "telegram"

urlpatterns = [
    path("webhook", views.webhook, name="webhook"),
    path("link", views.link, name="link"),
]
