/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for lib/virt/screen.c, which reads the PNG or PPM a
 * guest's screendump gives. Besides memory errors, it checks what
 * screen.h promises: an error has a message; a verdict has a size within
 * the limits and one of the three looks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "screen.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	broken(int, const char *) __attribute__((noreturn));

#define CHECK(cond)	((cond) ? (void)0 : broken(__LINE__, #cond))

static void
broken(int line, const char *what)
{
	fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, line, what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct screen_info	info;
	char			err[128];

	err[0] = '\0';
	if (screen_judge(data, size, &info, err, sizeof(err)) == -1) {
		CHECK(err[0] != '\0');
		return 0;
	}
	CHECK(info.width > 0 && info.width <= SCREEN_MAX_SIDE);
	CHECK(info.height > 0 && info.height <= SCREEN_MAX_SIDE);
	CHECK(info.look == SCREEN_PLACEHOLDER || info.look == SCREEN_BLANK ||
	    info.look == SCREEN_DRAWN);
	return 0;
}
