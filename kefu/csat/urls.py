from django.urls import path

from kefu.csat import views

app_name = "csat"
# Mounted at /chat/csat/ (kefu/urls.py): the path links in mails already sent point to.
urlpatterns = [
    path("<str:token>/", views.survey, name="survey"),
]
