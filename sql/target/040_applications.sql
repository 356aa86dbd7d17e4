-- Applications (legacy Antrag), with German full-text search and fuzzy name search.

CREATE TABLE kgv.applications (
    id                     uuid PRIMARY KEY,
    file_reference         text,
    file_reference_id      uuid REFERENCES kgv.file_references,
    waiting_list_number_32 text,
    waiting_list_number_33 text,
    salutation             text,
    title                  text,
    first_name             text,
    last_name              text,
    birth_date             date CHECK (birth_date >= DATE '1900-01-01'),
    salutation_2           text,
    title_2                text,
    first_name_2           text,
    last_name_2            text,
    birth_date_2           date CHECK (birth_date_2 >= DATE '1900-01-01'),
    letter_salutation      text,
    street                 text,
    postal_code            kgv.postal_code_de,
    city                   text,
    phone                  kgv.phone_e164,
    mobile_phone           kgv.phone_e164,
    mobile_phone_2         kgv.phone_e164,
    business_phone         kgv.phone_e164,
    email                  kgv.email_address,
    application_date       timestamptz,
    confirmation_date      timestamptz,
    current_offer_date     timestamptz,
    deletion_date          timestamptz,
    preferences            text,
    remarks                text,
    is_active              boolean NOT NULL DEFAULT true,
    deactivated_at         timestamptz,
    legacy                 jsonb,
    legacy_hash            bigint NOT NULL,
    legacy_partition       text NOT NULL,
    full_name              text GENERATED ALWAYS AS (
        coalesce(last_name, '') || ' ' || coalesce(first_name, '')
    ) STORED,
    search                 tsvector GENERATED ALWAYS AS (
        to_tsvector('german'::regconfig,
            coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' ||
            coalesce(first_name_2, '') || ' ' || coalesce(last_name_2, '') || ' ' ||
            coalesce(street, '') || ' ' || coalesce(postal_code, '') || ' ' || coalesce(city, ''))
    ) STORED
);
COMMENT ON TABLE kgv.applications IS 'Plot applications (legacy Antrag).';
COMMENT ON COLUMN kgv.applications.file_reference IS 'an_Aktenzeichen as written (trimmed).';
COMMENT ON COLUMN kgv.applications.file_reference_id IS
    'The parsed file reference, where the text has a known format and the reference exists.';
COMMENT ON COLUMN kgv.applications.is_active IS 'A missing or unreadable legacy flag means active.';
COMMENT ON COLUMN kgv.applications.legacy IS 'Raw legacy values that did not convert.';
COMMENT ON COLUMN kgv.applications.search IS 'German full-text search over names and address.';
COMMENT ON COLUMN kgv.applications.full_name IS 'Last and first name, for fuzzy (trigram) search.';

CREATE INDEX applications_partition ON kgv.applications (legacy_partition);
CREATE INDEX applications_file_reference ON kgv.applications (file_reference_id);
CREATE INDEX applications_search ON kgv.applications USING gin (search);
CREATE INDEX applications_full_name_trgm ON kgv.applications USING gin (full_name gin_trgm_ops);
-- The clerks' daily questions are about active applications only.
CREATE INDEX applications_active_date ON kgv.applications (application_date) WHERE is_active;
CREATE INDEX applications_active_wl32 ON kgv.applications (waiting_list_number_32)
    WHERE is_active AND waiting_list_number_32 IS NOT NULL;
CREATE INDEX applications_active_wl33 ON kgv.applications (waiting_list_number_33)
    WHERE is_active AND waiting_list_number_33 IS NOT NULL;
