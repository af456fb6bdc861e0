CREATE DATABASE IF NOT EXISTS medlaunch_db;
USE medlaunch_db;

CREATE EXTERNAL TABLE IF NOT EXISTS facilities_raw (
  facility_id string,
  facility_name string,
  location struct<address:string, city:string, state:string, zip:string>,
  employee_count int,
  services array<string>,
  labs array<struct<lab_name:string, certifications:array<string>>>,
  accreditations array<struct<accreditation_body:string, accreditation_id:string, valid_until:string>>
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://medlaunch/data/'
TBLPROPERTIES ('ignore.malformed.json'='true');

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

CREATE TABLE facility_metrics
WITH (
  external_location = 's3://medlaunch/results/facility_metrics/run_YYYY_MM_DD_1/',
  format = 'PARQUET'
) AS
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
