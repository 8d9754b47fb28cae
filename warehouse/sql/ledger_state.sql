SELECT state, owner, lease_until FROM sends WHERE digest_id = :digest_id AND subscriber_id = :subscriber_id;
