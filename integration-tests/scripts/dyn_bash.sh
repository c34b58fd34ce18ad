# bash features (issue 4): pipelines, functions, $(...), arrays, arithmetic, here-docs,
# subshells, traps and exit statuses. Run as `bash dyn_bash.sh` natively and under uml.
# Env: FIX (fixture copy), TMPD (scratch dir), PATH, LC_ALL=C, TZ=UTC.
set -u

echo "== pipelines"
sort "$FIX/words.txt" | uniq -c | sort -k1,1nr -k2 | head -3
tr a-z A-Z <"$FIX/text.txt" | rev | head -2
printf '%s\n' 3 1 2 | sort -n | paste -sd+ | bc 2>/dev/null || echo "no bc"
seq 1 20 | grep -v 3 | awk '{ s += $1 } END { print "sum without 3s:", s }'
false | true; echo "pipeline status: $?"
set -o pipefail; false | true; echo "pipefail status: $?"; set +o pipefail
echo "PIPESTATUS:" $(true | false | (exit 3); echo "${PIPESTATUS[@]}")

echo "== functions"
fact() { if (( $1 <= 1 )); then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }
echo "fact 12 = $(fact 12)"
greet() { local who=${1:-world}; printf 'hello, %s (%d args)\n' "$who" "$#"; return 4; }
greet; echo "greet status: $?"
greet "dynamic linker" x y
counter=0
bump() { counter=$((counter + $1)); }
for i in 1 2 3 4 5; do bump "$i"; done
echo "counter: $counter"
fib() { local a=0 b=1 i; for ((i = 0; i < $1; i++)); do local t=$((a + b)); a=$b; b=$t; done; echo $a; }
echo "fib 50 = $(fib 50)"

echo "== substitution"
n=$(wc -l <"$FIX/data.csv")
echo "data lines: $n"
echo "nested: $(echo "a$(echo "b$(echo c)")")"
echo "backticks: `echo old style`"
files=$(cd "$FIX" && ls | sort | tr '\n' ' ')
echo "fixture files: $files"
for i in $(seq 1 30); do x=$(echo "$i" | md5sum | cut -c1-4); done
echo "30 substitutions, last=$x"

echo "== arrays and strings"
arr=(zero one two three)
arr+=(four)
echo "len ${#arr[@]}, [2]=${arr[2]}, slice=${arr[*]:1:2}"
declare -A map=([b]=2 [a]=1 [c]=3)
for k in $(printf '%s\n' "${!map[@]}" | sort); do echo "map[$k]=${map[$k]}"; done
s="The quick brown fox"
echo "${s^^} ${s,,} ${s/quick/slow} ${#s} ${s:4:5}"
path=/usr/lib/x86_64-linux-gnu/libc.so.6
echo "${path##*/} ${path%/*} ${path%%.*}"
read -r a b c <<<"one two three four"
echo "read: a=$a b=$b c=$c"
printf '%05d|%-6s|%x|%.3f\n' 42 ab 255 3.14159

echo "== here-docs and subshells"
cat <<END | sed 's/^/  /'
user-independent here-doc
2+3=$((2 + 3))
END
( cd "$FIX/sub" && echo "in subshell: $(basename "$PWD")" ); echo "back in: $(basename "$PWD" | sed 's/.*/(cwd kept)/')"
{ echo grouped; echo output; } | wc -l
x=outer; ( x=inner; echo "sub x=$x" ); echo "x=$x"

echo "== status and traps"
( exit 7 ); echo "subshell status: $?"
bash -c 'exit 9'; echo "child bash status: $?"
sh -c 'kill -TERM $$'; echo "killed child status: $?"
r=$(trap 'echo "EXIT trap"' EXIT; echo body); echo "$r" | tr '\n' ' '; echo
( trap 'echo "got USR1"; exit 5' USR1; kill -USR1 $BASHPID; sleep 1 ); echo "usr1 status: $?"
sleep 0.05 & pid=$!; wait "$pid"; echo "background wait: $?"
if command -v definitely-not-a-command >/dev/null; then echo found; else echo "not found: $?"; fi
definitely-not-a-command 2>/dev/null; echo "missing command status: $?"
exit 3
