from django.urls import path

from kefu.wallet import views

app_name = "wallet"

urlpatterns = [
    path("diagnose/<str:case_number>/", views.diagnose, name="diagnose"),
    path("diagnose/<str:case_number>/page/", views.diagnose_page, name="diagnose_page"),
]
