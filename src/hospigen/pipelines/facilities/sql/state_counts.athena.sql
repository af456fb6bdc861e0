-- Accredited facilities per state: the seed's Stage 3 query without the `_order` header trick
-- (the header is written by the CSV writer). `current_date` is replaced by the run's date.
SELECT r.location.state AS state,
       COUNT(DISTINCT r.facility_id) AS accredited_facilities
FROM facilities_raw r
CROSS JOIN UNNEST(r.accreditations) AS t(a)
WHERE TRY_CAST(a.valid_until AS DATE) >= current_date
GROUP BY r.location.state
ORDER BY state
