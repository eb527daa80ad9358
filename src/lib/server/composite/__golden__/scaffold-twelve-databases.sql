-- composite.sql of tenant/wide, scaffolded from the databases in its folder.
-- Edit freely: this file is the source; composite.sqlite.auto.db is regenerated from it.

PRAGMA busy_timeout = 5000;

ATTACH DATABASE 'd01.sqlite.db' AS d01;
ATTACH DATABASE 'd02.sqlite.db' AS d02;
ATTACH DATABASE 'd03.sqlite.db' AS d03;
ATTACH DATABASE 'd04.sqlite.db' AS d04;
ATTACH DATABASE 'd05.sqlite.db' AS d05;
ATTACH DATABASE 'd06.sqlite.db' AS d06;
ATTACH DATABASE 'd07.sqlite.db' AS d07;
ATTACH DATABASE 'd08.sqlite.db' AS d08;
ATTACH DATABASE 'd09.sqlite.db' AS d09;
ATTACH DATABASE 'd10.sqlite.db' AS d10;

-- Not attached: SQLite attaches at most 10 databases per connection.
--   d11.sqlite.db
--   d12.sqlite.db

-- @description TODO: say what all_t holds; shown as the header of its page.
-- @column source: the attached database each row comes from
CREATE VIEW all_t AS
  SELECT 'd01' AS source, x FROM d01.t
  UNION ALL
  SELECT 'd02' AS source, x FROM d02.t
  UNION ALL
  SELECT 'd03' AS source, x FROM d03.t
  UNION ALL
  SELECT 'd04' AS source, x FROM d04.t
  UNION ALL
  SELECT 'd05' AS source, x FROM d05.t
  UNION ALL
  SELECT 'd06' AS source, x FROM d06.t
  UNION ALL
  SELECT 'd07' AS source, x FROM d07.t
  UNION ALL
  SELECT 'd08' AS source, x FROM d08.t
  UNION ALL
  SELECT 'd09' AS source, x FROM d09.t
  UNION ALL
  SELECT 'd10' AS source, x FROM d10.t;
