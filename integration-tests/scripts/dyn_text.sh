# grep -r, sed and awk (issue 4). Run as `bash dyn_text.sh` natively and under uml.
set -u
cd "$FIX"
echo "== grep"
grep -r TODO . | sort
grep -rn --include='*.txt' -i 'inner' . | sort
grep -rl 'echo' . | sort
grep -c a words.txt; grep -v -e apple -e banana words.txt | tr '\n' ' '; echo
grep -E '^[0-9]+,(alice|carol),' data.csv
grep -o '[a-z]*o[a-z]*' text.txt | sort -u | tr '\n' ' '; echo
grep -q nothing-like-this text.txt; echo "grep -q miss: $?"
grep -r --count 'line' sub | sort
grep -rh define /usr/include/stdio.h | head -3
echo "== sed"
sed -n '2,3p' text.txt
sed 's/\(quick\) \(brown\)/\2 \1/; s/dog/cat/g' text.txt
sed -E 's/^([0-9]+),([a-z]+),.*/\2=\1/' data.csv
sed '/apple/d; s/an/AN/2' words.txt | tr '\n' ' '; echo
sed -n '$=' data.csv
printf 'a\nb\nc\n' | sed -e '1i\
first' -e '$a\
last'
cp text.txt "$TMPD/sed-i.$$"; sed -i 's/fox/FOX/' "$TMPD/sed-i.$$"; head -1 "$TMPD/sed-i.$$"; rm "$TMPD/sed-i.$$"
echo "== awk"
awk -F, 'NR > 1 { s[$3] += $4; n[$3]++ } END { for (d in s) printf "%s %d %.2f\n", d, n[d], s[d] / n[d] }' data.csv | sort
awk '{ print NR": "NF" words, "length($0)" chars" }' text.txt
awk 'BEGIN { for (i = 1; i <= 5; i++) printf "%d^2=%d ", i, i * i; print ""; print 2 ^ 40, int(7 / 2), sprintf("%08.3f", 3.14159) }'
awk -v x=3 'BEGIN { split("a:b:c:d", p, ":"); print p[x], toupper("mixed Case"), substr("dynamic", 3, 4) }'
awk '{ c[$1]++ } END { for (w in c) if (c[w] > 1) print w, c[w] }' words.txt | sort
ls /usr/bin | awk 'length($0) == 2' | sort | head -5
