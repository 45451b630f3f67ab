/* SPDX-License-Identifier: MIT */
/* libFuzzer target: manifest.json validation (the reader's entry-by-entry loader), and that
 * loader without the validation, as the reader runs it while the validation runs beside. */
#include <stdint.h>

#include "../../format/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct appkg_err e = {0};

	manifest_load(&m, data, size, &e);
	manifest_free(&m);
	e = (struct appkg_err){0};
	manifest_read(&m, data, size, NULL, &e);
	manifest_free(&m);
	return 0;
}
