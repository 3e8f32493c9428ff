/*
 * test_blob.c - the weight-blob format (src/core/blob.c): round trips, every
 * malformed input, chunk boundaries and byte-swapped blobs.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "xdrec/blob.h"

/* A 3x4 tensor with distinct, exactly representable values. */
static void
make_tensor(float *v, int n)
{
	for (int i = 0; i < n; i++)
		v[i] = (float) i * 0.5f - 2.25f;
}

static uint8_t *
make_blob(size_t *len)
{
	float		v[12];
	uint64_t	shape[2] = {3, 4};
	uint8_t    *buf = NULL;

	make_tensor(v, 12);
	if (xd_blob_write(v, 2, shape, &buf, len) != XD_OK)
		return NULL;
	return buf;
}

static void
reverse(uint8_t *p, int n)
{
	for (int i = 0; i < n / 2; i++)
	{
		uint8_t		t = p[i];

		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/* Recompute the (little-endian) checksum after editing a payload. */
static void
fix_crc(uint8_t *buf, size_t len, size_t header_len)
{
	put_le32(buf + 24, xd_crc32(buf + header_len, len - header_len));
}

XD_TEST(blob_crc32_known_value)
{
	/* the standard check value of CRC-32/IEEE */
	XD_CHECK(xd_crc32("123456789", 9) == 0xCBF43926u);
	XD_CHECK(xd_crc32("", 0) == 0);
}

XD_TEST(blob_round_trip)
{
	float		v[12];
	uint64_t	shape[2] = {3, 4};
	uint8_t    *buf;
	size_t		len,
				expect;
	xd_tensor	t;

	make_tensor(v, 12);
	XD_REQUIRE(xd_blob_size(2, shape, &expect) == XD_OK);
	XD_CHECK(expect == 32 + 16 + 48);
	XD_REQUIRE(xd_blob_write(v, 2, shape, &buf, &len) == XD_OK);
	XD_CHECK(len == expect);
	XD_CHECK(memcmp(buf, "XDRB", 4) == 0);
	XD_CHECK(buf[4] == 0x04 && buf[7] == 0x01);	/* written little-endian */
	XD_REQUIRE(xd_blob_read(buf, len, &t) == XD_OK);
	XD_CHECK(t.ndim == 2 && t.shape[0] == 3 && t.shape[1] == 4 && t.count == 12);
	XD_CHECK(memcmp(t.data, v, sizeof(v)) == 0);
	xd_tensor_free(&t);
	XD_CHECK(t.data == NULL);
	free(buf);
}

XD_TEST(blob_round_trip_scalar_empty_and_special_values)
{
	float		one = 3.0f;
	float		special[4] = {0.0f, -0.0f, 1e-40f, 3.4e38f};
	uint64_t	zero_shape[2] = {5, 0};
	uint64_t	four[1] = {4};
	uint8_t    *buf;
	size_t		len;
	xd_tensor	t;

	XD_REQUIRE(xd_blob_write(&one, 0, NULL, &buf, &len) == XD_OK);
	XD_CHECK(len == 36);
	XD_REQUIRE(xd_blob_read(buf, len, &t) == XD_OK);
	XD_CHECK(t.ndim == 0 && t.count == 1 && t.data[0] == 3.0f);
	xd_tensor_free(&t);
	free(buf);

	XD_REQUIRE(xd_blob_write(NULL, 2, zero_shape, &buf, &len) == XD_OK);
	XD_CHECK(len == 48);
	XD_REQUIRE(xd_blob_read(buf, len, &t) == XD_OK);
	XD_CHECK(t.ndim == 2 && t.count == 0 && t.shape[0] == 5);
	xd_tensor_free(&t);
	free(buf);

	/* bit-exact, including the sign of zero and a denormal */
	XD_REQUIRE(xd_blob_write(special, 1, four, &buf, &len) == XD_OK);
	XD_REQUIRE(xd_blob_read(buf, len, &t) == XD_OK);
	XD_CHECK(memcmp(t.data, special, sizeof(special)) == 0);
	xd_tensor_free(&t);
	free(buf);
}

XD_TEST(blob_write_rejects_bad_arguments)
{
	float		v[4] = {0};
	uint64_t	shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
	uint64_t	huge[2] = {UINT64_MAX / 2, 4};
	uint8_t    *buf = (uint8_t *) 1;
	uint8_t		small[40];
	size_t		len = 7;

	XD_CHECK(xd_blob_write(v, 9, shape, &buf, &len) == XD_EINVAL);
	XD_CHECK(buf == NULL && len == 0);
	XD_CHECK(xd_blob_write(v, -1, shape, &buf, &len) == XD_EINVAL);
	XD_CHECK(xd_blob_write(v, 2, huge, &buf, &len) == XD_EINVAL);
	XD_CHECK(xd_blob_write(NULL, 1, shape, &buf, &len) == XD_EINVAL);
	/* 1 x 4 needs 32 + 8 + 16 bytes */
	shape[0] = 4;
	XD_CHECK(xd_blob_write_into(v, 1, shape, small, sizeof(small), &len) == XD_EINVAL);
}

XD_TEST(blob_rejects_every_truncation_and_trailing_bytes)
{
	size_t		len;
	uint8_t    *buf = make_blob(&len);
	uint8_t    *longer;
	xd_tensor	t;

	XD_REQUIRE(buf);
	for (size_t cut = 0; cut < len; cut++)
	{
		XD_CHECK(xd_blob_read(buf, cut, &t) == XD_EFORMAT);
		XD_CHECK(t.data == NULL);
	}
	XD_CHECK(xd_blob_read(NULL, len, &t) == XD_EFORMAT);
	longer = malloc(len + 1);
	XD_REQUIRE(longer);
	memcpy(longer, buf, len);
	longer[len] = 0;
	XD_CHECK(xd_blob_read(longer, len + 1, &t) == XD_EFORMAT);
	free(longer);
	free(buf);
}

/* Edit one header byte and expect the blob to be refused. */
static int
refused_after(size_t offset, uint8_t value)
{
	size_t		len;
	uint8_t    *buf = make_blob(&len);
	xd_tensor	t;
	xd_status	s;

	if (!buf)
		return 0;
	buf[offset] = value;
	s = xd_blob_read(buf, len, &t);
	xd_tensor_free(&t);
	free(buf);
	return s == XD_EFORMAT;
}

XD_TEST(blob_rejects_malformed_headers)
{
	XD_CHECK(refused_after(0, 'x'));	/* magic */
	XD_CHECK(refused_after(3, 'A'));	/* magic */
	XD_CHECK(refused_after(4, 0x05));	/* byte-order marker */
	XD_CHECK(refused_after(7, 0x00));	/* byte-order marker */
	XD_CHECK(refused_after(8, 2));		/* version 2 */
	XD_CHECK(refused_after(8, 0));		/* version 0 */
	XD_CHECK(refused_after(10, 2));		/* element type */
	XD_CHECK(refused_after(12, 9));		/* ndim beyond the maximum */
	XD_CHECK(refused_after(12, 1));		/* ndim disagrees with the length */
	XD_CHECK(refused_after(15, 0x80));	/* ndim huge */
	XD_CHECK(refused_after(16, 44));	/* payload length 44, shape says 48 */
	XD_CHECK(refused_after(23, 0x01));	/* payload length huge */
	XD_CHECK(refused_after(28, 1));		/* reserved not zero */
	XD_CHECK(refused_after(32, 4));		/* shape 4x4, payload 48 */
	XD_CHECK(refused_after(39, 0x10));	/* shape huge (overflowing product) */
}

XD_TEST(blob_rejects_shape_length_mismatch_even_with_good_checksum)
{
	size_t		len;
	uint8_t    *buf = make_blob(&len);
	xd_tensor	t;

	XD_REQUIRE(buf);
	/* shape 2x6 has the same count: accepted, and read back as 2x6 */
	buf[32] = 2;
	buf[40] = 6;
	XD_CHECK(xd_blob_read(buf, len, &t) == XD_OK);
	XD_CHECK(t.shape[0] == 2 && t.shape[1] == 6);
	xd_tensor_free(&t);
	/* shape 2x4 with a payload of 12 floats: refused */
	buf[40] = 4;
	XD_CHECK(xd_blob_read(buf, len, &t) == XD_EFORMAT);
	/* and with the length field also saying 8 floats, the blob is too long */
	buf[16] = 32;
	XD_CHECK(xd_blob_read(buf, len, &t) == XD_EFORMAT);
	XD_CHECK(xd_blob_read(buf, len - 16, &t) == XD_EFORMAT);	/* checksum */
	fix_crc(buf, len - 16, 48);
	XD_CHECK(xd_blob_read(buf, len - 16, &t) == XD_OK);
	XD_CHECK(t.count == 8);
	xd_tensor_free(&t);
	free(buf);
}

XD_TEST(blob_rejects_bad_checksum)
{
	size_t		len;
	uint8_t    *buf = make_blob(&len);
	xd_tensor	t;

	XD_REQUIRE(buf);
	for (size_t i = 48; i < len; i += 7)
	{
		buf[i] ^= 0x01;
		XD_CHECK(xd_blob_read(buf, len, &t) == XD_EFORMAT);
		buf[i] ^= 0x01;
	}
	buf[24] ^= 0x80;
	XD_CHECK(xd_blob_validate(buf, len, NULL) == XD_EFORMAT);
	buf[24] ^= 0x80;
	XD_CHECK(xd_blob_validate(buf, len, NULL) == XD_OK);
	free(buf);
}

/* Rewrite a little-endian blob as its big-endian twin. */
static void
to_big_endian(uint8_t *buf, size_t len)
{
	int			ndim = buf[12];
	size_t		header_len = 32 + 8 * (size_t) ndim;

	reverse(buf + 4, 4);
	reverse(buf + 8, 2);
	reverse(buf + 10, 2);
	reverse(buf + 12, 4);
	reverse(buf + 16, 8);
	reverse(buf + 28, 4);
	for (int i = 0; i < ndim; i++)
		reverse(buf + 32 + 8 * i, 8);
	for (size_t p = header_len; p + 4 <= len; p += 4)
		reverse(buf + p, 4);
	put_le32(buf + 24, xd_crc32(buf + header_len, len - header_len));
	reverse(buf + 24, 4);
}

XD_TEST(blob_reads_byte_swapped_input)
{
	float		v[12];
	size_t		len;
	uint8_t    *buf = make_blob(&len);
	xd_blob_info info;
	xd_tensor	t;

	XD_REQUIRE(buf);
	make_tensor(v, 12);
	to_big_endian(buf, len);
	XD_CHECK(buf[4] == 0x01 && buf[7] == 0x04);
	XD_REQUIRE(xd_blob_validate(buf, len, &info) == XD_OK);
	XD_CHECK(info.big_endian == 1 && info.count == 12);
	XD_REQUIRE(xd_blob_read(buf, len, &t) == XD_OK);
	XD_CHECK(t.ndim == 2 && t.shape[0] == 3 && t.shape[1] == 4);
	XD_CHECK(memcmp(t.data, v, sizeof(v)) == 0);
	xd_tensor_free(&t);
	/* a big-endian blob whose checksum was taken in the wrong order */
	buf[len - 1] ^= 0xFF;
	XD_CHECK(xd_blob_read(buf, len, &t) == XD_EFORMAT);
	free(buf);
}

/* Filling a row changes that row only, in either byte order, and keeps the blob valid. */
XD_TEST(blob_fill_row_clears_one_row)
{
	for (int big = 0; big <= 1; big++)
	{
		float		v[12];
		size_t		len;
		uint8_t    *buf = make_blob(&len);
		xd_tensor	t;

		XD_REQUIRE(buf);
		make_tensor(v, 12);
		if (big)
			to_big_endian(buf, len);
		XD_REQUIRE(xd_blob_fill_row(buf, len, 1, -1.0f) == XD_OK);
		XD_REQUIRE(xd_blob_read(buf, len, &t) == XD_OK);
		for (int i = 0; i < 12; i++)
			XD_CHECK(t.data[i] == (i >= 4 && i < 8 ? -1.0f : v[i]));
		xd_tensor_free(&t);
		XD_CHECK(xd_blob_fill_row(buf, len, 3, 0.0f) == XD_EINVAL);
		buf[len - 1] ^= 0xFF;	/* a blob that no longer checks */
		XD_CHECK(xd_blob_fill_row(buf, len, 0, 0.0f) == XD_EFORMAT);
		free(buf);
	}
	{
		float		x = 2.0f;
		uint8_t    *buf;
		size_t		len;

		XD_REQUIRE(xd_blob_write(&x, 0, NULL, &buf, &len) == XD_OK);
		XD_CHECK(xd_blob_fill_row(buf, len, 0, 0.0f) == XD_EINVAL);	/* a scalar has no rows */
		free(buf);
	}
}

XD_TEST(blob_chunk_counts_at_boundaries)
{
	XD_CHECK(xd_blob_nchunks(0, 16) == 0);
	XD_CHECK(xd_blob_nchunks(1, 16) == 1);
	XD_CHECK(xd_blob_nchunks(16, 16) == 1);
	XD_CHECK(xd_blob_nchunks(17, 16) == 2);
	XD_CHECK(xd_blob_nchunks(32, 16) == 2);
	XD_CHECK(xd_blob_nchunks(33, 16) == 3);
	XD_CHECK(xd_blob_nchunks(5, 0) == 0);
	XD_CHECK(xd_blob_nchunks(5, 1) == 5);
}

/* Cut a blob into chunks of chunk_size and glue them back. */
static int
chunk_round_trip(const uint8_t *buf, size_t len, size_t chunk_size)
{
	size_t		n = xd_blob_nchunks(len, chunk_size);
	const uint8_t **chunks = calloc(n ? n : 1, sizeof(*chunks));
	size_t	   *lens = calloc(n ? n : 1, sizeof(*lens));
	uint8_t    *out = NULL;
	size_t		out_len = 0;
	int			ok = chunks && lens;

	for (size_t i = 0; ok && i < n; i++)
		ok = xd_blob_chunk(buf, len, chunk_size, i, &chunks[i], &lens[i]) == XD_OK &&
			lens[i] >= 1 && lens[i] <= chunk_size;
	ok = ok && xd_blob_reassemble(chunks, lens, n, chunk_size, &out, &out_len) == XD_OK &&
		out_len == len && memcmp(out, buf, len) == 0;
	free(out);
	free(chunks);
	free(lens);
	return ok;
}

XD_TEST(blob_chunks_round_trip_at_boundaries)
{
	size_t		len;
	uint8_t    *buf = make_blob(&len);
	const uint8_t *c;
	size_t		clen;

	XD_REQUIRE(buf);
	XD_CHECK(chunk_round_trip(buf, len, 1));
	XD_CHECK(chunk_round_trip(buf, len, len));	/* exactly one chunk */
	XD_CHECK(chunk_round_trip(buf, len, len - 1));	/* a chunk and one byte */
	XD_CHECK(chunk_round_trip(buf, len, len + 1));
	XD_CHECK(chunk_round_trip(buf, len, 7));
	XD_CHECK(chunk_round_trip(buf, len, 1u << 30));

	XD_REQUIRE(xd_blob_chunk(buf, len, len - 1, 1, &c, &clen) == XD_OK);
	XD_CHECK(clen == 1 && c == buf + len - 1);
	XD_CHECK(xd_blob_chunk(buf, len, len - 1, 2, &c, &clen) == XD_EINVAL);
	XD_CHECK(xd_blob_chunk(buf, len, 0, 0, &c, &clen) == XD_EINVAL);
	XD_CHECK(xd_blob_chunk(buf, 0, 16, 0, &c, &clen) == XD_EINVAL);
	free(buf);
}

XD_TEST(blob_reassemble_rejects_wrong_pieces)
{
	size_t		len;
	uint8_t    *buf = make_blob(&len);
	const uint8_t *chunks[4];
	size_t		lens[4];
	uint8_t    *out = (uint8_t *) 1;
	size_t		out_len = 9;
	size_t		cs = 32;		/* 96 bytes: 3 chunks of 32 */

	XD_REQUIRE(buf && len == 96);
	for (size_t i = 0; i < 3; i++)
		XD_REQUIRE(xd_blob_chunk(buf, len, cs, i, &chunks[i], &lens[i]) == XD_OK);
	XD_CHECK(xd_blob_reassemble(chunks, lens, 3, cs, &out, &out_len) == XD_OK);
	free(out);

	/* no chunks at all */
	XD_CHECK(xd_blob_reassemble(chunks, lens, 0, cs, &out, &out_len) == XD_EFORMAT);
	XD_CHECK(out == NULL && out_len == 0);
	/* a missing last chunk: a valid-sized but truncated blob */
	XD_CHECK(xd_blob_reassemble(chunks, lens, 2, cs, &out, &out_len) == XD_EFORMAT);
	/* chunks out of order */
	{
		const uint8_t *swapped[3] = {chunks[0], chunks[2], chunks[1]};

		XD_CHECK(xd_blob_reassemble(swapped, lens, 3, cs, &out, &out_len) == XD_EFORMAT);
	}
	/* a short chunk in the middle */
	lens[1] = 31;
	XD_CHECK(xd_blob_reassemble(chunks, lens, 3, cs, &out, &out_len) == XD_EFORMAT);
	lens[1] = 32;
	/* an empty last chunk */
	chunks[3] = buf;
	lens[3] = 0;
	XD_CHECK(xd_blob_reassemble(chunks, lens, 4, cs, &out, &out_len) == XD_EFORMAT);
	/* an oversized last chunk */
	lens[2] = 33;
	XD_CHECK(xd_blob_reassemble(chunks, lens, 3, cs, &out, &out_len) == XD_EFORMAT);
	/* the same chunks under a different chunk size */
	lens[2] = 32;
	XD_CHECK(xd_blob_reassemble(chunks, lens, 3, 64, &out, &out_len) == XD_EFORMAT);
	XD_CHECK(xd_blob_reassemble(chunks, lens, 3, 0, &out, &out_len) == XD_EINVAL);
	XD_CHECK(out == NULL);
	free(buf);
}
