"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi`` (what ``./herd`` runs).

The top of the import chain (config -> models -> service | workers -> wsgi),
so it can attach the worker-side CLI to the web app's command line.
"""

import sys

from config import ConfigError
from service import create_app
from service.cli.doctor import attach
from workers.cli import smart_assign_commands
from workers.preview_cli import dry_run

try:
    app = create_app()
except ConfigError as exc:  # one line for the operator, not a traceback
    sys.exit(f"herd: {exc}")
app.cli.add_command(attach(smart_assign_commands(lambda: app.extensions["herd.sessions"])))
# ``--dry-run`` of the service's commands runs the workers' preview (service/cli/dry_run.py).
app.extensions["herd.preview"] = dry_run(lambda: app.extensions["herd.sessions"])
