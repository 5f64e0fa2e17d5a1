#!/usr/bin/env bash
# Builds, on the local Docker engine, the images that no registry reachable from here can provide:
#   localhost/moe-debian:bookworm         Debian 12 minbase root file system (debootstrap)
#   localhost/moe-jre:17, :21             that base + a jlink'ed Java runtime (JDK 17; newest JDK >= 21 in /usr/lib/jvm)
#   localhost/kafka-standin:<kafka>       stand-in for apache/kafka (same paths, user, KAFKA_* contract) from Maven Central
#   localhost/apicurio-standin:<apicurio> stand-in for apicurio/apicurio-registry 3.x, from Maven Central
# An image that exists is kept (--force rebuilds all). Needs root for debootstrap, a JDK 17 and a JDK 21+, and mvn.
# Environment: DEBIAN_MIRROR (default: the machine's apt source), MVN (default: mvn).
set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1
MVN="${MVN:-mvn}"
WORK="$(mktemp -d /tmp/moe-images.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

prop() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$ROOT/pom.xml" | head -1; }
KAFKA_VERSION="$(prop kafka.version)"
APICURIO_VERSION="$(prop apicurio.version)"
BASE=localhost/moe-debian:bookworm
JRE17=localhost/moe-jre:17
JRE21=localhost/moe-jre:21
KAFKA=localhost/kafka-standin:$KAFKA_VERSION
REGISTRY=localhost/apicurio-standin:$APICURIO_VERSION

have() { [[ $FORCE == 0 ]] && docker image inspect "$1" >/dev/null 2>&1; }
log() { echo "build-local-images: $*" >&2; }
build() { # build TAG CONTEXT [docker build args...]
  local tag="$1" ctx="$2"
  shift 2
  docker build -q -t "$tag" "$@" "$ctx" >/dev/null 2> >(grep -v -e 'legacy builder is deprecated' -e 'buildx' -e '^ *$' >&2)
  log "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}

# Modules of the runtimes: Java SE plus what Kafka, ND4J/JavaCPP, Quarkus and the metrics endpoint use.
MODULES=java.se,jdk.unsupported,jdk.management,jdk.management.agent,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.httpserver,\
jdk.zipfs,jdk.security.auth,jdk.security.jgss,jdk.naming.dns,jdk.jfr,jdk.localedata,jdk.charsets,jdk.net,jdk.attach,jdk.jcmd

jdk_home() { # newest JDK under /usr/lib/jvm whose feature version is within [min, max]
  local min="$1" max="$2" best="" best_v=0 d v
  for d in /usr/lib/jvm/*/; do
    [[ -x "$d/bin/jlink" && -f "$d/release" ]] || continue
    v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$d/release")"
    [[ -n "$v" && $v -ge $min && $v -le $max && $v -gt $best_v ]] && best="${d%/}" best_v=$v
  done
  [[ -n "$best" ]] || { log "no JDK $min..$max with jlink under /usr/lib/jvm"; return 1; }
  echo "$best"
}

jre_image() { # jre_image TAG JDK_HOME
  local tag="$1" jdk="$2" ctx="$WORK/$(basename "$1")"
  mkdir -p "$ctx"
  local compress=--compress=2
  [[ -d "$jdk/jmods" ]] || compress=--compress=zip-6 # a JDK without jmods links from its run-time image (21+)
  local modpath=()
  [[ -d "$jdk/jmods" ]] && modpath=(--module-path "$jdk/jmods")
  "$jdk/bin/jlink" "${modpath[@]}" --add-modules "$MODULES" --strip-debug --no-man-pages --no-header-files \
    "$compress" --output "$ctx/jre"
  cp "$ROOT/docker/base-images/Dockerfile.jre" "$ctx/Dockerfile"
  build "$tag" "$ctx" --build-arg "BASE_IMAGE=$BASE"
}

t0=$(date +%s)
pids=()
if ! have "$JRE17" || ! have "$JRE21"; then
  # jlink needs no engine: run both while the root file system is bootstrapped
  jdk17="$(jdk_home 17 17)"
  jdk21="$(jdk_home 21 99)"
fi

if ! have "$BASE"; then
  command -v debootstrap >/dev/null || { log "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
  mirror="${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  log "debootstrap bookworm minbase from $mirror"
  debootstrap --variant=minbase bookworm "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/cache/apt/*.bin \
    "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/usr/share/doc/* "$WORK"/rootfs/usr/share/man/* \
    "$WORK"/rootfs/usr/share/locale/*
  tar -C "$WORK/rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$WORK/rootfs"
  log "imported $BASE"
fi

have "$JRE17" || jre_image "$JRE17" "$jdk17" &
pids+=($!)
have "$JRE21" || jre_image "$JRE21" "$jdk21" &
pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done

if ! have "$KAFKA"; then
  ctx="$WORK/kafka"
  cp -r "$ROOT/docker/kafka-standin" "$ctx"
  "$MVN" -q -B -f "$ROOT/docker/kafka-standin/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$ctx/libs" >&2
  build "$KAFKA" "$ctx" --build-arg "BASE_IMAGE=$JRE17"
fi

if ! have "$REGISTRY"; then
  ctx="$WORK/apicurio"
  cp -r "$ROOT/docker/apicurio-standin" "$ctx"
  "$MVN" -q -B -f "$ROOT/docker/apicurio-standin/pom.xml" dependency:copy \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" -DoutputDirectory="$ctx/dist" >&2
  mkdir -p "$ctx/deployments"
  tar -xzf "$ctx"/dist/apicurio-registry-app-*-all.tar.gz -C "$ctx/deployments"
  rm -rf "$ctx/dist"
  build "$REGISTRY" "$ctx" --build-arg "BASE_IMAGE=$JRE21"
fi
log "images ready in $(( $(date +%s) - t0 )) s"
