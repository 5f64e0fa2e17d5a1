# The moe-streams service image: one image, the `moe` command as entry point (gateway, expert, init-topics, infer,
# ...). Build after `mvn -DskipTests package`:
#   docker build -t moe-streams:0.1.0 .
# BASE_IMAGE is any Java 17+ runtime that has bash, groupadd/useradd and JAVA_HOME/bin on the PATH (the public
# eclipse-temurin JRE by default; the tests build on a local Debian + jlink base, see docker/base-images).
# Legacy-builder syntax only (no BuildKit features), so it builds with any Docker engine.
ARG BASE_IMAGE=eclipse-temurin:17-jre
FROM ${BASE_IMAGE}

USER root
RUN groupadd --system --gid 10001 moe \
 && useradd --system --uid 10001 --gid moe --home-dir /home/moe --create-home --shell /usr/sbin/nologin moe \
 && mkdir -p /opt/moe /model /var/lib/moe \
 && chown moe:moe /model /var/lib/moe

# Dependencies first: they change less often than the CLI jar, so rebuilds reuse this layer.
COPY moe-cli/target/lib /opt/moe/lib
COPY moe-cli/target/moe-cli.jar /opt/moe/moe-cli.jar
COPY docker/moe-entrypoint.sh /usr/local/bin/moe

# Container-aware memory: the heap takes 40% of the container's memory limit; ND4J's off-heap buffers are capped
# by JavaCPP at the heap size again, so heap + off-heap stay within ~80% of the limit. An OOM ends the process so
# the orchestrator restarts it. MOE_JAVA_OPTS replaces all of this when set.
ENV MOE_JAVA_OPTS="-XX:MaxRAMPercentage=40 -XX:+ExitOnOutOfMemoryError -XX:+UseParallelGC"

USER 10001:10001
WORKDIR /home/moe
EXPOSE 9400
ENTRYPOINT ["/usr/local/bin/moe"]
CMD ["--help"]
