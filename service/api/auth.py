"""Bearer token -> Caller for the API, where the token alone names the company.

``service.auth.authenticate`` checks a token against a company id (the one in
the SCIM tenant URL). The API has no company in its URLs: it asks for the token's
own company (``TOKENS_OWN_COMPANY``), in the same one statement, and ``service.auth``
does every other check it does for SCIM (hash, revoked, expired, OAuth only, last
used), so both surfaces accept exactly the same tokens.
"""

from flask import g

from service import auth as token_auth
from service.errors import Unauthorized

DETAIL_INVALID = (
    "The access token is not valid: it is unknown, revoked or expired. "
    "Create a new token in Settings > Integrations > API."
)


def authenticate():
    """Return the Caller of this request (also stored in ``g.caller``) or raise a 401."""
    try:
        return token_auth.authenticate(token_auth.TOKENS_OWN_COMPANY)
    except Unauthorized as err:
        if err.detail == token_auth.DETAIL_MISSING:
            raise
        # The SCIM message talks about the tenant URL, which API callers do not use.
        raise Unauthorized(DETAIL_INVALID, headers=err.headers) from None


def caller():
    """The authenticated Caller (set by the blueprint before every route)."""
    return g.caller
