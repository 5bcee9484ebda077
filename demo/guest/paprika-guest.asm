; SPDX-License-Identifier: ISC
; The Paprika demo guest: a boot sector that shows a static banner in VGA
; text mode, then echoes the printable keys typed on row KEYS_ROW (waiting
; in the BIOS, which halts between keys). The text cursor is hidden and
; nothing else changes after boot, so a SPICE client's capture and the
; guest's own screendump can be compared pixel for pixel, before and after
; typing. Build: nasm -f bin -o paprika-guest.bin this.asm

bits 16
cpu 386
org 0x7c00

ROWS		equ 25
COLS		equ 80
BACKGROUND	equ 0x1f		; white on blue
BLOCK		equ 0x1cdb		; light red full block on blue
BANNER_ROW	equ 3
BANNER_COL	equ 2
LETTER_STEP	equ 11			; 5 columns, each two cells wide, plus one
KEYS_ROW	equ 22
KEYS_FIRST	equ (KEYS_ROW * COLS + 2) * 2
KEYS_END	equ (KEYS_ROW * COLS + COLS - 2) * 2

start:
	cli
	xor	ax, ax
	mov	ds, ax
	mov	ss, ax
	mov	sp, 0x7c00
	sti
	cld
	mov	ax, 0x0003		; 80x25 colour text
	int	0x10
	mov	ah, 0x01		; hide the cursor
	mov	cx, 0x2000
	int	0x10
	mov	ax, 0x1003		; attribute bit 7: bright background, not blink
	xor	bl, bl
	int	0x10
	mov	ax, 0xb800
	mov	es, ax
	xor	di, di
	mov	ax, (BACKGROUND << 8) | ' '
	mov	cx, ROWS * COLS
	rep stosw

	xor	si, si			; letter index
.letter:
	movzx	bx, byte [letters + si]
	imul	bx, bx, 5
	add	bx, font		; bx: the glyph's five rows
	mov	ax, si
	imul	ax, ax, LETTER_STEP
	add	ax, BANNER_COL
	mov	[col0], ax
	xor	dx, dx			; glyph row
.row:
	mov	al, [bx]
	mov	[glyph_bits], al
	inc	bx
	xor	cx, cx			; glyph column
.column:
	mov	al, 0x10
	shr	al, cl
	test	[glyph_bits], al
	jz	.next
	; di = ((BANNER_ROW + 2*row) * COLS + col0 + 2*column) * 2
	mov	ax, dx
	shl	ax, 1
	add	ax, BANNER_ROW
	imul	ax, ax, COLS
	add	ax, [col0]
	add	ax, cx
	add	ax, cx
	shl	ax, 1
	mov	di, ax
	mov	ax, BLOCK
	stosw
	stosw
	add	di, COLS * 2 - 4	; the same two cells one line down
	stosw
	stosw
.next:
	inc	cx
	cmp	cx, 5
	jb	.column
	inc	dx
	cmp	dx, 5
	jb	.row
	inc	si
	cmp	si, 7
	jb	.letter

	mov	si, line1
	mov	di, (15 * COLS + 2) * 2
	mov	ah, 0x1e		; yellow on blue
	call	print
	mov	si, line2
	mov	di, (17 * COLS + 2) * 2
	mov	ah, 0x1f
	call	print
	mov	si, line3
	mov	di, (19 * COLS + 2) * 2
	mov	ah, 0x17		; grey on blue
	call	print
	mov	di, KEYS_FIRST
.key:
	xor	ah, ah			; the next key: al its character
	int	0x16
	cmp	al, ' '
	jb	.key
	cmp	al, '~'
	ja	.key
	cmp	di, KEYS_END		; a full row starts over at its left
	jb	.put
	mov	di, KEYS_FIRST
.put:
	mov	ah, 0x1f		; white on blue
	stosw
	jmp	.key

; Writes the NUL-terminated string at si to es:di with attribute ah.
print:
	lodsb
	test	al, al
	jz	.done
	stosw
	jmp	print
.done:
	ret

letters	db 0, 1, 0, 2, 3, 4, 1		; P A P R I K A
font	db 11110b, 10001b, 11110b, 10000b, 10000b	; P
	db 01110b, 10001b, 11111b, 10001b, 10001b	; A
	db 11110b, 10001b, 11110b, 10100b, 10010b	; R
	db 11111b, 00100b, 00100b, 00100b, 11111b	; I
	db 10001b, 10010b, 11100b, 10010b, 10001b	; K
line1	db "Paprika demo desktop", 0
line2	db "This screen reached you through paprika-gatewayd.", 0
line3	db "SPICE TLS runs end to end between your client and QEMU.", 0
col0	dw 0
glyph_bits	db 0

	times 510 - ($ - $$) db 0
	dw 0xaa55
