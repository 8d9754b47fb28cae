-- Old journal rows nobody needs: expired sign-ups, rate-limit records older than a day, tokens of
-- mails older than two years, ledger rows already in the warehouse for 60 days.
DELETE FROM tokens WHERE purpose = 'confirm' AND expires_at < :now;
DELETE FROM tokens WHERE purpose = 'mail' AND created_at < :two_years_ago;
DELETE FROM confirmation_mails WHERE at < :day_ago;
DELETE FROM sends WHERE moved = 1 AND at < :sixty_days_ago;
