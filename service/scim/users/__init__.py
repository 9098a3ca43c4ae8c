"""The SCIM User resource (learners): routes, store, schema, mapping, filter resolver."""
