"""``service.Parameters``: the request's query and form parameters answer ``get`` as Werkzeug's
MultiDict does (its absent names just cost no exception)."""

from werkzeug.datastructures import ImmutableMultiDict

from service import HerdRequest, Parameters


def test_get_answers_as_werkzeugs_multidict():
    pairs = [("count", "5"), ("count", "7"), ("empty", ""), ("word", "a")]
    ours, theirs = Parameters(pairs), ImmutableMultiDict(pairs)
    for key, default, kind in [
        ("count", None, None),
        ("count", None, int),
        ("missing", None, None),
        ("missing", 3, None),
        ("missing", 3, int),
        ("word", 9, int),  # a value the type refuses: the default
        ("empty", "d", None),
    ]:
        assert ours.get(key, default, kind) == theirs.get(key, default, kind), key
    assert ours.getlist("count") == ["5", "7"]


def test_the_request_parses_its_query_string_into_parameters():
    request = HerdRequest.from_values("/scim/v2/1/Users?filter=userName%20eq%20%22a%22&count=2")
    assert isinstance(request.args, Parameters)
    assert request.args.get("filter") == 'userName eq "a"'
    assert request.args.get("startIndex") is None
