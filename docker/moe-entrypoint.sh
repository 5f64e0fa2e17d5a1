#!/usr/bin/env bash
# Entry point of the service image: runs the moe CLI with the container's JVM options.
# An expert worker without MOE_EXPERT_WORKER_ID takes the container's host name (stable across restarts of the
# same container, the pod name in Kubernetes) so a restarted worker reuses its transactional id and fences its
# predecessor instead of leaving a zombie transaction behind.
set -o errexit -o nounset
if [[ "${1:-}" == "expert" && -z "${MOE_EXPERT_WORKER_ID:-}" ]]; then
  MOE_EXPERT_WORKER_ID="$(hostname)"
  export MOE_EXPERT_WORKER_ID
fi
# JavaCPP unpacks ND4J's native libraries into a writable, executable directory (/tmp by default).
# shellcheck disable=SC2086 # MOE_JAVA_OPTS is a list of JVM options
exec java ${MOE_JAVA_OPTS:-} -cp "/opt/moe/moe-cli.jar:/opt/moe/lib/*" io.moestreams.cli.MoeCli "$@"
