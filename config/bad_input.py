"""Bad input gets a clear 4xx naming the field, never a 500: text that cannot be stored, JSON nested too deep,
bodies over the size limit, year filters out of range.

- text that cannot be stored (config/unstorable.py: NUL, lone surrogates) is refused naming its field.
- ``StrictJSONParser``: DRF's JSON parser, plus 400 for JSON nested deeper than ``MAX_JSON_DEPTH`` (Python's
  decoder raises RecursionError, not ValueError, at about 1,000 levels) and for bad text, naming the field.
- ``BadInputMiddleware``: NUL in the path or a query parameter (both reach database look-ups: the admin's
  search, ``?practice=``) is a 400 naming the parameter; a request body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` sent
  to the API is a 413 in JSON, not Django's HTML page.
- ``SafeChangeListMixin``: a date-hierarchy or year filter out of the calendar's range (``checked_at__year=9999``
  makes Django compute year 10000) is an "incorrect lookup" (the admin's ``?e=1`` page), not a 500.

Written here because no library does these checks for DRF and the admin; each is a few lines over the
framework's own hooks.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from config.unstorable import MAX_JSON_DEPTH, NUL_OR_SURROGATE, bad_text, has_bad_text, too_deep


class StrictJSONParser(JSONParser):
    """JSON bodies of the API: nested at most MAX_JSON_DEPTH deep, and no text that cannot be stored."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested too deep: at most {MAX_JSON_DEPTH} levels") from None
        if too_deep(data):
            raise ParseError(f"JSON parse error - nested too deep: at most {MAX_JSON_DEPTH} levels")
        path = bad_text(data)
        if path is not None:
            raise ValidationError({path or "non_field_errors": [NUL_OR_SURROGATE]})
        request = (parser_context or {}).get("request")
        if request is not None:
            request.text_checked = True  # the claim check need not search the body's text again
        return data


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _refuse(request, status: int, field: str, message: str):
    if _wants_json(request):
        return JsonResponse({field: [message]} if field else {"detail": message}, status=status)
    title = "Request too large" if status == 413 else "Bad request"
    return HttpResponse(
        f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<p>{escape((field + ': ') if field else '')}{escape(message)}</p></body></html>",
        status=status,
    )


def _too_large_message() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return f"The request body is too large: at most {limit / 1048576:.1f} MB."


class BadInputMiddleware:
    """Refuse input that would reach the database or the body parser as a 500 (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return _refuse(request, 400, "", "The address contains a NUL character.")
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                name = key.replace("\x00", "") or "(parameter)"
                return _refuse(request, 400, name, "contains a NUL character.")
        if request.path.startswith("/api/") and self._declared_too_large(request):
            return _refuse(request, 413, "", _too_large_message())
        return self.get_response(request)

    @staticmethod
    def _declared_too_large(request) -> bool:
        """A body (not a multipart upload, whose files do not count) declared larger than the limit: refused before
        a byte of it is read."""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or request.content_type == "multipart/form-data":
            return False
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        return length > limit

    def process_exception(self, request, exception):
        """A body found too large while read (no Content-Length, or a multipart's fields): JSON for the API."""
        if not _wants_json(request):
            return None
        if isinstance(exception, RequestDataTooBig):
            return _refuse(request, 413, "", _too_large_message())
        if isinstance(exception, TooManyFieldsSent):
            return _refuse(request, 400, "", "Too many fields in the request.")
        return None


_DATE_LOOKUPS = ("__year", "__month", "__day", "__gte", "__gt", "__lte", "__lt", "__range")


class SafeChangeListMixin:
    """ModelAdmin mixin: a date filter out of the calendar's range is an incorrect lookup (the admin's ``?e=1``
    page), not a 500. Only when the request filters by a date part: any other ValueError is a bug and stays one."""

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except (ValueError, OverflowError) as exc:
            if not any(lookup in key for key in request.GET for lookup in _DATE_LOOKUPS):
                raise
            raise IncorrectLookupParameters(exc) from exc


def clean_storable_text(value: str) -> str:
    """For form fields that turn text into a list (their result is no string, so Django's own NUL check cannot see
    it): text that cannot be stored is a form error on the field."""
    if value and has_bad_text(value):
        raise forms.ValidationError(NUL_OR_SURROGATE, code="null_characters_not_allowed")
    return value
