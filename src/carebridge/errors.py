"""Errors that carry their meaning: a stable code, an HTTP status and details for the client."""

from __future__ import annotations

from typing import Any


class CareBridgeError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ConfigurationError(CareBridgeError):
    status_code = 500
    code = "configuration_error"


class InvalidInput(CareBridgeError):
    status_code = 422
    code = "invalid_input"


class NotAuthenticated(CareBridgeError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(CareBridgeError):
    status_code = 403
    code = "forbidden"


class NotFound(CareBridgeError):
    status_code = 404
    code = "not_found"


class Conflict(CareBridgeError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(CareBridgeError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(CareBridgeError):
    status_code = 415
    code = "unsupported_media_type"


class TooManyAttempts(CareBridgeError):
    status_code = 429
    code = "too_many_attempts"
