/*
 * The uml stub: the only code of ours in a guest's host process.
 *
 * The kernel starts it with execveat() under ptrace and never lets it run freely: it sets
 * the registers and PTRACE_CONTs into one of two entry points, which run host syscalls on
 * the kernel's behalf and report with int3 (SIGTRAP). Guest code never reaches these
 * syscalls for real: under PTRACE_SYSEMU every guest syscall instruction stops first.
 *
 * STUB_CODE and STUB_DATA are passed by build.rs. The data page (mapped by the kernel at
 * STUB_DATA, MAP_SHARED from a memfd the kernel also maps) holds a batch:
 *   u64 count; u64 done; i64 result; then count entries of { u64 nr, a0, a1, a2, a3, a4, a5 }.
 */
	.text
	.globl _start
_start:
	int3
	jmp	_start

	/* stub_syscall: run the one syscall whose registers the kernel set, then report. */
	.org	0x10
	.globl	stub_syscall
stub_syscall:
	syscall
	int3

	/* stub_batch: run the batch in the data page until one fails; report how far it got. */
	.org	0x20
	.globl	stub_batch
stub_batch:
	movabs	$STUB_DATA, %rbx
	xor	%r12d, %r12d
1:	cmp	(%rbx), %r12
	jae	3f
	imul	$56, %r12, %r13
	lea	24(%rbx,%r13), %r14
	mov	(%r14), %rax
	mov	8(%r14), %rdi
	mov	16(%r14), %rsi
	mov	24(%r14), %rdx
	mov	32(%r14), %r10
	mov	40(%r14), %r8
	mov	48(%r14), %r9
	syscall
	mov	%rax, 16(%rbx)
	cmp	$-4095, %rax
	jae	2f
	inc	%r12
	jmp	1b
2:	mov	%r12, 8(%rbx)
	int3
3:	mov	%r12, 8(%rbx)
	movq	$0, 16(%rbx)
	int3

/*
 * ---------------------------------------------------------------- seccomp mode
 * Memory (see runner/src/seccomp.rs, which owns the offsets):
 *   STUB_DATA   one page, read-write in the stub: the trap words (TRAP_SEQ, hints),
 *               the handler's report, the mapper's completion word.
 *   STUB_REQ    two pages, READ-ONLY in the stub, written by the kernel: STATE (the only
 *               word that lets a parked guest thread run again), the mapper's request
 *               sequence and batch, the canonical frame addresses, the BPF programs.
 *   altstack    the signal stack (read-write).
 * Every path that decides whether guest code may run again reloads its operands from
 * absolute addresses, so jumping into the middle of it with chosen registers gains nothing.
 */
#define D_TRAP_SEQ	0x00
#define D_KSLEEP	0x04
#define D_SSLEEP	0x0c
#define D_PARK		0x10
#define D_SIGNO		0x14
#define D_INFO		0x18
#define D_UC		0x20
#define D_FS		0x28
#define D_GS		0x30
#define D_SETFSGS	0x38
#define D_CURFS		0x40
#define D_CURGS		0x48
#define D_MAP_DONE	0x80
#define D_MAP_KSLEEP	0x84
#define D_MAP_ERR	0x88
#define D_MAP_IDX	0x90
#define D_STAT_SSLEEPS	0xa0
#define R_STATE		0x00
#define R_REQ_SEQ	0x04
#define R_REQ_COUNT	0x08
#define R_ENTRIES	0x10
#define R_FPROG_M	0x1000
#define R_SPIN		0x1020
#define R_FSGSBASE	0x1028
#define R_FRAME_RSP	0x1030

	/* stub_ready: the first trap of a fresh seccomp stub (the frame it leaves is canonical). */
	.balign	16
	.globl	stub_ready
stub_ready:
	int3
	ud2

	/* stub_restorer: sa_restorer of every handler. */
	.balign	16
	.globl	stub_restorer
stub_restorer:
	mov	$15, %eax
	syscall
	ud2

	/* stub_clone: clone(flags in the registers); the new thread becomes the mapper. */
	.balign	16
	.globl	stub_clone
stub_clone:
	syscall
	test	%rax, %rax
	jz	mapper_start
	int3

	/*
	 * The signal handler (SA_SIGINFO|SA_ONSTACK, every signal blocked): report, wait for
	 * the kernel's reply (STATE == 2*TRAP_SEQ+1), resume through the canonical frame.
	 */
	.balign	16
	.globl	stub_handler
stub_handler:
	movabs	$STUB_DATA, %rbx
	movabs	$STUB_REQ, %rbp
	mov	%edi, D_SIGNO(%rbx)
	mov	%rsi, D_INFO(%rbx)
	mov	%rdx, D_UC(%rbx)
	cmpq	$0, R_FSGSBASE(%rbp)
	je	1f
	rdfsbase %rax
	mov	%rax, D_CURFS(%rbx)
	rdgsbase %rax
	mov	%rax, D_CURGS(%rbx)
1:	lock incl D_TRAP_SEQ(%rbx)
	cmpl	$0, D_KSLEEP(%rbx)
	je	2f
	mov	$202, %eax		/* futex(TRAP_SEQ, FUTEX_WAKE, 1) */
	lea	D_TRAP_SEQ(%rbx), %rdi
	mov	$1, %esi
	mov	$1, %edx
	syscall
	/*
	 * Spin for the reply, R_SPIN pause loops at most, yielding the CPU every 32 of them:
	 * if the kernel thread shares this CPU (the host is busy), it runs at once instead of
	 * after this thread's time slice; otherwise the yield returns at once.
	 */
2:	mov	R_SPIN(%rbp), %r12
3:	mov	D_TRAP_SEQ(%rbx), %eax
	lea	1(%rax,%rax), %eax
	cmp	R_STATE(%rbp), %eax
	je	stub_resume
	cmpl	$0, D_PARK(%rbx)
	jne	stub_wait
	pause
	dec	%r12
	jz	stub_wait
	test	$31, %r12d
	jnz	3b
	mov	$24, %eax		/* sched_yield() */
	syscall
	jmp	3b

	/* Sleep until the kernel lets this thread run; register-independent. */
	.globl	stub_wait
stub_wait:
	movabs	$STUB_DATA, %rbx
	movabs	$STUB_REQ, %rbp
	mov	$1, %eax
	xchg	%eax, D_SSLEEP(%rbx)
	mov	D_TRAP_SEQ(%rbx), %eax
	lea	1(%rax,%rax), %eax
	mov	R_STATE(%rbp), %edx
	cmp	%eax, %edx
	je	4f
	/* Not ours (even: the kernel holds this thread; odd: an older answer): wait for a change. */
	lock incl D_STAT_SSLEEPS(%rbx)
	mov	$202, %eax		/* futex(STATE, FUTEX_WAIT, edx, NULL) */
	lea	R_STATE(%rbp), %rdi
	xor	%esi, %esi
	xor	%r10d, %r10d
	syscall
	jmp	stub_wait
4:	movl	$0, D_SSLEEP(%rbx)

	/* Resume guest code with the canonical frame, which the kernel rewrote. */
	.globl	stub_resume
stub_resume:
	movabs	$STUB_DATA, %rbx
	movabs	$STUB_REQ, %rbp
	mov	D_SETFSGS(%rbx), %r12d
	test	$1, %r12d
	jz	7f
	cmpq	$0, R_FSGSBASE(%rbp)
	je	6f
	mov	D_FS(%rbx), %rax
	wrfsbase %rax
	jmp	7f
6:	mov	$158, %eax		/* arch_prctl(ARCH_SET_FS, fs) */
	mov	$0x1002, %edi
	mov	D_FS(%rbx), %rsi
	syscall
7:	test	$2, %r12d
	jz	9f
	cmpq	$0, R_FSGSBASE(%rbp)
	je	8f
	mov	D_GS(%rbx), %rax
	wrgsbase %rax
	jmp	9f
8:	mov	$158, %eax		/* arch_prctl(ARCH_SET_GS, gs) */
	mov	$0x1001, %edi
	mov	D_GS(%rbx), %rsi
	syscall
9:	mov	R_FRAME_RSP(%rbp), %rsp
	ret

	/*
	 * The mapper thread: its own fd table (physical memory), its own filter; runs batches
	 * of mmap/munmap/mprotect the kernel writes into the read-only request page. Uses no
	 * stack and no memory the guest can write except the completion words.
	 */
	.balign	16
	.globl	mapper_start
mapper_start:
	mov	$317, %eax		/* seccomp(SET_MODE_FILTER, 0, prog) */
	mov	$1, %edi
	xor	%esi, %esi
	movabs	$(STUB_REQ + R_FPROG_M), %rdx
	syscall
	test	%rax, %rax
	jnz	mapper_die
	movabs	$STUB_DATA, %rbx
	movabs	$STUB_REQ, %rbp
	xor	%r15d, %r15d
mapper_loop:
	mov	R_REQ_SEQ(%rbp), %eax
	cmp	%eax, %r15d
	jne	mapper_work
	mov	$202, %eax		/* futex(REQ_SEQ, FUTEX_WAIT, r15d, NULL) */
	lea	R_REQ_SEQ(%rbp), %rdi
	xor	%esi, %esi
	mov	%r15d, %edx
	xor	%r10d, %r10d
	syscall
	jmp	mapper_loop
mapper_work:
	mov	%eax, %r15d
	mov	R_REQ_COUNT(%rbp), %r12
	cmp	$72, %r12
	jbe	1f
	mov	$72, %r12
1:	xor	%r13d, %r13d
2:	cmp	%r12, %r13
	jae	4f
	imul	$56, %r13, %r14
	lea	R_ENTRIES(%rbp,%r14), %r14
	mov	(%r14), %rax
	mov	8(%r14), %rdi
	mov	16(%r14), %rsi
	mov	24(%r14), %rdx
	mov	32(%r14), %r10
	mov	40(%r14), %r8
	mov	48(%r14), %r9
	syscall
	cmp	$-4095, %rax
	jae	3f
	inc	%r13
	jmp	2b
3:	mov	%rax, D_MAP_ERR(%rbx)
	mov	%r13, D_MAP_IDX(%rbx)
	jmp	5f
4:	movq	$0, D_MAP_ERR(%rbx)
5:	mov	%r15d, %eax
	xchg	%eax, D_MAP_DONE(%rbx)
	cmpl	$0, D_MAP_KSLEEP(%rbx)
	je	mapper_loop
	mov	$202, %eax		/* futex(MAP_DONE, FUTEX_WAKE, 1) */
	lea	D_MAP_DONE(%rbx), %rdi
	mov	$1, %esi
	mov	$1, %edx
	syscall
	jmp	mapper_loop
mapper_die:
	ud2
	.globl	stub_code_end
stub_code_end:
	.section .note.GNU-stack,"",@progbits
