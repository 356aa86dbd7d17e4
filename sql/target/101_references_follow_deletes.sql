-- A legacy row deleted in the source is deleted from its target table by the next load of its
-- partition. The rows of other tables that referenced it must not block that delete; they
-- follow it, and the next load of their own table applies the rule a fresh migration applies:
--   history of a deleted application, links of a deleted district or cadastral district
--     → deleted here (ON DELETE CASCADE), then quarantined as `orphan` by their reload;
--   nullable references (a cadastral district's district, an application's file reference,
--     a login's user) → NULL here (ON DELETE SET NULL), then reloaded with the raw value in
--     `legacy` where the table's rule keeps it.
-- The sync reloads the dependent tables in the same run or right after (see the README,
-- "Incremental sync"); the audit trail records the cascaded changes like any other.

ALTER TABLE kgv.application_history
    DROP CONSTRAINT application_history_application_id_fkey,
    ADD CONSTRAINT application_history_application_id_fkey
        FOREIGN KEY (application_id) REFERENCES kgv.applications ON DELETE CASCADE;

ALTER TABLE kgv.district_cadastral_links
    DROP CONSTRAINT district_cadastral_links_district_id_fkey,
    ADD CONSTRAINT district_cadastral_links_district_id_fkey
        FOREIGN KEY (district_id) REFERENCES kgv.districts ON DELETE CASCADE,
    DROP CONSTRAINT district_cadastral_links_cadastral_district_id_fkey,
    ADD CONSTRAINT district_cadastral_links_cadastral_district_id_fkey
        FOREIGN KEY (cadastral_district_id) REFERENCES kgv.cadastral_districts ON DELETE CASCADE;

ALTER TABLE kgv.cadastral_districts
    DROP CONSTRAINT cadastral_districts_district_id_fkey,
    ADD CONSTRAINT cadastral_districts_district_id_fkey
        FOREIGN KEY (district_id) REFERENCES kgv.districts ON DELETE SET NULL;

ALTER TABLE kgv.applications
    DROP CONSTRAINT applications_file_reference_id_fkey,
    ADD CONSTRAINT applications_file_reference_id_fkey
        FOREIGN KEY (file_reference_id) REFERENCES kgv.file_references ON DELETE SET NULL;

ALTER TABLE kgv.identifiers
    DROP CONSTRAINT identifiers_user_id_fkey,
    ADD CONSTRAINT identifiers_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES kgv.users ON DELETE SET NULL;
