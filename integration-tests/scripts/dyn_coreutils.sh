# coreutils (issue 4): ls, sort, cut, wc, find, du, stat, date on the host's read-only
# root and on a fixture. Run as `bash dyn_coreutils.sh` natively and under uml.
set -u

echo "== ls -la /usr/bin | head"
ls -la /usr/bin | head
echo "== ls of the fixture"
ls -l --time-style=+%F_%T "$FIX" | sed "s|$FIX|FIX|"
ls -R "$FIX" | sed "s|$FIX|FIX|"
echo "== sort / cut / wc"
sort "$FIX/words.txt" | tr '\n' ' '; echo
sort -u -r "$FIX/words.txt" | tr '\n' ' '; echo
tail -n +2 "$FIX/data.csv" | sort -t, -k4,4nr | cut -d, -f2,4
cut -d, -f3 "$FIX/data.csv" | tail -n +2 | sort | uniq -c
cut -c1-9 "$FIX/text.txt"
wc "$FIX/words.txt" "$FIX/text.txt" "$FIX/data.csv" | sed "s|$FIX/||"
wc -c <"$FIX/hello.c"
head -c 100 /usr/include/stdio.h | md5sum
md5sum "$FIX"/*.txt | sed "s|$FIX/||"
sha256sum "$FIX/data.csv" | cut -d' ' -f1
echo "== find"
find /usr/share -name '*.txt' | wc -l
find "$FIX" -type f | sort | sed "s|$FIX|FIX|"
find "$FIX" -name '*.txt' -newer "$FIX/data.csv" | sort | sed "s|$FIX|FIX|"
find /usr/include -maxdepth 1 -name 's*.h' | sort | head -5
echo "== du"
du -s "$FIX" | sed "s|$FIX|FIX|"
du -a --apparent-size -b "$FIX" | sort -k2 | sed "s|$FIX|FIX|"
echo "== stat"
stat -c '%n|%s|%a|%A|%F|%h|%U|%G|%Y|%y' "$FIX"/*.txt "$FIX/sub" | sed "s|$FIX|FIX|"
stat -c '%n|%s|%F|%U|%Y' /usr/bin/env /usr/lib/os-release /usr/include/stdio.h
stat -L -c '%n %F' /bin/sh
stat -c '%N' /bin/sh
echo "== date"
date -d @0 -u
date -u -d @1700000000 '+%Y-%m-%d %H:%M:%S %A %j'
date -u -d '2021-03-04 05:06:07' +%s
date -u -d '2024-02-28 + 2 days' +%F
date -r "$FIX/words.txt" -u '+%F %T'
echo "== misc"
basename /usr/lib/libfoo.so.1 .1; dirname /usr/lib/libfoo.so.1
seq -s, 1 10; expr 6 \* 7; printf 'b\na\nc\n' | sort | tac | nl
id -un >/dev/null && echo "id ok"; test -d /usr && echo "test ok"
env -i /usr/bin/env | wc -l
echo "done"
