#!/usr/bin/env bash
# Reads and alters dynamic configuration.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.admin.ConfigCommand "$@"
