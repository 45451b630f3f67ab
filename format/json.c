/* SPDX-License-Identifier: MIT */
/*
 * Strict JSON (spec section "JSON documents"): RFC 8259 text in UTF-8, one value, no duplicate
 * keys, nesting at most APPKG_MAX_JSON_DEPTH. A linear pre-scan bounds the depth before Jansson
 * builds anything, so a 100,000-deep document costs one pass and no recursion.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Depth of the deepest array/object, stopping early past the limit; fills line/col there. */
static int depth_scan(const unsigned char *p, size_t len, int *line, int *col)
{
	int depth = 0, in_string = 0, escaped = 0;

	*line = 1;
	*col = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		(*col)++;
		if (c == '\n') {
			(*line)++;
			*col = 0;
		}
		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (c == '\\')
				escaped = 1;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > APPKG_MAX_JSON_DEPTH)
				return depth;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

json_t *json_parse_strict(const void *data, size_t len, struct appkg_err *e, const char *subject)
{
	json_error_t err;
	json_t *v;
	int line, col;

	if (depth_scan(data, len, &line, &col)) {
		if (!e->code) {
			e->line = (unsigned)line;
			e->column = (unsigned)col;
		}
		appkg_fail(e, APPKG_ERR_JSON_DEPTH, "%s: line %d column %d: nested deeper than %d",
			   subject, line, col, APPKG_MAX_JSON_DEPTH);
		return NULL;
	}
	v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
	if (!v) {
		int code = json_error_code(&err) == json_error_duplicate_key ? APPKG_ERR_JSON_DUPLICATE
									    : APPKG_ERR_JSON_SYNTAX;
		if (!e->code) {
			e->line = (unsigned)err.line;
			e->column = (unsigned)err.column;
		}
		appkg_fail(e, code, "%s: line %d column %d: %s", subject, err.line, err.column, err.text);
	}
	return v;
}

char *json_canonical(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS), *t;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	t = realloc(s, n + 2);
	if (!t) {
		free(s);
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	*len = n + 1;
	return t;
}
