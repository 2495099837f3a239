"""errors.py - Google's error shapes.

API errors are google.rpc.Status in JSON:
  {"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT",
             "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                          "fieldViolations": [{"field": ..., "description": ...}]}]}}
OAuth endpoints (oauth2.googleapis.com/token, sts.googleapis.com/v1/token)
answer RFC 6749 errors instead: {"error": "invalid_grant", "error_description": "..."}.
"""

HTTP_OF = {
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409, "ABORTED": 409, "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499, "INTERNAL": 500, "UNKNOWN": 500, "DATA_LOSS": 500,
    "NOT_IMPLEMENTED": 501, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}
# google.rpc.Code numbers (an operation's `error.code` carries these, not HTTP codes)
RPC_CODE = {
    "OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9, "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12,
    "INTERNAL": 13, "UNAVAILABLE": 14, "DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}
STATUS_OF_HTTP = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                  404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                  501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class ApiError(Exception):
    """A google.rpc.Status answer."""

    def __init__(self, status, message, details=None, headers=None, http=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers or {}
        self.http = http or HTTP_OF.get(status, 500)

    def body(self):
        err = {"code": self.http, "message": self.message, "status": self.status}
        if self.details:
            err["details"] = self.details
        return {"error": err}

    def rpc_status(self):
        """As an operation's `error` (google.rpc.Status with the rpc code)."""
        st = {"code": RPC_CODE.get(self.status, 2), "message": self.message}
        if self.details:
            st["details"] = self.details
        return st


class OAuthError(Exception):
    """An RFC 6749 error answer from a token endpoint."""

    def __init__(self, error, description, http=400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.http = http

    def body(self):
        return {"error": self.error, "error_description": self.description}


def bad_request(message, violations=None):
    """400 INVALID_ARGUMENT with a google.rpc.BadRequest detail."""
    fv = []
    for field, desc in violations or [(None, None)]:
        v = {}
        if field:
            v["field"] = field
        v["description"] = desc or message
        fv.append(v)
    return ApiError("INVALID_ARGUMENT", message,
                    [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": fv}])


def error_info(reason, domain="googleapis.com", metadata=None):
    d = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": domain}
    if metadata:
        d["metadata"] = metadata
    return d


def not_found(message):
    return ApiError("NOT_FOUND", message)


def already_exists(message):
    return ApiError("ALREADY_EXISTS", message)


def failed_precondition(message):
    return ApiError("FAILED_PRECONDITION", message)
