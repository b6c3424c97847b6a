from django.urls import path

from kefu.trust import views

app_name = "trust"
urlpatterns = [
    path("verify/", views.verify, name="verify"),
]
