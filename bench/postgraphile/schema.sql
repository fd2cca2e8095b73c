-- The schema PostGraphile 4 introspects in bench/run.py: views over the project's own tables (the same seeded
-- rows), with smart comments for the keys views lack, and computed columns for what the project derives.
-- Differences from the project's server: no tenant or scope filter (the bench database holds one tenant and
-- the bench caller is its admin, who sees every row), and `name` is computed by the view, not per field.
DROP SCHEMA IF EXISTS pgl_bench CASCADE;
CREATE SCHEMA pgl_bench;

CREATE VIEW pgl_bench.producers AS
  SELECT id, state, parent_id, ancestry, validation_result,
         coalesce(nullif(organization_name, ''),
                  nullif(concat_ws(' ', nullif(first_name, ''), nullif(last_name, '')), ''), id) AS name
    FROM public.producers;
COMMENT ON VIEW pgl_bench.producers IS
  E'@primaryKey id\n@foreignKey (parent_id) references pgl_bench.producers (id)';

CREATE VIEW pgl_bench.producer_codes AS
  SELECT id, producer_id, code, state FROM public.producer_codes;
COMMENT ON VIEW pgl_bench.producer_codes IS
  E'@primaryKey id\n@foreignKey (producer_id) references pgl_bench.producers (id)';

CREATE VIEW pgl_bench.licenses AS
  SELECT id, producer_id, license_number, jurisdictions, state, expiration_time FROM public.licenses;
COMMENT ON VIEW pgl_bench.licenses IS
  E'@primaryKey id\n@foreignKey (producer_id) references pgl_bench.producers (id)';

CREATE VIEW pgl_bench.appointments AS
  SELECT id, producer_id, appointment_number, jurisdictions, state FROM public.appointments;
COMMENT ON VIEW pgl_bench.appointments IS
  E'@primaryKey id\n@foreignKey (producer_id) references pgl_bench.producers (id)';

-- Producer.ancestors: root first
CREATE FUNCTION pgl_bench.producers_ancestors(p pgl_bench.producers) RETURNS SETOF pgl_bench.producers
  LANGUAGE sql STABLE AS $$
    SELECT a.* FROM pgl_bench.producers a WHERE a.id = ANY (p.ancestry) ORDER BY array_position(p.ancestry, a.id)
  $$;

-- Producer.allowedActions: from the state, in lifecycle order (app/rules/lifecycle.py)
CREATE FUNCTION pgl_bench.producers_allowed_actions(p pgl_bench.producers) RETURNS text[]
  LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p.state WHEN 'draft' THEN ARRAY['validate', 'discard']
                        WHEN 'validated' THEN ARRAY['suspend', 'retire', 'discard']
                        WHEN 'suspended' THEN ARRAY['unsuspend', 'retire', 'discard']
                        ELSE ARRAY[]::text[] END
  $$;

-- Query.licenses(expiringWithin:): draft or validated licenses expiring within `days` days from now
CREATE FUNCTION pgl_bench.licenses_expiring(days integer) RETURNS SETOF pgl_bench.licenses
  LANGUAGE sql STABLE AS $$
    SELECT * FROM pgl_bench.licenses
     WHERE state IN ('draft', 'validated') AND expiration_time >= now()
       AND expiration_time < now() + make_interval(days => days)
     ORDER BY id
  $$;
