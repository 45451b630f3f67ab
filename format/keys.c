/* SPDX-License-Identifier: MIT */
/* Public calls on key files that need no reader or writer handle (see signature.c). */
#include <stdio.h>

#include "internal.h"
#include "signature.h"

int appkg_secret_key_encrypted(const char *seckey_path)
{
	struct appkg_err e = {0};
	int rc = sig_secret_encrypted(seckey_path, &e);

	problem_set_last(&e, &seckey_path, 1);
	return rc;
}

int appkg_keygen(const char *pubkey_path, const char *seckey_path, const char *password,
		 size_t password_len, char *message)
{
	struct appkg_err e = {0};
	int rc = sig_keygen(pubkey_path, seckey_path, password, password_len, &e);
	const char *candidates[2] = {seckey_path, pubkey_path};

	problem_set_last(&e, candidates, 2);
	if (message)
		snprintf(message, 256, "%.255s", rc ? e.msg : "");
	return rc;
}
