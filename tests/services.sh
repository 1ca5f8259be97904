# Sourced by `make test` and `.ci/run`: point the tests at PostgreSQL and Redis on 127.0.0.1 when
# they answer and the variables are not set already, so a developer runs what CI runs. Without
# them the PostgreSQL and Redis cases are skipped (each says why).
_answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
if [ -z "${TEST_POSTGRES_URL:-}" ] && _answers 5432; then
  export TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
fi
if [ -z "${TEST_REDIS_URL:-}" ] && _answers 6379; then
  export TEST_REDIS_URL="redis://127.0.0.1:6379/15"
fi
echo "tests: PostgreSQL ${TEST_POSTGRES_URL:-not answering on 127.0.0.1:5432: its cases skip}"
echo "tests: Redis ${TEST_REDIS_URL:-not answering on 127.0.0.1:6379: its cases skip}"
unset -f _answers
