-- Up Migration
-- The outbox is read per phone (a person answering as a parent, the console): both directions indexed,
-- so a lookup stays quick however many messages the log holds.
create index sms_messages_to_phone on sms_messages (to_phone, message_id);
create index sms_messages_from_phone on sms_messages (from_phone, message_id);

-- Down Migration
drop index sms_messages_from_phone;
drop index sms_messages_to_phone;
