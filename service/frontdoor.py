"""What sits in front of the blueprints: the proxy headers we trust, and ``/``.

Behind a reverse proxy (nginx, a load balancer, a tunnel) the client's address,
scheme and host arrive in ``X-Forwarded-*`` headers. Any client can send those,
so they are honoured only when ``TRUSTED_PROXIES`` says how many proxies sit in
front of gunicorn (werkzeug's ProxyFix takes that many hops from the right).
"""

from flask import redirect, url_for
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app, settings):
    """Trust ``settings.trusted_proxies`` hops of X-Forwarded-For/-Proto/-Host/-Port; serve ``/``."""
    if settings.trusted_proxies > 0:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    @app.get("/")
    def root():
        """A browser that opens the bare address lands on the dashboard (its sign-in page)."""
        # Relative: the browser resolves it against the address it used, whatever the proxies.
        return redirect(url_for("dashboard.home"))
