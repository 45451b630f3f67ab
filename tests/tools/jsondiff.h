/* SPDX-License-Identifier: MIT */
/* jsondiff: the reference scanner's entry points, renamed (jsondiff_ref.c). */
#include <stddef.h>

struct appkg_err;
int ref_json_check_resource_marks(const void *data, size_t len, struct appkg_err *e,
				  const char *subject, int *marks);
int ref_json_check_resource(const void *data, size_t len, struct appkg_err *e, const char *subject);
int ref_json_validate(const void *data, size_t len, size_t max, struct appkg_err *e,
		      const char *subject);
int ref_json_values_are_strings(const void *data, size_t len);
int ref_json_object_keys(const void *data, size_t len, int (*fn)(void *ctx, const char *key),
			 void *ctx);
int ref_json_member_span(const unsigned char *p, size_t n, const char *key, size_t *start,
			 size_t *end);
int ref_json_array_elements(const unsigned char *p, size_t n,
			    int (*fn)(void *ctx, const unsigned char *el, size_t len), void *ctx);
