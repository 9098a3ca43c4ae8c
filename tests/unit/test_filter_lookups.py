"""The IdPs' one-comparison lookups (``userName eq "x"``, ``emails[type eq "work"].value eq "x"``)
are read by a regex ahead of the recursive descent: for every text, ``parse_filter`` must give
exactly what the full parser gives, the same tree or the same error."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.scim.errors import InvalidFilter
from service.scim.filters import And, Compare, ValuePath, _parse_full, parse_filter
from service.scim.paths import AttrPath

# Names an IdP sends, the grammar's keywords (an attribute may be called "not" or "or"),
# and names the regex must leave to the parser (URNs, dotted twice, starting with a digit).
NAMES = st.sampled_from(
    ["userName", "externalId", "emails", "name", "type", "value", "x", "_a", "$ref", "a-b",
     "not", "NOT", "and", "or", "pr", "eq", "9a", "a.b.c", "urn:x:y", ""]
)  # fmt: skip
SPACES = st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "", "\x0b", "\u00a0"])
OPERATORS = st.sampled_from(["eq", "EQ", "Eq", "ne", "co", "pr", "eqx"])
# Strings with what JSON escapes, what the parser refuses once decoded, and plain text.
TEXT = st.lists(
    st.sampled_from([*'ab@.Z9é "\\/\x00\x1f\x7f\x85\u2028', "\ud800", "\\u0000", "\\n", '\\"']),
    max_size=8,
).map("".join)


def _quoted(text):
    return f'"{text}"'


@st.composite
def lookups(draw):
    """Text shaped like one comparison or one e-mail lookup, with every piece varied."""
    ws = lambda: draw(SPACES)  # noqa: E731
    value = draw(st.one_of(TEXT.map(_quoted), st.sampled_from(["true", "null", "12", '"open', "x"])))
    attr = draw(NAMES)
    if draw(st.booleans()):
        attr += "." + draw(NAMES)
    if draw(st.booleans()):
        inner = f"{draw(NAMES)}{ws()}{draw(OPERATORS)}{ws()}{_quoted(draw(TEXT))}"
        attr = f"{draw(NAMES)}[{ws()}{inner}{ws()}]" + draw(st.sampled_from([".", "", ".."])) + draw(NAMES)
    return f"{ws()}{attr}{ws()}{draw(OPERATORS)}{ws()}{value}{ws()}" + draw(st.sampled_from(["", "", ")", " and x pr"]))


def _outcome(parse, text):
    try:
        return parse(text)
    except InvalidFilter as exc:
        return ("refused", exc.detail)


@settings(max_examples=3000, deadline=None)
@given(lookups())
def test_every_lookup_shaped_text_parses_as_the_full_parser_parses_it(text):
    assert _outcome(parse_filter, text) == _outcome(_parse_full, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "Bjensen@Example.com"', Compare(AttrPath(None, "userName", None), "eq", "Bjensen@Example.com")),
        (' externalId  EQ "e-1"\t', Compare(AttrPath(None, "externalId", None), "eq", "e-1")),
        ('name.familyName eq ""', Compare(AttrPath(None, "name", "familyName"), "eq", "")),
        (
            'emails[type eq "work"].value eq "a@b.example"',
            ValuePath(
                AttrPath(None, "emails", None),
                And(
                    Compare(AttrPath(None, "type", None), "eq", "work"),
                    Compare(AttrPath(None, "value", None), "eq", "a@b.example"),
                ),
            ),
        ),
    ],
)
def test_the_idps_lookups(text, expected):
    assert parse_filter(text) == expected == _parse_full(text)


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "a\\u0000b"',  # an escaped NUL: refused once decoded
        'userName eq "a\x7fb"',  # a control character the regex lets through: the parser refuses it
        'emails[type eq "w\x7f"].value eq "x"',  # the same inside the brackets
        'emails[type eq "work"].value eq "\ud800"',  # a lone surrogate
        'not[type eq "work"].value eq "x"',  # "not" opens a negation here
        'userName eq "x"\n)',
    ],
)
def test_lookalikes_get_the_full_parsers_answer(text):
    assert _outcome(parse_filter, text) == _outcome(_parse_full, text)
    assert _outcome(parse_filter, text)[0] == "refused"
