-- Who this deployment is. Its sandboxes' Docker resources (containers, networks, volumes) carry this id as a
-- label, so the orphan reaper of one deployment never touches another's on a shared Docker engine.
CREATE TABLE deployment (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id        uuid    NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO deployment DEFAULT VALUES;
