# syntax=docker/dockerfile:1
# Polarity: one image for the model server (`polarity serve`, the default command), the
# tracking server (`polarity server ...`) and pipeline jobs (`polarity repro`, `polarity promote`).
#
#   docker build -t polarity:0.1.0 .                                   # model trained at build time
#   docker build --build-arg MODEL_SOURCE=registry \
#     --build-arg BAKE_MODEL_URI=models:/sentiment@production \
#     --build-arg BAKE_TRACKING_URI=https://tracking.example.com \
#     --secret id=mlflow_token,env=MLFLOW_TRACKING_TOKEN -t polarity:0.1.0 .   # model baked from the registry
#   docker build --build-arg MODEL_SOURCE=none -t polarity:0.1.0 .     # no model: set MODEL_URI (+ MLFLOW_TRACKING_URI) at start
#
# BUILD_BASE and BASE are pinned official images (exact tags). Where no registry can be
# pulled, deploy/scripts/build-local-image.sh passes local Debian bookworm + Node 20 images
# with the same layout (node in /usr/local/bin, headers in /usr/local/include/node).
ARG BUILD_BASE=docker.io/library/node:20.20.0-bookworm
ARG BASE=docker.io/library/node:20.20.0-bookworm-slim

# ---- build: dependencies, TypeScript, the model to bake, then production dependencies only
FROM ${BUILD_BASE} AS build
WORKDIR /src
# better-sqlite3 is a native addon: when its prebuilt binary cannot be downloaded, node-gyp
# compiles it against the base image's own Node headers instead of downloading them.
ENV npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` (npm run build) needs src/, copied below;
# the one native dependency is then built on its own. Behind a TLS-inspecting proxy, pass its
# CA bundle as a build secret: --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=ca_bundle,required=false \
    if [ -s /run/secrets/ca_bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; fi; \
    npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && chmod 755 dist/cli/main.cjs

# The model: `train` runs the pipeline on the built-in data (offline, ~5 s), `registry`
# downloads BAKE_MODEL_URI from BAKE_TRACKING_URI, `none` bakes nothing.
ARG MODEL_SOURCE=train
ARG BAKE_MODEL_URI=models:/sentiment@production
ARG BAKE_TRACKING_URI=
COPY dvc.yaml params.yaml ./project/
COPY deploy/scripts/bake-model.sh deploy/scripts/fetch-model.mjs ./deploy/scripts/
RUN --mount=type=secret,id=mlflow_token,required=false --mount=type=secret,id=ca_bundle,required=false \
    if [ -s /run/secrets/ca_bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; fi; \
    MODEL_SOURCE="$MODEL_SOURCE" BAKE_MODEL_URI="$BAKE_MODEL_URI" BAKE_TRACKING_URI="$BAKE_TRACKING_URI" \
    sh deploy/scripts/bake-model.sh /model
RUN npm prune --omit=dev --ignore-scripts

# ---- runtime: Node 20 slim, production dependencies, non-root, read-only friendly
FROM ${BASE} AS runtime
# HOME: uid 10001 has no passwd entry (os.homedir() would fail) and the root filesystem is
# read-only in Kubernetes; /tmp is the writable emptyDir there.
ENV NODE_ENV=production \
    HOME=/tmp \
    HOST=0.0.0.0 \
    PORT=8080 \
    MODEL_URI=/app/model
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/project ./project
COPY --from=build /model ./model
RUN ln -sf /app/dist/cli/main.cjs /usr/local/bin/polarity
# A numeric user, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli/main.cjs"]
CMD ["serve"]
