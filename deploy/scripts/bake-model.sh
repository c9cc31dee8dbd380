#!/bin/sh
# Puts the model the image will serve into $1 (the Dockerfile's build stage runs this).
#   MODEL_SOURCE=train     run the pipeline (dvc.yaml + params.yaml) on the built-in data, bake models/model.json
#   MODEL_SOURCE=registry  download BAKE_MODEL_URI from the registry at BAKE_TRACKING_URI
#                          (token: build secret `mlflow_token`, or MLFLOW_TRACKING_TOKEN)
#   MODEL_SOURCE=none      bake nothing: the container resolves MODEL_URI / MLFLOW_TRACKING_URI at start
set -eu
out="${1:?usage: bake-model.sh <output dir>}"
here="$(cd "$(dirname "$0")" && pwd)"
cli="$here/../../dist/cli/main.cjs"
mkdir -p "$out"
case "${MODEL_SOURCE:-train}" in
  train)
    work="$(mktemp -d)"
    cp "$here/../../project/dvc.yaml" "$here/../../project/params.yaml" "$work/"
    (cd "$work" && MLFLOW_TRACKING_URI= node "$cli" repro)
    cp "$work/models/model.json" "$out/model.json"
    rm -rf "$work"
    ;;
  registry)
    [ -n "${BAKE_TRACKING_URI:-}" ] || { echo "bake-model: MODEL_SOURCE=registry needs --build-arg BAKE_TRACKING_URI=<tracking server URL>" >&2; exit 2; }
    if [ -r /run/secrets/mlflow_token ]; then MLFLOW_TRACKING_TOKEN="$(cat /run/secrets/mlflow_token)"; export MLFLOW_TRACKING_TOKEN; fi
    MLFLOW_TRACKING_URI="$BAKE_TRACKING_URI" node "$here/fetch-model.mjs" "${BAKE_MODEL_URI:-models:/sentiment@production}" "$out"
    ;;
  none)
    echo "bake-model: no model baked; set MODEL_URI (and MLFLOW_TRACKING_URI) when the container starts"
    ;;
  *)
    echo "bake-model: MODEL_SOURCE must be train, registry or none, got '${MODEL_SOURCE}'" >&2
    exit 2
    ;;
esac
