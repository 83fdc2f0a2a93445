"""Small views beside the admin: batch-upload progress and results. Each requires its permission and only
serves the user's own practices' files."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404

from billing.models import BatchUpload, X12Upload
from practice.selectors import practices_for


def _upload(request, pk: int) -> BatchUpload:
    return get_object_or_404(BatchUpload, pk=pk, practice__in=practices_for(request.user))


@login_required
@permission_required("billing.view_batchupload", raise_exception=True)
def upload_progress(request, pk: int):
    upload = _upload(request, pk)
    return JsonResponse(
        {
            "status": upload.status,
            "percent": upload.percent,
            "done": upload.done_claims,
            "total": upload.total_claims,
            "counts": upload.counts,
            "error": upload.error,
        }
    )


@login_required
@permission_required("billing.view_batchupload", raise_exception=True)
def upload_result(request, pk: int):
    upload = _upload(request, pk)
    if not upload.result_file:
        raise Http404("no results yet")
    name = f"checked-{(upload.original_name or 'claims').rsplit('.', 1)[0]}.xlsx"
    return FileResponse(upload.result_file.open("rb"), as_attachment=True, filename=name)


def _x12_upload(request, pk: int) -> X12Upload:
    return get_object_or_404(X12Upload, pk=pk, practice__in=practices_for(request.user))


@login_required
@permission_required("billing.view_x12upload", raise_exception=True)
def x12_upload_progress(request, pk: int):
    from billing.x12.jobs import progress

    return JsonResponse(progress(_x12_upload(request, pk)))


@login_required
@permission_required("billing.view_x12upload", raise_exception=True)
def x12_upload_result(request, pk: int):
    upload = _x12_upload(request, pk)
    if not upload.result_file:
        raise Http404("no results yet")
    name = f"imported-{(upload.original_name or 'x12').rsplit('.', 1)[0]}.jsonl"
    return FileResponse(upload.result_file.open("rb"), as_attachment=True, filename=name)
