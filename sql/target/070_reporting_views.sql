-- Reporting: materialized views refreshed after each load (kgv.refresh_reporting_views()).
-- Each has a unique index so it can be refreshed CONCURRENTLY (readers are never blocked).

CREATE MATERIALIZED VIEW kgv.waiting_list_stats AS
SELECT l.waiting_list,
       extract(year FROM a.application_date AT TIME ZONE 'Europe/Berlin')::integer AS year,
       count(*)                                  AS applications,
       count(*) FILTER (WHERE a.is_active)       AS active,
       count(*) FILTER (WHERE NOT a.is_active)   AS inactive,
       count(DISTINCT l.number) FILTER (WHERE a.is_active) AS distinct_active_numbers
  FROM kgv.applications a
 CROSS JOIN LATERAL (VALUES ('32', a.waiting_list_number_32),
                            ('33', a.waiting_list_number_33)) AS l (waiting_list, number)
 WHERE l.number IS NOT NULL
 GROUP BY 1, 2;
COMMENT ON MATERIALIZED VIEW kgv.waiting_list_stats IS
    'Applications per waiting list (districts 32 and 33) and application year.';
CREATE UNIQUE INDEX waiting_list_stats_key ON kgv.waiting_list_stats (waiting_list, year)
    NULLS NOT DISTINCT;

CREATE MATERIALIZED VIEW kgv.applications_per_year_status AS
SELECT extract(year FROM application_date AT TIME ZONE 'Europe/Berlin')::integer AS year,
       CASE WHEN deletion_date IS NOT NULL THEN 'deleted'
            WHEN is_active THEN 'active'
            ELSE 'inactive' END AS status,
       count(*) AS applications
  FROM kgv.applications
 GROUP BY 1, 2;
COMMENT ON MATERIALIZED VIEW kgv.applications_per_year_status IS
    'Applications per application year and status (active, inactive, deleted).';
CREATE UNIQUE INDEX applications_per_year_status_key
    ON kgv.applications_per_year_status (year, status) NULLS NOT DISTINCT;

CREATE FUNCTION kgv.refresh_reporting_views() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY kgv.waiting_list_stats;
    REFRESH MATERIALIZED VIEW CONCURRENTLY kgv.applications_per_year_status;
END
$$;
