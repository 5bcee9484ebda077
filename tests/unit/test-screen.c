/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/virt/screen.c: what a guest's screenshot shows. The
 * images are made here, as PNG (libpng) and PPM, the two forms QEMU's
 * screendump takes through libvirt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <png.h>

#include "unit.h"

#include "screen.h"

#define W	640
#define H	480
#define BAND	224	/* QEMU's text line on a 480-row placeholder */

struct img {
	unsigned	 w, h;
	uint8_t		*rgb;
};

static struct img
img_new(unsigned w, unsigned h, uint32_t colour)
{
	struct img	i = { w, h, NULL };
	size_t		 p;

	i.rgb = malloc((size_t)w * h * 3);
	assert_non_null(i.rgb);
	for (p = 0; p < (size_t)w * h; p++) {
		i.rgb[p * 3] = colour >> 16;
		i.rgb[p * 3 + 1] = (colour >> 8) & 0xff;
		i.rgb[p * 3 + 2] = colour & 0xff;
	}
	return i;
}

static void
img_set(struct img *i, unsigned x, unsigned y, uint32_t colour)
{
	uint8_t	*p = i->rgb + ((size_t)y * i->w + x) * 3;

	p[0] = colour >> 16;
	p[1] = (colour >> 8) & 0xff;
	p[2] = colour & 0xff;
}

/* Grey "text" strokes inside the placeholder's one line. */
static struct img
placeholder(void)
{
	struct img	i = img_new(W, H, 0x000000);
	unsigned	x, y;

	for (x = 144; x < 496; x += 3)
		for (y = BAND + 3; y < BAND + 13; y += 2)
			img_set(&i, x, y, 0xaaaaaa);
	return i;
}

static uint8_t *
img_ppm(const struct img *i, size_t *len)
{
	char	 head[64];
	size_t	 n, body = (size_t)i->w * i->h * 3;
	uint8_t	*out;

	n = fmt(head, sizeof(head), "P6\n# QEMU\n%u %u\n255\n", i->w, i->h);
	out = malloc(n + body);
	assert_non_null(out);
	memcpy(out, head, n);
	memcpy(out + n, i->rgb, body);
	*len = n + body;
	return out;
}

static uint8_t *
img_png(const struct img *i, size_t *len)
{
	png_image	 image;
	png_alloc_size_t size = 0;
	uint8_t		*out;

	memset(&image, 0, sizeof(image));
	image.version = PNG_IMAGE_VERSION;
	image.width = i->w;
	image.height = i->h;
	image.format = PNG_FORMAT_RGB;
	assert_true(png_image_write_get_memory_size(image, size, 0, i->rgb, 0,
	    NULL));
	out = malloc(size);
	assert_non_null(out);
	assert_true(png_image_write_to_memory(&image, out, &size, 0, i->rgb, 0,
	    NULL));
	*len = size;
	return out;
}

/* Judges i as PNG and as PPM; both must agree. */
static enum screen_look
look_of(const struct img *i, uint8_t digest[SCREEN_DIGEST_LEN])
{
	struct screen_info	 a, b;
	uint8_t			*png, *ppm;
	size_t			 plen, mlen;
	char			 err[128];

	png = img_png(i, &plen);
	ppm = img_ppm(i, &mlen);
	assert_int_equal(screen_judge(png, plen, &a, err, sizeof(err)), 0);
	assert_int_equal(screen_judge(ppm, mlen, &b, err, sizeof(err)), 0);
	assert_int_equal(a.width, i->w);
	assert_int_equal(a.height, i->h);
	assert_int_equal(a.look, b.look);
	assert_memory_equal(a.digest, b.digest, SCREEN_DIGEST_LEN);
	if (digest != NULL)
		memcpy(digest, a.digest, SCREEN_DIGEST_LEN);
	free(png);
	free(ppm);
	return a.look;
}

static void
test_placeholder(void **state)
{
	struct img	i = placeholder();

	assert_int_equal(look_of(&i, NULL), SCREEN_PLACEHOLDER);
	assert_string_equal(screen_look_name(SCREEN_PLACEHOLDER),
	    "not initialized");
	/* One lit pixel outside QEMU's line: the guest drew it. */
	img_set(&i, 0, 0, 0xaaaaaa);
	assert_int_equal(look_of(&i, NULL), SCREEN_DRAWN);
	img_set(&i, 0, 0, 0x000000);
	img_set(&i, 10, BAND + 15, 0xaaaaaa);
	assert_int_equal(look_of(&i, NULL), SCREEN_PLACEHOLDER);
	img_set(&i, 10, BAND + 16, 0xaaaaaa);
	assert_int_equal(look_of(&i, NULL), SCREEN_DRAWN);
	free(i.rgb);

	/* A second colour in the line is not QEMU's text either. */
	i = placeholder();
	img_set(&i, 300, BAND + 5, 0xffff55);
	assert_int_equal(look_of(&i, NULL), SCREEN_DRAWN);
	free(i.rgb);

	/* Firmware text at the top of a black screen is drawn. */
	i = img_new(720, 400, 0x000000);
	img_set(&i, 3, 5, 0xaaaaaa);
	assert_int_equal(look_of(&i, NULL), SCREEN_DRAWN);
	free(i.rgb);
}

static void
test_blank(void **state)
{
	struct img	i = img_new(W, H, 0x000000);

	assert_int_equal(look_of(&i, NULL), SCREEN_BLANK);
	free(i.rgb);
	i = img_new(720, 400, 0x0000aa);
	assert_int_equal(look_of(&i, NULL), SCREEN_BLANK);
	img_set(&i, 719, 399, 0xff5555);
	assert_int_equal(look_of(&i, NULL), SCREEN_DRAWN);
	free(i.rgb);
	i = img_new(1, 1, 0xffffff);
	assert_int_equal(look_of(&i, NULL), SCREEN_BLANK);
	free(i.rgb);
}

static void
test_digest(void **state)
{
	struct img	i = img_new(720, 400, 0x0000aa);
	uint8_t		a[SCREEN_DIGEST_LEN], b[SCREEN_DIGEST_LEN];

	img_set(&i, 100, 100, 0xff5555);
	look_of(&i, a);
	look_of(&i, b);
	assert_memory_equal(a, b, sizeof(a));
	/* A blinking cursor's pixel is a change. */
	img_set(&i, 8, 390, 0xaaaaaa);
	look_of(&i, b);
	assert_memory_not_equal(a, b, sizeof(a));
	free(i.rgb);
}

static void
judge_fails(const char *what, const void *img, size_t len, const char *why)
{
	struct screen_info	info;
	char			err[128] = "";

	print_message("%s\n", what);
	assert_int_equal(screen_judge(img, len, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, why));
}

static void
test_malformed(void **state)
{
	static const uint8_t	 png_magic[] = { 0x89, 'P', 'N', 'G', '\r',
	    '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R' };
	struct img		 i = img_new(4, 4, 0x123456);
	struct screen_info	 info;
	uint8_t			*png, *ppm;
	size_t			 len;
	char			 err[128];

	judge_fails("empty", "", 0, "not a PNG or PPM");
	judge_fails("text", "hello", 5, "not a PNG or PPM");
	judge_fails("P3 (ASCII PPM)", "P3\n1 1\n255\n0 0 0\n", 17,
	    "not a PNG or PPM");
	judge_fails("no header", "P6\n", 3, "bad PPM header");
	judge_fails("no body", "P6\n1 1\n255\n", 11, "truncated PPM");
	judge_fails("16-bit", "P6\n1 1\n65535\n123456", 19, "8-bit");
	judge_fails("huge", "P6\n99999 99999\n255\n", 19, "out of bounds");
	judge_fails("zero", "P6\n0 4\n255\n", 11, "out of bounds");
	judge_fails("long number", "P6\n0000000001 1\n255\nabc", 23,
	    "bad PPM header");
	judge_fails("no blank after maxval", "P6\n1 1\n255", 10,
	    "bad PPM header");
	judge_fails("PNG magic only", png_magic, sizeof(png_magic), "bad PNG");

	/* Cut anywhere, a PNG is an error, never a crash or a verdict. */
	png = img_png(&i, &len);
	judge_fails("PNG cut short", png, len - 13, "bad PNG");
	/* A flipped byte may still decode (libpng tolerates some), but
	 * never into a verdict without a size. */
	png[len / 2] ^= 0xff;
	err[0] = '\0';
	if (screen_judge(png, len, &info, err, sizeof(err)) == -1)
		assert_non_null(strstr(err, "bad PNG"));
	else
		assert_true(info.width == 4 && info.height == 4);
	free(png);
	ppm = img_ppm(&i, &len);
	judge_fails("PPM cut short", ppm, len - 1, "truncated PPM");
	free(ppm);
	free(i.rgb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholder),
		cmocka_unit_test(test_blank),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
