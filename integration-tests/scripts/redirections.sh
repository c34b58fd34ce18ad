# Redirections: 2>&1, >>, <, fd duplication and closing, exec redirections, noclobber.
W=$(mktemp -d "$TMPD/redir.XXXXXX") || exit 99
cd "$W" || exit 99

echo "== 2>&1"
{ echo to-out; echo to-err >&2; } 2>&1 | sort
{ echo to-out; echo to-err >&2; } > both.txt 2>&1
sort both.txt
ls /nonexistent-dir-for-test 2>&1 >/dev/null | sed 's/:.*//'
{ echo kept; echo dropped >&2; } 2>/dev/null

echo "== > and >>"
echo one > f.txt
echo two >> f.txt
echo three >> f.txt
cat f.txt
echo replaced > f.txt
cat f.txt
: > f.txt
echo "truncated size: $(wc -c < f.txt)"

echo "== <"
printf 'b\na\nc\n' > in.txt
sort < in.txt
read -r firstline < in.txt
echo "read from file: $firstline"
wc -l < in.txt

echo "== fds"
exec 3> fd3.txt
echo via-fd3 >&3
echo more-fd3 >&3
exec 3>&-
cat fd3.txt
exec 4< in.txt
read -r l1 <&4
read -r l2 <&4
exec 4<&-
echo "fd4 lines: $l1 $l2"
echo "write to closed fd: $( (echo x >&5) 2>/dev/null; echo $?)"
echo rw > rw.txt
exec 6<> rw.txt
read -r got <&6
exec 6>&-
echo "<> read: $got"

echo "== noclobber"
set -C
echo new > f.txt 2>/dev/null || echo "clobber refused"
echo forced >| f.txt
cat f.txt
set +C

cd / && rm -rf "$W"
echo "cleanup: $([ -e "$W" ] && echo left || echo gone)"
