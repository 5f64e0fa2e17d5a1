#!/usr/bin/env bash
# Starts the registry the way the official image's launcher does: JAVA_OPTS (or the older JAVA_OPTIONS),
# JAVA_OPTS_APPEND, JAVA_MAX_MEM_RATIO (percent of the container's memory for the heap, default 80) and
# JAVA_ARGS; everything else is configured through Quarkus/Apicurio environment variables
# (QUARKUS_HTTP_PORT, APICURIO_CCOMPAT_USE_CANONICAL_HASH, ...).
set -o nounset -o errexit
cd /deployments
# shellcheck disable=SC2086 # option lists
exec java -XX:MaxRAMPercentage="${JAVA_MAX_MEM_RATIO:-80}" ${JAVA_OPTS:-${JAVA_OPTIONS:-}} ${JAVA_OPTS_APPEND:-} \
  -jar /deployments/quarkus-run.jar ${JAVA_ARGS:-} "$@"
