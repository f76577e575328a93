"""/healthz, /readyz and /metrics (answered first by operations.middleware.ProbeMiddleware), the operations page."""

from django.urls import path

from operations import views

app_name = "operations"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("staff/operations/", views.operations_page, name="overview"),
]
