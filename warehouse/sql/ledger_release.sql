-- A temporary failure: give the claim back so the next send tries again at once.
DELETE FROM sends WHERE digest_id = :digest_id AND subscriber_id = :subscriber_id AND owner = :owner
    AND state = 'claimed';
