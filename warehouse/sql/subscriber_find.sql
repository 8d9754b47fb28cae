SELECT id FROM subscribers WHERE email = $email;
