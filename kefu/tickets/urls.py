from django.urls import path

from kefu.tickets import views

app_name = "tickets"
urlpatterns = [
    path("portal/", views.portal, name="portal"),
    path("portal/new/", views.portal_new, name="portal_new"),
    path("portal/tickets/<str:case_number>/", views.portal_ticket, name="portal_ticket"),
    path("files/<uuid:public_id>/", views.attachment, name="attachment"),
    path("workspace/", views.workspace, name="workspace"),
    path("workspace/bulk/", views.workspace_bulk, name="workspace_bulk"),
    path("workspace/views/", views.workspace_save_view, name="workspace_save_view"),
    path(
        "workspace/views/<str:public_id>/delete/", views.workspace_delete_view, name="workspace_delete_view"
    ),
    path("workspace/tickets/<str:case_number>/", views.workspace_ticket, name="workspace_ticket"),
    path(
        "workspace/tickets/<str:case_number>/presence/", views.workspace_presence, name="workspace_presence"
    ),
    path(
        "workspace/tickets/<str:case_number>/<slug:action>/", views.workspace_action, name="workspace_action"
    ),
]
