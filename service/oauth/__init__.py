"""OAuth 2.0 client credentials: the token endpoint and the clients and secrets behind it."""
