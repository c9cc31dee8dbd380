#!/usr/bin/env bash
# Builds the repository's Dockerfile and runs the image, with no Docker daemon and no
# container registry: only Debian's packages (debootstrap, buildah, podman) and the npm registry.
#
#   sudo deploy/scripts/build-local-image.sh            # build, run, check /readyz and a prediction
#   KEEP_IMAGE=1 deploy/scripts/build-local-image.sh    # … and keep localhost/polarity:local afterwards
#
# 1. Two local base images stand in for the pinned public ones (the Dockerfile's BUILD_BASE
#    and BASE build arguments): Debian bookworm root filesystems made by debootstrap (the build
#    one with python3/make/g++ for node-gyp), with this machine's Node 20 added in the official
#    images' layout (/usr/local/bin/node, /usr/local/include/node, npm in /usr/local/lib).
#    They are cached in $POLARITY_IMAGE_CACHE (default /var/tmp/polarity-image).
# 2. `buildah bud --storage-driver vfs --isolation chroot` builds the Dockerfile unchanged
#    (its build stage runs `npm ci` against the npm registry).
# 3. `podman run --network host` starts the image the way Kubernetes runs it: user 10001,
#    read-only root filesystem, /tmp a tmpfs, all capabilities dropped, no new privileges;
#    then /readyz, /healthz and POST /predict on 127.0.0.1 are checked, and SIGTERM must
#    stop it cleanly.
# Prints one line per step with its duration; exits non-zero on the first failure.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${POLARITY_IMAGE_CACHE:-/var/tmp/polarity-image}"
port="${POLARITY_IMAGE_PORT:-$((20000 + RANDOM % 20000))}"
image="localhost/polarity:local"
runtime_base="localhost/polarity-base:bookworm-node20"
build_base="localhost/polarity-build-base:bookworm-node20"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
store=(--storage-driver vfs --root "$cache/storage" --runroot "$cache/run")

step_start=$SECONDS
step() { echo "== [$((SECONDS - step_start))s] $*"; }
die() { echo "build-local-image: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and the vfs storage need it)"
for tool in debootstrap buildah podman; do
  command -v "$tool" >/dev/null || die "$tool is missing: apt-get install -y debootstrap buildah podman"
done
node_bin="$(command -v node)" || die "node is missing"
node_version="$("$node_bin" --version)"
case "$node_version" in v20.*) ;; *) die "the base images need Node 20; this machine has $node_version" ;; esac
node_prefix="$(cd "$(dirname "$(readlink -f "$node_bin")")/.." && pwd)"
[ -f "$node_prefix/include/node/node.h" ] || die "Node headers not found in $node_prefix/include/node (needed to compile better-sqlite3)"
npm_dir="$node_prefix/lib/node_modules/npm"
[ -f "$npm_dir/bin/npm-cli.js" ] || die "npm not found in $npm_dir"
mkdir -p "$cache"

# A root filesystem with Node 20 laid out as in the official node images.
make_rootfs() { # <dir> <extra packages, comma-separated or empty>
  local dir="$1" include="$2"
  if [ ! -x "$dir/usr/local/bin/node" ]; then
    rm -rf "$dir.tmp"
    debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$dir.tmp" "$mirror" >"$dir.log" 2>&1 \
      || die "debootstrap failed (see $dir.log)"
    mkdir -p "$dir.tmp/usr/local/bin" "$dir.tmp/usr/local/include" "$dir.tmp/usr/local/lib/node_modules"
    cp "$node_bin" "$dir.tmp/usr/local/bin/node"
    cp -a "$node_prefix/include/node" "$dir.tmp/usr/local/include/node"
    cp -a "$npm_dir" "$dir.tmp/usr/local/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir.tmp/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir.tmp/usr/local/bin/npx"
    rm -rf "$dir.tmp/var/cache/apt/archives"/*.deb "$dir.tmp/var/lib/apt/lists"/*
    mv "$dir.tmp" "$dir"
  fi
  chroot "$dir" /usr/local/bin/node --version >/dev/null || die "node does not run inside $dir (missing libraries?)"
}

import_rootfs() { # <dir> <image name>
  local dir="$1" name="$2" ctr mnt
  if buildah "${store[@]}" inspect --type image "$name" >/dev/null 2>&1; then return; fi
  ctr="$(buildah "${store[@]}" from scratch)"
  mnt="$(buildah "${store[@]}" mount "$ctr")"
  cp -a "$dir/." "$mnt/"
  buildah "${store[@]}" umount "$ctr" >/dev/null
  buildah "${store[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd node "$ctr"
  buildah "${store[@]}" commit --quiet "$ctr" "$name" >/dev/null
  buildah "${store[@]}" rm "$ctr" >/dev/null
}

step "base root filesystems (debootstrap bookworm + Node $node_version), cached in $cache"
make_rootfs "$cache/rootfs-runtime" "" &
runtime_pid=$!
make_rootfs "$cache/rootfs-build" "python3,make,g++" &
build_pid=$!
wait "$runtime_pid" || die "runtime base failed"
wait "$build_pid" || die "build base failed"

step "import them as $runtime_base and $build_base"
import_rootfs "$cache/rootfs-runtime" "$runtime_base"
import_rootfs "$cache/rootfs-build" "$build_base"

if [ "${POLARITY_IMAGE_REUSE:-0}" = 1 ] && buildah "${store[@]}" inspect --type image "$image" >/dev/null 2>&1; then
  step "reusing $image (POLARITY_IMAGE_REUSE=1)"
else
  step "buildah bud the Dockerfile → $image"
  # The machine's CA bundle goes in as a build secret: npm may reach its registry through a
  # TLS-inspecting proxy whose CA only this machine trusts.
  ca_bundle="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
  secrets=()
  [ -s "$ca_bundle" ] && secrets+=(--secret "id=ca_bundle,src=$ca_bundle")
  buildah "${store[@]}" bud --format docker --isolation chroot --network host --layers=false "${secrets[@]}" \
    --build-arg BUILD_BASE="$build_base" --build-arg BASE="$runtime_base" \
    -f "$repo/Dockerfile" -t "$image" "$repo" >"$cache/build.log" 2>&1 \
    || { tail -40 "$cache/build.log" >&2; die "buildah bud failed (full log: $cache/build.log)"; }
fi
config="$(buildah "${store[@]}" inspect --type image "$image")"
image_field() { node -e 'const c=JSON.parse(require("fs").readFileSync(0,"utf8")).Docker.config; const v=c[process.argv[1]]; process.stdout.write(Array.isArray(v)?v.join("\n"):String(v??""))' "$1" <<<"$config"; }
echo "image config: user $(image_field User), entrypoint [$(image_field Entrypoint | tr '\n' ' ')], cmd [$(image_field Cmd | tr '\n' ' ')], healthcheck [$(node -e 'const c=JSON.parse(require("fs").readFileSync(0,"utf8")).Docker.config; process.stdout.write((c.Healthcheck?.Test??[]).slice(0,2).join(" "))' <<<"$config")]"
podman "${store[@]}" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$image"

# Run it as Kubernetes would: user 10001, read-only root, /tmp a tmpfs, no capabilities, no new
# privileges. With podman when its OCI runtime works here; otherwise (crun refuses some
# sandboxes' cgroup setups) the image's own root filesystem runs under unshare + chroot with
# the same restrictions, the image's Env, WorkingDir, User, Entrypoint and Cmd.
name="polarity-local-$$"
ctr=""
runner_pid=""
cleanup() {
  [ -n "$runner_pid" ] && kill "$runner_pid" 2>/dev/null || true
  podman "${store[@]}" rm -f -t 2 "$name" >/dev/null 2>&1 || true
  if [ -n "$ctr" ]; then buildah "${store[@]}" umount "$ctr" >/dev/null 2>&1 || true; buildah "${store[@]}" rm "$ctr" >/dev/null 2>&1 || true; fi
  if [ "${KEEP_IMAGE:-0}" != 1 ]; then podman "${store[@]}" rmi -f "$image" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
runner="${POLARITY_IMAGE_RUNNER:-auto}"
if [ "$runner" != chroot ]; then
  step "podman run: user 10001, read-only root, tmpfs /tmp, no capabilities, PORT=$port"
  if podman "${store[@]}" run -d --name "$name" --network host --cgroups disabled \
      --read-only --tmpfs /tmp --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges \
      -e PORT="$port" -e HOST=127.0.0.1 "$image" >"$cache/podman.log" 2>&1; then
    runner=podman
  else
    echo "podman run failed here: $(tail -1 "$cache/podman.log")"
    [ "$runner" = podman ] && die "podman run failed"
    podman "${store[@]}" rm -f "$name" >/dev/null 2>&1 || true
    runner=chroot
  fi
fi
if [ "$runner" = chroot ]; then
  step "run the image's root filesystem: unshare + chroot, user $(image_field User), read-only root, tmpfs /tmp, no capabilities, PORT=$port"
  ctr="$(buildah "${store[@]}" from "$image")"
  mnt="$(buildah "${store[@]}" mount "$ctr")"
  mapfile -t image_env < <(image_field Env)
  mapfile -t entrypoint < <(image_field Entrypoint)
  mapfile -t cmd < <(image_field Cmd)
  # shellcheck disable=SC2016 # expanded by the inner shells
  unshare --mount --fork sh -c '
    root="$1"; shift
    mount --bind "$root" "$root" && mount -o remount,bind,ro "$root" && mount -t tmpfs -o mode=1777 tmpfs "$root/tmp" && mount -t proc proc "$root/proc" || exit 70
    exec "$@"' sh "$mnt" \
    setpriv --no-new-privs \
    env -i "${image_env[@]}" PORT="$port" HOST=127.0.0.1 \
    chroot --userspec="$(image_field User)" "$mnt" /bin/sh -c 'cd "$0" && exec "$@"' "$(image_field WorkingDir)" "${entrypoint[@]}" "${cmd[@]}" \
    >"$cache/server.log" 2>&1 &
  runner_pid=$!
fi
alive() {
  if [ "$runner" = podman ]; then [ "$(podman "${store[@]}" inspect -f '{{.State.Running}}' "$name")" = true ]; else kill -0 "$runner_pid" 2>/dev/null; fi
}
logs() { if [ "$runner" = podman ]; then podman "${store[@]}" logs "$name"; else cat "$cache/server.log"; fi; }

ready=""
for _ in $(seq 1 240); do
  if out="$(node -e 'fetch(process.argv[1]).then(async r=>{console.log(r.status+" "+await r.text());process.exit(r.ok?0:1)},()=>process.exit(1))' "http://127.0.0.1:$port/readyz" 2>/dev/null)"; then
    ready="$out"; break
  fi
  alive || { logs >&2 || true; die "the server exited before /readyz answered"; }
  sleep 0.5
done
[ -n "$ready" ] || { logs >&2; die "/readyz did not answer 200 within 120 s"; }
echo "GET /readyz → $ready"
if [ "$runner" = chroot ]; then
  server_pid="$(pgrep -P "$runner_pid" | head -1)"
  echo "server process: uid $(awk '/^Uid:/{print $2}' "/proc/$server_pid/status"), capabilities (permitted/effective) $(awk '/^CapPrm:/{print $2}' "/proc/$server_pid/status")/$(awk '/^CapEff:/{print $2}' "/proc/$server_pid/status"), NoNewPrivs $(awk '/^NoNewPrivs:/{print $2}' "/proc/$server_pid/status")"
fi

step "POST /predict"
node --input-type=module -e '
const base = process.argv[1];
const health = await fetch(base + "/healthz");
if (health.status !== 200) { console.error("/healthz answered " + health.status); process.exit(1); }
const res = await fetch(base + "/predict", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ texts: ["I love this phone, it works great", "Terrible service, I want my money back"] }) });
const body = await res.json();
console.log("POST /predict → " + res.status + " " + JSON.stringify(body));
const labels = (body.predictions ?? []).map((p) => String(p.label));
if (res.status !== 200 || labels.join(",") !== "1,0") { console.error("expected labels 1,0"); process.exit(1); }
' "http://127.0.0.1:$port"

step "SIGTERM → clean exit"
if [ "$runner" = podman ]; then
  podman "${store[@]}" stop -t 30 "$name" >/dev/null
  code="$(podman "${store[@]}" inspect -f '{{.State.ExitCode}}' "$name")"
else
  kill -TERM "$server_pid"
  code=0; wait "$runner_pid" || code=$?
  runner_pid=""
fi
echo "exit code after SIGTERM: $code"
[ "$code" = 0 ] || { logs >&2; die "the server did not exit 0 on SIGTERM"; }
step "the pipeline Job's command (deploy/k8s/base/pipeline-job.yaml) in the image: read-only root, tmpfs /work"
job_script="$(cd "$repo" && node --input-type=module -e '
import { readFileSync } from "node:fs";
import { parse } from "yaml";
const job = parse(readFileSync("deploy/k8s/base/pipeline-job.yaml", "utf8"));
const c = job.spec.template.spec.containers[0];
if (c.command.join(" ") !== "/bin/sh -c" || c.workingDir !== "/work") throw new Error("expected command [/bin/sh, -c] and workingDir /work");
process.stdout.write(c.args.join(" "));
')"
echo "sh -c '$job_script'"
if [ "$runner" = podman ]; then
  podman "${store[@]}" run --rm --network host --cgroups disabled --read-only --tmpfs /tmp --tmpfs /work -w /work \
    --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges --entrypoint /bin/sh "$image" -c "$job_script" >"$cache/job.log" 2>&1 \
    || { tail -30 "$cache/job.log" >&2; die "the pipeline Job's command failed"; }
else
  mkdir -p "$mnt/work"
  # shellcheck disable=SC2016 # expanded by the inner shells
  unshare --mount --fork sh -c '
    root="$1"; shift
    mount --bind "$root" "$root" && mount -o remount,bind,ro "$root" && mount -t tmpfs -o mode=1777 tmpfs "$root/tmp" && mount -t tmpfs -o mode=1777 tmpfs "$root/work" && mount -t proc proc "$root/proc" || exit 70
    exec "$@"' sh "$mnt" \
    setpriv --no-new-privs env -i "${image_env[@]}" \
    chroot --userspec="$(image_field User)" "$mnt" /bin/sh -c 'cd /work && exec /bin/sh -c "$0"' "$job_script" >"$cache/job.log" 2>&1 \
    || { tail -30 "$cache/job.log" >&2; die "the pipeline Job's command failed"; }
fi
grep -E "^promoted " "$cache/job.log" || true
grep -q "alias 'production' →" "$cache/job.log" || { tail -30 "$cache/job.log" >&2; die "promote did not report moving the production alias"; }

step "ok ($runner): image built, ran non-root on a read-only root, answered /readyz and /predict, stopped cleanly"
