/*
 * test_crc32.c - common/crc32.c: the standard check value, and agreement with
 * a bit-at-a-time reference for every length up to past several 64-byte folds
 * and every alignment, so both the table path and the carry-less one (taken for
 * 64 bytes and more where the CPU has it) are right at their edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crc32.h"

static uint32_t reference(const unsigned char *p, size_t len)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

static void test_check_value_is_the_standard_one(void **state)
{
	assert_int_equal(swb_crc32("123456789", 9), 0xcbf43926u);
	assert_int_equal(swb_crc32("", 0), 0);
	(void)state;
}

static void test_matches_the_bitwise_reference_at_every_length_and_alignment(void **state)
{
	static unsigned char buf[4096 + 32];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 0; len <= 600; len++)
			if (swb_crc32(buf + off, len) != reference(buf + off, len))
				fail_msg("offset %zu length %zu", off, len);
	for (size_t len = 4000; len <= 4096; len++)
		assert_int_equal(swb_crc32(buf + 7, len), reference(buf + 7, len));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value_is_the_standard_one),
		cmocka_unit_test(test_matches_the_bitwise_reference_at_every_length_and_alignment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
