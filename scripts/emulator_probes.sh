#!/usr/bin/env bash
# Run the real-server harness's curl probes (probes.sh) against a running emulator, with the
# real seeded world's roles mapped onto the emulator's fixtures, then compare the answers' shapes
# with a probe run of the real server (shape_diff.py). The demo organization plays the free-plan
# organization for the run (its read:data key, "Acme Store", the public "Acme Blog") and Globex
# the paid one; the plans are put back afterwards. The real seeded world has no status pages, so
# the emulator's are removed first (through its admin surface: use a throwaway emulator).
#
# usage: bash scripts/emulator_probes.sh <emulator url> <out dir> [<real probe dir>]
#   HARNESS  folder of probes.sh and shape_diff.py (the real server's harness, not in this
#            repository; required)
set -euo pipefail
E=${1:?emulator url, e.g. http://127.0.0.1:8787}; OUT=${2:?output folder}; REAL=${3:-}
HARNESS=${HARNESS:?set HARNESS to the folder of the real server harness (probes.sh, shape_diff.py)}
[ -f "$HARNESS/probes.sh" ] || { echo "error: no probes.sh in $HARNESS (set HARNESS)" >&2; exit 2; }
fx=$(curl -sf "$E/__emulator__/fixtures") || { echo "error: no emulator at $E" >&2; exit 2; }
j() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$fx"; }
DEMO=$(j 'd["organizations"]["demo"]'); OTHER=$(j 'd["organizations"]["other"]')
plan() { curl -sf -o /dev/null -X POST "$E/__emulator__/plans" -d "{\"organization_id\":\"$1\",\"plan\":\"$2\"}"; }
plan "$DEMO" free; plan "$OTHER" pro
trap 'plan "$DEMO" pro; plan "$OTHER" free' EXIT
for page in $(curl -sf "$E/__emulator__/objects/statusPages" | python3 -c 'import json,sys; print(*(p["id"] for p in json.load(sys.stdin)))'); do
  curl -sf -o /dev/null -X DELETE "$E/__emulator__/objects/statusPages/$page?hard=true"
done
script=$(mktemp); sed -e "s/org_seed_acme/$DEMO/g" -e "s/org_seed_paid/$OTHER/g" "$HARNESS/probes.sh" >"$script"
BASE=$E OUT=$OUT \
  KEY=$(j 'd["api_keys"]["read_data"]') PKEY=$(j 'd["api_keys"]["other_org"]') \
  KEY3=$(j 'd["api_keys"]["links_only"]') \
  W=$(j '[w["id"] for w in d["websites"] if w["name"] == "Acme Store"][0]') \
  WPUB=$(j '[w["id"] for w in d["websites"] if w["isPublic"]][0]') \
  WPAID=$(j '[w["id"] for w in d["websites"] if w["name"] == "Globex"][0]') \
  bash "$script" >/dev/null
rm -f "$script"
if [ -n "$REAL" ]; then python3 "$HARNESS/shape_diff.py" "$REAL" "$OUT"; fi
