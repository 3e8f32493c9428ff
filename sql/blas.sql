-- The BLAS self-check (DESIGN section 8): a real sgemm runs in the backend,
-- the loaded OpenBLAS is the serial build, and the backend stays one thread.
CREATE EXTENSION xdrec;

SELECT (s ->> 'sgemm_ok')::boolean AS sgemm_ok,
       (s ->> 'threads')::int AS threads,
       (s ->> 'parallel')::int AS parallel,
       s ->> 'config' LIKE 'OpenBLAS %' AS is_openblas
FROM xdrec.blas_selfcheck() AS s;

-- a second call in the same backend still runs on one thread
SELECT (s ->> 'threads')::int = 1 AND (s ->> 'parallel')::int = 0 AS still_serial
FROM xdrec.blas_selfcheck() AS s;

-- the settings, and the reserved prefix
SHOW xdrec.train_memory;
SHOW xdrec.cache_memory;
SHOW xdrec.default_model;
SET xdrec.train_memory = '64MB';
SHOW xdrec.train_memory;
SET xdrec.train_memory = '10kB';
RESET xdrec.train_memory;
SET xdrec.default_model = 'm';
SHOW xdrec.default_model;
RESET xdrec.default_model;
SET xdrec.no_such_setting = 1;

DROP EXTENSION xdrec;
