#!/usr/bin/env bash
# Two ranks read one BasicSR option file; its notes (ignored keys) are printed once, by
# rank 0, while both ranks check it:
#   yaml_notes.sh SRENGINE SOURCE_DIR MPIRUN...
set -u
exe=$1 src=$2
shift 2
lq=$(mktemp -d)
trap 'rm -rf "$lq"' EXIT
cp "$src/datasets/val_photos/mate_wood.png" "$lq/"
out=$("$@" "$exe" config --check "$src/tests/fixtures/yaml/test_lq_only_x4.yml" \
      --set "datasets.test_1.dataroot_lq=$lq" 2>&1)
status=$?
notes=$(grep -c "^note: " <<<"$out")
oks=$(grep -c "test_lq_only_x4.yml: ok" <<<"$out")
if [ "$status" -ne 0 ] || [ "$notes" -ne 1 ] || [ "$oks" -ne 2 ]; then
  echo "FAIL: exit $status, $notes note line(s) (want 1), $oks ok line(s) (want 2)"
  echo "$out"
  exit 1
fi
echo "ok: 2 ranks checked the file, 1 note printed"
