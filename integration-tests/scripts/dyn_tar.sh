# tar czf, then tar xzf into a fresh directory, and compare (issue 4). One uml run, so the
# archive written to the overlay is still there for the extraction.
set -eu
S=$(mktemp -d "$TMPD/tar.XXXXXX")
cd "$S"
tar czf fix.tgz -C "$FIX" .
gzip -t fix.tgz && echo "gzip -t ok"
tar tzf fix.tgz | sort
tar tvzf fix.tgz | awk '{ print $1, $3, $4, $5, $6 }' | sort -k5
mkdir out
tar xzf fix.tgz -C out
diff -r "$FIX" out && echo "diff -r ok"
find out -printf '%P %m %TY-%Tm-%Td %TT\n' | sort
# Deterministic archive: same bytes natively and under uml.
tar cf - --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$FIX" . | md5sum
tar cf - --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$FIX" . | gzip -n -6 | md5sum
# A bigger one from the host's read-only root, round-tripped through a pipe.
tar cf - -C /usr/include/x86_64-linux-gnu sys | tar xf - -C out
diff -r /usr/include/x86_64-linux-gnu/sys out/sys && echo "round trip of sys/ ok"
tar czf - -C /usr/include/x86_64-linux-gnu sys | tar tzf - | wc -l
cd /
rm -rf "$S"
echo done
