-- The process holding these claims is gone: their lease ends now.
UPDATE sends SET lease_until = NULL WHERE state = 'claimed' AND owner = :owner;
