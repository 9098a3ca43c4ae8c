"""Filter grammar (RFC 7644 §3.4.2.2) and the in-memory evaluator."""

import pytest

from service.scim.errors import InvalidFilter, InvalidPath
from service.scim.filter_match import matches
from service.scim.filters import (
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    And,
    Compare,
    Not,
    Or,
    ValuePath,
    eq_defaults,
    operands,
    parse_filter,
    parse_value_path,
)
from service.scim.paths import AttrPath

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def P(name, sub=None, urn=None):
    return AttrPath(urn, name, sub)


def C(name, op, value=None, sub=None, urn=None):
    return Compare(P(name, sub, urn), op, value)


# -- parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ('userName eq "bjensen"', C("userName", "eq", "bjensen")),
        ('userName EQ "bjensen"', C("userName", "eq", "bjensen")),
        ('name.familyName co "O\'Malley"', C("name", "co", "O'Malley", sub="familyName")),
        ('userName sw "J"', C("userName", "sw", "J")),
        ('userName ew "n"', C("userName", "ew", "n")),
        ("title pr", C("title", "pr")),
        ("title PR", C("title", "pr")),
        ('meta.lastModified gt "2011-05-13T04:42:34Z"', C("meta", "gt", "2011-05-13T04:42:34Z", sub="lastModified")),
        ('meta.lastModified ge "2011-05-13T04:42:34Z"', C("meta", "ge", "2011-05-13T04:42:34Z", sub="lastModified")),
        ('meta.lastModified lt "2011-05-13T04:42:34Z"', C("meta", "lt", "2011-05-13T04:42:34Z", sub="lastModified")),
        ('meta.lastModified le "2011-05-13T04:42:34Z"', C("meta", "le", "2011-05-13T04:42:34Z", sub="lastModified")),
        ('userType ne "Employee"', C("userType", "ne", "Employee")),
        ("active eq true", C("active", "eq", True)),
        ("active eq FALSE", C("active", "eq", False)),
        ("manager eq null", C("manager", "eq", None)),
        ("age gt 30", C("age", "gt", 30)),
        ("age lt -1.5", C("age", "lt", -1.5)),
        ("score ge 1e3", C("score", "ge", 1000.0)),
        (r'x eq "a\"b\\c\u00e9\n"', C("x", "eq", 'a"b\\c\u00e9\n')),
        ('x eq ""', C("x", "eq", "")),
        ('x eq "a or b and c"', C("x", "eq", "a or b and c")),
        ('  userName   eq\t"a"  ', C("userName", "eq", "a")),
        (f'{ENTERPRISE}:manager.value eq "1"', C("manager", "eq", "1", sub="value", urn=ENTERPRISE)),
        (f'{CUSTOM}:state eq "California"', C("state", "eq", "California", urn=CUSTOM)),
        ('not eq "x"', C("not", "eq", "x")),  # an attribute may be called "not"
        ("notes pr", C("notes", "pr")),
        ("order pr", C("order", "pr")),
    ],
)
def test_parse_attribute_expressions(text, expected):
    assert parse_filter(text) == expected


def test_precedence_not_and_or():
    a, b, c = C("a", "pr"), C("b", "pr"), C("c", "pr")
    assert parse_filter("a pr or b pr and c pr") == Or(a, And(b, c))
    assert parse_filter("a pr and b pr or c pr") == Or(And(a, b), c)
    assert parse_filter("(a pr or b pr) and c pr") == And(Or(a, b), c)
    assert parse_filter("not (a pr) and b pr") == And(Not(a), b)
    assert parse_filter("NOT(a pr) OR b pr") == Or(Not(a), b)
    assert parse_filter("not a pr and b pr") == And(Not(a), b)
    assert parse_filter("not not (a pr)") == Not(Not(a))
    assert parse_filter("a pr and b pr and c pr") == And(And(a, b), c)
    assert parse_filter("(a pr)and(b pr)") == And(a, b)


def test_rfc_examples_parse():
    # RFC 7644 §3.4.2.2 example filters.
    for text in [
        'userName eq "bjensen"',
        'name.familyName co "O\'Malley"',
        'userName sw "J"',
        'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
        "title pr",
        'meta.lastModified gt "2011-05-13T04:42:34Z"',
        'title pr and userType eq "Employee"',
        'title pr or userType eq "Intern"',
        'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
        'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
        'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
        'userType eq "Employee" and (emails.type eq "work")',
        'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
    ]:
        parse_filter(text)


def test_value_paths():
    work = C("type", "eq", "work")
    assert parse_filter('emails[type eq "work" and value co "@x"]') == ValuePath(
        P("emails"), And(work, C("value", "co", "@x"))
    )
    assert parse_filter('emails[not (type eq "work")]') == ValuePath(P("emails"), Not(work))
    # Entra's matching attribute: same element must satisfy both parts.
    assert parse_filter('emails[type eq "work"].value eq "a@x"') == ValuePath(
        P("emails"), And(work, C("value", "eq", "a@x"))
    )
    assert parse_filter('emails[type eq "work"].value pr') == ValuePath(P("emails"), And(work, C("value", "pr")))
    assert parse_filter(f'{ENTERPRISE}:manager[value eq "1"]') == ValuePath(
        P("manager", urn=ENTERPRISE), C("value", "eq", "1")
    )
    assert parse_filter('userName eq "a" and emails[type eq "work"]') == And(
        C("userName", "eq", "a"), ValuePath(P("emails"), work)
    )


ERRORS = [
    ("", "empty"),
    ("   ", "empty"),
    ("userName eq", "expected a value after 'userName eq' at position 12"),
    ('userName foo "x"', "unknown operator 'foo' after 'userName' at position 10"),
    ("userName", "expected an operator"),
    ("userName eq bjensen", "'bjensen' is not a value at position 13"),
    ("userName eq 'bjensen'", "is not a value"),
    ('userName eq "bjensen', "bad string value"),
    (r'userName eq "bad\q"', "bad string value"),
    ('(userName eq "a"', "missing ')'"),
    ('userName eq "a")', "')' without a matching '('"),
    ('userName eq "a" userName eq "b"', "join expressions with 'and' or 'or'"),
    ('userName eq "a" and', "expected an attribute name after 'userName eq \"a\" and'"),
    ('userName eq "a" xor b pr', "unexpected 'xor'"),
    ('emails[type eq "work"', "missing ']'"),
    ('emails[type eq "work"]]', "unexpected ']'"),
    ('emails[emails.type eq "work"]', "inside '[...]'"),
    ('emails[type[value eq "a"]]', "cannot contain another"),
    ('emails.value[type eq "work"]', "cannot take a '[...]' filter"),
    ('emails[type eq "work"].', "expected a sub-attribute name"),
    ('emails[type eq "work"].value', "expected an operator"),
    ("active gt true", "'gt' cannot compare with true"),
    ("x lt null", "'lt' cannot compare with null"),
    ("x co 5", "'co' cannot compare with 5"),
    ("x eq 01", "unexpected '1' right after the value"),
    ('x eq "a"b', "right after the value"),
    ("a.b.c pr", "more than one '.'"),
    ("1abc pr", "not a valid attribute name"),
    (ENTERPRISE + " pr", "names a schema"),
    ("not", "expected an attribute name"),
    ("()", "expected an attribute name"),
    ("x eq 1" + "0" * 5000, "longer than"),
]


@pytest.mark.parametrize("text, fragment", ERRORS)
def test_errors(text, fragment):
    with pytest.raises(InvalidFilter) as info:
        parse_filter(text)
    assert fragment in info.value.detail
    assert info.value.detail.startswith("Unsupported filter: ")
    assert info.value.status == 400 and info.value.scim_type == "invalidFilter"


def test_not_a_string():
    with pytest.raises(InvalidFilter):
        parse_filter(None)


def test_hostile_nesting_is_refused_not_crashing():
    with pytest.raises(InvalidFilter, match="nested more than"):
        parse_filter("(" * 2000 + "a pr" + ")" * 2000)
    with pytest.raises(InvalidFilter, match="nested more than"):
        parse_filter("not " * 1000 + "a pr")
    with pytest.raises(InvalidFilter, match="nested more than"):
        parse_filter("not (" * 500 + "a pr" + ")" * 500)
    deep = "(" * MAX_DEPTH + "a pr" + ")" * MAX_DEPTH
    assert parse_filter(deep) == C("a", "pr")
    with pytest.raises(InvalidFilter, match="longer than"):
        parse_filter("a pr " + "and a pr " * 10000)
    with pytest.raises(InvalidFilter):
        parse_filter("[" * 3000)
    with pytest.raises(InvalidFilter):
        parse_filter('x eq "' + "\\" * 3000)


def test_long_chains_are_balanced():
    count = MAX_FILTER_LENGTH // len("a pr and ")
    expr = parse_filter(" and ".join(["a pr"] * count))
    assert len(operands(expr, And)) == count

    def depth(node):
        return 1 + max(depth(node.left), depth(node.right)) if isinstance(node, And) else 0

    assert depth(expr) <= 10
    assert matches(expr, {"a": 1})


# -- PATCH paths -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("members", (P("members"), None, None)),
        ("name.givenName", (P("name", "givenName"), None, None)),
        (f"{ENTERPRISE}:employeeNumber", (P("employeeNumber", urn=ENTERPRISE), None, None)),
        ('emails[type eq "work"].value', (P("emails"), C("type", "eq", "work"), "value")),
        ('emails[Type EQ "work"].Value', (P("emails"), C("Type", "eq", "work"), "Value")),
        ('members[value eq "abc"]', (P("members"), C("value", "eq", "abc"), None)),
        (
            'urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value',
            (P("emails", urn="urn:ietf:params:scim:schemas:core:2.0:User"), C("type", "eq", "work"), "value"),
        ),
        (
            'addresses[type eq "work" and primary eq true].locality',
            (P("addresses"), And(C("type", "eq", "work"), C("primary", "eq", True)), "locality"),
        ),
        ('members[value eq "a]b"]', (P("members"), C("value", "eq", "a]b"), None)),
    ],
)
def test_parse_value_path(text, expected):
    assert parse_value_path(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a.b.c",
        "emails[]",
        'emails[type eq "work"',
        'emails[type eq "work"] x',
        'emails[type eq "work"].value.x',
        'emails[type eq "work"].1',
        'emails.value[type eq "work"]',
        "emails[type zz 1]",
        'emails[type eq "work"][value eq "x"]',
    ],
)
def test_parse_value_path_errors(text):
    with pytest.raises(InvalidPath) as info:
        parse_value_path(text)
    assert info.value.detail.startswith("Invalid path: ")


# -- eq_defaults -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ('type eq "work"', {"type": "work"}),
        ('Type eq "work" and primary eq true', {"type": "work", "primary": True}),
        ('type eq "work" or type eq "home"', {}),
        ('type ne "work"', {}),
        ('not (type eq "work")', {}),
        ('type eq "work" and value co "x"', {}),
        ('type eq "a" and type eq "b"', {}),
        ("type eq null", {}),
    ],
)
def test_eq_defaults(text, expected):
    assert eq_defaults(parse_filter(text)) == expected


def test_eq_defaults_of_value_path_filter():
    _, expr, _ = parse_value_path('emails[type eq "work"].value')
    assert eq_defaults(expr) == {"type": "work"}
    assert eq_defaults(None) == {}


# -- matches -------------------------------------------------------------------------

USER = {
    "userName": "JDoe@Acme.example",
    "active": True,
    "displayName": "Jo Doe",
    "title": "",
    "age": 42,
    "name": {"givenName": "Jo", "familyName": "O'Doe"},
    "emails": [
        {"type": "work", "value": "jdoe@acme.example", "primary": True},
        {"type": "home", "value": "jo@home.example"},
    ],
    "tags": ["red", "Blue"],
    "meta": {"created": "2024-01-02T03:04:05Z", "lastModified": "2024-06-01T00:00:00+00:00"},
    ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "m-1"}},
    CUSTOM: {"state": "California"},
    "nickName": None,
}


@pytest.mark.parametrize(
    "text, expected",
    [
        ('username eq "jdoe@acme.example"', True),
        ('userName eq "other"', False),
        ('userName ne "other"', True),
        ('userName ne "JDOE@acme.example"', False),
        ('nickName ne "x"', True),  # ne is true when missing / null
        ('missing ne "x"', True),
        ('missing eq "x"', False),
        ("missing eq null", True),
        ("nickName eq null", True),
        ("userName eq null", False),
        ("userName ne null", True),
        ('userName co "ACME"', True),
        ('userName sw "jdoe@"', True),
        ('userName ew ".EXAMPLE"', True),
        ('userName sw "acme"', False),
        ("title pr", False),
        ("nickName pr", False),
        ("userName pr", True),
        ("name pr", True),
        ("emails pr", True),
        ("active eq true", True),
        ("active eq false", False),
        ('active eq "true"', False),  # types must agree
        ("age gt 41", True),
        ("age ge 42.0", True),
        ("age lt 42", False),
        ("age le 42", True),
        ('age eq "42"', False),
        ('name.givenName eq "JO"', True),
        ('NAME.GIVENNAME eq "jo"', True),
        ('meta.created gt "2024-01-01T00:00:00Z"', True),
        ('meta.lastModified lt "2024-06-01T00:00:01Z"', True),
        ('meta.lastModified ge "2024-06-01T02:00:00+02:00"', True),  # compared as instants
        ('meta.created lt "2023-12-31"', False),
        ('emails.value eq "jo@home.example"', True),  # any element
        ('emails co "home.example"', True),  # no sub-attribute: "value"
        ('emails.value ne "jo@home.example"', False),
        ('emails[type eq "work"].value eq "jdoe@acme.example"', True),
        ('emails[type eq "work"].value eq "jo@home.example"', False),  # same element
        ('emails[type eq "WORK" and value co "@acme"]', True),
        ('emails[type eq "home" and primary eq true]', False),
        ('emails[not (type eq "work")]', True),
        ('emails[type eq "other"]', False),
        ('tags eq "blue"', True),
        ('tags[value eq "RED"]', True),
        (f'{ENTERPRISE}:employeeNumber eq "701984"', True),
        (f'{ENTERPRISE.upper()}:EMPLOYEENUMBER eq "701984"', True),
        (f'{ENTERPRISE}:manager.value eq "m-1"', True),
        (f'{ENTERPRISE}:manager eq "m-1"', True),
        (f'{CUSTOM}:state eq "california"', True),
        (f"{CUSTOM}:state pr", True),
        ('urn:ietf:params:scim:schemas:extension:Other:2.0:User:state eq "California"', False),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', True),
        ('userName eq "x" or active eq true', True),
        ('userName eq "x" and active eq true', False),
        ('not (userName eq "x")', True),
        ('displayName gt "Jo"', True),
        ('displayName lt "jo doe"', False),
    ],
)
def test_matches(text, expected):
    assert matches(parse_filter(text), USER) is expected


def test_matches_inner_filter_on_one_element():
    _, expr, _ = parse_value_path('emails[TYPE eq "work"].value')
    assert matches(expr, {"Type": "Work", "value": "x"})
    assert not matches(expr, {"type": "home"})
    assert not matches(expr, {})
