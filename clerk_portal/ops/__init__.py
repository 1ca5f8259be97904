"""Running the portal: the command line (`cli`, `python -m clerk_portal ...`), the process runner
behind `make run` (`runner`: sandbox, catalog sync, seed, Reflex), alembic migrations, and the
periodic jobs (`jobs`), run once per deployment under a database lease (`lease`)."""
