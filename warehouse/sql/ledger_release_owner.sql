-- A send that stops (an error, the end) gives back every claim it still holds: nothing was sent for them.
DELETE FROM sends WHERE owner = :owner AND state = 'claimed';
