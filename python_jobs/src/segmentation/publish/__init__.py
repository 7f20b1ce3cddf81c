"""After a build: the serving copy BI tools read (with pseudonyms), and the month-by-month replay
of daily files."""
