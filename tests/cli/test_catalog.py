"""`flask --app wsgi catalog list|set|add|reset`: a company's training catalog from the command line."""

from models.company_training import company_catalog


def run(app, *args):
    return app.test_cli_runner().invoke(args=["catalog", *[str(a) for a in args]])


def test_set_add_list_and_reset(app, tenant, sessions):
    result = run(app, "set", tenant.id, "cyber", "--cadence-months", "24", "--due-days", "45")
    assert result.exit_code == 0, result.output
    assert "CYBER: every 24 months, due 45 days." in result.output
    assert run(app, "add", tenant.id, "FIRE-SAFETY", "Fire Safety").exit_code == 0
    listing = run(app, "list", tenant.id).output
    assert "CYBER\tevery 24 months\tdue 45 days\tCybersecurity Awareness" in listing
    assert "FIRE-SAFETY\tonce\tdue company default\tFire Safety" in listing
    with sessions() as s:
        by_code = {t.code: t for t in company_catalog(s, tenant.id)}
    assert (by_code["CYBER"].cadence_months, by_code["CYBER"].due_days) == (24, 45)

    assert run(app, "set", tenant.id, "CYBER", "--once").output.startswith("CYBER: once")
    assert "back to the default" in run(app, "reset", tenant.id, "CYBER").output
    with sessions() as s:
        assert {t.code: t for t in company_catalog(s, tenant.id)}["CYBER"].cadence_months == 12


def test_refusals_say_why(app, tenant):
    assert "no company 99" in run(app, "list", 99).output
    assert "already in the catalog" in run(app, "add", tenant.id, "CYBER", "Again").output
    assert "1 to 120 months" in run(app, "set", tenant.id, "CYBER", "--cadence-months", "500").output
    assert "letters, digits" in run(app, "add", tenant.id, "bad code!", "X").output
    assert "no default to go back to" in run(app, "reset", tenant.id, "OWN-1").output


def test_lead_time_is_set_per_company(app, tenant, sessions):
    from models import Company

    assert "14 days" in run(app, "lead-days", tenant.id, 14).output
    assert run(app, "lead-days", tenant.id, 999).exit_code != 0
    with sessions() as s:
        assert s.get(Company, tenant.id).lead_days == 14


def test_a_cadence_below_the_legal_minimum_needs_its_flag(app, tenant, sessions):
    """New York requires yearly harassment training (HP-NY-EMP): 36 months is saved only once confirmed."""
    refused = run(app, "set", tenant.id, "HP-NY-EMP", "--cadence-months", "36")
    assert refused.exit_code != 0
    assert "at least every 12 months" in refused.output and "--below-legal-minimum" in refused.output
    assert "below the legal minimum" in run(app, "set", tenant.id, "HP-NY-EMP", "--once").output
    with sessions() as s:
        assert {t.code: t for t in company_catalog(s, tenant.id)}["HP-NY-EMP"].cadence_months == 12
    kept = run(app, "set", tenant.id, "HP-NY-EMP", "--cadence-months", "36", "--below-legal-minimum")
    assert kept.exit_code == 0, kept.output
    assert run(app, "set", tenant.id, "HP-NY-EMP", "--cadence-months", "12").exit_code == 0  # within the law: no flag
    with sessions() as s:
        assert {t.code: t for t in company_catalog(s, tenant.id)}["HP-NY-EMP"].cadence_months == 12
