"""Bulk SQL seed for the compliance benches (PostgreSQL): learners with completed assignments.

One ``INSERT ... SELECT generate_series`` per table, so a million learners take
minutes, not hours. Learner ``n`` works in one of four annual-course regions
(New York, Illinois, Texas -> the generic US version, Washington) and holds cycle
1 of its harassment-prevention course, completed; every ``due_every``-th learner
completed it 350 days ago (it expires in 15 days: inside the 30-day lead time),
the others ``fresh_days`` ago. ``review_at`` is what Smart Assign would have
stored (expiry minus the lead time).
"""

import os
import time

from sqlalchemy import text

from models import AccessToken, Company

REGIONS = (("US-NY", "HP-NY-EMP"), ("US-IL", "HP-IL-EMP"), ("US-TX", "HP-US-EMP"), ("US-WA", "HP-WA-EMP"))


def bench_company(db_name, keep):
    """The bench's fresh PostgreSQL database (``bench.backlog.BenchDatabase`` from DATABASE_URL)
    with one company and a token: ``(db, company_id, token secret)``."""
    from bench.common.database import BenchDatabase

    db = BenchDatabase(os.environ.get("DATABASE_URL"), db_name, keep=keep)
    if db.dialect != "postgresql":
        raise SystemExit("this bench seeds with PostgreSQL's generate_series: set DATABASE_URL")
    with db.sessions() as s:
        company = Company(name="Bench Company")
        s.add(company)
        s.flush()
        row, secret = AccessToken.issue(company.id, "bench")
        s.add(row)
        s.commit()
        return db, company.id, secret


def seed(engine, company_id, learners, due_every=100, fresh_days=100, older_cycles=False, extra_codes=()):
    """Insert ``learners`` learners of ``company_id`` with one completed HP cycle each (two with
    ``older_cycles``), plus one assignment per code of ``extra_codes`` (every third one in progress)."""
    regions = "ARRAY[" + ",".join(f"'{r}'" for r, _ in REGIONS) + "]"
    codes = "ARRAY[" + ",".join(f"'{c}'" for _, c in REGIONS) + "]"
    with engine.begin() as conn:
        conn.execute(
            text(
                f"""
                INSERT INTO learners (id, company_id, resource, user_name, user_name_lower, user_name_key,
                    external_id_lower,
                    email_lower, display_name, given_name, family_name, active, region, country, location,
                    role, training_tags, version, created_at, updated_at, review_at)
                SELECT md5(:c || '-' || g)::uuid::text, :c,
                    jsonb_build_object('userName', 'l' || g || '@bench.example', 'active', true),
                    'l' || g || '@bench.example', 'l' || g || '@bench.example', 'l' || g || '@bench.example',
                    'l' || g,
                    'l' || g || '@bench.example', 'Learner ' || g, 'Learner', g::text, true,
                    ({regions})[1 + g % 4], 'US', NULL, 'non-supervisor', '[]'::jsonb, 1,
                    now() - interval '2 years', now() - interval '2 years',
                    CASE WHEN g % :due = 0 THEN now() - interval '350 days' + interval '1 year' - interval '30 days'
                         ELSE now() - make_interval(days => :fresh) + interval '1 year' - interval '30 days' END
                FROM generate_series(1, :n) AS g
                """
            ),
            {"c": company_id, "n": learners, "due": due_every, "fresh": fresh_days},
        )
        if older_cycles:
            conn.execute(
                text(
                    f"""
                    INSERT INTO learner_trainings (company_id, learner_id, family, cycle, training_code, status,
                        progress, assigned_at, due_at, completed_at, reason, updated_at)
                    SELECT :c, md5(:c || '-' || g)::uuid::text, 'HP', 1, ({codes})[1 + g % 4], 'completed', 100,
                        now() - interval '2 years', now() - interval '2 years' + interval '30 days',
                        now() - interval '2 years' + interval '10 days', 'new learner: bench seed',
                        now() - interval '2 years' + interval '10 days'
                    FROM generate_series(1, :n) AS g
                    """
                ),
                {"c": company_id, "n": learners},
            )
        cycle = 2 if older_cycles else 1
        conn.execute(
            text(
                f"""
                INSERT INTO learner_trainings (company_id, learner_id, family, cycle, training_code, status,
                    progress, assigned_at, due_at, completed_at, reason, updated_at)
                SELECT :c, md5(:c || '-' || g)::uuid::text, 'HP', :cycle, ({codes})[1 + g % 4], 'completed', 100,
                    done - interval '10 days', done + interval '20 days', done,
                    'recertification, cycle ' || :cycle || ': bench seed', done
                FROM (SELECT g, CASE WHEN g % :due = 0 THEN now() - interval '350 days'
                                     ELSE now() - make_interval(days => :fresh) END AS done
                      FROM generate_series(1, :n) AS g) AS s
                """
            ),
            {"c": company_id, "n": learners, "due": due_every, "fresh": fresh_days, "cycle": cycle},
        )
        for code in extra_codes:
            conn.execute(
                text(
                    """
                    INSERT INTO learner_trainings (company_id, learner_id, family, cycle, training_code, status,
                        progress, assigned_at, due_at, completed_at, reason, updated_at)
                    SELECT :c, md5(:c || '-' || g)::uuid::text, :code, 1, :code,
                        CASE WHEN g % 3 = 0 THEN 'in_progress' ELSE 'completed' END,
                        CASE WHEN g % 3 = 0 THEN 40 ELSE 100 END,
                        now() - interval '60 days', now() - interval '30 days',
                        CASE WHEN g % 3 = 0 THEN NULL ELSE now() - interval '50 days' END,
                        'new learner: tag ' || :code || ' in training_tags', now() - interval '50 days'
                    FROM generate_series(1, :n) AS g
                    """
                ),
                {"c": company_id, "n": learners, "code": code},
            )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def add_company_options(parser, db_name, learners=100_000):
    """The options of a bench over one seeded company: its size, its database, keeping it."""
    parser.add_argument("--learners", type=int, default=learners, help="learners in the company")
    parser.add_argument("--db-name", default=db_name, help="the bench's own database, dropped at the end")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser


def timed_seed(db, company_id, *args, **kwargs):
    """``seed`` on the bench database ``db``; returns the seconds it took."""
    started = time.perf_counter()
    seed(db.engine, company_id, *args, **kwargs)
    return time.perf_counter() - started
