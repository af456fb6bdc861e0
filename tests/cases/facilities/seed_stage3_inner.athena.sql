SELECT r.location.state AS state,
       COUNT(DISTINCT r.facility_id) AS accredited_facilities
FROM medlaunch_db.facilities_raw r
CROSS JOIN UNNEST(r.accreditations) AS t(a)
WHERE TRY_CAST(a.valid_until AS DATE) >= current_date
GROUP BY r.location.state
