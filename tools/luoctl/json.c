/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * luoctl --json: one JSON object a line on stdout.  Written by hand: the
 * objects are flat, and the strings are bytes (file names, labels, session
 * names) that need not be UTF-8, which a JSON library would refuse.
 */
#include <inttypes.h>
#include <stdio.h>

#include "luoctl.h"

/* The length of the valid UTF-8 sequence at @s (1 to 4), or 0 when the
 * byte at @s does not start one (RFC 3629: no overlong form, no surrogate,
 * nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* the second byte's range excludes overlongs and surrogates */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

void luoctl_json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	while (*s) {
		size_t n;

		switch (*s) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				fprintf(f, "\\u%04x", *s);
				break;
			}
			n = utf8_len(s);
			if (n == 0) {
				/* not UTF-8: surrogateescape */
				fprintf(f, "\\udc%02x", *s);
				break;
			}
			fwrite(s, 1, n, f);
			s += n;
			continue;
		}
		s++;
	}
	fputc('"', f);
}

/* ,"KEY": */
static void key(struct luoctl_json *j, const char *k)
{
	fputc(',', j->f);
	luoctl_json_string(j->f, k);
	fputc(':', j->f);
}

void luoctl_json_begin(struct luoctl_json *j, const char *type)
{
	j->f = stdout;
	fputs("{\"type\":", j->f);
	luoctl_json_string(j->f, type);
}

void luoctl_json_str(struct luoctl_json *j, const char *k, const char *s)
{
	key(j, k);
	luoctl_json_string(j->f, s);
}

void luoctl_json_u64(struct luoctl_json *j, const char *k, uint64_t v)
{
	key(j, k);
	fprintf(j->f, "%" PRIu64, v);
}

void luoctl_json_i64(struct luoctl_json *j, const char *k, int64_t v)
{
	key(j, k);
	fprintf(j->f, "%" PRId64, v);
}

void luoctl_json_bool(struct luoctl_json *j, const char *k, bool v)
{
	key(j, k);
	fputs(v ? "true" : "false", j->f);
}

void luoctl_json_end(struct luoctl_json *j)
{
	fputs("}\n", j->f);
	/* a line is a unit: hold's readers see each as it happens */
	fflush(j->f);
}
