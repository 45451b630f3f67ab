/* SPDX-License-Identifier: MIT */
/* jsondiff: the reference scanner (format/jsoncheck.c of an older commit, which jsondiff.sh
 * writes as jsoncheck_ref.c in its build folder) compiled under other names. */
#include "../../format/internal.h"
#include "jsondiff.h"

#undef json_array_elements
#undef json_check_resource
#undef json_check_resource_marks
#undef json_member_span
#undef json_object_keys
#undef json_validate
#undef json_values_are_strings
#define json_array_elements ref_json_array_elements
#define json_check_resource ref_json_check_resource
#define json_check_resource_marks ref_json_check_resource_marks
#define json_member_span ref_json_member_span
#define json_object_keys ref_json_object_keys
#define json_validate ref_json_validate
#define json_values_are_strings ref_json_values_are_strings
#include "jsoncheck_ref.c"
