"""Claims streaming ETL: generate → stream → parse → validate → enrich → claims + errors."""
