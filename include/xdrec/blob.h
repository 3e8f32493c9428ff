/*
 * blob.h - the serialised form of a weight tensor (DESIGN section 7).
 *
 * A blob holds one packed float32 tensor behind a small header, all integers
 * little-endian when written here:
 *
 *   offset  size  field
 *        0     4  magic "XDRB"
 *        4     4  byte-order marker: 0x01020304 in the blob's byte order
 *        8     2  format version (XD_BLOB_VERSION)
 *       10     2  element type (XD_BLOB_FLOAT32)
 *       12     4  ndim, 0..XD_BLOB_MAX_NDIM (0 is a scalar)
 *       16     8  payload length in bytes (= 4 * product of the shape)
 *       24     4  CRC-32 (IEEE) of the payload bytes as stored
 *       28     4  reserved, zero
 *       32  8*nd  shape, one uint64 per dimension
 *   32+8nd     .  payload: the elements, row-major, in the blob's byte order
 *
 * A reader accepts either byte order and swaps when the marker says so, so a
 * blob written on a big-endian machine still loads. Anything else malformed
 * (short, trailing bytes, wrong magic or version, shape and length that
 * disagree, a bad checksum) is XD_EFORMAT; nothing is trusted before it is
 * checked.
 *
 * The chunk helpers cut a blob into pieces of at most chunk_size bytes, so it
 * is stored below PostgreSQL's 1 GB datum limit (one row per chunk), and glue
 * the pieces back, checking they are the pieces of one whole blob.
 */
#ifndef XDREC_BLOB_H
#define XDREC_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "xdrec/status.h"

#define XD_BLOB_MAGIC "XDRB"
#define XD_BLOB_VERSION 1
#define XD_BLOB_MAX_NDIM 8
#define XD_BLOB_HEADER_FIXED 32
#define XD_BLOB_FLOAT32 1

/* What a blob's header says, once validated. */
typedef struct xd_blob_info
{
	int			ndim;
	uint64_t	shape[XD_BLOB_MAX_NDIM];
	uint64_t	count;			/* number of elements */
	size_t		header_len;		/* bytes before the payload */
	size_t		total_len;		/* header + payload */
	int			big_endian;		/* the payload is stored big-endian */
} xd_blob_info;

/* A tensor read back from a blob; data is malloc'ed, freed by xd_tensor_free. */
typedef struct xd_tensor
{
	int			ndim;
	uint64_t	shape[XD_BLOB_MAX_NDIM];
	uint64_t	count;
	float	   *data;
} xd_tensor;

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of len bytes. */
uint32_t	xd_crc32(const void *buf, size_t len);

/*
 * Bytes needed to serialise a tensor of this shape; XD_EINVAL when ndim is out
 * of range or the size overflows.
 */
xd_status	xd_blob_size(int ndim, const uint64_t *shape, size_t *len);

/* Serialise into buf (cap bytes, at least xd_blob_size), little-endian. */
xd_status	xd_blob_write_into(const float *data, int ndim, const uint64_t *shape,
							   uint8_t *buf, size_t cap, size_t *len);

/* Serialise into a malloc'ed buffer the caller frees. */
xd_status	xd_blob_write(const float *data, int ndim, const uint64_t *shape,
						  uint8_t **out, size_t *len);

/* Validate a whole blob (header, lengths, checksum) without decoding it. */
xd_status	xd_blob_validate(const uint8_t *buf, size_t len, xd_blob_info *info);

/*
 * Validate and decode a blob into t (host byte order). On error t is left
 * empty (data NULL), so xd_tensor_free is always safe.
 */
xd_status	xd_blob_read(const uint8_t *buf, size_t len, xd_tensor *t);
void		xd_tensor_free(xd_tensor *t);

/*
 * Set every element of row `row` (an index into the first dimension) of a
 * valid blob to value, in place, in the blob's own byte order, and update its
 * checksum; the rest of the blob is left byte for byte as it was. XD_EFORMAT
 * for a malformed blob, XD_EINVAL for a scalar or a row out of range.
 * Forgetting a user (src/pg/store/forget.c) clears their row this way.
 */
xd_status	xd_blob_fill_row(uint8_t *buf, size_t len, uint64_t row, float value);

/* Number of chunks of at most chunk_size bytes for len bytes (0 for 0). */
size_t		xd_blob_nchunks(size_t len, size_t chunk_size);

/* Chunk index of buf: a view into buf, no copy. */
xd_status	xd_blob_chunk(const uint8_t *buf, size_t len, size_t chunk_size,
						  size_t index, const uint8_t **chunk, size_t *chunk_len);

/*
 * Glue nchunks pieces back into one malloc'ed blob, checking that every piece
 * but the last is exactly chunk_size bytes, the last is 1..chunk_size bytes,
 * and the result is one valid blob (xd_blob_validate). XD_EFORMAT otherwise.
 */
xd_status	xd_blob_reassemble(const uint8_t *const *chunks, const size_t *lens,
							   size_t nchunks, size_t chunk_size,
							   uint8_t **out, size_t *len);

#endif
