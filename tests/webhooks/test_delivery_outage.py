"""The webhook tasks while the database is unreachable: one log line each, no traceback, and
the next beat tick tries again (the database drill fails on any traceback)."""

import pytest
from sqlalchemy import create_engine

from models import make_session_factory


@pytest.mark.parametrize(
    "task, args, what",
    [
        ("dispatch", (), "webhook dispatch"),
        ("due_soon", (), "due_soon webhooks"),
        ("deliver_endpoint", (1,), "webhook delivery"),
    ],
)
def test_a_webhook_task_with_the_database_away_logs_one_line_and_returns(monkeypatch, caplog, task, args, what):
    from workers import webhooks

    away = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    monkeypatch.setattr(webhooks, "sessions", lambda: make_session_factory(away))
    try:
        assert getattr(webhooks, task).run(*args) == 0
    finally:
        away.dispose()
    lines = [r for r in caplog.records if r.name == "workers.webhooks"]
    assert [r.getMessage() for r in lines] == [
        f"{what}: database unreachable (OperationalError), waiting for the next run"
    ]
    assert lines[0].exc_info is None
