SELECT DISTINCT owner FROM sends WHERE state = 'claimed';
