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


@pytest.mark.parametrize("text", ['name.givenName eq "Jo"', f'{ENTERPRISE}:manager eq "m-1"'])
def test_eq_defaults_describe_only_plain_attributes(text):
    assert eq_defaults(parse_filter(text)) == {}


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


# -- what an admin reads when a filter is refused ------------------------------------------------

LONG_NAME = "a" * 58  # with " eq" the quoted text is 61 characters: shortened to 57 + "..."

DETAILS = [
    (
        'userName foo "x"',
        "unknown operator 'foo' after 'userName' at position 10; use one of eq, ne, co, sw, ew, gt, ge, lt, le, pr",
    ),
    ("userName eq", "expected a value after 'userName eq' at position 12"),
    ("(userName eq )", "expected a value after 'userName eq' at position 14"),
    ('userName eq "a")', "')' without a matching '(' at position 16"),
    (
        'userName eq "a" userName eq "b"',
        "unexpected 'userName' at position 17; join expressions with 'and' or 'or'",
    ),
    ("  x eq 1 and ( y pr", "missing ')' for the '(' opened at position 14"),
    ('emails[type eq "work"', "missing ']' for the '[' opened after 'emails' at position 7"),
    ('emails[type eq "work" x', "unexpected 'x' inside 'emails[...]' at position 23"),
    (
        'emails[emails.type eq "work"]',
        "unexpected 'emails.type' inside '[...]' at position 8; use the sub-attribute name alone, e.g. 'type'",
    ),
    ('emails[type[value eq "a"]]', "a '[...]' filter cannot contain another '[...]' filter at position 12"),
    (
        'emails.value[type eq "work"]',
        "'emails.value' cannot take a '[...]' filter at position 1; put it after the attribute, e.g. 'emails[...].value'",
    ),
    ('emails[type eq "work"].', "expected a sub-attribute name after '].' at position 24"),
    (
        "active gt true",
        "'gt' cannot compare with true at position 8; gt, ge, lt and le take a string, a number or a date",
    ),
    ("x co 5", "'co' cannot compare with 5 at position 3; it needs a string in double quotes"),
    ("x eq 1X", "unexpected 'X' right after the value at position 7"),
    ('x eq "a\\q"', "bad string value (Invalid \\escape) at position 8"),
    ("x eq 1e999", "number out of range at position 6"),
    ("x eq -", "bad number at position 6"),
    (
        'emails[type eq "a"] and x.y.z pr',
        "'x.y.z' has more than one '.'; SCIM paths are 'attribute' or 'attribute.subAttribute' at position 25",
    ),
    (
        'userName eq "a" and',
        "expected an attribute name after 'userName eq \"a\" and', found the end of the text at position 20",
    ),
    ('userName eq "a" and )', "expected an attribute name after 'userName eq \"a\" and', found ')' at position 21"),
    (
        "userName eq bjensen",
        "'bjensen' is not a value at position 13; "
        'put strings in double quotes (e.g. "bjensen"), or use a number, true, false or null',
    ),
    (LONG_NAME[:-1] + " eq", f"expected a value after '{LONG_NAME[:-1]} eq' at position 61"),
    (LONG_NAME + " eq", f"expected a value after '{LONG_NAME[:57]}...' at position 62"),
    (5, "expected text, got int"),
    (")", "expected an attribute name, found ')' at position 1"),
    (
        'x pr and userName foo "x"',
        "unknown operator 'foo' after 'userName' at position 19; use one of eq, ne, co, sw, ew, gt, ge, lt, le, pr",
    ),
    (
        "x pr and userName",
        "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after 'userName' at position 18",
    ),
    (
        'userName eq "a" and emails[type eq "work"].value',
        "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after 'emails[type eq \"work\"].value' "
        "at position 49",
    ),
    (
        "x eq Xyz",
        "'Xyz' is not a value at position 6; "
        'put strings in double quotes (e.g. "Xyz"), or use a number, true, false or null',
    ),
]


@pytest.mark.parametrize("text, detail", DETAILS)
def test_error_details_say_what_and_where(text, detail):
    with pytest.raises(InvalidFilter) as info:
        parse_filter(text)
    assert info.value.detail == f"Unsupported filter: {detail}"


@pytest.mark.parametrize(
    "text, detail",
    [
        ('emails [type eq "a"]', "unexpected text after 'emails' at position 7"),
        ('emails[type eq "a"] x', "unexpected 'x' after 'emails[type eq \"a\"]' at position 21"),
        ('emails[type eq "a"].value x', "unexpected 'x' after 'emails[type eq \"a\"].value' at position 27"),
        (
            'a.b[type eq "a"]',
            "'a.b' cannot take a '[...]' filter at position 1; put it after the attribute, e.g. 'a[...].b'",
        ),
        ("emails[]", "expected an attribute name after 'emails[', found ']' at position 8"),
    ],
)
def test_patch_path_error_details(text, detail):
    with pytest.raises(InvalidPath) as info:
        parse_value_path(text)
    assert info.value.detail == f"Invalid path: {detail}"


@pytest.mark.parametrize(
    "text",
    [
        'emails[type eq "a" or x.y eq "b"]',
        'emails[type eq "a" and x.y eq "b"]',
        'emails[not x.y eq "b"]',
        'emails[(x.y eq "b")]',
        f'emails[type eq "a" and {ENTERPRISE}:manager eq "b"]',
    ],
)
def test_paths_inside_brackets_are_relative_wherever_they_stand(text):
    with pytest.raises(InvalidFilter, match="inside"):
        parse_filter(text)


def test_names_starting_with_x_are_attribute_names():
    assert parse_filter("Xid pr") == C("Xid", "pr")
    assert parse_value_path('Xs[value eq "a"]') == (P("Xs"), C("value", "eq", "a"), None)


@pytest.mark.parametrize("op", ["eq", "co"])  # eq: the lookups' regex; co: the full parser
def test_a_filter_of_exactly_the_maximum_length_is_accepted(op):
    text = f'x {op} "' + "a" * (MAX_FILTER_LENGTH - 7) + '"'
    assert len(text) == MAX_FILTER_LENGTH
    assert parse_filter(text) == C("x", op, "a" * (MAX_FILTER_LENGTH - 7))
    with pytest.raises(InvalidFilter, match="longer than 4096 characters"):
        parse_filter(text + " ")


# -- the nesting-depth counter: depth is nesting, not a count of groups --------------------------

SIBLINGS = [
    " and ".join(["(a pr)"] * (MAX_DEPTH + 8)),
    " and ".join(["not (a pr)"] * (MAX_DEPTH + 8)),
    " and ".join(["not a pr"] * (MAX_DEPTH + 8)),
    " and ".join(['emails[type eq "work"]'] * (MAX_DEPTH + 8)),
]


@pytest.mark.parametrize("text", SIBLINGS)
def test_groups_side_by_side_do_not_add_up_to_the_depth_limit(text):
    assert len(operands(parse_filter(text), And)) == MAX_DEPTH + 8


@pytest.mark.parametrize(
    "first",
    ["(a pr)", "not (a pr)", 'emails[type eq "work"]'],
)
def test_the_depth_limit_holds_after_a_closed_group(first):
    deepest = "(" * MAX_DEPTH + "a pr" + ")" * MAX_DEPTH
    assert parse_filter(f"{first} and {deepest}")
    with pytest.raises(InvalidFilter, match="nested more than 32 levels deep"):
        parse_filter(f"{first} and ({deepest})")


# -- the in-memory evaluator: values of other types never match -----------------------------------


@pytest.mark.parametrize(
    "text, element, expected",
    [
        ("age eq 42", {"age": 42}, True),
        ("age eq 42", {"age": 41}, False),
        ("age gt 42", {"age": 42}, False),
        ("age eq true", {"age": 1}, False),  # a boolean filter never matches a number
        ("active eq 1", {"active": True}, False),  # nor a number filter a boolean
        ("level gt 3", {"level": "7"}, False),  # a number filter never matches a string
        ("id eq 9007199254740993", {"id": 9007199254740993}, True),  # big integers compare exactly
        ("id eq 9007199254740993", {"id": 9007199254740992}, False),
        ('displayName gt "2024-01-01"', {"displayName": "Jo Doe"}, True),  # not a date: compared as text
        ('displayName lt "b"', {"displayName": "Anna"}, True),
        ('displayName lt "B"', {"displayName": "charlie"}, False),  # case-insensitive ordering
        ('meta.created gt "2024-01-02T03:04:04"', {"meta": {"created": "2024-01-02T03:04:05Z"}}, True),
        ('meta.created lt "2024-01-02T03:04:05"', {"meta": {"created": "2024-01-02T03:04:05Z"}}, False),
        ('meta.created ge "2024-01-02T05:04:05+02:00"', {"meta": {"created": "2024-01-02T03:04:05"}}, True),
        ("name pr", {"name": {"givenName": "", "middleNames": [""]}}, False),  # only empty values inside
        ("name pr", {"name": {"givenName": "", "middleNames": ["Q"]}}, True),
        # eq compares the text as stored, as SQL does on the stored document; ordering compares instants
        ('meta.lastModified eq "2024-06-01T02:00:00+02:00"', {"meta": {"lastModified": "2024-06-01T00:00:00Z"}}, False),
        ('meta.lastModified ge "2024-06-01T02:00:00+02:00"', {"meta": {"lastModified": "2024-06-01T00:00:00Z"}}, True),
    ],
)
def test_matches_compares_like_with_like(text, element, expected):
    assert matches(parse_filter(text), element) is expected


def test_not_of_a_matching_filter_does_not_match():
    assert matches(parse_filter('not (userName eq "jdoe@acme.example")'), USER) is False
    assert matches(parse_filter('not (emails[type eq "work"])'), USER) is False


@pytest.mark.parametrize(
    "text, detail",
    [
        (r'userName eq "a\u0000b"', "a control character (U+0000) at position 13"),
        (r'userName eq "\ud800"', "a lone UTF-16 surrogate (U+D800) at position 13"),
        (r'title co "x\u001fy"', "a control character (U+001F) at position 10"),
    ],
)
def test_escaped_control_characters_are_refused_once_decoded(text, detail):
    """A JSON escape is six plain characters to the query string's check: the parser refuses
    what it decodes to (PostgreSQL cannot store or compare a NUL)."""
    with pytest.raises(InvalidFilter) as info:
        parse_filter(text)
    assert info.value.detail == f"Unsupported filter: the string value contains {detail}; remove it"


def test_escaped_control_characters_are_refused_in_patch_path_filters():
    with pytest.raises((InvalidFilter, InvalidPath)) as info:
        parse_value_path(r'emails[value eq "a\u0000"].type')
    assert "U+0000" in info.value.detail


@pytest.mark.parametrize(
    "text, value", [(r'title eq "a\tb"', "a\tb"), (r'userName eq "ok\u00e9"', "oké"), (r'x eq "\"q\""', '"q"')]
)
def test_other_escapes_decode_to_their_characters(text, value):
    assert parse_filter(text).value == value
