#!/usr/bin/env bash
# make test's jobs, one after the other, each timed; at the end one line per job with its
# seconds and result, and a non-zero exit if any job failed. Every job runs even when an
# earlier one failed, so one run shows every failure.
#
# usage: tools/run-tests.sh NAME 'COMMAND' [NAME 'COMMAND' ...]
set -u
names=() ; seconds=() ; results=()
failed=0
while [ $# -ge 2 ]; do
  name=$1 command=$2
  shift 2
  echo "== kerascraft test job: $name"
  start=$(date +%s)
  if bash -c "$command"; then result=passed; else result=FAILED; failed=1; fi
  names+=("$name") seconds+=($(( $(date +%s) - start ))) results+=("$result")
done
total=0
echo "== kerascraft test jobs:"
for i in "${!names[@]}"; do
  printf '   %-10s %6s s  %s\n' "${names[$i]}" "${seconds[$i]}" "${results[$i]}"
  total=$(( total + seconds[i] ))
done
printf '   %-10s %6s s\n' "all" "$total"
exit $failed
