from django.urls import path

from kefu.whatsapp import views

app_name = "whatsapp"

urlpatterns = [
    path("webhook", views.webhook, name="webhook"),
    path("cases/<str:case_number>/template", views.send_template, name="send_template"),
]
