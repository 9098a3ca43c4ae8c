"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi``.

The top of the import chain (config -> models -> service | workers -> wsgi),
so it can attach the worker-side CLI to the web app's command line.
"""

from service import create_app
from workers.cli import smart_assign_commands
from workers.recertify_cli import recertify_command

app = create_app()
smart_assign = smart_assign_commands(lambda: app.extensions["herd.sessions"])
smart_assign.add_command(recertify_command(lambda: app.extensions["herd.sessions"]))
app.cli.add_command(smart_assign)
