# cp -r, mv, rm -r, ln, chmod, touch, mkdir -p in a scratch directory (issue 4).
# Run as `bash dyn_files.sh` natively and under uml (writes go to uml's overlay there).
set -eu
S=$(mktemp -d "$TMPD/files.XXXXXX")
cd "$S"
cp -r "$FIX" copy
find copy | sort
cmp copy/words.txt "$FIX/words.txt" && echo "cmp ok"
diff -r copy "$FIX" && echo "diff -r ok"
mkdir -p a/b/c/d
echo payload >a/b/c/d/f
mv a/b/c moved
find a moved | sort
mv moved/d/f moved/d/g; cat moved/d/g
mv copy/sub copy/renamed; ls copy
ln -s ../copy/words.txt a/link; readlink a/link; wc -l <a/link
ln copy/data.csv hard; stat -c '%h' hard copy/data.csv
chmod 640 hard; stat -c '%a %A' hard
touch -d '2001-02-03 04:05:06 UTC' copy/text.txt; date -u -r copy/text.txt '+%F %T'
truncate -s 10 copy/text.txt; cat copy/text.txt; echo
dd if=/dev/zero of=zeros bs=4096 count=16 status=none; wc -c <zeros
seq 1 100000 >big; wc -l <big; sort -rn big | head -2; split -l 30000 big part.; ls part.* | wc -l
cat part.* | cmp - big && echo "split ok"
rm -r copy
rm -rf a moved
rm hard zeros big part.*
ls -A | wc -l
cd /
rmdir "$S"
test -e "$S" || echo "scratch removed"
