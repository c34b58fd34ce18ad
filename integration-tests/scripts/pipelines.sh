# Pipelines of 3+ stages, command substitution, subshells, while-read loops, here-documents.
# Run with PATH pointing at busybox applets and FIX at the fixture directory.
cd "$FIX" || exit 99

echo "== pipelines"
cat words.txt | sort | uniq -c | sort -rn | head -3
cat words.txt | tr a-z A-Z | grep -v APPLE | sort -u | tr '\n' ' '
echo
seq 1 20 | awk '$1 % 3 == 0' | paste -sd+ - | tr -d '\n'
echo
sed -n '2,$p' data.csv | cut -d, -f2,3 | sort -t, -k2 -n | tail -2
echo "pipeline status (last stage): $(false | true; echo $?)"
echo "pipeline status (false last): $(true | false; echo $?)"
echo "negated: $(! false; echo $?)"

echo "== command substitution"
n=$(wc -l < words.txt)
echo "lines: $n"
echo "nested: $(echo outer $(echo inner $(echo innermost)))"
echo "backticks: `echo old style`"
first=$(head -1 words.txt)
echo "first=$first len=${#first}"
count=$(grep -c banana words.txt)
echo "bananas: $((count * 10))"
x=$(false)
echo "status of an assignment from a failed substitution: $?"

echo "== subshells"
x=outer
(x=inner; echo "in subshell: $x")
echo "after subshell: $x"
(cd sub && echo "subshell cwd: $(basename "$(pwd)")")
echo "parent cwd: $(basename "$(pwd)")"
(exit 7)
echo "subshell exit: $?"
{ echo group1; echo group2; } | wc -l
y=$( (echo a; echo b) | tr '\n' , )
echo "captured: $y"

echo "== while read"
total=0
while IFS=, read -r id name score; do
	[ "$id" = id ] && continue
	total=$((total + score))
	echo "row $id: $name"
done < data.csv
echo "total score: $total"
i=0
cat words.txt | while read -r w; do i=$((i + 1)); done
echo "counter after piped loop (subshell): $i"
printf '%s\n' 3 1 2 | while read -r v; do echo "v=$v"; done | sort

echo "== here-documents"
who=world
cat <<EOT
hello $who
sum $((2 + 3))
EOT
cat <<'EOT'
no $expansion `here`
EOT
	cat <<-EOT
	tabs stripped for $who
	EOT
tr a-z A-Z <<EOT | rev
piped heredoc
EOT
while read -r a b; do echo "$b-$a"; done <<EOT
1 one
2 two
EOT
