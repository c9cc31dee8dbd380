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

step "buildah bud the Dockerfile → $image"
# The machine's CA bundle goes in as a build secret: npm may reach its registry through a
# TLS-inspecting proxy whose CA only this machine trusts.
ca_bundle="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
secrets=()
[ -s "$ca_bundle" ] && secrets+=(--secret "id=ca_bundle,src=$ca_bundle")
buildah "${store[@]}" bud --isolation chroot --network host --layers=false "${secrets[@]}" \
  --build-arg BUILD_BASE="$build_base" --build-arg BASE="$runtime_base" \
  -f "$repo/Dockerfile" -t "$image" "$repo" >"$cache/build.log" 2>&1 \
  || { tail -40 "$cache/build.log" >&2; die "buildah bud failed (full log: $cache/build.log)"; }
buildah "${store[@]}" inspect --type image --format '{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.Cmd}}' "$image"
podman "${store[@]}" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$image"

step "podman run: user 10001, read-only root, tmpfs /tmp, no capabilities, PORT=$port"
name="polarity-local-$$"
cleanup() {
  podman "${store[@]}" rm -f -t 2 "$name" >/dev/null 2>&1 || true
  if [ "${KEEP_IMAGE:-0}" != 1 ]; then podman "${store[@]}" rmi -f "$image" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
podman "${store[@]}" run -d --name "$name" --network host --cgroups disabled \
  --read-only --tmpfs /tmp --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges \
  -e PORT="$port" -e HOST=127.0.0.1 "$image" >/dev/null

ready=""
for _ in $(seq 1 120); do
  if out="$(node -e 'fetch(process.argv[1]).then(async r=>{console.log(r.status+" "+await r.text());process.exit(r.ok?0:1)},()=>process.exit(1))' "http://127.0.0.1:$port/readyz" 2>/dev/null)"; then
    ready="$out"; break
  fi
  if [ "$(podman "${store[@]}" inspect -f '{{.State.Running}}' "$name")" != true ]; then
    podman "${store[@]}" logs "$name" >&2 || true
    die "the container exited before /readyz answered"
  fi
  sleep 0.5
done
[ -n "$ready" ] || { podman "${store[@]}" logs "$name" >&2; die "/readyz did not answer 200 within 60 s"; }
echo "GET /readyz → $ready"

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
podman "${store[@]}" stop -t 30 "$name" >/dev/null
code="$(podman "${store[@]}" inspect -f '{{.State.ExitCode}}' "$name")"
echo "exit code after SIGTERM: $code"
[ "$code" = 0 ] || { podman "${store[@]}" logs "$name" >&2; die "the server did not exit 0 on SIGTERM"; }
step "ok: image built, ran non-root on a read-only root, answered /readyz and /predict, stopped cleanly"
