"""Operator commands for dashboard accounts:
``./herd admins create|reset-password|unlock|sign-out|disable|enable``."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from models import Admin, utcnow
from service.cli.session import cli_session, company_id_argument, company_or_exit
from service.dashboard import accounts
from service.ratelimit import limiter

admins = AppGroup("admins", help="Dashboard accounts of company admins.")


def _admin(session, email):
    admin = session.scalar(select(Admin).where(Admin.email == accounts.normalize_email(email)))
    if admin is None:
        raise click.ClickException(f"no admin {email}")
    return admin


@admins.command("create")
@company_id_argument
@click.argument("email")
def create(company_id, email):
    """Create an admin; prints a one-time password (last line) to change at first sign-in."""
    email = accounts.normalize_email(email)
    if "@" not in email:
        raise click.ClickException(f"not an email address: {email!r}")
    with cli_session() as session:
        company_or_exit(session, company_id)
        if session.scalar(select(Admin.id).where(Admin.email == email)) is not None:
            raise click.ClickException(f"{email} is already an admin")
        admin, password = accounts.create_admin(session, company_id, email)
        session.commit()
        click.echo(f"Admin {admin.email} created for company {company_id}.")
        click.echo("One-time password (shown once; the admin chooses a new one at first sign-in):")
        click.echo(password)


@admins.command("reset-password")
@click.argument("email")
def reset_password(email):
    """Replace an admin's password with a one-time password (last line) and unlock the account."""
    with cli_session() as session:
        admin = _admin(session, email)
        password = accounts.reset_password(admin)
        session.commit()
        limiter.forget_sign_in_failures(current_app, admin.email)
        click.echo(f"New one-time password for {admin.email} (shown once):")
        click.echo(password)


@admins.command("unlock")
@click.argument("email")
def unlock(email):
    """Clear the failed sign-in counters that pause an account's sign-in (from every address)."""
    with cli_session() as session:
        admin = _admin(session, email)
        accounts.unlock(admin)
        session.commit()
        limiter.forget_sign_in_failures(current_app, admin.email)
        click.echo(f"{admin.email} is unlocked.")


@admins.command("sign-out")
@click.argument("email")
def sign_out(email):
    """End every dashboard session of an admin now (a lost laptop, a shared browser)."""
    with cli_session() as session:
        admin = _admin(session, email)
        accounts.end_sessions(session, admin.id)
        session.commit()
        click.echo(f"Every session of {admin.email} is ended.")


@admins.command("disable")
@click.argument("email")
def disable(email):
    """Disable an admin: its sessions end now and it cannot sign in until enabled again."""
    with cli_session() as session:
        admin = _admin(session, email)
        admin.disabled_at = admin.disabled_at or utcnow()
        accounts.end_sessions(session, admin.id)
        session.commit()
        click.echo(f"{admin.email} is disabled; its sessions are ended.")


@admins.command("enable")
@click.argument("email")
def enable(email):
    """Let a disabled admin sign in again."""
    with cli_session() as session:
        admin = _admin(session, email)
        admin.disabled_at = None
        session.commit()
        click.echo(f"{admin.email} is enabled.")
