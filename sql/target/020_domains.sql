-- Domains for values with a format. The loader validates properly before (email-validator,
-- libphonenumber); these are the last line of defence and say what a column holds.
CREATE DOMAIN kgv.email_address AS text
    CHECK (VALUE ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$');
COMMENT ON DOMAIN kgv.email_address IS 'An e-mail address (validated by email-validator on load).';

CREATE DOMAIN kgv.postal_code_de AS text CHECK (VALUE ~ '^[0-9]{5}$');
COMMENT ON DOMAIN kgv.postal_code_de IS 'A German postal code: five digits.';

CREATE DOMAIN kgv.phone_e164 AS text CHECK (VALUE ~ '^\+[1-9][0-9]{6,14}$');
COMMENT ON DOMAIN kgv.phone_e164 IS 'A phone number in E.164 form, e.g. +49221123456.';
