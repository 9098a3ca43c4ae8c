"""``input_limits.check_json``: the checks every decoded request body passes, at their exact bounds."""

import pytest

from service.edge import input_limits
from service.scim.errors import InvalidSyntax, InvalidValue


def _nested(levels):
    """A JSON value ``levels`` deep: [] is 1, [[]] is 2."""
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_a_body_exactly_at_the_depth_limit_passes_and_one_level_more_does_not():
    input_limits.check_json({"userName": "kim", "x": _nested(input_limits.MAX_JSON_DEPTH - 1)})
    with pytest.raises(InvalidSyntax, match=f"deeper than {input_limits.MAX_JSON_DEPTH} levels"):
        input_limits.check_json({"userName": "kim", "x": _nested(input_limits.MAX_JSON_DEPTH)})


def test_a_control_character_is_refused_with_where_it_is():
    with pytest.raises(InvalidValue, match=r"'emails\[1\]\.value' contains a control character \(U\+0002\)"):
        input_limits.check_json({"emails": [{"value": "a@x"}, {"value": "b\x02@x"}]})
    with pytest.raises(InvalidValue, match=r"attribute name in the body contains a control character \(U\+0001\)"):
        input_limits.check_json({"name": {"given\x01Name": "Kim"}})
    with pytest.raises(InvalidValue, match=r"lone UTF-16 surrogate"):
        input_limits.check_json(["ok", "\ud800"])


def test_tabs_and_newlines_are_plain_text():
    input_limits.check_json({"title": "Head of\tSafety\r\n", "addresses": [{"formatted": "1 Main St\nSpringfield"}]})
