"""A company's settings, shared by the operator CLI and the dashboard: catalog, attribute mapping, group rules. Flushes only; the caller commits."""
