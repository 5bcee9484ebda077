/* SPDX-License-Identifier: ISC */
/*
 * What a guest's own screenshot shows, for readiness: QEMU's "Guest has
 * not initialized the display (yet)" placeholder, a blank screen, or
 * something the guest drew, with a digest to tell whether it still
 * changes. Pure: bytes in, a verdict out; no libvirt, no loop.
 */
#ifndef PAPRIKA_SCREEN_H
#define PAPRIKA_SCREEN_H

#include <stddef.h>
#include <stdint.h>

#define SCREEN_MAX_SIDE		16384	/* pixels, either side */
#define SCREEN_MAX_PIXELS	(64u * 1024 * 1024)
#define SCREEN_DIGEST_LEN	32	/* SHA-256 of the RGB pixels */

enum screen_look {
	SCREEN_PLACEHOLDER,	/* QEMU's "not initialized" screen */
	SCREEN_BLANK,		/* one colour everywhere */
	SCREEN_DRAWN,		/* anything else */
};

struct screen_info {
	unsigned	 width;
	unsigned	 height;
	enum screen_look look;
	uint8_t		 digest[SCREEN_DIGEST_LEN];
};

/*
 * Reads a PNG or binary PPM (P6, what QEMU's screendump gives through
 * libvirt) of len bytes and says what it shows. 0, or -1 with err set
 * ("not a PNG or PPM image", "truncated PPM", ...).
 */
int		 screen_judge(const uint8_t *img, size_t len,
		    struct screen_info *out, char *err, size_t errlen);
const char	*screen_look_name(enum screen_look look);

#endif
