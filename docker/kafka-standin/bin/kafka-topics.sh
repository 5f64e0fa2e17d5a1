#!/usr/bin/env bash
# Creates, lists, describes and alters topics.
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.TopicCommand "$@"
