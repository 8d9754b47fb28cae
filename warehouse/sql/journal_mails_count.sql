-- Confirmation mails since :since to this address, and from this client.
SELECT (SELECT count(*) FROM confirmation_mails WHERE email = :email AND at >= :since),
       (SELECT count(*) FROM confirmation_mails WHERE client = :client AND at >= :since);
