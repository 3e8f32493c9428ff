/*
 * served.c - which version a domain serves: xdrec.domain's served_version,
 * written as the owner once the caller's 'train' privilege is checked, with
 * every backend's ranking cache invalidated at commit (WAL-logged, so
 * standbys follow). The deploy policy deciding whether a run's version is
 * served is run/deploy.c's.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "store/store.h"

/*
 * xdrec.domain, whose relcache invalidation tells every backend to forget its
 * served entries (serve/version_cache.c); InvalidOid while the extension is
 * being dropped or created.
 */
Oid
xdpg_domain_relid(void)
{
	Oid			nsp = get_namespace_oid("xdrec", true);

	return OidIsValid(nsp) ? get_relname_relid("domain", nsp) : InvalidOid;
}

/*
 * Serves version_id for (md, domain) and invalidates every backend's ranking
 * cache (the invalidation is sent at commit, and WAL-logged for standbys).
 * Users forgotten from the domain while it trained are cleared from it first.
 * The current role must have 'train' on the model.
 */
void
xdpg_deploy(XdModelDef *md, const char *domain, const char *role, int64 version_id,
			const char *stats_json)
{
	Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, INT8OID};
	Datum		vals[5];

	xdpg_model_check_write(md->id, md->name, "train");
	xdpg_forget_pending(md, domain, version_id);
	vals[0] = Int64GetDatum(md->id);
	vals[1] = CStringGetTextDatum(domain);
	vals[2] = CStringGetTextDatum(role);
	vals[3] = CStringGetTextDatum(stats_json);
	vals[4] = Int64GetDatum(version_id);
	xdpg_owner_execute("INSERT INTO xdrec.domain AS d (model_id, domain, role, stats, served_version) "
					   "VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5) "
					   "ON CONFLICT (model_id, domain) DO UPDATE SET role = excluded.role, "
					   " stats = excluded.stats, served_version = excluded.served_version",
					   5, types, vals, NULL, SPI_OK_INSERT);
	xdpg_owner_execute("UPDATE xdrec.version SET deployed_at = pg_catalog.now() "
					   "WHERE id OPERATOR(pg_catalog.=) $5",
					   5, types, vals, NULL, SPI_OK_UPDATE);
	if (strcmp(role, "source") == 0)
		xdpg_owner_execute("UPDATE xdrec.model SET source_domain = $2 "
						   "WHERE id OPERATOR(pg_catalog.=) $1 "
						   "AND (source_domain IS NULL OR source_domain OPERATOR(pg_catalog.<>) $2)",
						   2, types, vals, NULL, SPI_OK_UPDATE);
	CacheInvalidateRelcacheByRelid(xdpg_domain_relid());
}
