"""The README's first command, as a newcomer runs it: a fresh clone, `make run`, Entra's
Test Connection against the printed tenant URL and token, Ctrl-C, and nothing left behind.

The clone is of the commit under test (uncommitted changes are not in it). Its `.venv`
is a symlink to the virtualenv running this test, so `make run` finds its requirements
installed (the Makefile's stamp matches) instead of downloading them; everything else
is the real path: the Makefile, ./herd, preflight, migrations, the demo, honcho and
every process of Procfile.dev on the embedded default (SQLite and the embedded Redis).
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from harness.stack import free_port, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# Anything pointing this process at other services or modes must not leak into the newcomer's run.
CLEARED = ("DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL", "HERD_ENV", "PROMETHEUS_MULTIPROC_DIR", "SECRET_KEY")


def processes_under(directory):
    """Pids of live processes whose working directory is ``directory`` or inside it."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if cwd == str(directory) or cwd.startswith(f"{directory}/"):
            found.append(int(proc.name))
    return found


def port_free(port):
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_clone_make_run_test_connection_stop(tmp_path):
    clone = tmp_path / "herd"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("the code under test is not a git checkout: nothing to clone")
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", head.stdout.strip()], cwd=clone, check=True)
    (clone / ".venv").symlink_to(Path(sys.prefix))

    ports = {"PORT": free_port(), "FLOWER_PORT": free_port(), "EMBEDDED_REDIS_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update({k: str(v) for k, v in ports.items()})
    log_path = tmp_path / "make-run.log"
    with open(log_path, "wb") as log:
        make = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    output = lambda: log_path.read_text(errors="replace")  # noqa: E731

    class Make:
        name = "make run"

        def alive(self):
            return make.poll() is None

        def state(self):
            return f"exit {make.poll()}"

    try:
        wait_for(
            lambda: "Secret token:" in output(),
            120,
            interval=0.5,
            message="the demo token",
            on_timeout=output,
            procs=[Make()],
        )
        text = output()
        tenant = re.search(r"SCIM tenant URL: (\S+)", text).group(1)
        token = re.search(r"Secret token:\s+(\S+)", text).group(1)
        assert tenant == f"http://localhost:{ports['PORT']}/scim/v2/1"
        assert f"Dashboard:       http://localhost:{ports['PORT']}/dashboard/" in text

        # Entra's Test Connection: a userName that cannot exist, with the token pasted in.
        def test_connection():
            resp = requests.get(
                f"{tenant}/Users",
                params={"filter": f'userName eq "{uuid.uuid4()}"'},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            return resp if resp.status_code == 200 else None

        resp = wait_for(
            test_connection, 120, interval=0.5, message="Test Connection", on_timeout=output, procs=[Make()]
        )
        assert resp.headers["Content-Type"].startswith("application/scim+json")
        assert resp.json()["totalResults"] == 0 and resp.json()["Resources"] == []
    finally:
        # Ctrl-C in the terminal: SIGINT to the whole foreground process group.
        with_ctrl_c = make.poll() is None
        if with_ctrl_c:
            os.killpg(make.pid, signal.SIGINT)
        try:
            make.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait(timeout=10)
            pytest.fail(f"make run did not stop within 60 s of Ctrl-C\n{output()}")

    deadline = time.monotonic() + 15
    while processes_under(clone) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = processes_under(clone)
    assert left == [], f"still running after Ctrl-C: {left}\n{output()}"
    assert all(port_free(p) for p in ports.values()), f"a port is still taken: {ports}"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True)
    assert status.stdout == "", f"make run left the work tree dirty:\n{status.stdout}"
