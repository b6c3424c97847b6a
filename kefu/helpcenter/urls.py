from django.urls import path

from kefu.helpcenter import views

app_name = "helpcenter"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("announcements/", views.announcements, name="announcements"),
    path("a/<slug:slug>/", views.article, name="article"),
    path("a/<slug:slug>/feedback/", views.feedback, name="feedback"),
]
