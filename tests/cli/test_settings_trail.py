"""Settings changed with ``./herd`` reach the admin trail (Activity › Admin changes) as the
dashboard's do: the same setting, summary, before and after, with who = the operator's CLI."""

import pytest
from sqlalchemy import select

from models import AccessToken, SettingsChange
from service.cli.doctor import attach
from workers.cli import smart_assign_commands

CLI = "CLI (operator)"


@pytest.fixture()
def herd(app):
    """``./herd ARGS...``: the output of a command that must succeed."""
    app.cli.add_command(attach(smart_assign_commands(lambda: app.extensions["herd.sessions"])))

    def run(*args):
        result = app.test_cli_runner().invoke(args=[str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.fixture()
def trail(sessions):
    """The company's trail so far, oldest first: ``(actor, setting, summary, before, after)``."""

    def read(company_id=7):
        with sessions() as s:
            changes = s.scalars(
                select(SettingsChange).where(SettingsChange.company_id == company_id).order_by(SettingsChange.id)
            )
            return [(c.actor, c.setting, c.summary, c.before, c.after) for c in changes]

    return read


def test_the_groups_switch(herd, tenant, trail):
    herd("companies", "groups", tenant.id, "--enable")
    herd("companies", "groups", tenant.id, "--enable")  # already on: nothing changed, no entry
    herd("companies", "groups", tenant.id, "--disable")
    assert trail() == [
        (CLI, "groups", "Group provisioning turned on", {"enabled": False}, {"enabled": True}),
        (CLI, "groups", "Group provisioning turned off", {"enabled": True}, {"enabled": False}),
    ]


def test_group_rules_added_and_removed(herd, tenant, trail):
    herd("companies", "group-rule", tenant.id, "Managers", "hp-all-sup")
    herd("companies", "group-rule", tenant.id, "Managers", "HP-ALL-SUP")  # exists: no entry
    herd("companies", "group-rule", tenant.id, "Managers", "hp-all-sup", "--remove")
    herd("companies", "group-rule", tenant.id, "Managers", "HP-ALL-SUP", "--remove")  # no such rule
    rule = {"group": "Managers", "training_code": "HP-ALL-SUP"}
    assert trail() == [
        (CLI, "group_rules", "Group rule added", None, rule),
        (CLI, "group_rules", "Group rule removed", rule, None),
    ]


def test_the_attribute_mapping(herd, tenant, trail):
    herd("companies", "mapping", tenant.id, "--set", "state=extension:stat")
    herd("companies", "mapping", tenant.id)  # shown, not changed
    herd("companies", "mapping", tenant.id, "--reset-all")
    (_, setting, summary, before, after), (*_, reset_summary, reset_before, reset_after) = trail()
    assert (setting, summary) == ("mapping", "Attribute mapping changed")
    assert after["state"] == ["extension:stat"] and before["state"] != after["state"]
    assert before["country"] == after["country"]  # the whole mapping, as the dashboard records it
    assert (reset_summary, reset_before, reset_after) == ("Attribute mapping reset to the defaults", after, before)
    assert {actor for actor, *_ in trail()} == {CLI}


def test_access_tokens_created_and_revoked_by_name_never_by_value(herd, tenant, trail, sessions):
    secret = herd("tokens", "create", tenant.id, "--name", "Okta").strip().splitlines()[-1]
    with sessions() as s:
        token = s.scalars(select(AccessToken).where(AccessToken.name == "Okta")).one()
    herd("tokens", "revoke", token.id)
    herd("tokens", "revoke", token.id)  # already revoked: no second entry
    described = {"name": "Okta", "id": token.id, "prefix": token.display_prefix, "expires_at": None}
    assert trail() == [
        (CLI, "token", "Access token “Okta” created", None, described),
        (CLI, "token", "Access token “Okta” revoked", described, None),
    ]
    assert secret not in repr(trail())


def test_catalog_edits(herd, tenant, trail):
    herd("catalog", "set", tenant.id, "cyber", "--cadence-months", "24", "--due-days", "45")
    herd("catalog", "add", tenant.id, "FIRE", "Fire Safety", "--cadence-months", "12")
    herd("catalog", "reset", tenant.id, "CYBER")
    herd("catalog", "reset", tenant.id, "CYBER")  # nothing left to reset: no entry
    default = {"title": "Cybersecurity Awareness", "cadence_months": 12, "due_days": None}
    edited = {**default, "cadence_months": 24, "due_days": 45}
    assert trail() == [
        (CLI, "catalog", "CYBER edited", default, edited),
        (CLI, "catalog", "FIRE added", None, {"title": "Fire Safety", "cadence_months": 12, "due_days": None}),
        (CLI, "catalog", "CYBER reset to the default", edited, default),
    ]


def test_lead_time(herd, tenant, trail):
    herd("catalog", "lead-days", tenant.id, 14)
    assert trail() == [
        (CLI, "lead_days", "Recertification lead time (days) changed", {"lead_days": 30}, {"lead_days": 14})
    ]


def test_due_period_and_industry(herd, tenant, trail):
    herd("catalog", "company", tenant.id, "--due-days", "14", "--industry", "hospitality")
    herd("catalog", "company", tenant.id, "--due-days", "14")  # the same: no entry; industry not given
    assert trail() == [
        (CLI, "due_period", "Due period (days) changed", {"due_days": 30}, {"due_days": 14}),
        (CLI, "industry", "Industry changed", {"industry": None}, {"industry": "hospitality"}),
    ]


def test_value_aliases(herd, tenant, trail):
    herd("smart-assign", "alias", tenant.id, "state", "Calif.", "US-CA")
    herd("smart-assign", "alias", tenant.id, "state", "Calif.", "--remove")
    assert trail() == [
        (CLI, "aliases", "Alias saved: State “Calif.” reads as US-CA", {"state": {}}, {"state": {"calif": "US-CA"}}),
        (CLI, "aliases", "Alias removed: State “Calif.”", {"state": {"calif": "US-CA"}}, {"state": {}}),
    ]


def test_oauth_clients_and_secrets_by_name_and_prefix_never_by_value(herd, tenant, trail):
    lines = herd("oauth-clients", "create", tenant.id, "--name", "Gallery").strip().splitlines()
    client_id, first = lines[-2].split(": ")[1], lines[-1].split(": ")[1]
    second = herd("oauth-clients", "add-secret", client_id).strip().splitlines()[-1].split(": ")[1]
    herd("oauth-clients", "revoke-secret", client_id, first[:8])
    herd("oauth-clients", "oauth-only", tenant.id, "--on", "--token-minutes", "120")
    herd("oauth-clients", "disable", client_id)
    herd("oauth-clients", "disable", client_id)  # already disabled: no second entry
    entries = trail()
    assert [(actor, setting, summary) for actor, setting, summary, *_ in entries] == [
        (CLI, "oauth", "OAuth client “Gallery” created"),
        (CLI, "oauth", "Secret added to OAuth client “Gallery”"),
        (CLI, "oauth", "Secret of OAuth client “Gallery” revoked"),
        (CLI, "oauth", "OAuth settings changed"),
        (CLI, "oauth", "OAuth client “Gallery” disabled"),
    ]
    assert entries[0][4] == {"client_id": client_id, "name": "Gallery"}
    assert entries[3][3:] == ({"oauth_only": False, "token_minutes": 60}, {"oauth_only": True, "token_minutes": 120})
    assert entries[4][3] == {"client_id": client_id, "enabled": True}
    assert first not in repr(entries) and second not in repr(entries)
