-- Districts, cadastral districts, file references, entry numbers, clerks and their logins,
-- mail-merge fields, history event codes. Every table from a legacy table keeps the legacy
-- uniqueidentifier as its uuid key and three bookkeeping columns:
--   legacy           raw legacy values that did not convert (NULL when all converted)
--   legacy_hash      content hash of the legacy source row (for the content check)
--   legacy_partition the legacy partition the row came from ('2019', 'undated', 'all')
-- Foreign keys are real: the loader loads parents first and quarantines orphans before the
-- load, so a violation is a bug, never bad data.

CREATE TABLE kgv.districts (
    id               uuid PRIMARY KEY,
    name             text NOT NULL UNIQUE,
    description      text,
    legacy           jsonb,
    legacy_hash      bigint NOT NULL,
    legacy_partition text NOT NULL
);
COMMENT ON TABLE kgv.districts IS 'Districts (legacy Bezirk).';

CREATE TABLE kgv.cadastral_districts (
    id               uuid PRIMARY KEY,
    district_id      uuid REFERENCES kgv.districts,
    code             text,
    name             text,
    boundary         geometry(MultiPolygon, 25832),
    legacy           jsonb,
    legacy_hash      bigint NOT NULL,
    legacy_partition text NOT NULL
);
COMMENT ON TABLE kgv.cadastral_districts IS 'Cadastral districts, Gemarkungen (legacy Katasterbezirk).';
COMMENT ON COLUMN kgv.cadastral_districts.district_id IS
    'NULL where the legacy kat_bez_ID named no district (raw value in legacy).';
COMMENT ON COLUMN kgv.cadastral_districts.boundary IS 'ETRS89 / UTM zone 32N (EPSG:25832).';
CREATE INDEX cadastral_districts_boundary ON kgv.cadastral_districts USING gist (boundary);
CREATE INDEX cadastral_districts_code ON kgv.cadastral_districts (code);

CREATE TABLE kgv.district_cadastral_links (
    district_id           uuid NOT NULL REFERENCES kgv.districts,
    cadastral_district_id uuid NOT NULL REFERENCES kgv.cadastral_districts,
    legacy                jsonb,
    legacy_hash           bigint NOT NULL,
    legacy_partition      text NOT NULL,
    PRIMARY KEY (district_id, cadastral_district_id)
);
COMMENT ON TABLE kgv.district_cadastral_links IS
    'Which cadastral districts belong to which district (legacy Bezirke_Katasterbezirke).';

CREATE TABLE kgv.file_references (
    id               uuid PRIMARY KEY,
    district_code    text,
    number           integer CHECK (number > 0),
    year             integer CHECK (year BETWEEN 1900 AND 2100),
    legacy           jsonb,
    legacy_hash      bigint NOT NULL,
    legacy_partition text NOT NULL,
    UNIQUE (district_code, number, year)
);
COMMENT ON TABLE kgv.file_references IS 'File references, Aktenzeichen (legacy Aktenzeichen).';
CREATE INDEX file_references_partition ON kgv.file_references (legacy_partition);

CREATE TABLE kgv.entry_numbers (
    id               uuid PRIMARY KEY,
    district_code    text,
    number           integer CHECK (number > 0),
    year             integer CHECK (year BETWEEN 1900 AND 2100),
    legacy           jsonb,
    legacy_hash      bigint NOT NULL,
    legacy_partition text NOT NULL
);
COMMENT ON TABLE kgv.entry_numbers IS 'Entry numbers per district and year (legacy Eingangsnummer).';
CREATE INDEX entry_numbers_partition ON kgv.entry_numbers (legacy_partition);

CREATE TABLE kgv.event_types (
    code     text PRIMARY KEY,
    label    text,
    is_known boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE kgv.event_types IS
    'History event codes (legacy verl_Art). Codes found in the data are added with '
    'is_known = false; none is ever rejected.';
INSERT INTO kgv.event_types (code, label) VALUES
    ('BEW', 'Bewerbung'), ('ANG', 'Angebot'), ('VERT', 'Vertrag'), ('ABL', 'Ablehnung'),
    ('ERIN', 'Erinnerung'), ('LOE', 'Löschung'), ('KUEN', 'Kündigung'), ('UMZ', 'Umzug');

CREATE TABLE kgv.users (
    id                        uuid PRIMARY KEY,
    salutation                text,
    first_name                text,
    last_name                 text,
    employee_number           text,
    department                text,
    room                      text,
    phone                     text,
    fax                       text,
    email                     kgv.email_address,
    dictation_code            text,
    signature                 text,
    job_title                 text,
    group_id                  uuid,
    is_admin                  boolean,
    can_administrate          boolean,
    can_manage_service_groups boolean,
    can_manage_priorities_sla boolean,
    can_manage_customers      boolean,
    is_active                 boolean NOT NULL DEFAULT true,
    legacy                    jsonb,
    legacy_hash               bigint NOT NULL,
    legacy_partition          text NOT NULL
);
COMMENT ON TABLE kgv.users IS 'Clerks (legacy Personen).';
COMMENT ON COLUMN kgv.users.phone IS 'Internal extension, as in the legacy data (not E.164).';

CREATE TABLE kgv.identifiers (
    id               uuid PRIMARY KEY,
    login_name       text,
    domain           text,
    user_id          uuid REFERENCES kgv.users,
    legacy           jsonb,
    legacy_hash      bigint NOT NULL,
    legacy_partition text NOT NULL
);
COMMENT ON TABLE kgv.identifiers IS 'Windows logins of the clerks (legacy Kennungen).';
COMMENT ON COLUMN kgv.identifiers.user_id IS
    'NULL where the login''s person is unknown (raw Kenn_pers_ID in legacy).';

CREATE TABLE kgv.field_mappings (
    id               uuid PRIMARY KEY,
    database_field   text,
    document_field   text,
    comment          text,
    legacy           jsonb,
    legacy_hash      bigint NOT NULL,
    legacy_partition text NOT NULL
);
COMMENT ON TABLE kgv.field_mappings IS 'Mail-merge fields (legacy Mischenfelder).';
