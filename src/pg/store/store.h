/*
 * store.h - what the store layer (src/pg/store/) shares: how a version's rows
 * are cut (catalog.c writes them, version_read.c reads them back, forgetting
 * rewrites them in place).
 */
#ifndef XDREC_PG_STORE_H
#define XDREC_PG_STORE_H

/* weight chunks stay far below the 1 GB datum limit */
#define XDPG_CHUNK_BYTES (64 * 1024 * 1024)
#define XDPG_KEYS_PER_CHUNK 100000
#define XDPG_SEEN_USERS_PER_CHUNK 65536

#endif
