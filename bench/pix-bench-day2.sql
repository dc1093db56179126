-- The next day of bench/pix-bench.sql's source (psql -v scale=N, as for day 1): about 1% new rows
-- in the big tables, and in the small ones new rows, updates and deletes, as a day of Pix. With
-- -v half=1, half the small tables (schooling-registrations, campaign-participations) stay as they were.
\if :{?scale}
\else
\set scale 1
\endif
SET synchronous_commit = off;
SELECT (2000 * :scale)::int AS new_users, (3000 * :scale)::int AS new_assessments, (30000 * :scale)::int AS new_answers,
       (max(id)) AS last_assessment FROM assessments \gset
INSERT INTO users ("firstName", "lastName", email, "createdAt")
  SELECT 'first-d2-' || g, 'last' || g, 'day2-' || g || '@example.net', now() FROM generate_series(1, :new_users) g;
UPDATE users SET "lastName" = "lastName" || ' (married)' WHERE id % 100 = 7;
\if :{?half}
\else
DELETE FROM "schooling-registrations" WHERE id % 100 = 11;
\endif
UPDATE assessments SET state = 'completed' WHERE id % 100 = 13 AND state = 'started';
INSERT INTO assessments ("userId", type, state, "createdAt")
  SELECT 1 + g % 1000, 'CAMPAIGN', 'started', now() FROM generate_series(1, :new_assessments) g;
INSERT INTO answers ("assessmentId", "challengeId", result, value, "timeSpent", "createdAt")
  SELECT :last_assessment + 1 + g % :new_assessments, 'rec-d2-' || (g % 600), (ARRAY['ok','ko'])[1 + g % 2], md5('d2' || g), g % 300, now()
  FROM generate_series(1, :new_answers) g;
INSERT INTO "knowledge-elements" ("userId", "answerId", "assessmentId", "skillId", source, status, earned, "createdAt")
  SELECT a."assessmentId" % 1000 + 1, a.id, a."assessmentId", 'skill-d2', 'direct', 'validated', 1, now()
  FROM answers a WHERE a."challengeId" LIKE 'rec-d2-%';
\if :{?half}
\else
UPDATE "campaign-participations" SET details = details || '{"sharedAt": null}' WHERE id % 100 = 17;
\endif
