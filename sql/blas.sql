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

-- the activations' vector width: 0 is the widest this CPU runs (at least
-- 4, the x86-64 baseline); 4 always runs; 5 never does
SHOW xdrec.simd_lanes;
SELECT (s ->> 'simd_lanes')::int = (s ->> 'simd_lanes_max')::int AS widest_in_use,
       (s ->> 'simd_lanes_max')::int IN (4, 8, 16) AS known_width
FROM xdrec.blas_selfcheck() AS s;
SET xdrec.simd_lanes = 4;
SELECT (s ->> 'simd_lanes')::int AS lanes FROM xdrec.blas_selfcheck() AS s;
SET xdrec.simd_lanes = 5;
SET xdrec.simd_lanes = 32;
SHOW xdrec.simd_lanes;
RESET xdrec.simd_lanes;
SELECT (s ->> 'simd_lanes')::int = (s ->> 'simd_lanes_max')::int AS widest_again
FROM xdrec.blas_selfcheck() AS s;

DROP EXTENSION xdrec;
