# trap ... EXIT INT TERM USR1, signals sent to the shell itself, traps in subshells.
trap 'echo "EXIT trap (status $?)"' EXIT
trap 'echo "INT trap"' INT
trap 'echo "USR1 trap"' USR1

echo start
kill -INT $$
echo after INT
kill -USR1 $$
echo after USR1
( trap 'echo "subshell EXIT trap"' EXIT; echo in subshell )
echo "subshell done"
sh -c 'trap "echo child TERM; exit 3" TERM; kill -TERM $$; echo not reached'
echo "child status: $?"
sh -c 'kill -TERM $$; echo not reached'
echo "untrapped TERM status: $?"
trap - USR1
trap '' HUP
sh -c 'kill -HUP $$; echo "HUP ignored in child"'
( trap 'echo "INT in subshell"' INT; kill -INT $(sh -c 'echo $PPID') 2>/dev/null; echo sub-after )
echo "listing:"
trap | sort
exit 4
