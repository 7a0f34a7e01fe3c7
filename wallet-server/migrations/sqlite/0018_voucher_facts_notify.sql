-- PostgreSQL's 0018 adds triggers that NOTIFY other server processes when a voucher's mint
-- facts change. SQLite is one process: its store forgets what its own writes change
-- (`store/facts_cache.rs`), so nothing is added here; the file keeps the numbers in step.
SELECT 1;
