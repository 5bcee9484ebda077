; SPDX-License-Identifier: ISC
; The GPU desktop of the nested GPU host's tests (tests/lib/gpuhost.py): a boot
; sector that finds the display device passed through to it (PCI
; 1234:1111, an emulated bochs-display, VGA or secondary-vga one level
; up, bound to vfio-pci there), sets a 640x480x32 mode through the
; device's own registers and fills its framebuffer with the colour at COLOUR, which the test writes into
; each copy of the image. The outer QEMU's screendump of that device then
; shows the colour only if the desktop really drives the device.
; Its own (emulated) VGA text screen, which SPICE shows, says what it did.
; Build: nasm -f bin -o paprika-gpu-guest.bin this.asm

bits 16
cpu 386
org 0x7c00

TEXT_ATTR	equ 0x1f		; white on blue
DISPI		equ 0x500		; bochs dispi registers in the MMIO BAR
VGA_PORTS	equ 0x400		; VGA ports 0x3c0 to 0x3df in the MMIO BAR
DISPI_XRES	equ 1
DISPI_YRES	equ 2
DISPI_BPP	equ 3
DISPI_ENABLE	equ 4
ENABLED_LFB	equ 0x41
WIDTH		equ 640
HEIGHT		equ 480

start:
	cli
	xor	ax, ax
	mov	ds, ax
	mov	ss, ax
	mov	sp, 0x7c00
	cld
	; Unreal mode: fs and es keep a 4 GiB limit back in real mode, so the
	; device's BARs (above 1 MiB) can be reached with 32-bit offsets.
	lgdt	[gdt_desc]
	mov	eax, cr0
	or	al, 1
	mov	cr0, eax
	jmp	$ + 2
	mov	bx, 8
	mov	fs, bx
	mov	es, bx
	and	al, 0xfe
	mov	cr0, eax
	xor	ax, ax
	mov	fs, ax
	mov	es, ax
	sti
	mov	ax, 0x0003		; 80x25 colour text, cursor hidden
	int	0x10
	mov	ah, 0x01
	mov	cx, 0x2000
	int	0x10

	mov	si, banner
	mov	di, 0
	call	say

	; Bus 0, slots 0 to 31: the first 1234:1111.
	mov	ebx, 0x80000000
.slot:
	mov	eax, ebx
	call	pci_read
	cmp	eax, 0x11111234
	je	.found
	add	ebx, 0x800
	cmp	ebx, 0x80010000
	jb	.slot
	mov	si, missing
	mov	di, 160 * 2
	call	say
	jmp	halt

.found:
	lea	eax, [ebx + 0x18]	; BAR2: the MMIO registers
	call	pci_read
	and	al, 0xf0
	lea	edi, [eax + DISPI]
	mov	ax, 0			; mode off while it changes
	mov	cl, DISPI_ENABLE
	call	dispi
	mov	ax, WIDTH
	mov	cl, DISPI_XRES
	call	dispi
	mov	ax, HEIGHT
	mov	cl, DISPI_YRES
	call	dispi
	mov	ax, 32
	mov	cl, DISPI_BPP
	call	dispi
	mov	ax, ENABLED_LFB
	mov	cl, DISPI_ENABLE
	call	dispi
	; A VGA without its BIOS (secondary-vga) shows nothing until the
	; attribute controller's index has bit 5 (screen on): its ports sit
	; in the MMIO BAR at 0x400 + (port - 0x3c0). Reading the input status
	; (0x3da) puts the controller's flip-flop on the index first. The
	; bochs-display has no VGA ports there and ignores both.
	mov	al, [fs:edi - DISPI + VGA_PORTS + 0x1a]
	mov	byte [fs:edi - DISPI + VGA_PORTS], 0x20

	lea	eax, [ebx + 0x10]	; BAR0: the framebuffer
	call	pci_read
	and	al, 0xf0
	mov	edi, eax
	mov	eax, [colour]
	mov	ecx, WIDTH * HEIGHT
	a32	rep stosd

	mov	si, painted
	mov	di, 160 * 2
	call	say
halt:
	hlt
	jmp	halt

; eax: a config address (0x80000000 | slot << 11 | register); returns the
; register's dword in eax.
pci_read:
	mov	dx, 0xcf8
	out	dx, eax
	mov	dx, 0xcfc
	in	eax, dx
	ret

; Writes ax into dispi register cl; edi: the registers' address.
dispi:
	movzx	ecx, cl
	mov	[fs:edi + ecx * 2], ax
	ret

; Writes the NUL-ended string at si on the text screen from offset di.
say:
	push	es
	push	0xb800
	pop	es
	mov	ah, TEXT_ATTR
.char:
	lodsb
	test	al, al
	jz	.done
	stosw
	jmp	.char
.done:
	pop	es
	ret

banner:		db "Paprika GPU desktop", 0
missing:	db "no passed-through display (1234:1111) found", 0
painted:	db "painted the passed-through display", 0

gdt:		dq 0
		dq 0x00cf92000000ffff	; flat 4 GiB data
gdt_desc:	dw gdt_desc - gdt - 1
		dd gdt

	times 0x1f8 - ($ - $$) db 0
; The colour (0x00RRGGBB) the desktop paints; the test writes its own.
colour:		dd 0x00c02060
	times 510 - ($ - $$) db 0
	dw 0xaa55
