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
	.section .note.GNU-stack,"",@progbits
