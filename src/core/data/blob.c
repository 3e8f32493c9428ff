/*
 * blob.c - serialisation of weight tensors (include/xdrec/blob.h, DESIGN
 * section 7).
 *
 * Integers are read and written byte by byte, never through a cast of the
 * buffer, so the code is independent of the host's byte order and of the
 * buffer's alignment.
 */
#include <stdlib.h>
#include <string.h>

#include "xdrec/blob.h"

static uint32_t crc_table[256];
static int	crc_ready;

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++)
	{
		uint32_t	c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = 1;
}

uint32_t
xd_crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t	c = 0xFFFFFFFFu;

	/* idempotent: two threads racing here compute the same table */
	if (!crc_ready)
		crc_init();
	for (size_t i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

static void
put(uint8_t *p, uint64_t v, int n, int big_endian)
{
	for (int i = 0; i < n; i++)
		p[big_endian ? n - 1 - i : i] = (uint8_t) (v >> (8 * i));
}

static uint64_t
get(const uint8_t *p, int n, int big_endian)
{
	uint64_t	v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t) p[big_endian ? n - 1 - i : i] << (8 * i);
	return v;
}

xd_status
xd_blob_size(int ndim, const uint64_t *shape, size_t *len)
{
	uint64_t	count = 1;

	if (ndim < 0 || ndim > XD_BLOB_MAX_NDIM || (ndim > 0 && !shape) || !len)
		return XD_EINVAL;
	for (int i = 0; i < ndim; i++)
	{
		if (shape[i] != 0 && count > UINT64_MAX / shape[i])
			return XD_EINVAL;
		count *= shape[i];
	}
	if (count > (SIZE_MAX - XD_BLOB_HEADER_FIXED - 8 * XD_BLOB_MAX_NDIM) / sizeof(float))
		return XD_EINVAL;
	*len = XD_BLOB_HEADER_FIXED + 8 * (size_t) ndim + (size_t) count * sizeof(float);
	return XD_OK;
}

xd_status
xd_blob_write_into(const float *data, int ndim, const uint64_t *shape,
				   uint8_t *buf, size_t cap, size_t *len)
{
	size_t		total;
	size_t		header_len;
	uint64_t	count;
	uint8_t    *payload;
	xd_status	s;

	s = xd_blob_size(ndim, shape, &total);
	if (s != XD_OK)
		return s;
	if (!buf || cap < total)
		return XD_EINVAL;
	header_len = XD_BLOB_HEADER_FIXED + 8 * (size_t) ndim;
	count = (total - header_len) / sizeof(float);
	if (count > 0 && !data)
		return XD_EINVAL;

	memcpy(buf, XD_BLOB_MAGIC, 4);
	put(buf + 4, 0x01020304u, 4, 0);
	put(buf + 8, XD_BLOB_VERSION, 2, 0);
	put(buf + 10, XD_BLOB_FLOAT32, 2, 0);
	put(buf + 12, (uint64_t) ndim, 4, 0);
	put(buf + 16, count * sizeof(float), 8, 0);
	put(buf + 28, 0, 4, 0);
	for (int i = 0; i < ndim; i++)
		put(buf + XD_BLOB_HEADER_FIXED + 8 * i, shape[i], 8, 0);

	payload = buf + header_len;
	for (uint64_t i = 0; i < count; i++)
	{
		uint32_t	bits;

		memcpy(&bits, &data[i], sizeof(bits));
		put(payload + 4 * i, bits, 4, 0);
	}
	put(buf + 24, xd_crc32(payload, (size_t) count * sizeof(float)), 4, 0);
	if (len)
		*len = total;
	return XD_OK;
}

xd_status
xd_blob_write(const float *data, int ndim, const uint64_t *shape,
			  uint8_t **out, size_t *len)
{
	size_t		total;
	uint8_t    *buf;
	xd_status	s;

	if (!out || !len)
		return XD_EINVAL;
	*out = NULL;
	*len = 0;
	s = xd_blob_size(ndim, shape, &total);
	if (s != XD_OK)
		return s;
	buf = malloc(total);
	if (!buf)
		return XD_ENOMEM;
	s = xd_blob_write_into(data, ndim, shape, buf, total, len);
	if (s != XD_OK)
	{
		free(buf);
		*len = 0;
		return s;
	}
	*out = buf;
	return XD_OK;
}

xd_status
xd_blob_validate(const uint8_t *buf, size_t len, xd_blob_info *info)
{
	xd_blob_info in;
	int			be;
	uint64_t	payload_len;
	uint64_t	count = 1;
	size_t		need;

	memset(&in, 0, sizeof(in));
	if (!buf || len < XD_BLOB_HEADER_FIXED)
		return XD_EFORMAT;
	if (memcmp(buf, XD_BLOB_MAGIC, 4) != 0)
		return XD_EFORMAT;
	/* the marker 0x01020304 stored in the blob's own order tells it */
	if (buf[4] == 0x04 && buf[5] == 0x03 && buf[6] == 0x02 && buf[7] == 0x01)
		be = 0;
	else if (buf[4] == 0x01 && buf[5] == 0x02 && buf[6] == 0x03 && buf[7] == 0x04)
		be = 1;
	else
		return XD_EFORMAT;
	if (get(buf + 8, 2, be) != XD_BLOB_VERSION ||
		get(buf + 10, 2, be) != XD_BLOB_FLOAT32 ||
		get(buf + 28, 4, be) != 0)
		return XD_EFORMAT;
	in.ndim = (int) get(buf + 12, 4, be);
	if (get(buf + 12, 4, be) > XD_BLOB_MAX_NDIM)
		return XD_EFORMAT;
	in.header_len = XD_BLOB_HEADER_FIXED + 8 * (size_t) in.ndim;
	if (len < in.header_len)
		return XD_EFORMAT;
	for (int i = 0; i < in.ndim; i++)
	{
		in.shape[i] = get(buf + XD_BLOB_HEADER_FIXED + 8 * i, 8, be);
		if (in.shape[i] != 0 && count > UINT64_MAX / in.shape[i])
			return XD_EFORMAT;
		count *= in.shape[i];
	}
	payload_len = get(buf + 16, 8, be);
	if (count > UINT64_MAX / sizeof(float) || payload_len != count * sizeof(float))
		return XD_EFORMAT;
	if (payload_len > SIZE_MAX - in.header_len)
		return XD_EFORMAT;
	need = in.header_len + (size_t) payload_len;
	if (len != need)
		return XD_EFORMAT;		/* truncated, or trailing bytes */
	if (xd_crc32(buf + in.header_len, (size_t) payload_len) != (uint32_t) get(buf + 24, 4, be))
		return XD_EFORMAT;
	in.count = count;
	in.total_len = need;
	in.big_endian = be;
	if (info)
		*info = in;
	return XD_OK;
}

xd_status
xd_blob_read(const uint8_t *buf, size_t len, xd_tensor *t)
{
	xd_blob_info info;
	xd_status	s;
	const uint8_t *payload;

	if (!t)
		return XD_EINVAL;
	memset(t, 0, sizeof(*t));
	s = xd_blob_validate(buf, len, &info);
	if (s != XD_OK)
		return s;
	t->data = malloc(info.count > 0 ? (size_t) info.count * sizeof(float) : 1);
	if (!t->data)
		return XD_ENOMEM;
	payload = buf + info.header_len;
	for (uint64_t i = 0; i < info.count; i++)
	{
		uint32_t	bits = (uint32_t) get(payload + 4 * i, 4, info.big_endian);

		memcpy(&t->data[i], &bits, sizeof(bits));
	}
	t->ndim = info.ndim;
	memcpy(t->shape, info.shape, sizeof(t->shape));
	t->count = info.count;
	return XD_OK;
}

xd_status
xd_blob_fill_row(uint8_t *buf, size_t len, uint64_t row, float value)
{
	xd_blob_info info;
	xd_status	s;
	uint64_t	row_len;
	uint8_t    *payload;
	uint32_t	bits;

	s = xd_blob_validate(buf, len, &info);
	if (s != XD_OK)
		return s;
	if (info.ndim == 0 || row >= info.shape[0])
		return XD_EINVAL;
	row_len = info.count / info.shape[0];
	payload = buf + info.header_len;
	memcpy(&bits, &value, sizeof(bits));
	for (uint64_t i = row * row_len; i < (row + 1) * row_len; i++)
		put(payload + 4 * i, bits, 4, info.big_endian);
	put(buf + 24, xd_crc32(payload, (size_t) info.count * sizeof(float)), 4, info.big_endian);
	return XD_OK;
}

void
xd_tensor_free(xd_tensor *t)
{
	if (!t)
		return;
	free(t->data);
	memset(t, 0, sizeof(*t));
}

size_t
xd_blob_nchunks(size_t len, size_t chunk_size)
{
	if (chunk_size == 0)
		return 0;
	return len / chunk_size + (len % chunk_size != 0);
}

xd_status
xd_blob_chunk(const uint8_t *buf, size_t len, size_t chunk_size,
			  size_t index, const uint8_t **chunk, size_t *chunk_len)
{
	size_t		start;

	if (chunk_size == 0 || !chunk || !chunk_len || (len > 0 && !buf) ||
		index >= xd_blob_nchunks(len, chunk_size))
		return XD_EINVAL;
	start = index * chunk_size;
	*chunk = buf + start;
	*chunk_len = len - start < chunk_size ? len - start : chunk_size;
	return XD_OK;
}

xd_status
xd_blob_reassemble(const uint8_t *const *chunks, const size_t *lens,
				   size_t nchunks, size_t chunk_size,
				   uint8_t **out, size_t *len)
{
	size_t		total = 0;
	uint8_t    *buf;
	xd_status	s;

	if (!out || !len || chunk_size == 0 || (nchunks > 0 && (!chunks || !lens)))
		return XD_EINVAL;
	*out = NULL;
	*len = 0;
	if (nchunks == 0)
		return XD_EFORMAT;		/* no blob is empty */
	for (size_t i = 0; i < nchunks; i++)
	{
		int			last = (i == nchunks - 1);

		if (!chunks[i] ||
			(!last && lens[i] != chunk_size) ||
			(last && (lens[i] == 0 || lens[i] > chunk_size)))
			return XD_EFORMAT;
		if (lens[i] > SIZE_MAX - total)
			return XD_EFORMAT;
		total += lens[i];
	}
	buf = malloc(total);
	if (!buf)
		return XD_ENOMEM;
	total = 0;
	for (size_t i = 0; i < nchunks; i++)
	{
		memcpy(buf + total, chunks[i], lens[i]);
		total += lens[i];
	}
	s = xd_blob_validate(buf, total, NULL);
	if (s != XD_OK)
	{
		free(buf);
		return s;
	}
	*out = buf;
	*len = total;
	return XD_OK;
}
