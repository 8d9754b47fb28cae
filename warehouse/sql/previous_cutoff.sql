-- Where the next digest starts: the end of the latest digest's window.
SELECT max(window_end) FROM digests;
