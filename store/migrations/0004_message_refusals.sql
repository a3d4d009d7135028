-- How often the relay refused a message as a whole (a 5xx to MAIL FROM or
-- DATA, a quota): a column of its own, no longer a "[relay refused Nx] "
-- prefix of last_error. Existing prefixes move into the column.
ALTER TABLE messages ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
UPDATE messages
	SET refusals = CAST(substr(last_error, 16, instr(last_error, 'x] ') - 16) AS INTEGER),
	    last_error = substr(last_error, instr(last_error, 'x] ') + 3)
	WHERE last_error LIKE '[relay refused %x] %' AND instr(last_error, 'x] ') > 16;
