-- Searching applicants by name or address: German full-text search (word stems: 'Gärten'
-- finds 'Garten') combined with trigram similarity (typos: 'Mustermnn' finds 'Mustermann').
-- Returns keys and scores only; the caller reads the rows it may see.
CREATE FUNCTION kgv.search_applicants(query text, max_rows integer DEFAULT 20)
RETURNS TABLE (id uuid, score real)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT a.id,
           greatest(ts_rank(a.search, websearch_to_tsquery('german', query)),
                    similarity(a.full_name, query)) AS score
      FROM kgv.applications a
     WHERE a.search @@ websearch_to_tsquery('german', query)
        OR a.full_name % query
     ORDER BY score DESC, a.id
     LIMIT max_rows
$$;
COMMENT ON FUNCTION kgv.search_applicants(text, integer) IS
    'Applicants matching a name or address (full text, German stems) or a misspelt name.';
