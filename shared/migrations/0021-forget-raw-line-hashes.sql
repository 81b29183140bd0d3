-- log_imports (0005) held import ids and prefix hashes that were SHA-256 of raw log lines: a line's
-- address could be recovered from such a hash by trying the addresses of one network. Imports now
-- hash line shapes only (time, method, status, length; collector `lineShape`), so the old rows,
-- useless under the new import ids, are removed with what they could give away.
TRUNCATE TABLE IF EXISTS log_imports;
