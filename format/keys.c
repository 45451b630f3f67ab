/* SPDX-License-Identifier: MIT */
/* Public calls on key files that need no reader or writer handle (see signature.c). */
#include <stdio.h>

#include "internal.h"
#include "signature.h"

int appkg_secret_key_encrypted(const char *seckey_path)
{
	struct appkg_err e = {0};

	return sig_secret_encrypted(seckey_path, &e);
}

int appkg_keygen(const char *pubkey_path, const char *seckey_path, const char *password,
		 size_t password_len, char *message)
{
	struct appkg_err e = {0};
	int rc = sig_keygen(pubkey_path, seckey_path, password, password_len, &e);

	if (message)
		snprintf(message, 256, "%.255s", rc ? e.msg : "");
	return rc;
}
