# sh printargs.sh <out file> <args...>: one "[arg]" line per argument.
out=$1
shift
: > "$out"
for a in "$@"; do printf '[%s]\n' "$a" >> "$out"; done
printf 'argc=%s\n' "$#" >> "$out"
