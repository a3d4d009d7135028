-- The send path changes a message's state twice; every index that holds
-- the state is rewritten each time. Keep only what the queries need:
-- pending messages by due time (claiming), and messages by campaign.
DROP INDEX messages_sendable;
DROP INDEX messages_campaign;
CREATE INDEX messages_due ON messages(next_at, id) WHERE state = 'pending';
CREATE INDEX messages_by_campaign ON messages(campaign_id);
