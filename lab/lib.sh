# Shell helpers shared by the lab's image builders (lab/build-base.sh, lab/vm/build-image.sh).
# Sourced, not run.

# progress PREFIX LABEL LOG CMD...: run CMD with its output appended to LOG; while it runs,
# a line every 10 s with the elapsed seconds and the log's last line (plain lines: readable
# on a pipe, in CI and on a TTY). On failure: the log's last 30 lines, then rc of CMD.
progress() {
  local prefix=$1 label=$2 logf=$3
  shift 3
  local t0=$SECONDS n=0 pid rc
  printf '%s: %s (log %s)\n' "$prefix" "$label" "$logf"
  "$@" >>"$logf" 2>&1 </dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    n=$((n + 1))
    if [ $((n % 10)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then
      printf '%s: %s %4ds  %s\n' "$prefix" "$label" $((SECONDS - t0)) \
        "$(tail -n 1 "$logf" 2>/dev/null | tr -d '\r' | cut -c1-100)"
    fi
  done
  rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$logf" | sed "s/^/$prefix:   /"
    printf '%s: %s failed (rc %s) after %ss: read %s\n' "$prefix" "$label" "$rc" $((SECONDS - t0)) "$logf" >&2
  fi
  return "$rc"
}
