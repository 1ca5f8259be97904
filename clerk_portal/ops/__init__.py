"""Running the portal: the command line (`cli`, `python -m clerk_portal ...`), the process runner
behind `make run` (`runner`: sandbox, catalog sync, seed, Reflex) and alembic migrations."""
