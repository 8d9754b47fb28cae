-- Changes not yet applied by the warehouse (all addresses, or one when :email is given), in order.
SELECT id, at, email, kind, data FROM changes
WHERE id > :after AND (:email IS NULL OR email = :email)
ORDER BY id;
