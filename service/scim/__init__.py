"""SCIM 2.0 protocol under /scim/v2/{company_id}/ (RFC 7643, RFC 7644)."""
