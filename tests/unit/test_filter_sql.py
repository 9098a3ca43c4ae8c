"""Filter AST -> SQL, run against a real database (SQLite; PostgreSQL when DATABASE_URL says so).

Each case asserts which rows match, and that the in-memory evaluator
(``filters.matches``) agrees with SQL on the same documents, so the two
never drift apart.
"""

import os
import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB

from models.db import driver_url
from service.scim.errors import InvalidFilter
from service.scim.filter_match import matches
from service.scim.filter_sql import like_pattern, to_clause
from service.scim.filters import parse_filter
from service.scim.paths import AttrPath

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"

DOCS = {
    "u1": {
        "userName": "JDoe@Acme.example",
        "active": True,
        "displayName": "Jo Doe",
        "title": "Boss",
        "nickName": None,
        "name": {"givenName": "Jo", "familyName": "Doe"},
        "emails": [
            {"type": "work", "value": "jdoe@acme.example", "primary": True},
            {"type": "home", "value": "jo@home.example"},
        ],
        "tags": ["red", "blue"],
        "meta": {"created": "2024-01-01T00:00:00Z"},
        ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "u2"}},
        CUSTOM: {"state": "California", "level": 3, "flag": True},
    },
    "u2": {
        "userName": "kim@acme.example",
        "active": False,
        "displayName": "Kim Lee",
        "title": "",
        "name": {"givenName": "Kim"},
        "emails": [{"type": "home", "value": "kim@home.example"}],
        "roles": [],
        "meta": {"created": "2024-03-01T00:00:00Z"},
        ENTERPRISE: {"employeeNumber": "9"},
        CUSTOM: {"state": "Texas", "level": 5, "flag": False},
    },
    "u3": {
        "userName": "pat_100%@acme.example",
        "name": {},
        "phoneNumbers": [{"value": "555"}],
        "meta": {"created": "2024-06-01T12:30:00Z"},
    },
    "u4": {
        "userName": "lee@other.example",
        "active": True,
        "displayName": "Dr. Lee",
        "title": "Dr",
        "emails": [{"type": "work", "value": "LEE@other.example"}],
        "tags": ["Blue"],
        "meta": {"created": "2025-01-01T00:00:00Z"},
        CUSTOM: {"state": "california", "level": "7", "flag": "true"},
    },
}
ALL = set(DOCS)

MULTI_VALUED = {"emails", "phonenumbers", "addresses", "roles", "members", "tags", "groups"}
CANONICAL = {
    name.lower(): name
    for name in [
        "userName",
        "displayName",
        "title",
        "nickName",
        "name",
        "givenName",
        "familyName",
        "emails",
        "type",
        "value",
        "primary",
        "tags",
        "roles",
        "phoneNumbers",
        "meta",
        "created",
        "employeeNumber",
        "manager",
        "state",
        "level",
        "flag",
        ENTERPRISE,
        CUSTOM,
    ]
}


class Resolver:
    """A test resolver shaped like the one the User store provides."""

    def __init__(self, table, dialect_name):
        self.table = table
        self.dialect_name = dialect_name
        self.document = table.c.resource
        self.columns = {
            (None, "username", None): (table.c.user_name_lower, "lower_string"),
            (None, "displayname", None): (table.c.display_name, "ci_string"),
            (None, "id", None): (table.c.id, "string"),
            (None, "active", None): (table.c.active, "bool"),
            (None, "meta", "created"): (table.c.created_at, "datetime"),
        }

    def column(self, path: AttrPath):
        _urn, attr, sub = path.key()
        if path.is_core:
            return self.columns.get((None, attr, sub))
        return None

    def multi_valued(self, path: AttrPath) -> bool:
        return path.is_core and path.attr.lower() in MULTI_VALUED

    def json_key(self, path: AttrPath) -> list[str]:
        names = [] if path.is_core else [path.urn]
        names += [path.attr] + ([path.sub] if path.sub else [])
        return [CANONICAL.get(name.lower(), name) for name in names]


def _engines():
    params = ["sqlite"]
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        params.append("postgresql")
    return params


@pytest.fixture(scope="module", params=_engines())
def db(request, tmp_path_factory):
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('filter_sql')}/test.db")
    else:
        engine = sa.create_engine(driver_url(os.environ["DATABASE_URL"]))
    metadata = sa.MetaData()
    table = sa.Table(
        f"filter_sql_test_{uuid.uuid4().hex[:10]}",
        metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("company_id", sa.Integer, nullable=False),
        sa.Column("user_name_lower", sa.String(255)),
        sa.Column("display_name", sa.String(255)),
        sa.Column("active", sa.Boolean),
        sa.Column("created_at", sa.DateTime),
        sa.Column("resource", sa.JSON().with_variant(JSONB(), "postgresql")),
    )
    metadata.create_all(engine)
    rows = []
    for ident, doc in DOCS.items():
        rows.append(
            {
                "id": ident,
                "company_id": 1,
                "user_name_lower": doc["userName"].lower(),
                "display_name": doc.get("displayName"),
                "active": doc.get("active"),
                "created_at": datetime.fromisoformat(doc["meta"]["created"]).replace(tzinfo=None),
                "resource": doc,
            }
        )
    # Another company's twin of u1: callers scope by company, the clause must not care.
    rows.append(dict(rows[0], id="other", company_id=2))
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    yield engine, table, Resolver(table, engine.dialect.name)
    metadata.drop_all(engine)
    engine.dispose()


def run(db, text):
    engine, table, resolver = db
    clause = to_clause(parse_filter(text), resolver)
    query = sa.select(table.c.id).where(table.c.company_id == 1).where(clause)
    with engine.connect() as conn:
        return set(conn.scalars(query))


CASES = [
    # mapped columns
    ('userName eq "jdoe@acme.example"', {"u1"}),
    ('USERNAME eq "JDOE@ACME.EXAMPLE"', {"u1"}),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "kim@acme.example"', {"u2"}),
    ('userName ne "jdoe@acme.example"', {"u2", "u3", "u4"}),
    ('userName sw "JDOE"', {"u1"}),
    ('userName ew "@ACME.example"', {"u1", "u2", "u3"}),
    ('userName co "_100%"', {"u3"}),  # LIKE wildcards are escaped
    ('userName co "%"', {"u3"}),
    ('userName co "_"', {"u3"}),
    ('userName gt "l"', {"u3", "u4"}),
    ('userName le "kim@acme.example"', {"u1", "u2"}),
    ("userName pr", ALL),
    ('displayName eq "JO DOE"', {"u1"}),
    ('displayName co "lee"', {"u2", "u4"}),
    ("displayName pr", {"u1", "u2", "u4"}),
    ('displayName ne "jo doe"', {"u2", "u3", "u4"}),  # u3 has none: ne is true
    ("displayName eq null", {"u3"}),
    ("active eq true", {"u1", "u4"}),
    ("active eq false", {"u2"}),
    ("active ne true", {"u2", "u3"}),
    ("active pr", {"u1", "u2", "u4"}),
    ("not (active eq true)", {"u2", "u3"}),
    ('meta.created gt "2024-03-01T00:00:00Z"', {"u3", "u4"}),
    ('meta.created ge "2024-03-01T00:00:00Z"', {"u2", "u3", "u4"}),
    ('meta.created le "2024-03-01T01:00:00+01:00"', {"u1", "u2"}),  # = 00:00Z
    ('meta.created le "2024-01-01T00:00:00Z"', {"u1"}),
    ('meta.created eq "2024-06-01T12:30:00Z"', {"u3"}),
    ('meta.created ne "2024-06-01T12:30:00Z"', {"u1", "u2", "u4"}),
    # logic
    ('userName sw "jdoe" or userName sw "kim"', {"u1", "u2"}),
    ('userName ew "acme.example" and active eq true', {"u1"}),
    ('userName ew "acme.example" and not (active eq true)', {"u2", "u3"}),
    ('active eq true or active eq false and userName sw "kim"', {"u1", "u2", "u4"}),
    ('(active eq true or active eq false) and userName sw "kim"', {"u2"}),
    ('not (title eq "Boss")', {"u2", "u3", "u4"}),
    ('not (title eq "Boss" or title eq "Dr")', {"u2", "u3"}),
    ('not (not (title eq "Boss"))', {"u1"}),
    # JSON document: single-valued
    ('title eq "boss"', {"u1"}),
    ('title ne "boss"', {"u2", "u3", "u4"}),
    ("title pr", {"u1", "u4"}),  # "" is not present
    ("title eq null", {"u2", "u3"}),
    ("nickName pr", set()),
    ("nickName eq null", ALL),
    ('title sw "B"', {"u1"}),
    ('title gt "c"', {"u4"}),
    ('name.givenName eq "jo"', {"u1"}),
    ('Name.GivenName co "I"', {"u2"}),
    ("name.familyName pr", {"u1"}),
    ("name pr", {"u1", "u2"}),  # {} is not present
    ('name[givenName eq "kim"]', {"u2"}),
    ('unknownAttribute eq "x"', set()),
    ('unknownAttribute ne "x"', ALL),
    # extension attributes
    (f'{ENTERPRISE}:employeeNumber eq "701984"', {"u1"}),
    (f'{ENTERPRISE.upper()}:EMPLOYEENUMBER eq "9"', {"u2"}),
    (f"{ENTERPRISE}:employeeNumber pr", {"u1", "u2"}),
    (f'{ENTERPRISE}:manager.value eq "U2"', {"u1"}),
    (f'{CUSTOM}:state eq "california"', {"u1", "u4"}),
    (f'{CUSTOM}:state ne "texas"', {"u1", "u3", "u4"}),
    (f"{CUSTOM}:level gt 3", {"u2"}),  # "7" is a string: no numeric match
    (f"{CUSTOM}:level ge 3", {"u1", "u2"}),
    (f"{CUSTOM}:level eq 5", {"u2"}),
    (f'{CUSTOM}:level eq "7"', {"u4"}),
    (f"{CUSTOM}:level lt 4.5", {"u1"}),
    (f"{CUSTOM}:flag eq true", {"u1"}),
    (f"{CUSTOM}:flag eq false", {"u2"}),
    (f"{CUSTOM}:flag ne true", {"u2", "u3", "u4"}),
    (f'{CUSTOM}:flag eq "TRUE"', {"u4"}),  # the string, not the boolean
    ("urn:ietf:params:scim:schemas:extension:Other:2.0:User:state pr", set()),
    # multi-valued
    ('emails.value eq "JDOE@acme.example"', {"u1"}),
    ('emails.value eq "lee@other.example"', {"u4"}),
    ('emails co "home.example"', {"u1", "u2"}),  # no sub-attribute: value
    ('emails.type eq "work"', {"u1", "u4"}),
    ('emails.value ne "kim@home.example"', {"u1", "u3", "u4"}),
    ("emails pr", {"u1", "u2", "u4"}),
    ("emails eq null", {"u3"}),
    ("emails.primary eq true", {"u1"}),
    ("emails.primary pr", {"u1"}),
    ("roles pr", set()),  # [] is not present
    ('emails[type eq "work"].value eq "jdoe@acme.example"', {"u1"}),
    ('emails[type eq "work"].value eq "jo@home.example"', set()),  # same element
    ('emails[type eq "WORK" and value co "@ACME"]', {"u1"}),
    ('emails[type eq "work" or value ew "home.example"]', {"u1", "u2", "u4"}),
    ('emails[not (type eq "home")]', {"u1", "u4"}),
    ('emails[type eq "home" and primary eq true]', set()),
    ("emails[primary pr]", {"u1"}),
    ('not (emails[type eq "work"])', {"u2", "u3"}),
    ('emails[type eq "work"] and active eq true', {"u1", "u4"}),
    ('tags eq "BLUE"', {"u1", "u4"}),
    ('tags[value eq "red"]', {"u1"}),
    ('phoneNumbers.value sw "55"', {"u3"}),
    ('phoneNumbers[type eq "work"]', set()),
    # "ne null" means present, on every kind of attribute (RFC 7644 §3.4.2.2: null is unassigned)
    ("userName ne null", ALL),
    ("displayName ne null", {"u1", "u2", "u4"}),
    ("active ne null", {"u1", "u2", "u4"}),
    ("meta.created ne null", ALL),
    ("emails ne null", {"u1", "u2", "u4"}),
    ("emails.value ne null", {"u1", "u2", "u4"}),
    ("roles ne null", set()),  # [] is unassigned
    ("tags ne null", {"u1", "u4"}),
    ("title ne null", {"u1", "u4"}),  # "" is unassigned
    ("nickName ne null", set()),  # so is a stored null
    (f"{CUSTOM}:level ne null", {"u1", "u2", "u4"}),
    ("emails.type eq null", {"u3"}),
    ("tags eq null", {"u2", "u3"}),
    # strings order case-insensitively, on columns and in the document
    ('displayName lt "k"', {"u1", "u4"}),
    ('displayName ge "KIM LEE"', {"u2"}),
    ('title lt "c"', {"u1", "u2"}),  # "" sorts first
    ('title ge "D"', {"u4"}),
    ('emails.value lt "K"', {"u1"}),
    # a date-time without a time zone is UTC
    ('meta.created gt "2024-06-01T12:29:59"', {"u3", "u4"}),
    ('meta.created lt "2024-06-01T12:30:00"', {"u1", "u2"}),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_filter(db, text, expected):
    assert run(db, text) == expected
    # The in-memory evaluator means the same thing.
    assert {ident for ident, doc in DOCS.items() if matches(parse_filter(text), doc)} == expected


def test_company_scope_is_the_callers(db):
    engine, table, resolver = db
    clause = to_clause(parse_filter('userName eq "jdoe@acme.example"'), resolver)
    with engine.connect() as conn:
        assert set(conn.scalars(sa.select(table.c.id).where(clause))) == {"u1", "other"}
        # Counting in SQL works with the same clause (paging and totals come from the database).
        assert conn.scalar(sa.select(sa.func.count()).select_from(table).where(clause)) == 2


def test_many_conditions(db):
    text = " or ".join(f'userName eq "nobody{i}@x"' for i in range(100)) + ' or emails[type eq "home"]'
    assert run(db, text) == {"u1", "u2"}


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('active gt "x"', "only eq, ne and pr apply"),
        ('active co "t"', "only eq, ne and pr apply"),
        ('active eq "maybe"', "true or false"),
        ('meta.created co "2024"', "is a date-time"),
        ('meta.created gt "yesterday"', "takes a date-time"),
        ("meta.created gt 5", "takes a date-time"),
        ("userName eq true", "is a string"),
    ],
)
def test_uncomparable(db, text, fragment):
    with pytest.raises(InvalidFilter) as info:
        run(db, text)
    assert fragment in info.value.detail
    assert info.value.detail.startswith("Unsupported filter: ")


def test_lenient_values(db):
    assert run(db, 'active eq "True"') == {"u1", "u4"}  # Entra's PATCH dialect spelling
    assert run(db, 'active eq "False"') == {"u2"}
    assert run(db, 'active ne "false"') == {"u1", "u3", "u4"}
    assert run(db, "id eq 1") == set()


def test_like_pattern():
    assert like_pattern("a%b_c\\d", "co") == "%a\\%b\\_c\\\\d%"
    assert like_pattern("x", "sw") == "x%"
    assert like_pattern("x", "ew") == "%x"


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_compiles_for_both_dialects(dialect):
    # No database needed: both branches always compile, even where only SQLite runs.
    metadata = sa.MetaData()
    table = sa.Table(
        "learners",
        metadata,
        sa.Column("id", sa.String(36)),
        sa.Column("user_name_lower", sa.String(255)),
        sa.Column("display_name", sa.String(255)),
        sa.Column("active", sa.Boolean),
        sa.Column("created_at", sa.DateTime),
        sa.Column("resource", sa.JSON().with_variant(JSONB(), "postgresql")),
    )
    resolver = Resolver(table, dialect.name)
    for text, _ in CASES:
        clause = to_clause(parse_filter(text), resolver)
        sql = str(sa.select(table.c.id).where(clause).compile(dialect=dialect))
        assert "learners" in sql
