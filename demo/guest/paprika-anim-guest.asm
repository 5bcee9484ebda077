; SPDX-License-Identifier: ISC
; A desktop that never stops changing, for the frame-rate benchmark
; (tests/bench/bench-fps.py): a boot sector that, as fast as it runs, counts
; in hex in the middle of a VGA text screen and repaints rows BLOCK_TOP to
; BLOCK_BOTTOM in a background colour that moves on every 256 counts. Every
; refresh of the display finds something new to send. Its pool needs
; ready_when = port: a screen that never stays still is never "settled".
; Build: nasm -f bin -o paprika-anim-guest.bin this.asm

bits 16
cpu 386
org 0x7c00

COLS		equ 80
BLOCK_TOP	equ 2
BLOCK_BOTTOM	equ 22
COUNTER_AT	equ (12 * COLS + 36) * 2

start:
	cli
	xor	ax, ax
	mov	ds, ax
	mov	ss, ax
	mov	sp, 0x7c00
	sti
	cld
	mov	ax, 0x0003		; 80x25 colour text, cursor hidden
	int	0x10
	mov	ah, 0x01
	mov	cx, 0x2000
	int	0x10
	mov	ax, 0xb800
	mov	es, ax
	xor	ebp, ebp		; the count
.frame:
	inc	ebp
	mov	ax, bp			; background: bits 8-10 of the count
	shr	ax, 4
	and	al, 0x70
	or	al, 0x0f		; white text
	mov	ah, al
	mov	al, ' '
	mov	di, BLOCK_TOP * COLS * 2
	mov	cx, (BLOCK_BOTTOM - BLOCK_TOP) * COLS
	rep stosw
	mov	bl, ah			; the count in hex, same colours
	mov	edx, ebp
	mov	di, COUNTER_AT
	mov	cx, 8
.digit:
	rol	edx, 4
	mov	al, dl
	and	al, 0x0f
	add	al, '0'
	cmp	al, '9'
	jbe	.put
	add	al, 'a' - '9' - 1
.put:
	mov	ah, bl
	stosw
	loop	.digit
	jmp	.frame

	times 510 - ($ - $$) db 0
	dw 0xaa55
