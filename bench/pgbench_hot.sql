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
       max(balance_minor) FILTER (WHERE id = :b) AS bal_b, max(last_sequence) FILTER (WHERE id = :b) AS seq_b
  FROM (SELECT id, balance_minor, last_sequence FROM accounts_account
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
RETURNING id AS txn \gset
INSERT INTO transactions_posting (transaction_id, account_id, amount_minor, balance_after_minor, sequence, created_at)
VALUES (:txn, :a, :debit, :after_a, :next_a, now()), (:txn, :b, :amount, :after_b, :next_b, now());
UPDATE accounts_account
   SET balance_minor = CASE WHEN id = :a THEN :after_a::bigint ELSE :after_b::bigint END,
       last_sequence = CASE WHEN id = :a THEN :next_a::bigint ELSE :next_b::bigint END, updated_at = now()
 WHERE id IN (:a, :b);
COMMIT;
