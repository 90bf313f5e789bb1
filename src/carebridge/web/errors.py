"""One error vocabulary, three renderings: JSON {code, message, details} under /api, a friendly
page in the UI, and (for /fhir, later) OperationOutcome."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from carebridge.errors import CareBridgeError
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _

log = logging.getLogger(__name__)

_HTTP_MESSAGES = {
    404: N_("there is no such page or resource"),
    405: N_("this address does not accept that method"),
}
_HTTP_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type"}


def _wants_json(request: Request) -> bool:
    path = request.url.path
    # DICOMweb clients are programs: they get the JSON error like the API, never a sign-in redirect.
    return (path.startswith(("/api/", "/dicomweb/")) or path == "/healthz"
            or "application/json" in request.headers.get("accept", ""))


def _retry_after(details) -> dict[str, str] | None:  # noqa: ANN001
    if isinstance(details, dict) and "retry_after" in details:
        return {"Retry-After": str(details["retry_after"])}
    return None


def error_response(request: Request, status: int, code: str, message: str, details=None) -> Response:
    headers = _retry_after(details)
    if _wants_json(request):
        return JSONResponse({"code": code, "message": message, "details": details}, status_code=status,
                            headers=headers)
    if status == 401:
        target = "/login/second-factor" if code == "second_factor_required" else "/login"
        next_path = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": f"{target}?next={next_path}"})
        return RedirectResponse(f"{target}?next={next_path}", status_code=303)
    from carebridge.web.templating import render

    return render(request, "error.html", {"status": status, "code": code, "message": message,
                                          "details": details}, status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict]:
    return [{"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
             "problem": err.get("msg", ""), "type": err.get("type", "")} for err in exc.errors()]


def install(app: FastAPI) -> None:
    @app.exception_handler(CareBridgeError)
    async def _domain(request: Request, exc: CareBridgeError) -> Response:
        return error_response(request, exc.status_code, exc.code, _(exc.message), exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = _validation_details(exc)
        fields = ", ".join(sorted({d["field"] for d in details if d["field"]}))
        message = _("invalid input") + (f": {fields}" if fields else "")
        return error_response(request, 422, "invalid_input", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
        return error_response(request, exc.status_code, code, _(message), None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal_error", _("something went wrong on our side"), None)
