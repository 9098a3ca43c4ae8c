"""JSON admin API under /api/v1/, authenticated with company access tokens."""
