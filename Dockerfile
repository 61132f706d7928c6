# Rover Logout Gateway container image (issue 6).
#   docker build -t rover-logout-gateway .
#   docker run --read-only --tmpfs /tmp:exec -v rlg-data:/data -p 8080:8080 -p 8081:8081 rover-logout-gateway
# (/tmp must allow exec: the embedded PostgreSQL, used when no database.url is given, unpacks its binaries there)
# Stage 1 builds the jar with Maven; stage 2 is a slim JRE 17 runtime that runs it as a non-root user and writes
# only to /data (embedded database, generated tokens and key when no database.url is set) and /tmp.

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
# dependencies first, so that a source change does not download them again
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src ./src
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre-jammy
RUN groupadd --system --gid 10001 rlg && useradd --system --uid 10001 --gid rlg --home-dir /app --shell /usr/sbin/nologin rlg \
 && mkdir -p /app/conf /data && chown rlg:rlg /data
WORKDIR /app
COPY --from=build /src/target/rover-logout-gateway.jar /app/rover-logout-gateway.jar
COPY conf/gateway.yaml /app/conf/gateway.yaml
# heap sized from the container's memory limit; a JVM out of memory exits (Kubernetes restarts it) instead of limping;
# java.io.tmpdir is where the embedded PostgreSQL unpacks (a tmpfs / emptyDir under a read-only root filesystem)
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=60 -XX:MaxDirectMemorySize=128m -XX:+ExitOnOutOfMemoryError -Djava.io.tmpdir=/tmp" \
    RLG_DATADIR=/data \
    RLG_DATABASE_EMBEDDEDDIR=/data/pg \
    RLG_HTTP_HOST=0.0.0.0 \
    RLG_MANAGEMENT_HOST=0.0.0.0
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080 8081
# exec form: the JVM is PID 1 and gets SIGTERM itself (graceful drain within shutdown.timeout)
ENTRYPOINT ["java", "-jar", "/app/rover-logout-gateway.jar"]
CMD ["serve", "--config", "/app/conf/gateway.yaml"]
