# Sourced by the device jobs: each step under `timeout`, traced with timestamps, its exit status and seconds
# appended to $OUT/timings.tsv, so one slow or failing step neither eats the call's budget nor stops the others.
#   source "$(dirname "$0")/steps.sh"      # needs $OUT; writes the timings.tsv header
#   step NAME TIMEOUT_S COMMAND...
export PS4='+ [$(date +%T)] '
printf 'step\trc\tseconds\n' > "$OUT/timings.tsv"

step() {
  local name=$1 limit=$2; shift 2
  local start rc; start=$(date +%s)
  echo "=== $(date +%T) $name (timeout ${limit}s)"
  set -x
  timeout --kill-after=5 "$limit" "$@"
  rc=$?
  { set +x; } 2>/dev/null
  echo "=== $(date +%T) $name: rc $rc, $(( $(date +%s) - start )) s"
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - start ))" >> "$OUT/timings.tsv"
}
