from django.urls import path

from kefu.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.summary_page, name="summary"),
    path("<slug:key>/", views.family_page, name="family"),
    path("<slug:key>/export.<str:fmt>", views.family_export, name="export"),
]
