-- ---------------------------------------------------------------------------
-- Help inside psql: a comment on every user-facing function (its arguments
-- named), view and view column, which \df+, \dv+, \d+ and xdrec.help()
-- show (sql/src/47_help.sql). Internal helpers (named _*) have none.

-- models
COMMENT ON FUNCTION xdrec.create_model(text, regclass, text, text, text, text, jsonb, jsonb) IS
$$Declare a recommender over an interaction relation; returns the model id.
create_model(name, relation, user_col, item_col, domain_col, rating_col => NULL, features => '[]', options => '{}')
name: unique per database. relation: a table or view with one row per interaction. user_col, item_col, domain_col: the key columns (bigint, int or text). rating_col: explicit ratings (with options "feedback": "explicit").
features: a json array of {"name", "kind": interactional|historical|attributional, "type": numeric|categorical|boolean, "scope": interaction|user|item, "column" (default: the name) or "expression", "options"}.
options: d, epochs, patience, lr, seed, deploy (if_better|always|never), keep_versions, time_col (split by time), ... (xdrec.help('options')).$$;

COMMENT ON FUNCTION xdrec.alter_model(text, jsonb, jsonb) IS
$$Change a model's options and/or replace its features, validated as create_model validates them; returns the options.
alter_model(name, options => NULL, features => NULL)
options are merged into the stored ones ({"lr": null} resets lr to its default); features replace the declared list. Served versions keep what they were trained with: the next xdrec.train(name) uses the new definition.$$;

COMMENT ON FUNCTION xdrec.drop_model(text) IS
$$Drop a model with every version, grant and job (running jobs are cancelled). drop_model(name). Only the owner.$$;

COMMENT ON FUNCTION xdrec."grant"(text, text, text) IS
$$Let a role use a model. grant(name, role, privilege => 'use'). 'use' ranks, predicts, evaluates and reads the model's views; 'train' also trains, adapts, deploys and rolls back. Only the owner.$$;

COMMENT ON FUNCTION xdrec.revoke(text, text) IS
$$Take a role's grant on a model back. revoke(name, role). Only the owner.$$;

-- training and transfer
COMMENT ON FUNCTION xdrec.train(text, text, boolean, text) IS
$$Train the model on its source domain; returns the training summary (or {"job": id} in the background).
train(name, source_domain => NULL, background => false, deploy => NULL)
source_domain: NULL trains the model's source; the first training names it. Another domain is refused: xdrec.set_source changes the source on purpose.
deploy: 'if_better' (the default, or the model's option "deploy") serves the new version unless it validates worse than the served one beyond noise; 'always'; 'never' keeps it stored (xdrec.deploy serves it later).$$;

COMMENT ON FUNCTION xdrec.adapt(text, text, text, boolean, text) IS
$$Adapt a target domain to the served source version; returns the adaptation summary (or {"job": id}).
adapt(name, domain, method => 'auto', background => false, deploy => NULL)
method: 'auto' (the default: target-only unless a transfer clearly wins on validation), 'drr' (distributionally regularized residuals), 'anneal', 'direct', 'target_only' or 'fewshot' (the s2Meta meta-learner a source trained with option fewshot stores: a new market from its first rows). deploy as in xdrec.train.$$;

COMMENT ON FUNCTION xdrec.adapt_all(text, text, boolean, text, boolean, integer, text) IS
$$Adapt every target domain, stale ones first; one row per domain with its outcome (adapted, scheduled, skipped, failed) and the reason.
adapt_all(name, method => 'auto', background => false, deploy => NULL, only_stale => false, min_rows => NULL, on_error => 'skip')
only_stale: only the domains whose version is stale (adapted against an older source) or that were never adapted, as a nightly schedule wants. min_rows: domains with fewer rows are skipped, not tried. on_error: 'skip' reports a domain's failure in its row and keeps the others' versions; 'fail' raises it and changes nothing. background: one job per domain.$$;

COMMENT ON FUNCTION xdrec.set_source(text, text) IS
$$Make a domain the model's source; returns it. set_source(name, domain)
The next xdrec.train(name) trains it; the old source keeps serving as a target, and the targets adapted against it are stale until adapted again. set_source back to the old source undoes it.$$;

COMMENT ON FUNCTION xdrec.deploy(text, text, bigint) IS
$$Serve a stored version of a domain; returns the version served before.
deploy(name, domain, version)
Any version of the domain: one the deploy policy kept without serving, an older one, one rolled back (xdrec.versions lists them).$$;

COMMENT ON FUNCTION xdrec.rollback(text, text) IS
$$Serve the version a domain served before the current one; returns it.
rollback(name, domain => NULL): domain NULL is the source. Versions never served are skipped; xdrec.deploy serves any version.$$;

COMMENT ON FUNCTION xdrec.training_info(text, text, bigint) IS
$$The per-epoch curve of a version: loss, validation metric (MRR, or RMSE), base learning rate, rows per second, seconds; best marks the best epoch.
training_info(name, domain => NULL, version => NULL): domain NULL is the source, version NULL the one served.$$;

COMMENT ON FUNCTION xdrec.source_weights(text, integer) IS
$$The source interactions BIAO weighted most and least (option source_weighting 'biao'), as the served source version kept them: side (top, bottom), rank, user and item keys, interaction features, weight (1 is plain training's).
source_weights(name, k => 10): at most k per side, at most the option biao_keep the version was trained with.$$;

COMMENT ON FUNCTION xdrec.sparkline(double precision[]) IS
$$A text sparkline of a series, one block per value from its minimum to its maximum (NULL: a space). sparkline(values)$$;

-- serving and evaluation
COMMENT ON FUNCTION xdrec.rank(text, bigint, jsonb, integer, text, boolean, bigint[], real[], jsonb, text) IS
$$The top k items for a user in a context (integer keys).
rank(name, user_key, ctx, k => 10, domain => NULL, exclude_seen => NULL, candidates => NULL, ctx_vector => NULL, history => NULL, on_unknown => 'cold')
ctx: feature values by name, e.g. '{"hour": 19, "weekday": "fri"}'; leave out what you do not know. domain: when the user is in two domains. exclude_seen: true leaves out the user's training items, false keeps them (with the repeat term of option repeat), NULL does what the model's option exclude_seen says (auto: leave them out unless a quarter of the training rows are repeats). candidates: rank only these items. ctx_vector: an already encoded context instead of ctx. A user without a trained embedding is ranked from their latest rows (cold start); history: an anonymous session's items, oldest first, e.g. '[12, 40]' or '[{"item": 12, "ctx": {"hour": 9}}]', with user_key NULL. on_unknown: a user without a trained embedding and without rows (or a domain without a cold-start module) fails the call ('cold'), is ranked by popularity in the domain ('popular'), gets no rows ('skip'); 'error' fails even with rows. The setting xdrec.served_as then says warm, cold, history, popular or skipped.$$;

COMMENT ON FUNCTION xdrec.rank(text, text, jsonb, integer, text, boolean, text[], real[], jsonb, text) IS
$$The top k items for a user in a context (keys as text; every model, and drivers that send untyped parameters).
rank(name, user_key, ctx, k => 10, domain => NULL, exclude_seen => NULL, candidates => NULL, ctx_vector => NULL, history => NULL, on_unknown => 'cold')
As the bigint form: exclude_seen => false where users buy again; history => '[...]' with user_key NULL for an anonymous session; on_unknown => 'popular' ranks a user nothing else can by popularity.$$;

COMMENT ON FUNCTION xdrec_rank(bigint, jsonb, integer) IS
$$The top k items for a user in a context, on the model named by the setting xdrec.default_model (integer keys). xdrec_rank(user_key, ctx, k => 10)$$;

COMMENT ON FUNCTION xdrec_rank(text, jsonb, integer) IS
$$The top k items for a user in a context, on the model named by the setting xdrec.default_model (keys as text). xdrec_rank(user_key, ctx, k => 10)$$;

COMMENT ON FUNCTION xdrec.rank_many(text, bigint[], jsonb, integer, text, boolean, text) IS
$$The top k items for each of many users in one context (integer keys); users sharing a domain are scored as one matrix product.
rank_many(name, user_keys, ctx, k => 10, domain => NULL, exclude_seen => NULL, on_unknown => 'cold')
on_unknown: users without a trained embedding are ranked from their rows ('cold', others left out), from their rows or else by popularity in the domain ('popular'), left out ('skip') or fail the call ('error'). The setting xdrec.served_as then counts each way.$$;

COMMENT ON FUNCTION xdrec.rank_many(text, text[], jsonb, integer, text, boolean, text) IS
$$The top k items for each of many users in one context (keys as text).
rank_many(name, user_keys, ctx, k => 10, domain => NULL, exclude_seen => NULL, on_unknown => 'cold')$$;

COMMENT ON FUNCTION xdrec.predict(text, bigint, bigint, jsonb, text, real[]) IS
$$The predicted rating of an item by a user in a context (explicit-feedback models; integer keys).
predict(name, user_key, item_key, ctx, domain => NULL, ctx_vector => NULL)$$;

COMMENT ON FUNCTION xdrec.predict(text, text, text, jsonb, text, real[]) IS
$$The predicted rating of an item by a user in a context (explicit-feedback models; keys as text).
predict(name, user_key, item_key, ctx, domain => NULL, ctx_vector => NULL)$$;

COMMENT ON FUNCTION xdrec.evaluate(text, text, text, integer, regclass, integer) IS
$$Measure each served version (or one domain's) beside the random and popularity-in-context baselines; one row per domain, method and metric, with its standard error.
evaluate(name, domain => NULL, protocol => 'sampled', seed => 42, test => NULL, support => NULL)
protocol: 'sampled' ranks each test positive against 50 other items and 50 other contexts (the paper's); 'full' against every item of the domain; 'cold' ranks the users option cold_holdout left out of training from their first K rows (K = 1, 5, 10, 20), beside popularity, popularity in context, their items first and fine-tuning; 'fewshot' (with support => N) adapts each target (or domain) from a seeded N of its rows with fewshot (when the source has the meta-learner), DRR and target-only, beside popularity in context and the user's support items first, and ranks the rest against every item (hit@10, hit@20, ndcg@10, mrr, and each fit's seconds). The sampled protocol's context negatives make it the harder one for a model that ignores context, so full-ranking MRR can exceed it.
test: a relation of rows you held out (e.g. the last week), evaluated instead of the internal test split.$$;

COMMENT ON FUNCTION xdrec.cache_stats() IS
$$This backend's ranking cache per model, domain and version: bytes, cached contexts, hits and misses, and the users it ranked warm, cold from their rows, from a history and by popularity. cache_stats()$$;

COMMENT ON FUNCTION xdrec.forget_user(text, text, text) IS
$$Remove a user's embedding and profile from every stored version of a domain, and leave their rows out of later training; returns the versions changed.
forget_user(name, domain, user_key)$$;

COMMENT ON FUNCTION xdrec.forget_user(text, text, bigint) IS
$$Remove a user's embedding and profile from every stored version of a domain, and leave their rows out of later training; returns the versions changed.
forget_user(name, domain, user_key)$$;

-- jobs
COMMENT ON FUNCTION xdrec.max_workers() IS
$$How many background jobs run at once in this database (default 2). max_workers()$$;

COMMENT ON FUNCTION xdrec.set_max_workers(integer) IS
$$Set how many background jobs run at once in this database; only the extension's owner. set_max_workers(n)$$;

COMMENT ON FUNCTION xdrec.run_pending() IS
$$Record jobs whose worker vanished as failed and start scheduled jobs up to the cap; returns the workers started. run_pending()$$;

COMMENT ON FUNCTION xdrec.cancel(bigint) IS
$$Cancel a job: a scheduled one at once, a running one through its worker; returns its state after the call. cancel(job)$$;

COMMENT ON FUNCTION xdrec.wait(bigint, interval) IS
$$Wait for a job to end; returns its final state, or its state when timeout passes. wait(job, timeout => NULL)$$;

-- tools and help
COMMENT ON FUNCTION xdrec.generate(text, jsonb) IS
$$Create a table of synthetic cross-domain interactions with a known contextual rule; returns the rows written.
generate(table_name, options => '{}'): options seed, domains, sizes {"source": {"users", "items", "interactions"}, "target": {...}}, explicit, control.$$;

COMMENT ON FUNCTION xdrec.generated_features() IS
$$The features argument of create_model for a table made by xdrec.generate. generated_features()$$;

COMMENT ON FUNCTION xdrec.blas_selfcheck() IS
$$Run an sgemm and report the backend's threads, openblas_get_parallel() and the OpenBLAS build. blas_selfcheck()$$;

COMMENT ON FUNCTION xdrec.help(text) IS
$$Help: the functions and views with what they do, or one function's signatures, description and an example, or a view's columns.
help(topic => NULL), e.g. xdrec.help('rank'), xdrec.help('versions'), xdrec.help('options').$$;

-- views and their columns
COMMENT ON VIEW xdrec.models IS 'Every model the current role may see: its relation, columns, options and access.';
COMMENT ON COLUMN xdrec.models.name IS 'the model''s name, unique per database';
COMMENT ON COLUMN xdrec.models.relation IS 'the interaction relation it reads';
COMMENT ON COLUMN xdrec.models.user_col IS 'the user key column';
COMMENT ON COLUMN xdrec.models.item_col IS 'the item key column';
COMMENT ON COLUMN xdrec.models.domain_col IS 'the domain column (a city, a market)';
COMMENT ON COLUMN xdrec.models.rating_col IS 'the rating column of an explicit-feedback model, else NULL';
COMMENT ON COLUMN xdrec.models.feedback IS 'implicit (interactions) or explicit (ratings)';
COMMENT ON COLUMN xdrec.models.variant IS 'mmt (MMT-Net) or fmt (FMT-Net)';
COMMENT ON COLUMN xdrec.models.features IS 'how many context features it declares (xdrec.features lists them)';
COMMENT ON COLUMN xdrec.models.source_domain IS 'the dense domain the shared modules are trained on; NULL before training';
COMMENT ON COLUMN xdrec.models.owner IS 'the role that created it';
COMMENT ON COLUMN xdrec.models.access IS 'what the current role may do: own, train or use';
COMMENT ON COLUMN xdrec.models.created_at IS 'when it was created';
COMMENT ON COLUMN xdrec.models.options IS 'its options as given (defaults not shown)';
COMMENT ON COLUMN xdrec.models.id IS 'its id in the catalog';
COMMENT ON COLUMN xdrec.models.options_fault IS 'NULL, or the stored options that break their rules (the row was changed outside xdrec): functions that load the model refuse it until xdrec.alter_model sets them again';

COMMENT ON VIEW xdrec.domains IS 'Every trained domain of every visible model: its role, the version it serves and whether it is stale.';
COMMENT ON COLUMN xdrec.domains.model IS 'the model';
COMMENT ON COLUMN xdrec.domains.domain IS 'the domain';
COMMENT ON COLUMN xdrec.domains.role IS 'source (trained) or target (adapted)';
COMMENT ON COLUMN xdrec.domains.method IS 'how the served version was made: train, drr, anneal, direct or target_only';
COMMENT ON COLUMN xdrec.domains.served_version IS 'the version ranking uses';
COMMENT ON COLUMN xdrec.domains.pins_shared_version IS 'a target: the source version whose shared modules it was adapted against';
COMMENT ON COLUMN xdrec.domains.stale IS 'a target adapted against a source version the source no longer serves: adapt it again';
COMMENT ON COLUMN xdrec.domains.rows IS 'interactions the served version was trained on';
COMMENT ON COLUMN xdrec.domains.users IS 'users the served version knows';
COMMENT ON COLUMN xdrec.domains.items IS 'items the served version knows';
COMMENT ON COLUMN xdrec.domains.metrics IS 'the served version''s test metrics (xdrec.evaluate puts baselines beside them)';
COMMENT ON COLUMN xdrec.domains.trained_at IS 'when the served version was written';

COMMENT ON VIEW xdrec.jobs IS 'Every background job of every visible model, with its latest progress.';
COMMENT ON COLUMN xdrec.jobs.job IS 'the job''s id (xdrec.wait, xdrec.cancel)';
COMMENT ON COLUMN xdrec.jobs.model IS 'the model';
COMMENT ON COLUMN xdrec.jobs.kind IS 'train or adapt';
COMMENT ON COLUMN xdrec.jobs.domain IS 'the domain it trains or adapts';
COMMENT ON COLUMN xdrec.jobs.method IS 'an adaptation''s method';
COMMENT ON COLUMN xdrec.jobs.state IS 'scheduled, running, finished, cancelling, cancelled or failed';
COMMENT ON COLUMN xdrec.jobs.epoch IS 'the last epoch done';
COMMENT ON COLUMN xdrec.jobs.loss IS 'its training loss';
COMMENT ON COLUMN xdrec.jobs.metric IS 'its validation metric (MRR, or RMSE)';
COMMENT ON COLUMN xdrec.jobs.rows_per_sec IS 'training interactions per second so far';
COMMENT ON COLUMN xdrec.jobs.eta IS 'time left to epochs_max at the current pace (early stopping may end sooner)';
COMMENT ON COLUMN xdrec.jobs.error IS 'why a failed or cancelled job ended';
COMMENT ON COLUMN xdrec.jobs.sqlstate IS 'the SQLSTATE of that error';
COMMENT ON COLUMN xdrec.jobs.submitted_by IS 'the role it runs as';
COMMENT ON COLUMN xdrec.jobs.login_role IS 'the login role its worker connects as';
COMMENT ON COLUMN xdrec.jobs.submitted_at IS 'when it was submitted';
COMMENT ON COLUMN xdrec.jobs.started_at IS 'when its worker claimed it';
COMMENT ON COLUMN xdrec.jobs.finished_at IS 'when it ended';
COMMENT ON COLUMN xdrec.jobs.pid IS 'its worker''s process id while it runs';
COMMENT ON COLUMN xdrec.jobs.result IS 'the summary of a finished job (as train and adapt return it)';
COMMENT ON COLUMN xdrec.jobs.epochs_max IS 'the most epochs the run may take';
COMMENT ON COLUMN xdrec.jobs.percent IS 'how far it is, by time: elapsed against elapsed plus eta (100 when finished)';
COMMENT ON COLUMN xdrec.jobs.progress IS 'while it runs: epoch k of at most N';

COMMENT ON VIEW xdrec.versions IS 'Every stored version: how it was trained, how it validated and tested, whether it is served, its validation curve.';
COMMENT ON COLUMN xdrec.versions.model IS 'the model';
COMMENT ON COLUMN xdrec.versions.domain IS 'the domain';
COMMENT ON COLUMN xdrec.versions.version IS 'the version''s id (xdrec.deploy, xdrec.training_info)';
COMMENT ON COLUMN xdrec.versions.role IS 'source or target';
COMMENT ON COLUMN xdrec.versions.method IS 'train, drr, anneal, direct or target_only';
COMMENT ON COLUMN xdrec.versions.state IS 'ready, or retired by a rollback';
COMMENT ON COLUMN xdrec.versions.served IS 'whether ranking uses it now';
COMMENT ON COLUMN xdrec.versions.pins_shared_version IS 'a target: the source version it was adapted against';
COMMENT ON COLUMN xdrec.versions.options IS 'the model configuration it was trained with';
COMMENT ON COLUMN xdrec.versions.valid IS 'its validation metric (mrr or rmse) with standard error and positives: what the deploy policy compares';
COMMENT ON COLUMN xdrec.versions.test IS 'its test metrics';
COMMENT ON COLUMN xdrec.versions.valid_curve IS 'a sparkline of its validation metric per epoch (xdrec.training_info has the numbers)';
COMMENT ON COLUMN xdrec.versions.rows IS 'interactions it was trained on';
COMMENT ON COLUMN xdrec.versions.trained_at IS 'when it was written';
COMMENT ON COLUMN xdrec.versions.trained_by IS 'the role that trained it';
COMMENT ON COLUMN xdrec.versions.deployed_at IS 'when it was last served; NULL if never';

COMMENT ON VIEW xdrec.features IS 'Every declared feature: kind, type, scope, where it comes from, and the source version''s vocabulary or numeric range.';
COMMENT ON COLUMN xdrec.features.model IS 'the model';
COMMENT ON COLUMN xdrec.features.position IS 'its place in the declaration';
COMMENT ON COLUMN xdrec.features.feature IS 'its name, the key of ctx';
COMMENT ON COLUMN xdrec.features.kind IS 'interactional, historical or attributional';
COMMENT ON COLUMN xdrec.features.type IS 'numeric, categorical or boolean';
COMMENT ON COLUMN xdrec.features.scope IS 'interaction (given in ctx), user (the user''s profile unless given) or item (each item''s profile)';
COMMENT ON COLUMN xdrec.features.column IS 'the column it reads, or NULL for an expression';
COMMENT ON COLUMN xdrec.features.expression IS 'the SQL expression it reads, or NULL';
COMMENT ON COLUMN xdrec.features.options IS 'bins (numeric) or vocab_cap (categorical)';
COMMENT ON COLUMN xdrec.features.vocabulary IS 'a categorical feature''s values as the served source version froze them; any other value ranks as "other"';
COMMENT ON COLUMN xdrec.features.min IS 'a numeric feature''s minimum in the source''s training rows (each domain scales by its own)';
COMMENT ON COLUMN xdrec.features.max IS 'a numeric feature''s maximum in the source''s training rows';
COMMENT ON COLUMN xdrec.features.source_version IS 'the source version these come from';

COMMENT ON VIEW xdrec.cache_stats IS 'This backend''s ranking cache (xdrec.cache_stats()): per model, domain and version.';
COMMENT ON COLUMN xdrec.cache_stats.model IS 'the model';
COMMENT ON COLUMN xdrec.cache_stats.domain IS 'the domain';
COMMENT ON COLUMN xdrec.cache_stats.version IS 'the cached version';
COMMENT ON COLUMN xdrec.cache_stats.version_bytes IS 'bytes its weights take';
COMMENT ON COLUMN xdrec.cache_stats.contexts IS 'contexts whose item-tower outputs are cached';
COMMENT ON COLUMN xdrec.cache_stats.context_bytes IS 'bytes those outputs take';
COMMENT ON COLUMN xdrec.cache_stats.hits IS 'rankings that found their context cached';
COMMENT ON COLUMN xdrec.cache_stats.misses IS 'rankings that computed it';
COMMENT ON COLUMN xdrec.cache_stats.served_warm IS 'users it ranked from their trained embedding';
COMMENT ON COLUMN xdrec.cache_stats.served_cold IS 'users without one it ranked from their rows (the cold-start module)';
COMMENT ON COLUMN xdrec.cache_stats.served_history IS 'anonymous sessions it ranked from history';
COMMENT ON COLUMN xdrec.cache_stats.served_popular IS 'users it ranked by popularity (on_unknown ''popular'')';

COMMENT ON VIEW xdrec.overview IS 'The DBA''s health view: per model and domain, what serves, its test metric against the baseline, the rows it was trained on against the rows now, the last job, and a one-word health. Counts each relation''s rows (a scan).';
COMMENT ON COLUMN xdrec.overview.model IS 'the model';
COMMENT ON COLUMN xdrec.overview.domain IS 'a trained domain, or one of the relation not trained yet';
COMMENT ON COLUMN xdrec.overview.role IS 'source or target (NULL before the source is trained)';
COMMENT ON COLUMN xdrec.overview.served_version IS 'the version ranking uses; NULL before training';
COMMENT ON COLUMN xdrec.overview.method IS 'how the served version was made';
COMMENT ON COLUMN xdrec.overview.stale IS 'a target adapted against a source version no longer served';
COMMENT ON COLUMN xdrec.overview.test_metric IS 'the served version''s test MRR (RMSE for explicit feedback), sampled protocol';
COMMENT ON COLUMN xdrec.overview.baseline_metric IS 'the same for popularity in context (the mean rating for explicit feedback), on the same positives';
COMMENT ON COLUMN xdrec.overview.rows_trained IS 'interactions the served version was trained on';
COMMENT ON COLUMN xdrec.overview.rows_now IS 'interactions of the domain in the relation now (NULL when the caller may not read it)';
COMMENT ON COLUMN xdrec.overview.trained_at IS 'when the served version was written';
COMMENT ON COLUMN xdrec.overview.last_job IS 'the domain''s latest background job';
COMMENT ON COLUMN xdrec.overview.last_job_state IS 'its state';
COMMENT ON COLUMN xdrec.overview.last_job_error IS 'its error, if it failed or was cancelled';
COMMENT ON COLUMN xdrec.overview.health IS 'ok, not trained, not adapted, stale: adapt again, data changed: train (or adapt) again, below popularity, worse than the mean rating, or last job failed';

-- the catalog tables (read the views; xdrec's functions write them)
COMMENT ON TABLE xdrec.model IS 'Models (xdrec.models shows them): one row per create_model.';
COMMENT ON COLUMN xdrec.model.id IS 'the model''s id';
COMMENT ON COLUMN xdrec.model.name IS 'its name, unique per database';
COMMENT ON COLUMN xdrec.model.relation IS 'the interaction relation';
COMMENT ON COLUMN xdrec.model.user_col IS 'the user key column';
COMMENT ON COLUMN xdrec.model.item_col IS 'the item key column';
COMMENT ON COLUMN xdrec.model.domain_col IS 'the domain column';
COMMENT ON COLUMN xdrec.model.rating_col IS 'the rating column (explicit feedback), or NULL';
COMMENT ON COLUMN xdrec.model.user_type IS 'the user key''s SQL type when the model was created';
COMMENT ON COLUMN xdrec.model.item_type IS 'the item key''s SQL type';
COMMENT ON COLUMN xdrec.model.domain_type IS 'the domain''s SQL type';
COMMENT ON COLUMN xdrec.model.options IS 'its options as given (xdrec.help(''options''))';
COMMENT ON COLUMN xdrec.model.owner IS 'the role that owns it';
COMMENT ON COLUMN xdrec.model.created_at IS 'when it was created';
COMMENT ON COLUMN xdrec.model.source_domain IS 'its source domain: named by the first training or by xdrec.set_source';
COMMENT ON COLUMN xdrec.model.features_changed_at IS 'when xdrec.alter_model last replaced its features; NULL if never';

COMMENT ON TABLE xdrec.model_grant IS 'Grants of a model to other roles (xdrec.grant, xdrec.revoke).';
COMMENT ON COLUMN xdrec.model_grant.model_id IS 'the model';
COMMENT ON COLUMN xdrec.model_grant.grantee IS 'the role granted';
COMMENT ON COLUMN xdrec.model_grant.privilege IS 'use or train';
COMMENT ON COLUMN xdrec.model_grant.owner IS 'the model''s owner when granted; the grant counts only while it still owns the model';
COMMENT ON COLUMN xdrec.model_grant.granted_at IS 'when it was granted';

COMMENT ON TABLE xdrec.feature IS 'A model''s declared context features (xdrec.features shows them).';
COMMENT ON COLUMN xdrec.feature.model_id IS 'the model';
COMMENT ON COLUMN xdrec.feature.position IS 'its place in the declaration';
COMMENT ON COLUMN xdrec.feature.name IS 'its name, the key of ctx';
COMMENT ON COLUMN xdrec.feature.column_name IS 'the column it reads, or NULL';
COMMENT ON COLUMN xdrec.feature.expression IS 'the expression it reads, or NULL';
COMMENT ON COLUMN xdrec.feature.kind IS 'interactional, historical or attributional';
COMMENT ON COLUMN xdrec.feature.type IS 'numeric, categorical or boolean';
COMMENT ON COLUMN xdrec.feature.scope IS 'interaction, user or item';
COMMENT ON COLUMN xdrec.feature.options IS 'bins or vocab_cap';

COMMENT ON TABLE xdrec.version IS 'Every training or adaptation run''s version (xdrec.versions shows them).';
COMMENT ON COLUMN xdrec.version.id IS 'the version''s id';
COMMENT ON COLUMN xdrec.version.model_id IS 'the model';
COMMENT ON COLUMN xdrec.version.domain IS 'the domain it was trained or adapted on';
COMMENT ON COLUMN xdrec.version.kind IS 'source or target';
COMMENT ON COLUMN xdrec.version.method IS 'train, drr, anneal, direct or target_only';
COMMENT ON COLUMN xdrec.version.pins_shared_version IS 'a target: the source version whose modules it serves on';
COMMENT ON COLUMN xdrec.version.state IS 'building, ready, failed or retired';
COMMENT ON COLUMN xdrec.version.metrics IS 'test and validation metrics, the per-epoch curve, sizes and times';
COMMENT ON COLUMN xdrec.version.encoder IS 'its configuration, feature layout and frozen vocabularies';
COMMENT ON COLUMN xdrec.version.created_at IS 'when it was written';
COMMENT ON COLUMN xdrec.version.forgotten_users IS 'how many users were forgotten from it since';
COMMENT ON COLUMN xdrec.version.trained_by IS 'the role that trained it';
COMMENT ON COLUMN xdrec.version.deployed_at IS 'when it was last served; NULL if never';

COMMENT ON TABLE xdrec.domain IS 'Per trained domain: its role and the version it serves (xdrec.domains shows them).';
COMMENT ON COLUMN xdrec.domain.model_id IS 'the model';
COMMENT ON COLUMN xdrec.domain.domain IS 'the domain';
COMMENT ON COLUMN xdrec.domain.role IS 'source or target';
COMMENT ON COLUMN xdrec.domain.stats IS 'rows, users, items and context width of the served version';
COMMENT ON COLUMN xdrec.domain.served_version IS 'the version ranking uses';

COMMENT ON TABLE xdrec.weight IS 'A version''s tensors, as chunked weight blobs.';
COMMENT ON COLUMN xdrec.weight.model_id IS 'the model';
COMMENT ON COLUMN xdrec.weight.version_id IS 'the version';
COMMENT ON COLUMN xdrec.weight.tensor IS 'the tensor''s name (ctx.W1, emb.user, feat.num_min, enc.C.W1, ...)';
COMMENT ON COLUMN xdrec.weight.chunk IS 'its chunk number';
COMMENT ON COLUMN xdrec.weight.data IS 'the blob''s bytes (header, shape, float32 payload)';

COMMENT ON TABLE xdrec.key_map IS 'A version''s user and item keys in id order.';
COMMENT ON COLUMN xdrec.key_map.model_id IS 'the model';
COMMENT ON COLUMN xdrec.key_map.version_id IS 'the version';
COMMENT ON COLUMN xdrec.key_map.kind IS 'user or item';
COMMENT ON COLUMN xdrec.key_map.chunk IS 'its chunk number';
COMMENT ON COLUMN xdrec.key_map.keys IS 'keys in text form; a forgotten user''s is NULL';

COMMENT ON TABLE xdrec.seen IS 'A version''s training items per user (exclude_seen).';
COMMENT ON COLUMN xdrec.seen.model_id IS 'the model';
COMMENT ON COLUMN xdrec.seen.version_id IS 'the version';
COMMENT ON COLUMN xdrec.seen.chunk IS 'its chunk number (65,536 users each)';
COMMENT ON COLUMN xdrec.seen.counts IS 'each user''s number of items';
COMMENT ON COLUMN xdrec.seen.items IS 'the items, user after user';

COMMENT ON TABLE xdrec.forgotten IS 'Users forgotten from a domain (xdrec.forget_user).';
COMMENT ON COLUMN xdrec.forgotten.model_id IS 'the model';
COMMENT ON COLUMN xdrec.forgotten.domain IS 'the domain';
COMMENT ON COLUMN xdrec.forgotten.user_key IS 'the user''s key in text form';
COMMENT ON COLUMN xdrec.forgotten.forgotten_by IS 'the role that forgot them';
COMMENT ON COLUMN xdrec.forgotten.forgotten_at IS 'when';

COMMENT ON TABLE xdrec.job IS 'Background jobs (xdrec.jobs shows them).';
COMMENT ON COLUMN xdrec.job.id IS 'the job''s id';
COMMENT ON COLUMN xdrec.job.model_id IS 'the model';
COMMENT ON COLUMN xdrec.job.domain IS 'the domain';
COMMENT ON COLUMN xdrec.job.kind IS 'train or adapt';
COMMENT ON COLUMN xdrec.job.state IS 'scheduled, running, finished, cancelling, cancelled or failed, as last recorded';
COMMENT ON COLUMN xdrec.job.submitted_by IS 'the role it runs as';
COMMENT ON COLUMN xdrec.job.login_role IS 'the login role its worker connects as';
COMMENT ON COLUMN xdrec.job.submitted_at IS 'when it was submitted';
COMMENT ON COLUMN xdrec.job.started_at IS 'when its worker claimed it';
COMMENT ON COLUMN xdrec.job.finished_at IS 'when it ended';
COMMENT ON COLUMN xdrec.job.error IS 'the error it ended with';
COMMENT ON COLUMN xdrec.job.options IS 'the call''s method and deploy policy';
COMMENT ON COLUMN xdrec.job.result IS 'the summary, once finished';
COMMENT ON COLUMN xdrec.job.pid IS 'its worker''s process id while it runs';
COMMENT ON COLUMN xdrec.job.sqlstate IS 'the SQLSTATE of its error';

COMMENT ON TABLE xdrec.job_progress IS 'One row per epoch of a job, committed as it runs.';
COMMENT ON COLUMN xdrec.job_progress.job_id IS 'the job';
COMMENT ON COLUMN xdrec.job_progress.epoch IS 'the epoch';
COMMENT ON COLUMN xdrec.job_progress.loss IS 'its training loss';
COMMENT ON COLUMN xdrec.job_progress.metric IS 'its validation metric (MRR, or RMSE)';
COMMENT ON COLUMN xdrec.job_progress.rows_per_sec IS 'training interactions per second so far';
COMMENT ON COLUMN xdrec.job_progress.eta IS 'time left to the most epochs at the current pace';
COMMENT ON COLUMN xdrec.job_progress.at IS 'when the epoch ended';

COMMENT ON TABLE xdrec.setting IS 'This database''s settings: the job queue''s (xdrec.set_max_workers) and its node number (xdrec.set_local_node); no row is the default.';
COMMENT ON COLUMN xdrec.setting.name IS 'max_workers or node';
COMMENT ON COLUMN xdrec.setting.value IS 'its value';

-- scale-out (docs/scale.md)
COMMENT ON FUNCTION xdrec.add_node(text, text) IS
$$Register a node of a scale-out; returns its number, which goes into the high bits of the ids it draws. Only the extension's owner, on the node that trains the source (the table replicates).
add_node(name, connstr)
connstr: a libpq connection string to the node's database that names no user (routed calls connect as the calling role; passwords go in the server's ~/.pgpass).$$;
COMMENT ON FUNCTION xdrec.set_local_node(text) IS
$$Say which registered node this database is: its model and version ids are drawn from that node's range from now on. set_local_node(name). Only the extension's owner.$$;
COMMENT ON FUNCTION xdrec.place(text, text, text) IS
$$Place a domain of a model on a node, or move it there; calls on any other node are routed to it. place(model, domain, node). The node then adapts it and lists its users (xdrec.refresh_directory). Only the extension's owner.$$;
COMMENT ON FUNCTION xdrec.refresh_directory(text) IS
$$On a holding node: list the users of the model's domains placed here, from their served versions, in the user directory routers read; returns how many. refresh_directory(model). Only the extension's owner.$$;
COMMENT ON FUNCTION xdrec.enable_routing() IS
$$Create the PL/Proxy functions that route rank and rank_many to the node holding a domain; needs CREATE EXTENSION plproxy first. enable_routing(). Only the extension's owner.$$;

COMMENT ON TABLE xdrec.node IS 'The nodes of a scale-out (xdrec.add_node; docs/scale.md).';
COMMENT ON COLUMN xdrec.node.name IS 'the node''s name';
COMMENT ON COLUMN xdrec.node.number IS 'its number: its ids are number * 2^48 and up';
COMMENT ON COLUMN xdrec.node.connstr IS 'libpq connection string of its database, naming no user';
COMMENT ON COLUMN xdrec.node.added_at IS 'when it was added';
COMMENT ON TABLE xdrec.placement IS 'Which node holds each placed domain (xdrec.place); calls elsewhere are routed there.';
COMMENT ON COLUMN xdrec.placement.model_id IS 'the model (xdrec.models.id)';
COMMENT ON COLUMN xdrec.placement.domain IS 'the domain';
COMMENT ON COLUMN xdrec.placement.node IS 'the node holding it';
COMMENT ON COLUMN xdrec.placement.placed_at IS 'when it was placed there';
COMMENT ON TABLE xdrec.user_domain IS 'The user directory: the domain each user of a placed domain is in (xdrec.refresh_directory), read to route calls that name no domain.';
COMMENT ON COLUMN xdrec.user_domain.model_id IS 'the model (xdrec.models.id)';
COMMENT ON COLUMN xdrec.user_domain.user_key IS 'the user''s key, as text';
COMMENT ON COLUMN xdrec.user_domain.domain IS 'a domain whose served version knows the user';
COMMENT ON COLUMN xdrec.user_domain.node IS 'the node that listed the row (xdrec.refresh_directory there), which replaces only its own rows';
