"""Errors as `application/problem+json` (RFC 9457), carrying the CLI's error `code`."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(Exception):
    """Raised in a route to answer with a problem document instead of a result."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return problem_response(self.status, self.code, self.detail, self.headers)


def problem_response(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = {
        # The code names the problem type; the URN needs no server to resolve it.
        "type": f"urn:seqquiz:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    return Response(
        orjson.dumps(body), status, headers=dict(headers or {}), media_type=PROBLEM_JSON
    )
