#!/usr/bin/env bash
# Lists the API versions a broker supports (a liveness probe).
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
