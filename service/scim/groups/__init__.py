"""The SCIM Group resource: routes, store, schema, mapping, filter resolver, memberships."""
