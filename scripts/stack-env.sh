# Sourced by scripts/stack, scripts/test and scripts/demo: the local stack's ports and the
# SHOPEE_* connection settings derived from them, so the services and the tests find the stack.
# STACK_ENV may name a file of overrides (other ports, to run a second stack beside the first).
set -a
# shellcheck source=../deploy/local/stack.env
source deploy/local/stack.env
if [ -n "${STACK_ENV:-}" ]; then
  # shellcheck disable=SC1090
  source "$STACK_ENV"
fi
SHOPEE_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
# The CA that signs the broker's TLS listener (made by scripts/stack at the first start).
KAFKA_TLS_DIR="$PWD/.run/kafka/tls"
SHOPEE_DATABASE_URL="postgresql://$POSTGRES_USER:$POSTGRES_PASSWORD@127.0.0.1:$POSTGRES_PORT/$POSTGRES_DB"
SHOPEE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
set +a
