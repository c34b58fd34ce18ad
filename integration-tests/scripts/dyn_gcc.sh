# gcc -O2 compiles a C file inside the guest, and the result runs inside the guest (issue 4).
set -u
S=$(mktemp -d "$TMPD/gcc.XXXXXX")
cd "$S"
cp "$FIX/hello.c" .
gcc -O2 -Wall -o hello hello.c; echo "gcc status: $?"
./hello zeta alpha mid; echo "hello status: $?"
gcc -O2 -c hello.c -o hello.o; echo "gcc -c status: $?"
gcc -o hello2 hello.o && ./hello2 >/dev/null; echo "link+run status: $?"
gcc -O2 -static -o hello-static hello.c 2>/dev/null && { ./hello-static one | head -2; } || echo "no static libc"
printf 'int main(void) { return undefined_thing; }\n' >bad.c
gcc -c bad.c 2>/dev/null; echo "bad.c status: $?"
cmp hello.o hello.o && echo "objects ok"
cd /
rm -rf "$S"
