# Background jobs, wait, $!, kill %1, wait status of killed jobs.
W=$(mktemp -d "$TMPD/jobs.XXXXXX") || exit 99

(sleep 0.2; echo slow > "$W/slow") &
(echo fast > "$W/fast") &
wait
cat "$W/fast" "$W/slow"

sleep 0.1 &
pid=$!
wait $pid
echo "wait \$! status: $?"

(exit 5) &
wait $!
echo "background exit status: $?"

sleep 30 &
kill %1
wait %1
echo "killed job status: $?"

sleep 30 &
p=$!
kill -KILL $p
wait $p
echo "SIGKILLed job status: $?"

for i in 1 2 3 4 5; do (sleep 0.0$i; echo "job $i" >> "$W/log") & done
wait
sort "$W/log"

(sleep 0.1; echo "piped job") | cat &
wait
echo "jobs left: $(jobs | wc -l)"
rm -rf "$W"
