INSERT INTO runs (id, kind, started_at, status) VALUES ($id, $kind, $started_at, 'running');
