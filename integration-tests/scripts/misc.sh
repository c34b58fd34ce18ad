# Functions, locals, arithmetic, case, string operations, loops, exit status of the script.
fact() {
	local n=$1
	if [ "$n" -le 1 ]; then echo 1; else echo $((n * $(fact $((n - 1))))); fi
}
echo "fact 10 = $(fact 10)"

s="path/to/file.tar.gz"
echo "${s##*/} ${s%%.*} ${s%.*} ${s#*/}"
v=""
echo "default: ${v:-empty} ${#s}"

for w in apple banana cherry 42; do
	case $w in
	a*) echo "$w starts with a" ;;
	*an*) echo "$w contains an" ;;
	[0-9]*) echo "$w is a number" ;;
	*) echo "$w other" ;;
	esac
done

i=0
while [ $i -lt 5 ]; do i=$((i + 1)); [ $i -eq 3 ] && continue; printf '%d ' $i; done
echo
until [ $i -eq 0 ]; do i=$((i - 1)); done
echo "until done: $i"

set -- x y z
echo "args: $# $1 $3"
shift
echo "after shift: $# $*"

count=0
for f in $(seq 1 50); do
	r=$(echo "$f" | md5sum | cut -c1-2)
	count=$((count + 1))
done
echo "50 substitutions with a pipeline: $count, last=$r"
echo "$(seq 1 200 | md5sum)"
exit 3
