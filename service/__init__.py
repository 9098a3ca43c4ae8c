"""The Flask app: ``create_app`` binds the database, blueprints, error handlers and CLI."""

from inspect import iscoroutinefunction

from flask import Flask, Request
from werkzeug.datastructures import ImmutableMultiDict

from config import Settings, instance_secret


class Parameters(ImmutableMultiDict):
    """A request's query and form parameters, whose ``get`` of an absent name raises nothing.

    Werkzeug's ``get`` looks the name up and catches the ``BadRequestKeyError`` it makes
    when it is absent (about two microseconds): a SCIM list asks for four optional
    parameters an IdP's lookup never sends."""

    def get(self, key, default=None, type=None):
        """The first value of ``key`` (converted by ``type``), or ``default``."""
        if key not in self:
            return default
        return super().get(key, default, type)


class HerdRequest(Request):
    """Flask's request, with ``Parameters`` for its query string and form."""

    parameter_storage_class = Parameters


class HerdFlask(Flask):
    """Flask, asking once per function whether it is a coroutine.

    Flask passes every hook and view through ``ensure_sync`` on every request, and its
    ``inspect`` test costs about a microsecond: fourteen hooks run on a SCIM call. The
    answer is kept per underlying function (a method view's bound methods are new on
    every request, their function is not)."""

    request_class = HerdRequest

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._is_coroutine = {}

    def ensure_sync(self, func):
        """``func`` itself when it is a plain function; Flask's wrapper for ``async def``."""
        key = getattr(func, "__func__", func)
        is_coroutine = self._is_coroutine.get(key)
        if is_coroutine is None:
            is_coroutine = self._is_coroutine[key] = iscoroutinefunction(func)
        return super().ensure_sync(func) if is_coroutine else func


def create_app(settings=None):
    """Build the web app from ``settings`` (default: the environment). No I/O at import."""
    settings = settings or Settings.from_env()
    settings.check_production()
    app = HerdFlask(__name__, instance_path=str(_instance_path()))
    app.config.update(
        SECRET_KEY=settings.secret_key or instance_secret(),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https"),
    )
    app.json.sort_keys = False
    app.extensions["herd.settings"] = settings

    from service import auth, broker, db
    from service.api.blueprint import routes as api_routes
    from service.cli.commands import register_cli
    from service.dashboard.blueprint import routes as dashboard_routes
    from service.edge import boundary, error_handlers, failures, frontdoor, metrics, middleware, outage
    from service.edge.health import bp as health_bp
    from service.oauth.token_endpoint import init_app as init_token_endpoint
    from service.ratelimit import limiter
    from service.scim.blueprint import routes as scim_routes

    db.init_app(app, settings)
    auth.init_app(app, settings)
    broker.init_app(app, settings)
    error_handlers.init_app(app)
    outage.init_app(app)
    # Throttle first (a flood of hostile requests is still a flood), then refuse hostile input once.
    limiter.init_app(app, settings)
    boundary.init_app(app)
    failures.init_app(app)
    app.register_blueprint(scim_routes())
    app.register_blueprint(api_routes())
    app.register_blueprint(dashboard_routes())
    app.register_blueprint(health_bp)
    limiter.limit_company_blueprints(app, app.blueprints["scim"], app.blueprints["api"])
    limiter.limit_sign_in(app)
    init_token_endpoint(app)
    frontdoor.init_app(app, settings)
    metrics.init_app(app, settings)
    # Outermost: the request id and nosniff cover every response, ProxyFix's included.
    middleware.init_app(app)
    register_cli(app)
    return app


def _instance_path():
    from config import INSTANCE

    return INSTANCE
