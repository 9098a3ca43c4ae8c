"""What sits between the internet and the surfaces: the front door, request ids, input limits, error responses, failure records, health and metrics."""
