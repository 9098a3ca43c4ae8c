"""A company's webhook endpoints, shared by the CLI, the dashboard and /api/v1 (flush only)."""
