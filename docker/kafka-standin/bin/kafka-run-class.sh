#!/usr/bin/env bash
# Runs a class on the broker's classpath with the usual KAFKA_*_OPTS variables.
set -o nounset -o errexit
base_dir="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z "${KAFKA_LOG4J_OPTS:-}" ]]; then
  tools_log4j="$base_dir/config/tools-log4j2.yaml"
  [[ -f "$tools_log4j" ]] || tools_log4j=/etc/kafka/docker/tools-log4j2.yaml
  KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=$tools_log4j"
fi
KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}"
# shellcheck disable=SC2086 # the *_OPTS variables are word lists
exec java ${KAFKA_HEAP_OPTS:-} $KAFKA_JVM_PERFORMANCE_OPTS ${KAFKA_GC_LOG_OPTS:-} ${KAFKA_JMX_OPTS:-} \
  $KAFKA_LOG4J_OPTS ${KAFKA_OPTS:-} -cp "$base_dir/libs/*" "$@"
