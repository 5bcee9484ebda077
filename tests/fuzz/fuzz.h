/* SPDX-License-Identifier: ISC */
/* What the libFuzzer harnesses share: the entry point and CHECK. */
#ifndef PAPRIKA_FUZZ_H
#define PAPRIKA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A broken promise of the code under test: a crash libFuzzer keeps. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: broken: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

#endif
