#!/usr/bin/env bash
# Runs a command that must fail within a time limit and print an expected message:
#   expect_failure.sh SECONDS MESSAGE COMMAND...
set -u
limit=$1 message=$2
shift 2
out=$(timeout "$limit" "$@" 2>&1)
status=$?
if [ "$status" -eq 124 ]; then echo "FAIL: the job hung for ${limit}s"; echo "$out"; exit 1; fi
if [ "$status" -eq 0 ]; then echo "FAIL: the job exited 0"; echo "$out"; exit 1; fi
if ! grep -qF -- "$message" <<<"$out"; then echo "FAIL: '$message' not in the output"; echo "$out"; exit 1; fi
echo "ok: exited $status with '$message'"
