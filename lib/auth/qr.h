/* SPDX-License-Identifier: ISC */
/*
 * QR codes (libqrencode) of short texts such as otpauth:// URIs: as SVG
 * for the portal, as text for a terminal. The texts hold secrets: the
 * results are wiped by their callers.
 */
#ifndef PAPRIKA_QR_H
#define PAPRIKA_QR_H

#include <stddef.h>
#include <stdio.h>

/* An SVG image of text's QR code (malloc'd; free with qr_free), *len its
 * length; NULL when text does not fit a QR code or on no memory. */
char	*qr_svg(const char *text, size_t *len);
/* Draws text's QR code on fp with Unicode half blocks, two rows a line,
 * dark on light; 0 or -1. */
int	 qr_print(const char *text, FILE *fp);
/* Wipes and frees what qr_svg gave. */
void	 qr_free(char *svg, size_t len);

#endif
