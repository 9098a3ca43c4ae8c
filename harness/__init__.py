"""Real processes (redis-server, gunicorn, Celery worker and beat) for the end-to-end tests and the benchmarks."""
