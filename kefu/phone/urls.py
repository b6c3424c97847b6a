from django.urls import path

from kefu.phone import views

app_name = "phone"
urlpatterns = [
    # The provider's webhooks (signed).
    path("twilio/voice", views.voice, name="voice"),
    path("twilio/status", views.status, name="status"),
    path("twilio/flow/<slug:name>", views.step, name="flow"),
    path("twilio/connect/<int:call_pk>/<int:agent_pk>", views.connect_agent, name="connect_agent"),
    path("twilio/whisper/<int:agent_pk>", views.whisper, name="whisper"),
    path("twilio/recording/<int:call_pk>", views.recording, name="recording"),
    path("twilio/callback/<int:pk>/agent", views.callback_agent, name="callback_agent"),
    path("twilio/callback/<int:pk>/result", views.callback_result, name="callback_result"),
    # The agents' pages.
    path("callbacks/", views.callbacks, name="callbacks"),
    path("callbacks/line/", views.agent_line, name="agent_line"),
    path("callbacks/<int:pk>/dial/", views.callback_dial, name="callback_dial"),
]
