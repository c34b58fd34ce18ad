# find | sort | uniq -c over the fixture, and xargs in its common forms.
cd "$FIX" || exit 99

echo "== find | sort | uniq -c"
find . -type f | sed 's/.*\.//' | sort | uniq -c
find . | sort
find . -type d | sort | wc -l
find . -name '*.txt' | sort | xargs cat | wc -l
find . -type f -newer data.csv | wc -l

echo "== xargs"
seq 1 10 | xargs echo
seq 1 10 | xargs -n 3 echo
printf 'a b\nc\n' | xargs -n 1 echo item
find . -name '*.txt' | sort | xargs wc -l
find . -name '*.txt' -print0 | sort -z | xargs -0 grep -l o
echo "a,b,c" | tr , '\n' | xargs -I{} echo "<{}>"
printf '' | xargs echo empty-input
seq 3 | xargs sh -c 'echo "sh got $# args: $*"' sh
seq 5 | xargs -n 2 sh -c 'exit 0' sh && echo "xargs status 0"
seq 3 | xargs -n 1 sh -c 'test $0 -ne 2' ; echo "xargs status with a failure: $?"
