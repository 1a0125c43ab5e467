-- The read API finds a match by its id (`GET /v1/matches/{match_id}`, asked by intake for
-- every answer), and lists matches a page at a time in score order.

CREATE INDEX matcher_matches_match_id ON matcher_matches (match_id);
