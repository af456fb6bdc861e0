CREATE TABLE IF NOT EXISTS `synthea_raw`.`raw_records_stg` (
  `raw` JSON,
  `resource_type` STRING,
  `resource_id` STRING,
  `generated_ts` TIMESTAMP,
  `raw_hash` STRING,
  `source_object` STRING,
  `wrapped_object` STRING,
  `line_number` INT64,
  `load_id` INT64,
  `loaded_at` TIMESTAMP
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`ingest_ledger` (
  `stage` STRING,
  `object` STRING,
  `checksum` STRING,
  `fingerprint` STRING,
  `size` INT64,
  `lines` INT64,
  `detail` STRING,
  `recorded_at` TIMESTAMP
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`ingest_errors` (
  `stage` STRING,
  `object` STRING,
  `line_number` INT64,
  `code` STRING,
  `reason` STRING,
  `raw_line` STRING,
  `recorded_at` TIMESTAMP
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`ingest_watermarks` (
  `target` STRING,
  `load_id` INT64,
  `updated_at` TIMESTAMP
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`_ingest_scratch_keys` (
  `stage` STRING,
  `object` STRING
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`patients` (
  `patient_id` STRING,
  `gender` STRING,
  `birth_date` DATE,
  `family_name` STRING,
  `given_name` STRING,
  `city` STRING,
  `state` STRING,
  `postal_code` STRING,
  `deceased_ts` TIMESTAMP,
  `raw` JSON,
  `raw_hash` STRING,
  `generated_ts` TIMESTAMP,
  `ingestion_ts` TIMESTAMP
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`encounters` (
  `encounter_id` STRING,
  `patient_id` STRING,
  `status` STRING,
  `class_code` STRING,
  `type_code` STRING,
  `type_display` STRING,
  `reason_code` STRING,
  `start_ts` TIMESTAMP,
  `end_ts` TIMESTAMP,
  `service_provider` STRING,
  `raw` JSON,
  `raw_hash` STRING,
  `generated_ts` TIMESTAMP,
  `ingestion_ts` TIMESTAMP
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`conditions` (
  `condition_id` STRING,
  `patient_id` STRING,
  `encounter_id` STRING,
  `code_system` STRING,
  `code` STRING,
  `display` STRING,
  `clinical_status` STRING,
  `onset_ts` TIMESTAMP,
  `abatement_ts` TIMESTAMP,
  `recorded_date` TIMESTAMP,
  `raw` JSON,
  `raw_hash` STRING,
  `generated_ts` TIMESTAMP,
  `ingestion_ts` TIMESTAMP
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`observations` (
  `observation_id` STRING,
  `patient_id` STRING,
  `encounter_id` STRING,
  `status` STRING,
  `category` STRING,
  `code` STRING,
  `display` STRING,
  `value_num` FLOAT64,
  `value_unit` STRING,
  `value_code` STRING,
  `effective_ts` TIMESTAMP,
  `raw` JSON,
  `raw_hash` STRING,
  `generated_ts` TIMESTAMP,
  `ingestion_ts` TIMESTAMP
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`medication_requests` (
  `medication_request_id` STRING,
  `patient_id` STRING,
  `encounter_id` STRING,
  `status` STRING,
  `intent` STRING,
  `code` STRING,
  `display` STRING,
  `authored_on` TIMESTAMP,
  `raw` JSON,
  `raw_hash` STRING,
  `generated_ts` TIMESTAMP,
  `ingestion_ts` TIMESTAMP
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`procedures` (
  `procedure_id` STRING,
  `patient_id` STRING,
  `encounter_id` STRING,
  `status` STRING,
  `code` STRING,
  `display` STRING,
  `performed_start` TIMESTAMP,
  `performed_end` TIMESTAMP,
  `raw` JSON,
  `raw_hash` STRING,
  `generated_ts` TIMESTAMP,
  `ingestion_ts` TIMESTAMP
);

CREATE TABLE IF NOT EXISTS `synthea_raw`.`immunizations` (
  `immunization_id` STRING,
  `patient_id` STRING,
  `encounter_id` STRING,
  `status` STRING,
  `vaccine_code` STRING,
  `display` STRING,
  `occurrence_ts` TIMESTAMP,
  `raw` JSON,
  `raw_hash` STRING,
  `generated_ts` TIMESTAMP,
  `ingestion_ts` TIMESTAMP
);

MERGE INTO `synthea_raw`.`patients` AS t
USING (
  SELECT
    resource_id AS `patient_id`,
    JSON_EXTRACT_SCALAR(raw, '$.gender') AS `gender`,
    SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.birthDate') AS DATE) AS `birth_date`,
    CASE
      WHEN (
        JSON_EXTRACT(raw, '$.name[1]')
      ) IS NULL
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[0].family')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[0].use') = 'official'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[0].family')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[1].use') = 'official'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[1].family')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[2].use') = 'official'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[2].family')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[3].use') = 'official'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[3].family')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[4].use') = 'official'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[4].family')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[0].use') = 'usual'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[0].family')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[1].use') = 'usual'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[1].family')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[2].use') = 'usual'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[2].family')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[3].use') = 'usual'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[3].family')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[4].use') = 'usual'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[4].family')
      ELSE JSON_EXTRACT_SCALAR(raw, '$.name[0].family')
    END AS `family_name`,
    CASE
      WHEN (
        JSON_EXTRACT(raw, '$.name[1]')
      ) IS NULL
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[0].given[0]')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[0].use') = 'official'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[0].given[0]')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[1].use') = 'official'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[1].given[0]')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[2].use') = 'official'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[2].given[0]')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[3].use') = 'official'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[3].given[0]')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[4].use') = 'official'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[4].given[0]')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[0].use') = 'usual'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[0].given[0]')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[1].use') = 'usual'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[1].given[0]')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[2].use') = 'usual'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[2].given[0]')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[3].use') = 'usual'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[3].given[0]')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.name[4].use') = 'usual'
      THEN JSON_EXTRACT_SCALAR(raw, '$.name[4].given[0]')
      ELSE JSON_EXTRACT_SCALAR(raw, '$.name[0].given[0]')
    END AS `given_name`,
    CASE
      WHEN (
        JSON_EXTRACT(raw, '$.address[1]')
      ) IS NULL
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[0].city')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[0].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[0].city')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[1].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[1].city')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[2].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[2].city')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[3].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[3].city')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[4].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[4].city')
      ELSE JSON_EXTRACT_SCALAR(raw, '$.address[0].city')
    END AS `city`,
    CASE
      WHEN (
        JSON_EXTRACT(raw, '$.address[1]')
      ) IS NULL
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[0].state')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[0].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[0].state')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[1].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[1].state')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[2].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[2].state')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[3].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[3].state')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[4].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[4].state')
      ELSE JSON_EXTRACT_SCALAR(raw, '$.address[0].state')
    END AS `state`,
    CASE
      WHEN (
        JSON_EXTRACT(raw, '$.address[1]')
      ) IS NULL
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[0].postalCode')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[0].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[0].postalCode')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[1].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[1].postalCode')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[2].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[2].postalCode')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[3].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[3].postalCode')
      WHEN JSON_EXTRACT_SCALAR(raw, '$.address[4].use') = 'home'
      THEN JSON_EXTRACT_SCALAR(raw, '$.address[4].postalCode')
      ELSE JSON_EXTRACT_SCALAR(raw, '$.address[0].postalCode')
    END AS `postal_code`,
    SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.deceasedDateTime') AS TIMESTAMP) AS `deceased_ts`,
    raw,
    raw_hash,
    generated_ts,
    CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP) AS ingestion_ts
  FROM (
    SELECT
      resource_id,
      raw,
      raw_hash,
      generated_ts
    FROM `synthea_raw`.`raw_records_stg`
    WHERE
      resource_type = 'Patient'
      AND load_id > (
        SELECT
          COALESCE(MAX(load_id), 0)
        FROM `synthea_raw`.`ingest_watermarks`
        WHERE
          target = 'patients'
      )
    QUALIFY
      ROW_NUMBER() OVER (
        PARTITION BY resource_id
        ORDER BY generated_ts DESC, load_id DESC, source_object DESC, line_number DESC
      ) = 1
  ) AS latest
) AS s
ON t.`patient_id` = s.`patient_id`
WHEN MATCHED AND (
  (
    s.generated_ts > t.generated_ts
  )
  OR (
    t.generated_ts IS NULL AND NOT s.generated_ts IS NULL
  )
  OR (
    (
      s.generated_ts = t.generated_ts
      OR (
        s.generated_ts IS NULL AND t.generated_ts IS NULL
      )
    )
    AND s.raw_hash <> t.raw_hash
  )
) THEN UPDATE SET
  `gender` = s.`gender`,
  `birth_date` = s.`birth_date`,
  `family_name` = s.`family_name`,
  `given_name` = s.`given_name`,
  `city` = s.`city`,
  `state` = s.`state`,
  `postal_code` = s.`postal_code`,
  `deceased_ts` = s.`deceased_ts`,
  `raw` = s.`raw`,
  `raw_hash` = s.`raw_hash`,
  `generated_ts` = s.`generated_ts`,
  `ingestion_ts` = s.`ingestion_ts`
WHEN NOT MATCHED THEN INSERT (
  `patient_id`,
  `gender`,
  `birth_date`,
  `family_name`,
  `given_name`,
  `city`,
  `state`,
  `postal_code`,
  `deceased_ts`,
  `raw`,
  `raw_hash`,
  `generated_ts`,
  `ingestion_ts`
) VALUES (
  s.`patient_id`,
  s.`gender`,
  s.`birth_date`,
  s.`family_name`,
  s.`given_name`,
  s.`city`,
  s.`state`,
  s.`postal_code`,
  s.`deceased_ts`,
  s.`raw`,
  s.`raw_hash`,
  s.`generated_ts`,
  s.`ingestion_ts`
);

DELETE FROM `synthea_raw`.`ingest_watermarks`
WHERE
  target = 'patients';

INSERT INTO `synthea_raw`.`ingest_watermarks` (
  target,
  load_id,
  updated_at
)
SELECT
  'patients',
  COALESCE(MAX(load_id), 0),
  CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP)
FROM `synthea_raw`.`raw_records_stg`;

MERGE INTO `synthea_raw`.`encounters` AS t
USING (
  SELECT
    resource_id AS `encounter_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.subject.reference'), '^.*[/:]', '') AS `patient_id`,
    JSON_EXTRACT_SCALAR(raw, '$.status') AS `status`,
    JSON_EXTRACT_SCALAR(raw, '$.class.code') AS `class_code`,
    JSON_EXTRACT_SCALAR(raw, '$.type[0].coding[0].code') AS `type_code`,
    JSON_EXTRACT_SCALAR(raw, '$.type[0].coding[0].display') AS `type_display`,
    JSON_EXTRACT_SCALAR(raw, '$.reasonCode[0].coding[0].code') AS `reason_code`,
    SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.period.start') AS TIMESTAMP) AS `start_ts`,
    SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.period.end') AS TIMESTAMP) AS `end_ts`,
    JSON_EXTRACT_SCALAR(raw, '$.serviceProvider.reference') AS `service_provider`,
    raw,
    raw_hash,
    generated_ts,
    CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP) AS ingestion_ts
  FROM (
    SELECT
      resource_id,
      raw,
      raw_hash,
      generated_ts
    FROM `synthea_raw`.`raw_records_stg`
    WHERE
      resource_type = 'Encounter'
      AND load_id > (
        SELECT
          COALESCE(MAX(load_id), 0)
        FROM `synthea_raw`.`ingest_watermarks`
        WHERE
          target = 'encounters'
      )
    QUALIFY
      ROW_NUMBER() OVER (
        PARTITION BY resource_id
        ORDER BY generated_ts DESC, load_id DESC, source_object DESC, line_number DESC
      ) = 1
  ) AS latest
) AS s
ON t.`encounter_id` = s.`encounter_id`
WHEN MATCHED AND (
  (
    s.generated_ts > t.generated_ts
  )
  OR (
    t.generated_ts IS NULL AND NOT s.generated_ts IS NULL
  )
  OR (
    (
      s.generated_ts = t.generated_ts
      OR (
        s.generated_ts IS NULL AND t.generated_ts IS NULL
      )
    )
    AND s.raw_hash <> t.raw_hash
  )
) THEN UPDATE SET
  `patient_id` = s.`patient_id`,
  `status` = s.`status`,
  `class_code` = s.`class_code`,
  `type_code` = s.`type_code`,
  `type_display` = s.`type_display`,
  `reason_code` = s.`reason_code`,
  `start_ts` = s.`start_ts`,
  `end_ts` = s.`end_ts`,
  `service_provider` = s.`service_provider`,
  `raw` = s.`raw`,
  `raw_hash` = s.`raw_hash`,
  `generated_ts` = s.`generated_ts`,
  `ingestion_ts` = s.`ingestion_ts`
WHEN NOT MATCHED THEN INSERT (
  `encounter_id`,
  `patient_id`,
  `status`,
  `class_code`,
  `type_code`,
  `type_display`,
  `reason_code`,
  `start_ts`,
  `end_ts`,
  `service_provider`,
  `raw`,
  `raw_hash`,
  `generated_ts`,
  `ingestion_ts`
) VALUES (
  s.`encounter_id`,
  s.`patient_id`,
  s.`status`,
  s.`class_code`,
  s.`type_code`,
  s.`type_display`,
  s.`reason_code`,
  s.`start_ts`,
  s.`end_ts`,
  s.`service_provider`,
  s.`raw`,
  s.`raw_hash`,
  s.`generated_ts`,
  s.`ingestion_ts`
);

DELETE FROM `synthea_raw`.`ingest_watermarks`
WHERE
  target = 'encounters';

INSERT INTO `synthea_raw`.`ingest_watermarks` (
  target,
  load_id,
  updated_at
)
SELECT
  'encounters',
  COALESCE(MAX(load_id), 0),
  CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP)
FROM `synthea_raw`.`raw_records_stg`;

MERGE INTO `synthea_raw`.`conditions` AS t
USING (
  SELECT
    resource_id AS `condition_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.subject.reference'), '^.*[/:]', '') AS `patient_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.encounter.reference'), '^.*[/:]', '') AS `encounter_id`,
    JSON_EXTRACT_SCALAR(raw, '$.code.coding[0].system') AS `code_system`,
    JSON_EXTRACT_SCALAR(raw, '$.code.coding[0].code') AS `code`,
    JSON_EXTRACT_SCALAR(raw, '$.code.coding[0].display') AS `display`,
    JSON_EXTRACT_SCALAR(raw, '$.clinicalStatus.coding[0].code') AS `clinical_status`,
    COALESCE(
      SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.onsetDateTime') AS TIMESTAMP),
      SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.onsetPeriod.start') AS TIMESTAMP)
    ) AS `onset_ts`,
    COALESCE(
      SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.abatementDateTime') AS TIMESTAMP),
      SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.abatementPeriod.start') AS TIMESTAMP)
    ) AS `abatement_ts`,
    SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.recordedDate') AS TIMESTAMP) AS `recorded_date`,
    raw,
    raw_hash,
    generated_ts,
    CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP) AS ingestion_ts
  FROM (
    SELECT
      resource_id,
      raw,
      raw_hash,
      generated_ts
    FROM `synthea_raw`.`raw_records_stg`
    WHERE
      resource_type = 'Condition'
      AND load_id > (
        SELECT
          COALESCE(MAX(load_id), 0)
        FROM `synthea_raw`.`ingest_watermarks`
        WHERE
          target = 'conditions'
      )
    QUALIFY
      ROW_NUMBER() OVER (
        PARTITION BY resource_id
        ORDER BY generated_ts DESC, load_id DESC, source_object DESC, line_number DESC
      ) = 1
  ) AS latest
) AS s
ON t.`condition_id` = s.`condition_id`
WHEN MATCHED AND (
  (
    s.generated_ts > t.generated_ts
  )
  OR (
    t.generated_ts IS NULL AND NOT s.generated_ts IS NULL
  )
  OR (
    (
      s.generated_ts = t.generated_ts
      OR (
        s.generated_ts IS NULL AND t.generated_ts IS NULL
      )
    )
    AND s.raw_hash <> t.raw_hash
  )
) THEN UPDATE SET
  `patient_id` = s.`patient_id`,
  `encounter_id` = s.`encounter_id`,
  `code_system` = s.`code_system`,
  `code` = s.`code`,
  `display` = s.`display`,
  `clinical_status` = s.`clinical_status`,
  `onset_ts` = s.`onset_ts`,
  `abatement_ts` = s.`abatement_ts`,
  `recorded_date` = s.`recorded_date`,
  `raw` = s.`raw`,
  `raw_hash` = s.`raw_hash`,
  `generated_ts` = s.`generated_ts`,
  `ingestion_ts` = s.`ingestion_ts`
WHEN NOT MATCHED THEN INSERT (
  `condition_id`,
  `patient_id`,
  `encounter_id`,
  `code_system`,
  `code`,
  `display`,
  `clinical_status`,
  `onset_ts`,
  `abatement_ts`,
  `recorded_date`,
  `raw`,
  `raw_hash`,
  `generated_ts`,
  `ingestion_ts`
) VALUES (
  s.`condition_id`,
  s.`patient_id`,
  s.`encounter_id`,
  s.`code_system`,
  s.`code`,
  s.`display`,
  s.`clinical_status`,
  s.`onset_ts`,
  s.`abatement_ts`,
  s.`recorded_date`,
  s.`raw`,
  s.`raw_hash`,
  s.`generated_ts`,
  s.`ingestion_ts`
);

DELETE FROM `synthea_raw`.`ingest_watermarks`
WHERE
  target = 'conditions';

INSERT INTO `synthea_raw`.`ingest_watermarks` (
  target,
  load_id,
  updated_at
)
SELECT
  'conditions',
  COALESCE(MAX(load_id), 0),
  CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP)
FROM `synthea_raw`.`raw_records_stg`;

MERGE INTO `synthea_raw`.`observations` AS t
USING (
  SELECT
    resource_id AS `observation_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.subject.reference'), '^.*[/:]', '') AS `patient_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.encounter.reference'), '^.*[/:]', '') AS `encounter_id`,
    JSON_EXTRACT_SCALAR(raw, '$.status') AS `status`,
    JSON_EXTRACT_SCALAR(raw, '$.category[0].coding[0].code') AS `category`,
    JSON_EXTRACT_SCALAR(raw, '$.code.coding[0].code') AS `code`,
    JSON_EXTRACT_SCALAR(raw, '$.code.coding[0].display') AS `display`,
    SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.valueQuantity.value') AS FLOAT64) AS `value_num`,
    JSON_EXTRACT_SCALAR(raw, '$.valueQuantity.unit') AS `value_unit`,
    JSON_EXTRACT_SCALAR(raw, '$.valueCodeableConcept.coding[0].code') AS `value_code`,
    COALESCE(
      SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.effectiveDateTime') AS TIMESTAMP),
      SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.effectivePeriod.start') AS TIMESTAMP)
    ) AS `effective_ts`,
    raw,
    raw_hash,
    generated_ts,
    CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP) AS ingestion_ts
  FROM (
    SELECT
      resource_id,
      raw,
      raw_hash,
      generated_ts
    FROM `synthea_raw`.`raw_records_stg`
    WHERE
      resource_type = 'Observation'
      AND load_id > (
        SELECT
          COALESCE(MAX(load_id), 0)
        FROM `synthea_raw`.`ingest_watermarks`
        WHERE
          target = 'observations'
      )
    QUALIFY
      ROW_NUMBER() OVER (
        PARTITION BY resource_id
        ORDER BY generated_ts DESC, load_id DESC, source_object DESC, line_number DESC
      ) = 1
  ) AS latest
) AS s
ON t.`observation_id` = s.`observation_id`
WHEN MATCHED AND (
  (
    s.generated_ts > t.generated_ts
  )
  OR (
    t.generated_ts IS NULL AND NOT s.generated_ts IS NULL
  )
  OR (
    (
      s.generated_ts = t.generated_ts
      OR (
        s.generated_ts IS NULL AND t.generated_ts IS NULL
      )
    )
    AND s.raw_hash <> t.raw_hash
  )
) THEN UPDATE SET
  `patient_id` = s.`patient_id`,
  `encounter_id` = s.`encounter_id`,
  `status` = s.`status`,
  `category` = s.`category`,
  `code` = s.`code`,
  `display` = s.`display`,
  `value_num` = s.`value_num`,
  `value_unit` = s.`value_unit`,
  `value_code` = s.`value_code`,
  `effective_ts` = s.`effective_ts`,
  `raw` = s.`raw`,
  `raw_hash` = s.`raw_hash`,
  `generated_ts` = s.`generated_ts`,
  `ingestion_ts` = s.`ingestion_ts`
WHEN NOT MATCHED THEN INSERT (
  `observation_id`,
  `patient_id`,
  `encounter_id`,
  `status`,
  `category`,
  `code`,
  `display`,
  `value_num`,
  `value_unit`,
  `value_code`,
  `effective_ts`,
  `raw`,
  `raw_hash`,
  `generated_ts`,
  `ingestion_ts`
) VALUES (
  s.`observation_id`,
  s.`patient_id`,
  s.`encounter_id`,
  s.`status`,
  s.`category`,
  s.`code`,
  s.`display`,
  s.`value_num`,
  s.`value_unit`,
  s.`value_code`,
  s.`effective_ts`,
  s.`raw`,
  s.`raw_hash`,
  s.`generated_ts`,
  s.`ingestion_ts`
);

DELETE FROM `synthea_raw`.`ingest_watermarks`
WHERE
  target = 'observations';

INSERT INTO `synthea_raw`.`ingest_watermarks` (
  target,
  load_id,
  updated_at
)
SELECT
  'observations',
  COALESCE(MAX(load_id), 0),
  CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP)
FROM `synthea_raw`.`raw_records_stg`;

MERGE INTO `synthea_raw`.`medication_requests` AS t
USING (
  SELECT
    resource_id AS `medication_request_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.subject.reference'), '^.*[/:]', '') AS `patient_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.encounter.reference'), '^.*[/:]', '') AS `encounter_id`,
    JSON_EXTRACT_SCALAR(raw, '$.status') AS `status`,
    JSON_EXTRACT_SCALAR(raw, '$.intent') AS `intent`,
    JSON_EXTRACT_SCALAR(raw, '$.medicationCodeableConcept.coding[0].code') AS `code`,
    JSON_EXTRACT_SCALAR(raw, '$.medicationCodeableConcept.coding[0].display') AS `display`,
    SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.authoredOn') AS TIMESTAMP) AS `authored_on`,
    raw,
    raw_hash,
    generated_ts,
    CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP) AS ingestion_ts
  FROM (
    SELECT
      resource_id,
      raw,
      raw_hash,
      generated_ts
    FROM `synthea_raw`.`raw_records_stg`
    WHERE
      resource_type = 'MedicationRequest'
      AND load_id > (
        SELECT
          COALESCE(MAX(load_id), 0)
        FROM `synthea_raw`.`ingest_watermarks`
        WHERE
          target = 'medication_requests'
      )
    QUALIFY
      ROW_NUMBER() OVER (
        PARTITION BY resource_id
        ORDER BY generated_ts DESC, load_id DESC, source_object DESC, line_number DESC
      ) = 1
  ) AS latest
) AS s
ON t.`medication_request_id` = s.`medication_request_id`
WHEN MATCHED AND (
  (
    s.generated_ts > t.generated_ts
  )
  OR (
    t.generated_ts IS NULL AND NOT s.generated_ts IS NULL
  )
  OR (
    (
      s.generated_ts = t.generated_ts
      OR (
        s.generated_ts IS NULL AND t.generated_ts IS NULL
      )
    )
    AND s.raw_hash <> t.raw_hash
  )
) THEN UPDATE SET
  `patient_id` = s.`patient_id`,
  `encounter_id` = s.`encounter_id`,
  `status` = s.`status`,
  `intent` = s.`intent`,
  `code` = s.`code`,
  `display` = s.`display`,
  `authored_on` = s.`authored_on`,
  `raw` = s.`raw`,
  `raw_hash` = s.`raw_hash`,
  `generated_ts` = s.`generated_ts`,
  `ingestion_ts` = s.`ingestion_ts`
WHEN NOT MATCHED THEN INSERT (
  `medication_request_id`,
  `patient_id`,
  `encounter_id`,
  `status`,
  `intent`,
  `code`,
  `display`,
  `authored_on`,
  `raw`,
  `raw_hash`,
  `generated_ts`,
  `ingestion_ts`
) VALUES (
  s.`medication_request_id`,
  s.`patient_id`,
  s.`encounter_id`,
  s.`status`,
  s.`intent`,
  s.`code`,
  s.`display`,
  s.`authored_on`,
  s.`raw`,
  s.`raw_hash`,
  s.`generated_ts`,
  s.`ingestion_ts`
);

DELETE FROM `synthea_raw`.`ingest_watermarks`
WHERE
  target = 'medication_requests';

INSERT INTO `synthea_raw`.`ingest_watermarks` (
  target,
  load_id,
  updated_at
)
SELECT
  'medication_requests',
  COALESCE(MAX(load_id), 0),
  CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP)
FROM `synthea_raw`.`raw_records_stg`;

MERGE INTO `synthea_raw`.`procedures` AS t
USING (
  SELECT
    resource_id AS `procedure_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.subject.reference'), '^.*[/:]', '') AS `patient_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.encounter.reference'), '^.*[/:]', '') AS `encounter_id`,
    JSON_EXTRACT_SCALAR(raw, '$.status') AS `status`,
    JSON_EXTRACT_SCALAR(raw, '$.code.coding[0].code') AS `code`,
    JSON_EXTRACT_SCALAR(raw, '$.code.coding[0].display') AS `display`,
    COALESCE(
      SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.performedPeriod.start') AS TIMESTAMP),
      SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.performedDateTime') AS TIMESTAMP)
    ) AS `performed_start`,
    COALESCE(
      SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.performedPeriod.end') AS TIMESTAMP),
      SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.performedDateTime') AS TIMESTAMP)
    ) AS `performed_end`,
    raw,
    raw_hash,
    generated_ts,
    CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP) AS ingestion_ts
  FROM (
    SELECT
      resource_id,
      raw,
      raw_hash,
      generated_ts
    FROM `synthea_raw`.`raw_records_stg`
    WHERE
      resource_type = 'Procedure'
      AND load_id > (
        SELECT
          COALESCE(MAX(load_id), 0)
        FROM `synthea_raw`.`ingest_watermarks`
        WHERE
          target = 'procedures'
      )
    QUALIFY
      ROW_NUMBER() OVER (
        PARTITION BY resource_id
        ORDER BY generated_ts DESC, load_id DESC, source_object DESC, line_number DESC
      ) = 1
  ) AS latest
) AS s
ON t.`procedure_id` = s.`procedure_id`
WHEN MATCHED AND (
  (
    s.generated_ts > t.generated_ts
  )
  OR (
    t.generated_ts IS NULL AND NOT s.generated_ts IS NULL
  )
  OR (
    (
      s.generated_ts = t.generated_ts
      OR (
        s.generated_ts IS NULL AND t.generated_ts IS NULL
      )
    )
    AND s.raw_hash <> t.raw_hash
  )
) THEN UPDATE SET
  `patient_id` = s.`patient_id`,
  `encounter_id` = s.`encounter_id`,
  `status` = s.`status`,
  `code` = s.`code`,
  `display` = s.`display`,
  `performed_start` = s.`performed_start`,
  `performed_end` = s.`performed_end`,
  `raw` = s.`raw`,
  `raw_hash` = s.`raw_hash`,
  `generated_ts` = s.`generated_ts`,
  `ingestion_ts` = s.`ingestion_ts`
WHEN NOT MATCHED THEN INSERT (
  `procedure_id`,
  `patient_id`,
  `encounter_id`,
  `status`,
  `code`,
  `display`,
  `performed_start`,
  `performed_end`,
  `raw`,
  `raw_hash`,
  `generated_ts`,
  `ingestion_ts`
) VALUES (
  s.`procedure_id`,
  s.`patient_id`,
  s.`encounter_id`,
  s.`status`,
  s.`code`,
  s.`display`,
  s.`performed_start`,
  s.`performed_end`,
  s.`raw`,
  s.`raw_hash`,
  s.`generated_ts`,
  s.`ingestion_ts`
);

DELETE FROM `synthea_raw`.`ingest_watermarks`
WHERE
  target = 'procedures';

INSERT INTO `synthea_raw`.`ingest_watermarks` (
  target,
  load_id,
  updated_at
)
SELECT
  'procedures',
  COALESCE(MAX(load_id), 0),
  CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP)
FROM `synthea_raw`.`raw_records_stg`;

MERGE INTO `synthea_raw`.`immunizations` AS t
USING (
  SELECT
    resource_id AS `immunization_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.patient.reference'), '^.*[/:]', '') AS `patient_id`,
    REGEXP_REPLACE(JSON_EXTRACT_SCALAR(raw, '$.encounter.reference'), '^.*[/:]', '') AS `encounter_id`,
    JSON_EXTRACT_SCALAR(raw, '$.status') AS `status`,
    JSON_EXTRACT_SCALAR(raw, '$.vaccineCode.coding[0].code') AS `vaccine_code`,
    JSON_EXTRACT_SCALAR(raw, '$.vaccineCode.coding[0].display') AS `display`,
    SAFE_CAST(JSON_EXTRACT_SCALAR(raw, '$.occurrenceDateTime') AS TIMESTAMP) AS `occurrence_ts`,
    raw,
    raw_hash,
    generated_ts,
    CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP) AS ingestion_ts
  FROM (
    SELECT
      resource_id,
      raw,
      raw_hash,
      generated_ts
    FROM `synthea_raw`.`raw_records_stg`
    WHERE
      resource_type = 'Immunization'
      AND load_id > (
        SELECT
          COALESCE(MAX(load_id), 0)
        FROM `synthea_raw`.`ingest_watermarks`
        WHERE
          target = 'immunizations'
      )
    QUALIFY
      ROW_NUMBER() OVER (
        PARTITION BY resource_id
        ORDER BY generated_ts DESC, load_id DESC, source_object DESC, line_number DESC
      ) = 1
  ) AS latest
) AS s
ON t.`immunization_id` = s.`immunization_id`
WHEN MATCHED AND (
  (
    s.generated_ts > t.generated_ts
  )
  OR (
    t.generated_ts IS NULL AND NOT s.generated_ts IS NULL
  )
  OR (
    (
      s.generated_ts = t.generated_ts
      OR (
        s.generated_ts IS NULL AND t.generated_ts IS NULL
      )
    )
    AND s.raw_hash <> t.raw_hash
  )
) THEN UPDATE SET
  `patient_id` = s.`patient_id`,
  `encounter_id` = s.`encounter_id`,
  `status` = s.`status`,
  `vaccine_code` = s.`vaccine_code`,
  `display` = s.`display`,
  `occurrence_ts` = s.`occurrence_ts`,
  `raw` = s.`raw`,
  `raw_hash` = s.`raw_hash`,
  `generated_ts` = s.`generated_ts`,
  `ingestion_ts` = s.`ingestion_ts`
WHEN NOT MATCHED THEN INSERT (
  `immunization_id`,
  `patient_id`,
  `encounter_id`,
  `status`,
  `vaccine_code`,
  `display`,
  `occurrence_ts`,
  `raw`,
  `raw_hash`,
  `generated_ts`,
  `ingestion_ts`
) VALUES (
  s.`immunization_id`,
  s.`patient_id`,
  s.`encounter_id`,
  s.`status`,
  s.`vaccine_code`,
  s.`display`,
  s.`occurrence_ts`,
  s.`raw`,
  s.`raw_hash`,
  s.`generated_ts`,
  s.`ingestion_ts`
);

DELETE FROM `synthea_raw`.`ingest_watermarks`
WHERE
  target = 'immunizations';

INSERT INTO `synthea_raw`.`ingest_watermarks` (
  target,
  load_id,
  updated_at
)
SELECT
  'immunizations',
  COALESCE(MAX(load_id), 0),
  CAST('2030-01-01 00:00:00.000000+00:00' AS TIMESTAMP)
FROM `synthea_raw`.`raw_records_stg`;

