"""Hypothesis strategies for hostile input: the classes of issue 9 mixed into ordinary SCIM shapes.

Every strategy leans toward what broke Herd once: control characters (NUL
first), lone surrogates, strings around and past the column sizes, deep
JSON, huge integers, dates at the ends of the calendar, and many PATCH
operations. Ordinary values are drawn too, so the same properties also hold
for what an IdP really sends.
"""

import re
from urllib.parse import quote

from hypothesis import strategies as st

from service.edge import input_limits
from service.scim.users.schema import clean_user

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# Characters that broke (or could break) the database, the JSON encoder or a header.
NASTY_CHARS = [
    "\x00",
    "\x01",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\ud800",
    "\udfff",
    "\t",
    "\n",
    "\r",
    '"',
    "\\",
    "%",
    "\u0130",
    "\ufb01",
]
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "jos\u00e9",
    "jose\u0301",
    "JOSE\u0301",
    "stra\u00dfe",
    "STRASSE",
    "\ufb03" * 120,  # "ffi" ligature: folds to three characters
    "\U0001f600" * 10,
    '" or 1 eq 1 or "',
    "%_\\",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    # Case-expanding characters at a column's length (issue 21): "İ" lower-cases to two
    # characters, "ß", "ﬁ" and "ŉ" upper-case (or fold) to two.
    "\u0130" * 300,
    "\u00df" * 300,
    "\ufb01" * 300,
    "\u0149" * 300,
    "\u0130" * 150 + "@acme.example",
]
# Characters whose case mapping lengthens the text (str.lower, str.upper or casefold).
CASE_EXPANDING = ["\u0130", "\u00df", "\ufb01", "\u0149", "\u0390", "\u1e9e"]


def hostile_text(max_size=400):
    """Text that is often hostile: nasty characters inserted into ordinary text, or lengths past a column."""
    ordinary = st.text(st.characters(codec="utf-8"), max_size=40)
    spiked = st.builds(
        lambda head, bad, tail: head + bad + tail,
        ordinary,
        st.sampled_from(NASTY_CHARS),
        ordinary,
    )
    long = st.builds(
        lambda c, n: c * n,
        st.sampled_from(["a", "\u00e9", "x@", *CASE_EXPANDING]),
        st.integers(min(95, max_size), max_size),
    )
    return st.one_of(ordinary, spiked, long, st.sampled_from(NASTY_STRINGS))


def huge_int():
    """Integers as query strings: ordinary, at the bounds, and far past any column."""
    return st.one_of(
        st.integers(-5, 300),
        st.sampled_from(
            [2**31, 2**63, 10**20, -(10**20), input_limits.MAX_START_INDEX, input_limits.MAX_START_INDEX + 1]
        ),
        st.integers(-(10**30), 10**30),
    ).map(str)


# Ids in URL paths of every size: in and out of PostgreSQL's integer, past 64 bits, and not numbers.
TENANT_IDS = [
    "0",
    "-1",
    "1",
    str(2**31 - 1),
    str(2**31),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "9" * 100,
    "0" * 30 + "7",
    "007",
    "1e3",
    "0x10",
    "７",  # a full-width digit
    "%2B1",
    " 1",
    "abc",
]


def path_ids():
    """Integer ids for a URL path, as text: the sizes above and any integer at all."""
    return st.one_of(
        st.sampled_from(TENANT_IDS), st.integers(-(10**40), 10**40).map(str), st.integers(0, 2**31).map(str)
    )


def in_range_id(text):
    """True when ``text`` routes as an id a row can have: digits (Werkzeug's ``int`` converter
    takes any Unicode digits and leading zeros) whose value is 1 to 2**31 - 1."""
    return re.fullmatch(r"\d+", text) is not None and 1 <= int(text) <= input_limits.MAX_PATH_ID


# Methods nobody standardised, as scanners send them.
def invented_methods():
    return st.one_of(
        st.sampled_from(["QRNERXYCRSGN", "PROPFIND", "FOO", "get", "Patch", "MKCOL", "BREW"]),
        st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=1, max_size=20),
    )


def json_scalars():
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text(),
    )


def json_values(max_leaves=12):
    """Any JSON value (objects with hostile keys too), a few levels deep."""
    return st.recursive(
        json_scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(hostile_text(40), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def user_bodies():
    """A User body in Entra's shape with hostile values in the places that reach columns,
    and a few attributes of any name."""
    return st.builds(
        lambda extra, body: {**extra, **body},
        st.dictionaries(hostile_text(40), json_values(4), max_size=2),
        _user_shape(),
    )


def url_quote(text):
    """Percent-encode any text for a URL (a lone surrogate as the bytes Python would write)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _user_shape():
    return st.fixed_dictionaries(
        {"userName": hostile_text()},
        optional={
            "externalId": st.one_of(hostile_text(), st.integers(-(10**20), 10**20)),
            "displayName": hostile_text(),
            "active": st.sampled_from([True, False, "True", "False", "maybe", None]),
            "name": st.fixed_dictionaries({}, optional={"givenName": hostile_text(), "familyName": hostile_text()}),
            "emails": st.lists(
                st.fixed_dictionaries({"value": hostile_text()}, optional={"type": st.sampled_from(["work", "home"])}),
                max_size=3,
            ),
            "title": json_values(),
            ENTERPRISE: st.fixed_dictionaries({}, optional={"location": hostile_text(), "manager": json_values(4)}),
            CUSTOM: st.fixed_dictionaries(
                {}, optional={"learnerRole": hostile_text(), "location": hostile_text(), "state": hostile_text()}
            ),
        },
    )


PATHS = [
    "userName",
    "displayName",
    "externalId",
    "active",
    "title",
    "name.givenName",
    "emails",
    'emails[type eq "work"].value',
    "emails.value",
    "phoneNumbers",
    "roles",
    f"{ENTERPRISE}:manager",
    f"{CUSTOM}:learnerRole",
    CUSTOM,
    "members",
    'members[value eq "x"]',
]


def patch_operations(max_ops=40):
    op = st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "replace", "remove", "Add", "Replace", "Remove", "bogus"])},
        optional={"path": st.one_of(st.sampled_from(PATHS), hostile_text(60)), "value": json_values(6)},
    )
    return st.lists(op, max_size=max_ops)


FILTER_ATTRS = [
    "userName",
    "externalId",
    "displayName",
    'emails[type eq "work"].value',
    "emails.value",
    "meta.created",
    "meta.lastModified",
    "active",
    "title",
    f"{CUSTOM}:learnerRole",
    "members.value",
]


def filters():
    """Filter texts: well-formed comparisons with hostile values, and hostile text."""
    value = st.one_of(
        hostile_text(200).map(lambda v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'),
        st.sampled_from(["true", "false", "null", "1e400", "-0", str(10**30)]),
        # JSON escapes, decoded only by the filter parser: NUL, other controls, surrogates, İ.
        st.builds(
            lambda head, escape, tail: f'"{head}{escape}{tail}"',
            st.text("abc@.", max_size=5),
            st.sampled_from(
                ["\\u0000", "\\u0007", "\\u001f", "\\u007f", "\\ud800", "\\udfff", "\\u0130", "\\u0000\\u0000"]
            ),
            st.text("abc@.", max_size=5),
        ),
    )
    compare = st.builds(
        lambda a, o, v: f"{a} {o} {v}",
        st.sampled_from(FILTER_ATTRS),
        st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]),
        value,
    )
    joined = st.lists(compare, min_size=1, max_size=4).map(" and ".join)
    return st.one_of(
        joined, hostile_text(200), st.builds(lambda n: "(" * n + 'userName eq "a"' + ")" * n, st.integers(0, 60))
    )


def deep_json(max_depth=3000):
    """A JSON text nested ``depth`` levels, as arrays or objects, inside a User body."""
    return st.builds(
        lambda depth, kind: (
            '{"userName": "deep@acme.example", "title": '
            + (("[" * depth + "]" * depth) if kind == "array" else ('{"a":' * depth + "1" + "}" * depth))
            + "}"
        ),
        st.integers(1, max_depth),
        st.sampled_from(["array", "object"]),
    )


def limit_offsets():
    """How far from a limit a drawn document is: mostly right at it, one over or one under."""
    return st.sampled_from([-1, 0, 0, 1, 1, 2]) | st.integers(-50, 50)


def bounded_documents():
    """``(body, over)``: a User whose custom attributes (top level and in an extension of any
    URN) number around ``MAX_LEARNER_CUSTOM_ATTRIBUTES``, or whose stored document is padded
    to around ``MAX_USER_DOCUMENT_BYTES`` (with 1-, 2- and 4-byte characters); ``over`` says
    whether it exceeds a limit. Values are plain: only a limit can refuse the document."""
    plain = st.integers(0, 10**6) | st.text("abcxyz", min_size=1, max_size=12)  # "" is not stored

    @st.composite
    def build(draw):
        body = {"userName": "limit@acme.example", "active": True}
        if draw(st.booleans()):
            custom = max(0, input_limits.MAX_LEARNER_CUSTOM_ATTRIBUTES + draw(limit_offsets()))
            in_extension = draw(st.integers(0, custom))
            urn = draw(st.sampled_from(["urn:example:acme:hr:1.0:User", CUSTOM, ENTERPRISE]))
            body.update({f"c{i}": draw(plain) for i in range(custom - in_extension)})
            if in_extension:
                body[urn] = {f"x{i}": draw(plain) for i in range(in_extension)}
            return body, custom > input_limits.MAX_LEARNER_CUSTOM_ATTRIBUTES
        body["bio"] = "b"
        base = input_limits.document_bytes(clean_user(body)[0]) - 1  # without the bio's one character
        target = input_limits.MAX_USER_DOCUMENT_BYTES + draw(limit_offsets())
        filler = draw(st.sampled_from(["b", "é", "\U0001f600"]))  # 1, 2 and 4 bytes in UTF-8
        width = len(filler.encode())
        body["bio"] = filler * ((target - base) // width) + "b" * ((target - base) % width)
        return body, base + len(body["bio"].encode()) > input_limits.MAX_USER_DOCUMENT_BYTES

    return build()
