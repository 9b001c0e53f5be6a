-- pgbench_transfer.sql without the outbox: what the transfer's SQL cost before events existed, so
-- that the outbox's own cost is measured in the same run. Its rows are imported history (txid 1,
-- ledger.commit_order.IMPORTED): they have no events, which reconcile's check 10 allows only for those.
-- The SQL work of one transfer between two random accounts, as the service did it: lock both
-- accounts in ascending id order in one query, insert the transaction, insert its two
-- postings (next sequence, running balance), update both balances and sequences, commit
-- (where the deferred zero-sum trigger runs). Variables: lo, hi (the customer ids), client.
\set a random(:lo, :hi)
\set b random(:lo, :hi - 1)
\set b CASE WHEN :b >= :a THEN :b + 1 ELSE :b END
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
                                      created_at, txid)
VALUES (gen_random_uuid(), 'transfer', 'posted', :amount, 'USD', :a, :b, 'pgbench', '', '{}', :client, now(), '1')
RETURNING id AS txn \gset
INSERT INTO transactions_posting (transaction_id, account_id, amount_minor, balance_after_minor, sequence, created_at,
                                  txid)
VALUES (:txn, :a, :debit, :after_a, :next_a, now(), '1'), (:txn, :b, :amount, :after_b, :next_b, now(), '1');
UPDATE accounts_account
   SET balance_minor = CASE WHEN id = :a THEN :after_a::bigint ELSE :after_b::bigint END,
       last_sequence = CASE WHEN id = :a THEN :next_a::bigint ELSE :next_b::bigint END, updated_at = now()
 WHERE id IN (:a, :b);
COMMIT;
