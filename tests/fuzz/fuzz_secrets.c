/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the secrets.enc header parser (the part that runs before any KDF). A parsed
 * header must have KDF parameters inside the allowed range. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../format/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secrets_header h;
	struct appkg_err e = {0};

	if (secrets_parse_header(data, size, &h, &e) == 0 &&
	    (h.opslimit > crypto_pwhash_OPSLIMIT_SENSITIVE || h.memlimit > crypto_pwhash_MEMLIMIT_SENSITIVE ||
	     h.header_len > size))
		abort();
	return 0;
}
