INSERT INTO consents (email, event, event_at, method, wording_version, source, detail)
VALUES ($email, $event, $at, $method, $wording_version, $source, $detail);
