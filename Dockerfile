# nightshift's container images: one Dockerfile, one target per deployable (docs/deploy.md).
#
#   docker build --target ingestion -t nightshift-ingestion .    # also: planner, reporting, worker
#
# The four targets share every stage up to `runtime`: building all four costs one `npm ci`, one
# `tsc -b` and one production install, and their layers are the same but for the last one. All
# dependencies are declared in the root package.json, so a per-service install would be no smaller.

# A glibc image: DuckDB (@duckdb/node-api) ships a prebuilt binary for glibc. Pin a digest here if wanted.
ARG NODE_IMAGE=node:20-bookworm-slim

# manifests: only the package files, so that the install layers below are rebuilt only when one of
# them changes. Every workspace (libs/*, libs/*/*, services/*) must be listed: npm ci installs the
# tree package-lock.json describes, and the node_modules/@nightshift/* links point at these folders.
# services/host/src/dockerfiles.spec.ts fails when a workspace is missing here.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/api/package.json libs/api/
COPY libs/analytics/package.json libs/analytics/
COPY libs/aws-wire/package.json libs/aws-wire/
COPY libs/compute/aws/package.json libs/compute/aws/
COPY libs/compute/local/package.json libs/compute/local/
COPY libs/contracts/package.json libs/contracts/
COPY libs/events/aws/package.json libs/events/aws/
COPY libs/events/domain/package.json libs/events/domain/
COPY libs/events/local/package.json libs/events/local/
COPY libs/events/nest/package.json libs/events/nest/
COPY libs/jobs/domain/package.json libs/jobs/domain/
COPY libs/jobs/dynamodb/package.json libs/jobs/dynamodb/
COPY libs/logs/aws/package.json libs/logs/aws/
COPY libs/notifications/aws/package.json libs/notifications/aws/
COPY libs/notifications/domain/package.json libs/notifications/domain/
COPY libs/notifications/webhook/package.json libs/notifications/webhook/
COPY libs/observability/package.json libs/observability/
COPY libs/platform/package.json libs/platform/
COPY libs/storage/aws/package.json libs/storage/aws/
COPY libs/storage/domain/package.json libs/storage/domain/
COPY libs/storage/local/package.json libs/storage/local/
COPY services/cli/package.json services/cli/
COPY services/host/package.json services/host/
COPY services/ingestion/package.json services/ingestion/
COPY services/planner/package.json services/planner/
COPY services/reporting/package.json services/reporting/
COPY services/worker/package.json services/worker/
COPY infra/package.json infra/

# deps: everything the build needs (TypeScript is a dev dependency). --ignore-scripts also skips the
# root `prepare` build, which has no sources to compile yet; nothing we depend on needs an install
# script (DuckDB's binary comes as a per-platform optional package).
FROM manifests AS deps
RUN npm ci --ignore-scripts --no-audit --no-fund

# build: the repo's own build, every project into its dist/ (ADR 0001).
FROM deps AS build
COPY tsconfig.base.json tsconfig.build.json ./
COPY libs/ libs/
COPY services/ services/
COPY scripts/build-ui.mjs scripts/
# The dashboard's bundle (services/reporting/dist/ui, served at /ui) is built with esbuild, a dev dependency.
RUN npx tsc -b tsconfig.build.json && node scripts/build-ui.mjs
# What runs: each workspace's package.json (Node resolves @nightshift/* through its exports map)
# and its dist/, without sources, specs or build info.
RUN mkdir -p /out \
 && cp package.json /out/ \
 && for manifest in libs/*/package.json libs/*/*/package.json services/*/package.json; do \
      dir="$(dirname "$manifest")"; \
      mkdir -p "/out/$dir" && cp "$manifest" "/out/$dir/"; \
      if [ -d "$dir/dist" ]; then cp -R "$dir/dist" "/out/$dir/"; fi; \
    done \
 && find /out -name '*.tsbuildinfo' -delete

# prod-deps: the same lock file, production dependencies only.
FROM manifests AS prod-deps
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# runtime: what every target shares. The code stays root-owned, read-only to the process.
FROM ${NODE_IMAGE} AS runtime
# The code version reports name in their provenance (no git in the image):
#   docker build --build-arg NIGHTSHIFT_CODE_VERSION="$(git describe --always --dirty)" ...
# Left empty, reporting names package.json's version alone.
ARG NIGHTSHIFT_CODE_VERSION=""
ENV NIGHTSHIFT_CODE_VERSION=${NIGHTSHIFT_CODE_VERSION} \
    NODE_ENV=production \
    NIGHTSHIFT_MODE=aws \
    NIGHTSHIFT_TRACE_FILE=/tmp/nightshift/traces.jsonl \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /out ./
# DuckDB spills an in-memory database to ./.tmp under memory pressure; /app itself is not writable.
# (Spans go to NIGHTSHIFT_TRACE_FILE only when OTEL_EXPORTER_OTLP_ENDPOINT is unset.)
RUN install -d -o node -g node /app/.tmp
USER node

# pipelines: the pipeline files of the deployment, at /app/pipelines, for the two services that read
# them (planner and reporting, started with NIGHTSHIFT_PIPELINES_DIR=/app/pipelines). The CDK app
# passes the directory its synth read (config.pipelinesDir, relative to the repository root); the
# default pattern copies the root `pipelines/` directory if there is one and nothing otherwise
# (BuildKit copies nothing for a pattern that matches nothing). Root-owned, like the code.
FROM runtime AS pipelines
ARG NIGHTSHIFT_PIPELINES_SOURCE=pipeline[s]
COPY ${NIGHTSHIFT_PIPELINES_SOURCE} pipelines/

# The queue consumers have no HEALTHCHECK: there is nothing real to probe without service code (no
# port, no heartbeat file), and a check that only proves the process exists tells ECS nothing it
# does not know: a task whose essential container exits is replaced. A consumer that stops
# consuming shows as queue age and, after maxReceiveCount, DLQ depth: alarm on those. (ECS ignores
# image health checks anyway; only a task definition's healthCheck is acted on.)
FROM runtime AS ingestion
CMD ["node", "services/ingestion/dist/main.js"]

FROM pipelines AS planner
CMD ["node", "services/planner/dist/main.js"]

# reporting serves the REST API; /health answers 200 once the app listens.
FROM pipelines AS reporting
ENV NIGHTSHIFT_HTTP_HOST=0.0.0.0 \
    NIGHTSHIFT_HTTP_PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.NIGHTSHIFT_HTTP_PORT}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "services/reporting/dist/main.js"]

# worker: an AWS Batch job, so no HEALTHCHECK (Batch ignores it; a job's outcome is its exit code and
# its attemptDurationSeconds bounds a hung one). The whole argv is CMD, with no ENTRYPOINT of ours:
# Batch's `command` (job definition or SubmitJob override) replaces CMD only, and the planner
# submits the full argv, NIGHTSHIFT_WORKER_COMMAND + "run-task" (default
# node services/worker/dist/main.js run-task). An ENTRYPOINT naming main.js would receive that argv
# as arguments and exit 2 (usage, never retried) on every job.
FROM runtime AS worker
CMD ["node", "services/worker/dist/main.js", "run-task"]
