/* SPDX-License-Identifier: ISC */
/* Helpers shared by the unit tests; include after <cmocka.h>. */
#ifndef PAPRIKA_TEST_UNIT_H
#define PAPRIKA_TEST_UNIT_H

#include <stdarg.h>
#include <stdio.h>

/* snprintf that fails the test rather than cut the text short. */
static inline size_t __attribute__((format(printf, 3, 4)))
fmt(char *buf, size_t size, const char *format, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, format);
	n = vsnprintf(buf, size, format, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size);
	return (size_t)n;
}

#endif
