"""Alembic environment: the URL comes from the config set by models.migrate."""

from alembic import context

from models import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online():
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
