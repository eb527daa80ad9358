-- composite.sql of tenant/acme, scaffolded from the databases in its folder.
-- Edit freely: this file is the source; composite.sqlite.auto.db is regenerated from it.

PRAGMA busy_timeout = 5000;

ATTACH DATABASE '2026 archive.sqlite.db' AS db_2026_archive;
ATTACH DATABASE 'fleetfolio.sqlite.db' AS fleetfolio;
ATTACH DATABASE 'quality-folio.sqlite.db' AS quality_folio;

-- @description TODO: say what all_findings holds; shown as the header of its page.
-- @column source: the attached database each row comes from
CREATE VIEW all_findings AS
  SELECT 'db_2026_archive' AS source, id, title, severity FROM db_2026_archive.findings
  UNION ALL
  SELECT 'fleetfolio' AS source, id, title, severity FROM fleetfolio.findings
  UNION ALL
  SELECT 'quality_folio' AS source, id, title, severity FROM quality_folio.findings;

-- runs is in db_2026_archive, quality_folio but they share no column; no all_runs view.
