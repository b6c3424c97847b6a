from django.urls import path

from kefu.phone import views

app_name = "phone"
urlpatterns = [
    path("twilio/voice", views.voice, name="voice"),
    path("twilio/status", views.status, name="status"),
    path("twilio/flow/<slug:name>", views.step, name="flow"),
]
