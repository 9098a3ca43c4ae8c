"""service/edge/frontdoor.py: a request's body is read in full before the app runs (pure WSGI)."""

import io

from service.edge.frontdoor import BufferedBody


class CountingInput(io.BytesIO):
    """A wsgi.input that records whether anyone read it."""

    reads = 0

    def read(self, size=-1):
        self.reads += 1
        return super().read(size)


def run(method, body, content_length, limit=100):
    seen = {}

    def app(environ, start_response):
        seen["input"] = environ["wsgi.input"]
        seen["body"] = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [b""]

    stream = CountingInput(body)
    environ = {"REQUEST_METHOD": method, "CONTENT_LENGTH": content_length, "wsgi.input": stream}
    BufferedBody(app, limit)(environ, lambda *a: None)
    return seen, stream


def test_a_post_body_is_read_before_the_app_runs_and_the_app_reads_it_whole():
    seen, stream = run("POST", b'{"userName": "a"}', "17")
    assert stream.reads == 1, "read once by the middleware, before the app"
    assert seen["input"] is not stream
    assert seen["body"] == b'{"userName": "a"}'


def test_a_body_over_the_limit_is_left_for_flask_to_refuse_unread():
    seen, stream = run("POST", b"x" * 500, "500", limit=100)
    assert seen["input"] is stream, "the app gets the raw stream and answers 413 from Content-Length"


def test_requests_without_a_declared_body_are_passed_through():
    seen, stream = run("GET", b"", "")
    assert seen["input"] is stream
    seen, stream = run("PATCH", b"abc", "not-a-number")
    assert seen["input"] is stream


def test_a_bulk_body_up_to_its_own_limit_is_buffered_and_only_on_bulk():
    def through(path):
        seen = {}

        def app(environ, start_response):
            seen["input"] = environ["wsgi.input"]
            return [b""]

        stream = CountingInput(b"x" * 500)
        environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "500", "PATH_INFO": path, "wsgi.input": stream}
        BufferedBody(app, 100, bulk_limit=1000)(environ, lambda *a: None)
        return seen["input"] is not stream

    assert through("/scim/v2/7/Bulk")
    for other in ("/scim/v2/7/Users", "/scim/v2/7/Bulk/x", "/api/v1/Bulk", "/scim/v2/7/Users/Bulk"):
        assert not through(other), other
