WITH acc_min AS (
  SELECT r.facility_id,
         MIN(TRY_CAST(a.valid_until AS DATE)) AS expiry_date_of_first_accreditation
  FROM facilities_raw r
  CROSS JOIN UNNEST(r.accreditations) AS t(a)
  GROUP BY r.facility_id
)
SELECT f.facility_id,
       f.facility_name,
       f.employee_count,
       CARDINALITY(f.services) AS number_of_offered_services,
       acc_min.expiry_date_of_first_accreditation
FROM facilities_raw f
LEFT JOIN acc_min ON acc_min.facility_id = f.facility_id;
