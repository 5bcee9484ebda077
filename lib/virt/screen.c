/* SPDX-License-Identifier: ISC */
/*
 * A guest's screenshot judged for readiness (screen.h). PNG is decoded by
 * libpng's simplified API, PPM by hand (a header of four numbers).
 */
#include <ctype.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "screen.h"

#define SCREEN_GLYPH_HEIGHT	16	/* QEMU's VGA font, which draws the
					 * placeholder's one line */

static int
screen_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

const char *
screen_look_name(enum screen_look look)
{
	switch (look) {
	case SCREEN_PLACEHOLDER:
		return "not initialized";
	case SCREEN_BLANK:
		return "blank";
	case SCREEN_DRAWN:
		return "drawn";
	}
	return "?";
}

static int
screen_size_ok(unsigned w, unsigned h)
{
	return w > 0 && h > 0 && w <= SCREEN_MAX_SIDE &&
	    h <= SCREEN_MAX_SIDE && (size_t)w * h <= SCREEN_MAX_PIXELS;
}

/* One unsigned number of a PPM header after blanks and comments; -1 if none. */
static long
screen_ppm_number(const uint8_t *p, size_t len, size_t *pos)
{
	long	v = 0;
	size_t	digits = 0;

	for (;;) {
		while (*pos < len && isspace(p[*pos]))
			(*pos)++;
		if (*pos < len && p[*pos] == '#') {
			while (*pos < len && p[*pos] != '\n')
				(*pos)++;
			continue;
		}
		break;
	}
	while (*pos < len && isdigit(p[*pos]) && digits < 6) {
		v = v * 10 + (p[*pos] - '0');
		(*pos)++;
		digits++;
	}
	if (digits == 0 || (*pos < len && isdigit(p[*pos])))
		return -1;
	return v;
}

static int
screen_read_ppm(const uint8_t *img, size_t len, uint8_t **rgb, unsigned *w,
    unsigned *h, char *err, size_t errlen)
{
	size_t	pos = 2, need;
	long	width, height, maxval;

	width = screen_ppm_number(img, len, &pos);
	height = screen_ppm_number(img, len, &pos);
	maxval = screen_ppm_number(img, len, &pos);
	if (width < 0 || height < 0 || maxval < 0 || pos >= len ||
	    !isspace(img[pos]))
		return screen_error(err, errlen, "bad PPM header");
	if (maxval != 255)
		return screen_error(err, errlen, "PPM with %ld levels: only "
		    "8-bit PPM is read", maxval);
	if (!screen_size_ok((unsigned)width, (unsigned)height))
		return screen_error(err, errlen, "PPM of %ldx%ld pixels is "
		    "out of bounds", width, height);
	pos++;
	need = (size_t)width * (size_t)height * 3;
	if (len - pos < need)
		return screen_error(err, errlen, "truncated PPM");
	if ((*rgb = malloc(need)) == NULL)
		return screen_error(err, errlen, "out of memory");
	memcpy(*rgb, img + pos, need);
	*w = (unsigned)width;
	*h = (unsigned)height;
	return 0;
}

static int
screen_read_png(const uint8_t *img, size_t len, uint8_t **rgb, unsigned *w,
    unsigned *h, char *err, size_t errlen)
{
	png_image	 image;
	uint8_t		*buf;

	memset(&image, 0, sizeof(image));
	image.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&image, img, len))
		return screen_error(err, errlen, "bad PNG: %s", image.message);
	if (!screen_size_ok(image.width, image.height)) {
		png_image_free(&image);
		return screen_error(err, errlen, "PNG of %ux%u pixels is out "
		    "of bounds", image.width, image.height);
	}
	image.format = PNG_FORMAT_RGB;
	if ((buf = malloc(PNG_IMAGE_SIZE(image))) == NULL) {
		png_image_free(&image);
		return screen_error(err, errlen, "out of memory");
	}
	if (!png_image_finish_read(&image, NULL, buf, 0, NULL)) {
		free(buf);
		return screen_error(err, errlen, "bad PNG: %s", image.message);
	}
	*rgb = buf;
	*w = image.width;
	*h = image.height;
	return 0;
}

/*
 * QEMU draws "Guest has not initialized the display (yet)." in one text
 * line of its VGA font, centred, on black: at most two colours, and every
 * lit pixel inside that line's 16 rows.
 */
static int
screen_is_placeholder(const uint8_t *rgb, unsigned w, unsigned h)
{
	const uint8_t	 black[3] = { 0, 0, 0 };
	const uint8_t	*ink = NULL, *p;
	unsigned	 top, x, y;
	int		 lit = 0;

	if (h < SCREEN_GLYPH_HEIGHT)
		return 0;
	top = (h / SCREEN_GLYPH_HEIGHT - 1) / 2 * SCREEN_GLYPH_HEIGHT;
	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++) {
			p = rgb + ((size_t)y * w + x) * 3;
			if (memcmp(p, black, 3) == 0)
				continue;
			if (y < top || y >= top + SCREEN_GLYPH_HEIGHT)
				return 0;
			if (ink == NULL)
				ink = p;
			else if (memcmp(p, ink, 3) != 0)
				return 0;
			lit = 1;
		}
	}
	return lit;
}

static int
screen_is_blank(const uint8_t *rgb, unsigned w, unsigned h)
{
	size_t	i, n = (size_t)w * h * 3;

	for (i = 3; i < n; i += 3)
		if (memcmp(rgb + i, rgb, 3) != 0)
			return 0;
	return 1;
}

int
screen_judge(const uint8_t *img, size_t len, struct screen_info *out,
    char *err, size_t errlen)
{
	static const uint8_t	 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r',
	    '\n', 0x1a, '\n' };
	uint8_t			*rgb = NULL;
	unsigned		 w = 0, h = 0;
	int			 rc;

	memset(out, 0, sizeof(*out));
	if (len >= sizeof(png_magic) && memcmp(img, png_magic,
	    sizeof(png_magic)) == 0)
		rc = screen_read_png(img, len, &rgb, &w, &h, err, errlen);
	else if (len >= 3 && img[0] == 'P' && img[1] == '6' &&
	    isspace(img[2]))
		rc = screen_read_ppm(img, len, &rgb, &w, &h, err, errlen);
	else
		rc = screen_error(err, errlen, "not a PNG or PPM image");
	if (rc == -1)
		return -1;
	out->width = w;
	out->height = h;
	if (screen_is_blank(rgb, w, h))
		out->look = SCREEN_BLANK;
	else if (screen_is_placeholder(rgb, w, h))
		out->look = SCREEN_PLACEHOLDER;
	else
		out->look = SCREEN_DRAWN;
	SHA256(rgb, (size_t)w * h * 3, out->digest);
	free(rgb);
	return 0;
}
