-- Up Migration
-- A parent may report a card lost by texting 挂失 (with the card's last four characters when more than
-- one card is bound to the phone); the inbound log says what became of such a text.
alter table sms_messages drop constraint sms_messages_outcome_check;
alter table sms_messages add constraint sms_messages_outcome_check check (outcome in (
  'received', 'signalled', 'sender_not_bound', 'no_waiting_top_up', 'loss_reported', 'loss_report_unclear'));

-- Down Migration
alter table sms_messages drop constraint sms_messages_outcome_check;
alter table sms_messages add constraint sms_messages_outcome_check check (outcome in (
  'received', 'signalled', 'sender_not_bound', 'no_waiting_top_up'));
