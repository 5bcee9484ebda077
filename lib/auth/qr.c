/* SPDX-License-Identifier: ISC */
/* QR codes of short texts, drawn as SVG or terminal text (qr.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "qr.h"

#define QR_QUIET	4	/* modules of white border the standard asks */

static QRcode *
qr_encode(const char *text)
{
	/* Level M: a phone's camera reads it off a screen at any size. */
	return QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
}

static int
qr_dark(const QRcode *q, int x, int y)
{
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

char *
qr_svg(const char *text, size_t *len)
{
	QRcode	*q;
	char	*buf = NULL;
	size_t	 size = 0;
	FILE	*fp;
	int	 x, y, n;

	if ((q = qr_encode(text)) == NULL)
		return NULL;
	if ((fp = open_memstream(&buf, &size)) == NULL)
		goto out;
	n = q->width + 2 * QR_QUIET;
	/* One path of unit squares: crisp at any scale, no script, no
	 * external reference (the portal's CSP allows neither). */
	fprintf(fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"", n, n, n, n);
	for (y = 0; y < q->width; y++)
		for (x = 0; x < q->width; x++)
			if (qr_dark(q, x, y))
				fprintf(fp, "M%d %dh1v1h-1z", x + QR_QUIET,
				    y + QR_QUIET);
	fprintf(fp, "\"/></svg>\n");
	if (fclose(fp) != 0) {
		qr_free(buf, size);
		buf = NULL;
		goto out;
	}
	*len = size;
out:
	QRcode_free(q);
	return buf;
}

int
qr_print(const char *text, FILE *fp)
{
	/* Indexed by top * 2 + bottom module, dark = 1; light terminals and
	 * dark ones both need dark modules drawn as spaces on a light
	 * border, so the code is drawn inverted: a block is light. */
	static const char *const half[] = {
		"\xe2\x96\x88",	/* both light: full block */
		"\xe2\x96\x80",	/* top light: upper half */
		"\xe2\x96\x84",	/* bottom light: lower half */
		" ",		/* both dark */
	};
	QRcode	*q;
	int	 x, y;

	if ((q = qr_encode(text)) == NULL)
		return -1;
	for (y = -QR_QUIET; y < q->width + QR_QUIET; y += 2) {
		for (x = -QR_QUIET; x < q->width + QR_QUIET; x++)
			fputs(half[qr_dark(q, x, y) * 2 + qr_dark(q, x, y + 1)],
			    fp);
		fputc('\n', fp);
	}
	QRcode_free(q);
	return 0;
}

void
qr_free(char *svg, size_t len)
{
	if (svg == NULL)
		return;
	explicit_bzero(svg, len);
	free(svg);
}
