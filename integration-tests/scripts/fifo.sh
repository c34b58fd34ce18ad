# FIFOs from the shell: mkfifo and mknod, a writer in the background, ls -l, stat, cp (which
# reads a FIFO as a file without -a/-r, and makes a FIFO with them), mv, find -type p, rm.
# $1: a scratch directory. $BB (optional): a busybox binary whose applets are used instead
# of the PATH's tools.
if [ -n "$BB" ]; then
	for a in cat cp cut find ls mkfifo mknod mv rm stat; do
		eval "$a() { \"\$BB\" $a \"\$@\"; }"
	done
fi
cd "$1" || exit 9
mkfifo p
(echo hi >p &)
cat p
# The writer's exit (SIGCHLD) may come while the reader's open is completing its wake-up.
echo data >p & cat <p
wait
ls -l p | cut -c1-10
stat -c '%F %a' p
cp -a p q && stat -c '%F %a' q
cp -r p r && stat -c '%F' r
(echo via cp >p &)
cp p plain && stat -c %F plain && cat plain
mv q s && stat -c '%F' s
mkfifo -m 600 m && stat -c '%F %a' m
mknod n p && stat -c %F n
find . -type p | sort
rm p r s m n plain && ls
echo done
