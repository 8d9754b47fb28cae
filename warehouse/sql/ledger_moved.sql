UPDATE sends SET moved = 1 WHERE digest_id = :digest_id AND subscriber_id = :subscriber_id;
