"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi``.

The top of the import chain (config -> models -> service | workers -> wsgi),
so it can attach the worker-side CLI to the web app's command line.
"""

from service import create_app
from workers.cli import smart_assign_commands

app = create_app()
app.cli.add_command(smart_assign_commands(lambda: app.extensions["herd.sessions"]))
