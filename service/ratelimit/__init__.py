"""Rate limits: one budget per company on SCIM and /api/v1, sign-in throttles, and the Redis window counters behind them."""
