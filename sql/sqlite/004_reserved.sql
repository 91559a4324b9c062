-- renderq schema, version 4: reserved for a change being made elsewhere
-- (version 5 is notifications). It changes nothing; the change that owns
-- this number replaces this file, and the migrations stay numbered 1, 2, ...
SELECT 1;
