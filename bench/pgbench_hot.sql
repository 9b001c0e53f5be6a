-- Scenario 2's counterpart: the same SQL work as pgbench_transfer.sql, but every transfer
-- touches the hot account (variable hot), to or from a random customer (lo..hi), as the
-- load generator does. Variables: lo, hi, hot, client.
\set other random(:lo, :hi)
\set outbound random(0, 1)
\set a CASE WHEN :outbound = 1 THEN :hot ELSE :other END
\set b CASE WHEN :outbound = 1 THEN :other ELSE :hot END
\set amount random(1, 299)
BEGIN;
SELECT max(balance_minor) FILTER (WHERE id = :a) AS bal_a, max(last_sequence) FILTER (WHERE id = :a) AS seq_a,
       max(balance_minor) FILTER (WHERE id = :b) AS bal_b, max(last_sequence) FILTER (WHERE id = :b) AS seq_b,
       max(public_id::text) FILTER (WHERE id = :a) AS pid_a, max(public_id::text) FILTER (WHERE id = :b) AS pid_b
  FROM (SELECT id, public_id, balance_minor, last_sequence FROM accounts_account
         WHERE id IN (:a, :b) ORDER BY id FOR UPDATE) locked \gset
\set debit -1 * :amount
\set after_a :bal_a - :amount
\set after_b :bal_b + :amount
\set next_a :seq_a + 1
\set next_b :seq_b + 1
INSERT INTO transactions_transaction (public_id, kind, status, amount_minor, currency, source_account_id,
                                      destination_account_id, description, reference, metadata, posted_by_id,
                                      created_at)
VALUES (gen_random_uuid(), 'transfer', 'posted', :amount, 'USD', :a, :b, 'pgbench', '', '{}', :client, now())
RETURNING id AS txn, public_id AS tpid \gset
INSERT INTO transactions_posting (transaction_id, account_id, amount_minor, balance_after_minor, sequence, created_at)
VALUES (:txn, :a, :debit, :after_a, :next_a, now()), (:txn, :b, :amount, :after_b, :next_b, now());
-- The transaction.posted event and its reader (the client owns both accounts), in the balances'
-- statement as the service writes them in its one statement: no round trip added.
WITH outbox AS (
    INSERT INTO events_event (public_id, type, subject_id, data, created_at)
    VALUES (gen_random_uuid(), 'transaction.posted', :tpid::uuid, jsonb_build_object(
        'id', :tpid::text, 'kind', 'transfer', 'status', 'posted', 'amount', (:amount / 100.0)::numeric(20, 2)::text,
        'currency', 'USD', 'source_account_id', :pid_a::text, 'destination_account_id', :pid_b::text,
        'description', 'pgbench', 'reference', '', 'metadata', '{}'::jsonb, 'reverses', NULL, 'reversed_by', NULL,
        'hold_id', NULL, 'created_at', now(), 'postings', jsonb_build_array(
            jsonb_build_object('account_id', :pid_a::text, 'amount', (:debit / 100.0)::numeric(20, 2)::text,
                               'balance_after', (:after_a / 100.0)::numeric(20, 2)::text, 'sequence', :next_a::bigint),
            jsonb_build_object('account_id', :pid_b::text, 'amount', (:amount / 100.0)::numeric(20, 2)::text,
                               'balance_after', (:after_b / 100.0)::numeric(20, 2)::text, 'sequence', :next_b::bigint))),
        now())
    RETURNING id
), readers AS (
    INSERT INTO events_eventreader (event_id, reader_id, account_ids)
    SELECT id, :client, jsonb_build_array(:pid_a::text, :pid_b::text) FROM outbox
)
UPDATE accounts_account
   SET balance_minor = CASE WHEN id = :a THEN :after_a::bigint ELSE :after_b::bigint END,
       last_sequence = CASE WHEN id = :a THEN :next_a::bigint ELSE :next_b::bigint END, updated_at = now()
 WHERE id IN (:a, :b);
COMMIT;
