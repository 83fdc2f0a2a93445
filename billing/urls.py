"""Pages outside the admin's model views: downloads and progress, each requiring the right permission."""

from django.urls import path
from django.views.generic import RedirectView

from billing.denials.views import denial_report
from billing.guide.views import guide_form
from billing.reports.views import report_download, report_page
from billing.uploads import views

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("billing/uploads/<int:pk>/progress", views.upload_progress, name="billing-upload-progress"),
    path("billing/uploads/<int:pk>/results.xlsx", views.upload_result, name="billing-upload-result"),
    path("billing/guide/", guide_form, name="billing-guide-form"),
    path("billing/report/", report_page, name="billing-report-page"),
    path("billing/reports/<int:pk>/download", report_download, name="billing-report-download"),
    path("billing/denials/", denial_report, name="billing-denial-report"),
    path("billing/x12-uploads/<int:pk>/progress", views.x12_upload_progress, name="billing-x12-upload-progress"),
    path("billing/x12-uploads/<int:pk>/results.jsonl", views.x12_upload_result, name="billing-x12-upload-result"),
]
