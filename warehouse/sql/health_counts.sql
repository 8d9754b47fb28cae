SELECT count(*) AS total, count(*) FILTER (WHERE state = 'ok') AS ok FROM source_health;
