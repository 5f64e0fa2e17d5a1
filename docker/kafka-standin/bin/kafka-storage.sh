#!/usr/bin/env bash
# Formats and inspects KRaft storage.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
