"""Where data comes from and goes to: the warehouse and its locks, the input contract, reading
what dbt hands over, running dbt, the one registry of output tables and their values, and table
digests."""
