/* SPDX-License-Identifier: ISC */
/* Allocation that dies on failure: for startup and configuration code only. */
#ifndef PAPRIKA_XMALLOC_H
#define PAPRIKA_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));

#endif
