/* Checks the auxiliary vector the kernel passes at exec. Prints ok/bad lines only. */
#include "common.h"
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

extern char _start[];
extern const ElfW(Ehdr) __ehdr_start;
extern char **environ;

static int present[64];
static unsigned long value[64];

int main(int argc, char **argv, char **envp) {
    (void)argc;
    /* Walk past envp to the raw auxv. */
    char **p = envp;
    while (*p) p++;
    ElfW(auxv_t) *av = (ElfW(auxv_t) *)(p + 1);
    int count = 0, terminated = 0;
    for (; count < 64; av++, count++) {
        if (av->a_type == AT_NULL) { terminated = 1; break; }
        if (av->a_type < 64) { present[av->a_type] = 1; value[av->a_type] = av->a_un.a_val; }
    }
    CHECK("auxv terminated by AT_NULL", terminated);

    CHECK("AT_PAGESZ == 4096", present[AT_PAGESZ] && getauxval(AT_PAGESZ) == 4096);
    CHECK("AT_PAGESZ == sysconf", sysconf(_SC_PAGESIZE) == 4096);

    const ElfW(Ehdr) *eh = &__ehdr_start;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
    CHECK("AT_PHDR matches ELF header", present[AT_PHDR] && value[AT_PHDR] == (unsigned long)ph);
    CHECK("AT_PHENT == e_phentsize", present[AT_PHENT] && value[AT_PHENT] == eh->e_phentsize &&
                                         value[AT_PHENT] == sizeof(ElfW(Phdr)));
    CHECK("AT_PHNUM == e_phnum", present[AT_PHNUM] && value[AT_PHNUM] == eh->e_phnum);
    int has_load = 0;
    for (unsigned i = 0; present[AT_PHNUM] && i < value[AT_PHNUM]; i++) {
        const ElfW(Phdr) *q = (const ElfW(Phdr) *)(value[AT_PHDR] + i * value[AT_PHENT]);
        if (q->p_type == PT_LOAD) has_load = 1;
    }
    CHECK("program headers readable through AT_PHDR", has_load);
    CHECK("AT_ENTRY == &_start", present[AT_ENTRY] && value[AT_ENTRY] == (unsigned long)_start);
    CHECK("AT_ENTRY == e_entry", value[AT_ENTRY] == eh->e_entry);

    unsigned char *rnd = (unsigned char *)getauxval(AT_RANDOM);
    if (present[AT_RANDOM] && rnd) {
        unsigned sum = 0;
        for (int i = 0; i < 16; i++) sum += rnd[i];
        (void)sum;
        puts("ok AT_RANDOM 16 readable bytes");
    } else {
        puts("bad AT_RANDOM missing");
    }

    CHECK("AT_UID == getuid", present[AT_UID] && value[AT_UID] == getuid());
    CHECK("AT_EUID == geteuid", present[AT_EUID] && value[AT_EUID] == geteuid());
    CHECK("AT_GID == getgid", present[AT_GID] && value[AT_GID] == getgid());
    CHECK("AT_EGID == getegid", present[AT_EGID] && value[AT_EGID] == getegid());
    CHECK("AT_SECURE == 0", present[AT_SECURE] && value[AT_SECURE] == 0);
    CHECK("AT_HWCAP nonzero", present[AT_HWCAP] && value[AT_HWCAP] != 0);
    CHECK("AT_CLKTCK == 100", present[AT_CLKTCK] && value[AT_CLKTCK] == 100);
    CHECK("sysconf(_SC_CLK_TCK) == 100", sysconf(_SC_CLK_TCK) == 100);

    const char *execfn = (const char *)getauxval(AT_EXECFN);
    CHECK("AT_EXECFN is a non-empty string", present[AT_EXECFN] && execfn && strlen(execfn) > 0);
    CHECK("AT_EXECFN names this program",
          execfn && strlen(execfn) >= 4 && strcmp(execfn + strlen(execfn) - 4, "auxv") == 0);
    const char *plat = (const char *)getauxval(AT_PLATFORM);
    CHECK("AT_PLATFORM == x86_64", present[AT_PLATFORM] && plat && strcmp(plat, "x86_64") == 0);
    CHECK("AT_MINSIGSTKSZ present and nonzero",
          present[AT_MINSIGSTKSZ] && value[AT_MINSIGSTKSZ] != 0);

    /* Stack layout: argv and envp sit just below auxv, environ is envp. */
    CHECK("environ == envp", environ == envp);
    CHECK("argv[0] non-empty", argv[0] && argv[0][0]);
    CHECK("stack 16-byte aligned in main", ((unsigned long)__builtin_frame_address(0) & 15) == 0);
    return 0;
}
