"""Schemathesis hooks for `.ci/fuzz`: one check of our own, besides schemathesis' built-in ones.

`protected_needs_token`: an operation that declares `security` answers 401 to any request
sent without an `Authorization` header (the built-in `ignored_auth` only probes operations
whose authenticated request succeeded; this covers every request of the no-token run).
"""

import schemathesis
from schemathesis.core.parameters import ParameterLocation


@schemathesis.check
def protected_needs_token(ctx, response, case):
    """A protected operation answers 401 without a token."""
    if not case.operation.definition.raw.get("security"):
        return None
    if any(name.lower() == "authorization" for name in response.request.headers):
        return None
    # A path the router cannot match never reaches the operation (404 `no such route`).
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        return None
    if response.status_code != 401:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code} to a request "
            "without a token; a protected operation must answer 401"
        )
    return None
