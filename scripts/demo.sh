#!/usr/bin/env bash
# The demo of `make demo`: build distroless static:nonroot and the example Go
# app with distill, write them under ./dist, and run the app in Docker when an
# engine answers. Expects `distill` and `go` on PATH (make demo sees to both).
set -euo pipefail
cd "$(dirname "$0")/.."

example=examples/hello
mkdir -p dist "$example/build"
export GOCACHE="${GOCACHE:-$PWD/.cache/go-build}" GOPATH="${GOPATH:-$PWD/.cache/go}"

echo "== compiling the example Go server (static, CGO_ENABLED=0)"
(cd "$example" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o build/hello .)

engine=no
if docker info >/dev/null 2>&1; then engine=yes; fi

echo "== distill base static:nonroot"
distill base static:nonroot \
  -o oci:dist/static:nonroot \
  -o docker-archive:dist/static-nonroot.tar:distill/static:nonroot

echo "== distill build -f $example/distill.yaml"
outputs=(-o oci:dist/hello:1.0 -o docker-archive:dist/hello.tar:hello:1.0)
if [ "$engine" = yes ]; then outputs+=(-o docker-daemon:hello:1.0); fi
distill build -f "$example/distill.yaml" "${outputs[@]}"

echo "== what is inside: a treemap report, an SBOM, and pending Debian updates"
distill inspect oci:dist/hello:1.0 --html dist/hello.html && echo "report: dist/hello.html"
distill sbom oci:dist/hello:1.0 --format spdx -o dist/hello.spdx.json && echo "SBOM: dist/hello.spdx.json"
status=0; distill outdated oci:dist/hello:1.0 || status=$?
echo "distill outdated: exit $status (0 current, 1 security updates, 3 other updates)"

echo "== distill base --all --release bookworm --arch amd64 (every flavor and variant)"
distill base --all --release bookworm --arch amd64

if [ "$engine" = no ]; then
  echo "== no Docker engine answers: images are in ./dist (start one to run them)"
  exit 0
fi

echo "== docker load of the static base, and a run of the app"
docker load -i dist/static-nonroot.tar
docker run --rm --network none -e TZ=Europe/Paris hello:1.0 --report

echo "== the app as a server, until Docker reports it healthy"
name="distill-demo-$$"
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
docker run -d --name "$name" --network host -e PORT=18080 hello:1.0 >/dev/null
for _ in $(seq 1 30); do
  status=$(docker inspect -f '{{.State.Health.Status}}' "$name")
  [ "$status" = healthy ] && break
  sleep 1
done
echo "health: $status"
python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:18080/").read().decode(), end="")'
echo "== a shell is not there:"
docker run --rm --network none --entrypoint sh hello:1.0 2>&1 | grep -o 'exec: "sh": [^:]*' || true
[ "$status" = healthy ]
