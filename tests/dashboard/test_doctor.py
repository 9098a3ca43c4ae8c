"""The Smart Assign doctor page, its aliases, the new-connection banner, the learner page's
data-quality box and its manager links."""

from sqlalchemy import select

from models import Company, Learner, SettingsChange, value_aliases
from tests.dashboard.helpers import CUSTOM, post_learner, run_events, user_body

PAGE = "/dashboard/smart-assign/doctor"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_the_doctor_shows_each_unrecognised_value_with_its_count_source_and_the_fix(dash, tenant):
    for i in range(3):
        post_learner(tenant, f"c{i}@acme.example", state="Calif.")
    post_learner(tenant, "ok@acme.example")
    text = dash.get(PAGE).get_data(as_text=True)
    assert "25.0 %" in text  # the state of 1 learner in 4 read and recognised
    assert "“Calif.”" in text and f"{CUSTOM}:state" in text
    assert "HP-US-SUP (the generic US course)" in text
    assert f"target attribute {CUSTOM}:state" in text  # Entra's fix, with the URN it sends
    okta = dash.get(PAGE, query_string={"idp": "okta"}).get_data(as_text=True)
    assert "map user.state to addresses[type eq &#34;work&#34;].region" in okta


def test_an_alias_saved_on_the_page_completes_the_coverage(dash, tenant, sessions):
    post_learner(tenant, "c@acme.example", state="Calif.")
    resp = dash.post(f"{PAGE}/aliases", {"input": "state", "value": "Calif.", "to": "US-CA"}, page=PAGE)
    assert resp.status_code == 302
    with sessions() as s:
        assert value_aliases.of(s.get(Company, tenant.id).attribute_mapping) == {"state": {"calif": "US-CA"}}
    assert "Smart Assign reads every input of every active learner" in dash.get(PAGE).get_data(as_text=True)
    bad = dash.post(f"{PAGE}/aliases", {"input": "state", "value": "X", "to": "Atlantis"}, page=PAGE)
    assert bad.status_code == 400 and "not a state or province" in bad.get_data(as_text=True)
    dash.post(f"{PAGE}/aliases/remove", {"input": "state", "value": "calif"}, page=PAGE)
    with sessions() as s:
        assert s.get(Company, tenant.id).attribute_mapping is None
        trail = [
            (c.actor, c.setting, c.before, c.after)
            for c in s.scalars(select(SettingsChange).order_by(SettingsChange.id))
        ]
    # The admin trail: who saved and removed the alias, before and after (the refused one is not there).
    assert trail == [
        ("alice@acme.example", "aliases", {"state": {}}, {"state": {"calif": "US-CA"}}),
        ("alice@acme.example", "aliases", {"state": {"calif": "US-CA"}}, {"state": {}}),
    ]


def test_the_banner_shows_while_the_first_learners_lack_inputs(dash, tenant):
    post_learner(tenant, "ok@acme.example")
    assert 'id="doctor-banner"' not in dash.get("/dashboard/learners").get_data(as_text=True)
    post_learner(tenant, "nostate@acme.example", state="")
    text = dash.get("/dashboard/learners").get_data(as_text=True)
    assert 'id="doctor-banner"' in text and "1 arrived without a usable state" in text


def test_the_learner_page_tells_sent_nothing_from_not_recognised(dash, tenant):
    nothing = post_learner(tenant, "n@acme.example", state="", country="")
    garbled = post_learner(tenant, "g@acme.example", state="Calif.", learnerRole="Mgr")
    text = dash.get(f"/dashboard/learners/{nothing}").get_data(as_text=True)
    assert "State: sent nothing." in text and "Country: sent nothing." in text
    assert "not recognised" not in text
    text = dash.get(f"/dashboard/learners/{garbled}").get_data(as_text=True)
    assert "State: not recognised." in text and "“Calif.”" in text and "Role: not recognised." in text
    assert "Got instead: the non-supervisor version." in text
    ok = post_learner(tenant, "ok@acme.example")
    assert "Smart Assign read and recognised" in dash.get(f"/dashboard/learners/{ok}").get_data(as_text=True)


def test_the_learner_page_links_the_manager_and_the_direct_reports(dash, tenant, sessions):
    boss = post_learner(tenant, "boss@acme.example", given="Bea", family="Boss")
    body = user_body("rita@acme.example", given="Rita", family="Report")
    body[ENTERPRISE]["manager"] = {"value": "boss"}
    rita = tenant.post("Users", json=body).get_json()["id"]
    run_events(sessions)
    text = dash.get(f"/dashboard/learners/{rita}").get_data(as_text=True)
    assert f'href="/dashboard/learners/{boss}">Bea Boss</a>' in text
    text = dash.get(f"/dashboard/learners/{boss}").get_data(as_text=True)
    assert f'href="/dashboard/learners/{rita}">Rita Report</a>' in text
    with sessions() as s:
        assert s.scalar(select(Learner.manager_id).where(Learner.id == rita)) == boss
