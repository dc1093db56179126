-- Pix-shaped source for the benchmark; psql -v scale=N (default 1: 3 million answers and
-- 3 million knowledge-elements). Shaped like the reference's night: two big tables with
-- foreign keys to the others and indexes, a jsonb table with values of several KB.
\if :{?scale}
\else
\set scale 1
\endif
SET synchronous_commit = off;
SELECT (200000 * :scale)::int AS n_users, (300000 * :scale)::int AS n_assessments, (3000000 * :scale)::int AS n_answers,
       (20000 * :scale)::int AS n_participations \gset
CREATE TABLE users (
  id serial PRIMARY KEY, "firstName" text NOT NULL, "lastName" text NOT NULL, email text UNIQUE,
  "createdAt" timestamptz NOT NULL DEFAULT now());
CREATE TABLE "schooling-registrations" (id serial PRIMARY KEY, "userId" integer REFERENCES users(id), "organizationId" integer, "firstName" text);
CREATE TABLE assessments (
  id bigserial PRIMARY KEY, "userId" integer NOT NULL REFERENCES users(id), type text NOT NULL, state text NOT NULL,
  "createdAt" timestamptz NOT NULL);
CREATE TABLE answers (
  id bigserial PRIMARY KEY, "assessmentId" bigint NOT NULL REFERENCES assessments(id), "challengeId" text NOT NULL,
  result text NOT NULL, value text, "timeSpent" integer, "createdAt" timestamptz NOT NULL);
CREATE TABLE "knowledge-elements" (
  id bigserial PRIMARY KEY, "userId" integer NOT NULL REFERENCES users(id), "answerId" bigint REFERENCES answers(id),
  "assessmentId" bigint REFERENCES assessments(id), "skillId" text NOT NULL, source text NOT NULL, status text NOT NULL,
  earned real NOT NULL, "createdAt" timestamptz NOT NULL);
CREATE TABLE "campaign-participations" (id serial PRIMARY KEY, "userId" integer NOT NULL REFERENCES users(id), details jsonb NOT NULL);
COMMENT ON TABLE answers IS 'One answer to one challenge';

INSERT INTO users ("firstName", "lastName", email, "createdAt")
  SELECT 'first' || g, 'last' || g, 'user' || g || '@example.net', timestamptz '2016-01-01' + g * interval '7 minutes'
  FROM generate_series(1, :n_users) g;
INSERT INTO "schooling-registrations" ("userId", "organizationId", "firstName")
  SELECT g, g % 5000, 'first' || g FROM generate_series(1, :n_users, 3) g;
INSERT INTO assessments ("userId", type, state, "createdAt")
  SELECT 1 + (g::bigint * 7919) % (:n_users), (ARRAY['CAMPAIGN','COMPETENCE_EVALUATION','CERTIFICATION'])[1 + g % 3],
         (ARRAY['started','completed','aborted'])[1 + g % 3], timestamptz '2017-01-01' + g * interval '3 minutes'
  FROM generate_series(1, :n_assessments) g;
INSERT INTO answers ("assessmentId", "challengeId", result, value, "timeSpent", "createdAt")
  SELECT 1 + (g::bigint * 104729) % (:n_assessments), 'rec' || lpad(((g * 31) % 60000)::text, 14, '0'),
         (ARRAY['ok','ko','aband','timedout'])[1 + g % 4], md5(g::text), g % 300, timestamptz '2017-01-01' + g * interval '20 seconds'
  FROM generate_series(1, :n_answers) g;
INSERT INTO "knowledge-elements" ("userId", "answerId", "assessmentId", "skillId", source, status, earned, "createdAt")
  SELECT 1 + (g::bigint * 7919) % (:n_users), g, 1 + (g::bigint * 104729) % (:n_assessments), 'skill' || lpad((g % 9000)::text, 12, '0'),
         (ARRAY['direct','inferred'])[1 + g % 2], (ARRAY['validated','invalidated','reset'])[1 + g % 3], (g % 8)::real,
         timestamptz '2017-01-01' + g * interval '20 seconds'
  FROM generate_series(1, :n_answers) g;
INSERT INTO "campaign-participations" ("userId", details)
  SELECT 1 + g % (:n_users),
         jsonb_build_object('id', g, 'sharedAt', timestamptz '2019-01-01' + g * interval '1 minute',
                            'results', (SELECT string_agg(md5(g::text || '-' || i), '') FROM generate_series(1, 100) i))
  FROM generate_series(1, :n_participations) g;

CREATE INDEX "answers_assessmentId_idx" ON answers ("assessmentId");
CREATE INDEX "knowledge-elements_userId_idx" ON "knowledge-elements" ("userId");
CREATE INDEX "knowledge-elements_assessmentId_idx" ON "knowledge-elements" ("assessmentId");
CREATE INDEX "assessments_userId_idx" ON assessments ("userId");
ANALYZE;
