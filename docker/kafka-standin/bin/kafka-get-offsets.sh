#!/usr/bin/env bash
# Prints partition offsets.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.GetOffsetShell "$@"
