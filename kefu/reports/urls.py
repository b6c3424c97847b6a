from django.urls import path

from kefu.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.summary_page, name="summary"),
]
