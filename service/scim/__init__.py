"""SCIM 2.0 (RFC 7643/7644): the shared protocol machinery here, one subpackage per resource type (users/, groups/)."""
